"""Scenario a: press-play on the demo's sample repository, run by Argo's own controller and agent."""

from __future__ import annotations

import json

import pytest

from tests.engine.stack import Stack

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

TASK_OUTPUTS = ("pr-url", "pr-number", "checks", "verdict", "merge-sha")


def test_press_play_merges_the_backlog_then_finds_nothing_to_do(engine: Stack) -> None:
    name = engine.press_play()
    wf = engine.wait(name)
    tree = engine.get_tree(name)
    assert wf["status"]["phase"] == "Succeeded", tree

    pulls = engine.github.pulls()
    assert [p["merged"] for p in pulls] == [True, True, True], pulls
    assert sorted(p["head"] for p in pulls) == [f"pressplay/task-{i}" for i in (1, 2, 3)]

    outputs = engine.summary(wf)["outputs"]
    for task in ("1", "2", "3"):
        for out in TASK_OUTPUTS:
            assert outputs.get(f"task-{task}-{out}"), (task, out, outputs)
    assert "backlog" in outputs and "backlog-counts" in outputs, outputs
    # The exit handler's outcome (a dag exit handler: executeDAG exports its task's globalName).
    assert json.loads(outputs["outcome-counts"])["done"] == 3, outputs
    assert outputs["outcome"].startswith("0 task(s) to run"), outputs
    # `argo get` shows a readable tree: every task's steps by name.
    for step in ("backlog", "author", "lint", "tests", "open-pr", "merge"):
        assert step in tree, tree

    again = engine.press_play()
    wf2 = engine.wait(again)
    assert wf2["status"]["phase"] == "Succeeded", engine.get_tree(again)
    summary = engine.summary(wf2)
    counts = json.loads(summary["outputs"].get("backlog-counts") or "{}")
    assert counts.get("todo") == 0 and counts.get("inProgress") == 0 and counts.get("done") == 3, counts
    assert all(n["phase"] == "Skipped" for n in summary["nodes"] if n["template"] == "pipeline"), summary[
        "nodes"
    ]
    assert len(engine.github.pulls()) == 3, "a second press-play opened a PR"
