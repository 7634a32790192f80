"""Scenario b: a task whose gate keeps failing, and one whose CI cannot be fixed, on Argo's engine."""

from __future__ import annotations

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
    # (The node message says only "main: Error (exit code 1)": the gate's report does not reach it;
    # see docs/engine.md, "Defects found".)

    pulls = {p["head"]: p for p in stack.github.pulls()}
    assert pulls["pressplay/task-1"]["merged"], pulls
    assert "pressplay/task-2" not in pulls, "a task whose gate failed opened a PR"
    stopped = pulls["pressplay/task-3"]
    assert not stopped["merged"] and stopped["state"] == "open", stopped
    comments = stack.github.world.github.comments(stack.github.repo, stopped["number"])
    assert any("pressplay stopped task 3" in c["body"] for c in comments), [c["body"][:200] for c in comments]
