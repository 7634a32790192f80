"""Issue 13 item 5 on Argo's engine: a step of the task pipeline that ends in Error is reported on
the PR, like one that fails.

Argo keeps Errored apart from Failed (``dagContext.evaluateDependsLogic``: ``.Failed`` does not match
an Errored task), so ``report-stopped`` names both for every step after ``open-pr``. Here each of
``ready`` (its plugin child ``checks-final``), ``deploy``, ``argocd``, ``acceptance``,
``acceptance-default`` and ``merge`` ends in Error in a run of its own kind: the sidecar sits behind
``tests/engine/plugin_faults.py``, which answers that one call ``phase: Error``, as Argo's agent
lets a plugin (``AgentExecutor.executePluginTemplate`` copies the reply's node). The rest of the run
is real: the report comment is posted by the sidecar, through Argo's agent, on the task's PR.

Four runs on the demo sample (tasks 1 and 2 independent, 3 waits for 1 and gives up after
``dependencyTimeout``): press-play with an Argo CD Application (task 1 errs at argocd, task 2 at
ready), press-play with the defaults (acceptance-default, merge), then the ``task`` template alone
with a deploy workflow (deploy) and with the task's acceptance spec (acceptance). Agents resume from
their commits, so the later runs redo no agent work.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.engine.stack import TERMINAL, Options, Stack

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

INJECTED = "injected by the engine scenario"


@pytest.fixture
def faulty_plugin(engine_binaries: object) -> Iterator[Stack]:
    with Stack(Options(plugin_faults=True)) as stack:
        yield stack


def _errored(wf: dict[str, Any], template: str, node: str) -> list[dict[str, Any]]:
    return [
        n
        for n in (wf.get("status", {}).get("nodes") or {}).values()
        if n.get("templateName") == template
        and n.get("type") == "Plugin"
        and re.search(node, n.get("name", ""))
        and n.get("phase") == "Error"
        and INJECTED in n.get("message", "")
    ]


def _report_posted(stack: Stack, wf: dict[str, Any], task: int) -> None:
    name = wf["metadata"]["name"]
    pulls = {p["head"]: p for p in stack.github.pulls()}
    pr = pulls[f"pressplay/task-{task}"]
    assert not pr["merged"], pr
    comments = stack.github.world.github.comments(stack.github.repo, pr["number"])
    # One sticky report per task (key task-N/report), rewritten by each run: this run's is there.
    reports = [c["body"] for c in comments if f"pressplay stopped task {task}**" in c["body"]]
    assert len(reports) == 1, [c["body"][:120] for c in comments]
    assert f"/{name}`" in reports[0], (name, reports[0])


def _check(stack: Stack, name: str, expected: list[tuple[int, str, str]]) -> None:
    wf = stack.wait(name)
    tree = stack.get_tree(name)
    assert wf["status"]["phase"] in ("Failed", "Error"), tree
    nodes = (wf["status"].get("nodes") or {}).values()
    for task, template, node in expected:
        mine = [
            (n.get("displayName"), n.get("type"), n.get("phase"), n.get("message", "")[:160])
            for n in sorted(nodes, key=lambda n: n.get("startedAt") or "")
            if re.search(node, n.get("name", ""))
        ]
        if not _errored(wf, template, node):
            print("\n".join(map(str, mine)), file=sys.stderr)
        assert _errored(wf, template, node), (task, template, mine)
        stopped = [
            n
            for n in nodes
            if n.get("displayName") == "report-stopped" and re.search(node, n.get("name", ""))
        ]
        assert [n["phase"] for n in stopped] == ["Succeeded"], (task, template, tree)
        _report_posted(stack, wf, task)


def test_each_step_ending_in_error_is_reported_on_the_pr(faulty_plugin: Stack) -> None:
    stack = faulty_plugin
    # press-play names a task's nodes by loop index and id: `...task(0:1).deploy`.
    one, two = r"task\(\d+:1\)\.", r"task\(\d+:2\)\."
    waits = ("dependencyTimeout=20s",)

    # 1. argocd (reached when an Application is configured; deploy is skipped without a workflow)
    # and, for task 2, which would otherwise wait on Argo CD too, ready (its plugin child).
    stack.plugin_errors(("argocd", one), ("checks-final", two))
    name = stack.press_play("argocdApp=greeter", *waits)
    _check(stack, name, [(1, "argocd", one), (2, "checks-final", two)])

    # 2. acceptance-default and merge, with the defaults.
    stack.plugin_errors(("acceptance-default", one), ("merge", two))
    name = stack.press_play(*waits)
    _check(stack, name, [(1, "acceptance-default", one), (2, "merge", two)])

    # 3. deploy (a workflow dispatch) and acceptance with the task's spec: the task template alone.
    def task(task_id: int, *params: str) -> str:
        args = ["submit", "--from", "workflowtemplate/task", "-p", f"repo={stack.github.repo}"]
        for param in (f"taskId={task_id}", "title=sample task", *params):
            args += ["-p", param]
        return stack.argo(*args, "-o", "name").stdout.strip().rsplit("/", 1)[-1]

    stack.plugin_errors(("deploy", ""))
    name = task(1, "deployWorkflow=deploy.yml")
    _check(stack, name, [(1, "deploy", "")])

    stack.plugin_errors(("acceptance", ""))
    name = task(1, "acceptancePath=.taskmaster/docs/task-1/acceptance.yaml")
    _check(stack, name, [(1, "acceptance", "")])


EVICTED = "The node was low on resource: memory. Threshold quantity: 100Mi, available: 12Mi."


def test_an_evicted_agent_pod_still_gets_the_stop_reported(engine: Stack) -> None:
    """After an eviction Argo keeps the Failed agent pod until the Workflow ends and errs every plugin
    node still open or created later (``updateAgentPodStatus`` → ``markTaskSetNodesError``), the
    ``report-stopped`` plugin step included; ``report-stopped-pod`` then posts the same sticky report
    from a pod of its own (``pressplay step comment``)."""
    stack = engine
    args = ["submit", "--from", "workflowtemplate/task", "-p", f"repo={stack.github.repo}"]
    args += ["-p", "taskId=1", "-p", "title=Greeting"]
    name = stack.argo(*args, "-o", "name").stdout.strip().rsplit("/", 1)[-1]

    # Once open-pr has answered (the report needs the PR's number); the next plugin step, ci's checks,
    # is open or about to be.
    def opened() -> bool:
        status = stack.workflow(name).get("status", {})
        assert status.get("phase") not in TERMINAL, stack.get_tree(name)
        nodes = (status.get("nodes") or {}).values()
        return any(n.get("displayName") == "open-pr" and n.get("phase") == "Succeeded" for n in nodes)

    deadline = time.monotonic() + 600
    while not opened():
        assert time.monotonic() < deadline, stack.get_tree(name)
        time.sleep(0.2)
    agent = next(
        r
        for r in list(stack.kubelet.pods.values())
        if r.name.startswith(f"{name}-") and r.name.endswith("-agent")
    )
    agent.evict(EVICTED)

    wf = stack.wait(name)
    tree = stack.get_tree(name)
    assert wf["status"]["phase"] in ("Failed", "Error"), tree
    nodes = list((wf["status"].get("nodes") or {}).values())
    by_name = {n.get("displayName"): n for n in nodes}
    errored = [n for n in nodes if n.get("type") == "Plugin" and n.get("phase") == "Error"]
    assert errored and all("agent pod failed" in n.get("message", "") for n in errored), tree
    assert by_name["report-stopped"]["phase"] == "Error", tree
    assert by_name["report-stopped-pod"]["phase"] == "Succeeded", tree
    _report_posted(stack, wf, 1)
