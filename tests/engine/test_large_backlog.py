"""Issue 13 items 2 and 7 on Argo's engine: a 60-task backlog whose titles hold quotes, backslashes,
non-ASCII, an emoji and template braces. press-play loops over task ids only, so node names stay
short (``generateNodeName`` writes each whole ``withParam`` item into every node name below the
loop) and the Workflow object stays far under etcd's 1.5 MiB request limit; every task fans out,
and the PR titles are the tasks' titles byte for byte."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.engine.stack import Stack

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

TASKS = 60
#: etcd's default request limit (--max-request-bytes); Argo's node-status offloading stays off here.
ETCD_LIMIT = int(1.5 * 1024 * 1024)
HOSTILE = "Say \"hi\" \\ to café — 🚀 {{x}} ${{ secrets.X }} {{=sprig.upper('x')}} %v"


def title(i: int) -> str:
    return f"{HOSTILE} #{i} " + " ".join(["long title words"] * 6)


def backlog() -> dict[str, object]:
    tasks = []
    for i in range(1, TASKS + 1):
        tasks.append(
            {
                "id": i,
                "title": title(i),
                "description": "A task of a large backlog.",
                "details": "Change nothing of substance.",
                "testStrategy": "-",
                "priority": "medium",
                # Every task after the first two waits for one of them: long dependency lists are
                # not what grows names any more, ids are.
                "dependencies": [] if i <= 2 else [1 + i % 2],
                "status": "pending",
                "subtasks": [],
            }
        )
    return {"master": {"tasks": tasks}}


def test_a_60_task_backlog_fans_out_with_short_node_names(engine: Stack, tmp_path: Path) -> None:
    tasks_file = tmp_path / "tasks.json"
    tasks_file.write_text(json.dumps(backlog(), ensure_ascii=False, indent=2), encoding="utf-8")
    engine.seed_tasks(tasks_file)
    name = engine.press_play()

    deadline = time.monotonic() + 600
    while True:
        wf = engine.workflow(name)
        nodes = (wf.get("status") or {}).get("nodes") or {}
        waiting = [n for n in nodes.values() if n.get("displayName") == "dependencies"]
        prs = engine.github.pulls()
        if len(waiting) >= TASKS and len(prs) >= 1:
            break
        assert wf.get("status", {}).get("phase") not in ("Failed", "Error"), engine.get_tree(name)
        assert time.monotonic() < deadline, (
            f"{len(waiting)} of {TASKS} tasks started\n{engine.get_tree(name)}"
        )
        time.sleep(2)

    size = len(json.dumps(wf, ensure_ascii=False).encode("utf-8"))
    longest = max(len(n["name"]) for n in nodes.values())
    print(
        f"[engine] 60-task press-play: Workflow object {size} bytes with {len(nodes)} nodes; longest node name {longest} characters"
    )
    assert size < ETCD_LIMIT / 3, size
    # The loop's nodes are named by index and id only: `...task(12:13)`, never the title.
    loop = [n["name"] for n in nodes.values() if n.get("displayName", "").startswith("task(")]
    assert len(loop) == TASKS, loop[:5]
    assert all("café" not in n and "{{" not in n for n in loop), loop[:3]
    assert longest < 200, longest

    # The first PR's title is the task's title exactly (pullRequest gets it base64: no \\" or \\u2014).
    first = prs[0]
    number = int(first["head"].rsplit("-", 1)[1])
    assert first["title"] == f"Task {number}: {title(number)}", first["title"]

    engine.argo("terminate", name)
