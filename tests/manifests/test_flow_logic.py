"""The flows' control logic, run through a model of Argo's DAG semantics (``argo_dag``): which steps
run, in which order, with which arguments, for the paths a task can take (green, CI fixed, CI never
green, deploy, acceptance spec or default, acceptance failing) and for remediation's debounce."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

import pytest

from .argo_dag import Node, Simulator, flatten

Objects = Mapping[tuple[str, str], Mapping[str, Any]]
SHA = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
WORKFLOW = {"name": "press-play-x", "namespace": "pressplay", "status": "Running", "parameters": {}}


class World:
    """Answers leaf templates like the sidecar and the agent would, and records what was asked."""

    def __init__(self, checks: list[str] | None = None, acceptance: str = "Succeeded") -> None:
        self.checks = list(checks or ["success"])
        self.acceptance = acceptance

    def __call__(self, name: str, args: dict[str, str]) -> tuple[str, dict[str, str]]:
        if name == "dependencies":  # as the step answers: given values win, else the tasks file's
            return "Succeeded", {
                "branch": args["branch"] or f"pressplay/task-{args['taskId']}",
                "titleB64": args["titleB64"] or base64.b64encode(b"From the file").decode(),
                "promptPath": args["promptPath"],
                "dependsOn": args["dependsOn"],
            }
        if name == "agent-step/agent-step":
            return "Succeeded", {
                "summary": f"{args['agent']} done",
                "summary-b64": base64.b64encode(f"{args['agent']} done".encode()).decode(),
                "commit-sha": SHA,
                "verdict": '{"version": 1}',
            }
        if name == "open-pr":
            return "Succeeded", {
                "number": "12",
                "url": "https://github.com/acme/widgets/pull/12",
                "headSha": SHA,
            }
        if name == "checks":
            state = self.checks.pop(0) if len(self.checks) > 1 else self.checks[0]
            if state != "success" and args["onFailure"] == "fail":
                return "Failed", {"state": state}
            return "Succeeded", {"state": state, "failing": "[]" if state == "success" else '["build"]'}
        if name == "checks-final":
            return "Succeeded", {"sha": SHA, "checks": "[]"}
        if name in ("acceptance", "acceptance-default"):
            return self.acceptance, {"passed": str(self.acceptance == "Succeeded").lower(), "sha": SHA}
        if name == "merge":
            return "Succeeded", {"sha": "f" * 40}
        return "Succeeded", {}


def run_pipeline(objects: Objects, world: World, **overrides: str) -> tuple[Node, Simulator]:
    simulator = Simulator(objects[("WorkflowTemplate", "task")], world, WORKFLOW)
    arguments = {
        "repo": "acme/widgets",
        "repoKey": "acme.widgets",
        "taskId": "7",
        "titleB64": "QWRkIHRoZSBoZWFsdGggZW5kcG9pbnQ=",
        "branch": "pressplay/task-7",
        "image": "ghcr.io/pressplay-dev/pressplay-agent:0.1.0",
        **overrides,
    }
    return simulator.call("pipeline", arguments), simulator


def ran(node: Node) -> dict[str, str]:
    return flatten(node)


def test_green_path(objects: Objects) -> None:
    node, sim = run_pipeline(objects, World())
    phases = ran(node)
    assert node.phase == "Succeeded"
    order = [name for name, _ in sim.calls]
    assert order == [
        "dependencies",
        "agent-step/agent-step",
        "agent-step/agent-step",
        "agent-step/agent-step",
        "open-pr",
        "checks",
        "checks-final",
        "agent-step/agent-step",
        "acceptance-default",
        "merge",
        "report",
    ]
    agents = [args["agent"] for name, args in sim.calls if name == "agent-step/agent-step"]
    assert agents == ["author", "lint", "tests", "acceptance"]
    assert (
        phases["ci.fix"] == "Skipped"
        and phases["ci.again"] == "Omitted"
        and phases["ci.give-up"] == "Skipped"
    )
    assert phases["deploy-agent"] == phases["deploy"] == phases["argocd"] == "Skipped"
    assert phases["report-stopped"] == "Omitted" and phases["report-merged"] == "Succeeded"
    report = next(args for name, args in sim.calls if name == "report")
    assert report["number"] == "12" and "merged as " + "f" * 40 in report["body"]


def test_ci_fixed_within_the_budget(objects: Objects) -> None:
    node, sim = run_pipeline(objects, World(checks=["failure", "failure", "success"]), ciFixAttempts="2")
    phases = ran(node)
    assert node.phase == "Succeeded"
    fixes = [
        args
        for name, args in sim.calls
        if name == "agent-step/agent-step" and args["agent"] == "ci-remediator"
    ]
    assert [f["step"] for f in fixes] == ["ci-fix-1", "ci-fix-2"]
    assert all(f["context"] == '["build"]' for f in fixes)  # the failing checks reach the agent as a file
    assert phases["ci.again.again.checks"] == "Succeeded"
    assert phases["ci.again.again.give-up"] == "Skipped"
    assert phases["merge"] == "Succeeded"


def test_ci_never_green_ends_failed_and_reports(objects: Objects) -> None:
    node, sim = run_pipeline(objects, World(checks=["failure"]), ciFixAttempts="2")
    phases = ran(node)
    assert node.phase == "Failed"
    fixes = [a for n, a in sim.calls if n == "agent-step/agent-step" and a["agent"] == "ci-remediator"]
    assert len(fixes) == 2  # bounded
    assert phases["ci.again.again.give-up"] == "Failed"  # the final failed state names the failing checks
    assert phases["ci"] == "Failed"
    assert phases["merge"] == "Omitted" and phases["acceptance-agent"] == "Omitted"
    assert phases["report-stopped"] == "Succeeded"
    stopped = [a for n, a in sim.calls if n == "report"]
    assert len(stopped) == 1 and "stopped task 7" in stopped[0]["body"]


def test_deploy_and_argocd_wait_for_the_checked_head(objects: Objects) -> None:
    node, sim = run_pipeline(
        objects, World(), deployAgent="true", deployWorkflow="deploy.yml", argocdApp="widgets-preview"
    )
    assert node.phase == "Succeeded"
    calls = dict(sim.calls)
    assert calls["deploy"]["headSha"] == SHA and calls["deploy"]["branch"] == "pressplay/task-7"
    assert calls["argocd"]["revision"] == SHA and calls["argocd"]["app"] == "widgets-preview"
    order = [n if n != "agent-step/agent-step" else a["agent"] for n, a in sim.calls]
    assert order.index("deploy") < order.index("argocd") < order.index("acceptance") < order.index("merge")
    assert order.index("deploy") > order.index("checks-final")


@pytest.mark.parametrize(
    ("spec", "used", "skipped"),
    [
        ("", "acceptance-default", "acceptance"),
        (".pressplay/tasks/7/acceptance.yaml", "acceptance", "acceptance-default"),
    ],
)
def test_acceptance_spec_or_default(objects: Objects, spec: str, used: str, skipped: str) -> None:
    node, sim = run_pipeline(objects, World(), acceptancePath=spec)
    phases = ran(node)
    assert phases[used] == "Succeeded" and phases[skipped] == "Skipped"
    assert phases["merge"] == "Succeeded"
    call = dict(sim.calls)[used]
    # the acceptance agent's verdict reaches the step, base64 (decoded by the step: {b64: ...})
    assert base64.b64decode(call["verdictB64"]).decode() == '{"version": 1}'
    if spec:
        assert call["specPath"] == spec


def test_failed_acceptance_blocks_the_merge(objects: Objects) -> None:
    node, _sim = run_pipeline(objects, World(acceptance="Failed"))
    phases = ran(node)
    assert node.phase == "Failed"
    assert phases["merge"] == "Omitted" and phases["report-stopped"] == "Succeeded"


def test_run_settings_reach_every_agent_of_a_task(objects: Objects) -> None:
    """The settings step's image, model, prompt text (base64) and gates reach every agent-step call."""
    mod = base64.b64encode(b"Be terse. {{workflow.name}}").decode()
    _node, sim = run_pipeline(
        objects,
        World(checks=["failure", "success"]),
        promptModB64=mod,
        image="registry.example.com/agent:2",
        model="m-1",
        gates="python",
    )
    agents = [a for n, a in sim.calls if n == "agent-step/agent-step"]
    assert {a["agent"] for a in agents} == {"author", "lint", "tests", "ci-remediator", "acceptance"}
    for a in agents:
        assert (a["promptModB64"], a["image"], a["model"], a["gates"]) == (
            mod,
            "registry.example.com/agent:2",
            "m-1",
            "python",
        )
        assert "prompt_mod" not in a  # never text in clear


@pytest.mark.parametrize("flow", ["pr-remediation", "ci-remediation"])
@pytest.mark.parametrize("proceed", ["true", "false"])
def test_remediation_acts_only_on_the_newest_trigger(objects: Objects, flow: str, proceed: str) -> None:
    def world(name: str, args: dict[str, str]) -> tuple[str, dict[str, str]]:
        if name == "debounce":
            return "Succeeded", {"proceed": proceed}
        if name == "agent-step/agent-step":
            return "Succeeded", {"summary": "fixed", "summary-b64": "Zml4ZWQ=", "commit-sha": SHA}
        return "Succeeded", {}

    params = {
        "repo": "acme/widgets",
        "number": "12",
        "branch": "pressplay/task-7",
        "delivery": "d-1",
        "checkB64": "YnVpbGQ=",
        "headSha": SHA,
        "conclusion": "failure",
        "detailsUrl": "https://ci",
        "feedbackUrl": "https://c",
        "feedbackB64": "eA==",
    }
    simulator = Simulator(objects[("WorkflowTemplate", flow)], world, {**WORKFLOW, "parameters": params})
    node = simulator.call("remediate", {"repoKey": "acme.widgets", "taskId": "7"})
    names = [n for n, _ in simulator.calls]
    assert node.phase == "Succeeded"
    if proceed == "true":
        assert names == ["debounce", "agent-step/agent-step", names[-1]] and names[-1] in ("reply", "report")
        agent = simulator.calls[1][1]
        assert agent["taskId"] == "7" and agent["branch"] == "pressplay/task-7"
        assert agent["step"].endswith("-d-1")  # keyed by the delivery: a redelivery resumes, not redoes
    else:
        assert names == ["debounce"]  # no agent, and no empty reply either


def test_press_play_starts_every_open_task_at_once(objects: Objects) -> None:
    backlog = [
        {
            "id": "1",
            "titleB64": "U2NoZW1h",
            "branch": "pressplay/task-1",
            "dependencies": [],
            "promptPath": "t/1.md",
        },
        {
            "id": "2",
            "titleB64": "QVBJ",
            "branch": "pressplay/task-2",
            "dependencies": ["1"],
            "promptPath": "t/2.md",
        },
    ]

    settings = {
        "image": "registry.example.com/agent:2",
        "model": "m-1",
        "promptModB64": base64.b64encode(b"Prefer small functions.").decode(),
        "gates": "auto",
        "repoKey": "acme.widgets",
        "deployWorkflow": "deploy.yml",
        "argocdApp": "",
        "argocdNamespace": "argocd",
        "mergeMethod": "squash",
    }

    def world(name: str, args: dict[str, str]) -> tuple[str, dict[str, str]]:
        if name == "settings":
            return "Succeeded", settings
        if name == "backlog":
            ids = [item["id"] for item in backlog]
            return "Succeeded", {"ids": json.dumps(ids), "counts": "{}", "summary": "2 open"}
        return "Succeeded", {}

    # As the merge Sensor submits it: repo, base and delivery only; the rest comes from the settings.
    params = {"repo": "Acme/Widgets", "base": "main", "delivery": "d-1"}
    simulator = Simulator(
        objects[("WorkflowTemplate", "press-play")], world, {**WORKFLOW, "parameters": params}
    )
    node = simulator.call("main", {})
    assert node.phase == "Succeeded"
    assert [name for name, _ in simulator.calls][:2] == ["settings", "backlog"]
    backlog_call = dict(simulator.calls)["backlog"]
    assert backlog_call == {
        "repo": "Acme/Widgets",
        "base": "main",
        "tasksPath": ".taskmaster/tasks/tasks.json",
    }
    tasks = [args for name, args in simulator.calls if name == "task/pipeline"]
    # Ids alone (issue 13 item 7): the dependencies step reads the rest from the tasks file.
    assert [(t["taskId"], t["fromTasksFile"]) for t in tasks] == [("1", "true"), ("2", "true")]
    assert not {"titleB64", "branch", "dependsOn", "promptPath"} & {k for t in tasks for k in t}
    for t in tasks:
        assert {k: t[k] for k in settings} == settings


def test_press_play_with_nothing_open_finishes(objects: Objects) -> None:
    def world(name: str, args: dict[str, str]) -> tuple[str, dict[str, str]]:
        return "Succeeded", {"ids": "[]", "summary": "all done"} if name == "backlog" else {}

    simulator = Simulator(
        objects[("WorkflowTemplate", "press-play")],
        world,
        {**WORKFLOW, "parameters": {"repo": "acme/widgets"}},
    )
    node = simulator.call("play", {"repoKey": "acme.widgets"})
    assert node.phase == "Succeeded"
    assert [name for name, _ in simulator.calls] == ["backlog"]


class ErroringWorld(World):
    """A World in which one leaf template ends in Error (a transport error, a deadline)."""

    def __init__(self, target: str) -> None:
        super().__init__()
        self.target = target

    def __call__(self, name: str, args: dict[str, str]) -> tuple[str, dict[str, str]]:
        if name == self.target:
            return "Errored", {}
        return super().__call__(name, args)


@pytest.mark.parametrize(
    ("target", "overrides"),
    [
        ("deploy", {"deployWorkflow": "deploy.yml"}),
        ("argocd", {"argocdApp": "web"}),
        ("acceptance", {"acceptancePath": "accept.yaml"}),
        ("acceptance-default", {}),
        ("merge", {}),
    ],
)
def test_a_step_ending_in_error_is_reported_on_the_pr(
    objects: Objects, target: str, overrides: dict[str, str]
) -> None:
    """Argo keeps Errored apart from Failed (dagContext.evaluateDependsLogic): report-stopped names both."""
    node, sim = run_pipeline(objects, ErroringWorld(target), **overrides)
    phases = ran(node)
    assert phases[target] == "Errored"
    assert phases["report-stopped"] == "Succeeded", phases
    stopped = [a for n, a in sim.calls if n == "report"]
    assert len(stopped) == 1 and "stopped task 7" in stopped[0]["body"]
