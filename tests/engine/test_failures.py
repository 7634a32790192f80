"""Scenario b: a task whose gate keeps failing, and one whose CI cannot be fixed, on Argo's engine."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.engine.stack import Options, Stack

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


@pytest.fixture
def faulty(engine_binaries: object) -> Iterator[Stack]:
    # Task 2's author fails the lint gate on every attempt; task 3's CI fails and cannot be fixed.
    with Stack(Options(agent_env={"PRESSPLAY_DEMO_FAULTS": "lint:2,ci-unfixable:3"})) as stack:
        yield stack


def test_failing_gate_and_unfixable_ci_fail_the_run_with_the_reason(faulty: Stack) -> None:
    stack = faulty
    name = stack.press_play()
    wf = stack.wait(name)
    tree = stack.get_tree(name)
    assert wf["status"]["phase"] == "Failed", tree

    nodes = stack.summary(wf)["nodes"]
    failed = [n for n in nodes if n["phase"] in ("Failed", "Error") and n["template"] == "agent-step"]
    assert failed, tree
    # The failed agent node says why (issue 13 item 4): `pressplay agent run` writes its result to the
    # container's termination log, the kubelet puts it into terminated.message and Argo's
    # inferFailedReason appends it: "main: Error (exit code 1): gates-failed: ...".
    assert any("gates-failed" in n["message"] for n in failed), [n["message"] for n in failed]

    # The documented outputs of a run with one merged and two failed tasks (issue 13 item 3,
    # docs/install.md step 7): the exit handler's outcome always; per-task outputs of the task whose
    # pipeline succeeded (executeDAG exports a DAG's task outputs once that DAG succeeds); none for
    # the failed tasks, nor `backlog` (the failed play DAG).
    outputs = stack.summary(wf)["outputs"]
    counts = json.loads(outputs["outcome-counts"])
    assert counts["done"] == 1, outputs
    assert outputs["outcome"].startswith("2 task(s) to run"), outputs
    for out in ("pr-url", "pr-number", "merge-sha"):
        assert outputs.get(f"task-1-{out}"), (out, outputs)
    assert not [k for k in outputs if k.startswith(("task-2-", "task-3-"))], outputs
    assert "backlog" not in outputs, outputs

    pulls = {p["head"]: p for p in stack.github.pulls()}
    assert pulls["pressplay/task-1"]["merged"], pulls
    assert "pressplay/task-2" not in pulls, "a task whose gate failed opened a PR"
    stopped = pulls["pressplay/task-3"]
    assert not stopped["merged"] and stopped["state"] == "open", stopped
    comments = stack.github.world.github.comments(stack.github.repo, stopped["number"])
    assert any("pressplay stopped task 3" in c["body"] for c in comments), [c["body"][:200] for c in comments]
