"""``backlog`` through the real sidecar (agent emulator → HTTP → step → GitHub emulator)."""

from __future__ import annotations

import json

import pytest
from tests.steps.conftest import REPO, TASKS_PATH, Rest, task, task_pr, tasks_file

from pressplay.testing.github_emulator import GitHubEmulator
from pressplay.testing.sidecar import Sidecar

OUTPUTS = ["tasks", "count", "done", "inProgress", "todo", "skipped", "blocked", "summary"]


def test_classifies_from_github_and_the_file(gh: GitHubEmulator, side: Sidecar, rest: Rest) -> None:
    gh.create_repo(
        REPO,
        files={
            TASKS_PATH: tasks_file(
                task(1),  # its PR is merged -> done
                task(2, [1]),  # open PR -> in progress
                task(3, [2, 1]),  # to do; waits for 2 only
                task(4, status="done"),  # done by hand
                task(5, status="cancelled"),  # skipped
                task(6, [5]),  # blocked by a skipped task
                task(7, [4]),  # to do, nothing to wait for
                task(8, [6, 7]),  # blocked through 6
            )
        },
    )
    task_pr(gh, rest, 1, merged=True)
    open_pr = task_pr(gh, rest, 2)
    task_pr(gh, rest, 3, closed=True)  # closed unmerged: the task is still to do

    result = side.run_step("backlog", {"repo": REPO, "base": "main"}, outputs=OUTPUTS)

    assert result.phase == "Succeeded", result.message
    items = json.loads(result.outputs["tasks"])
    assert [i["id"] for i in items] == ["2", "3", "7"]
    by_id = {i["id"]: i for i in items}
    assert by_id["2"]["status"] == "inProgress"
    assert by_id["2"]["pr"] == open_pr
    assert by_id["2"]["prUrl"].endswith(f"/pull/{open_pr}")
    assert by_id["3"] == {
        "id": "3",
        "titleB64": "VGFzayAzOiBkbyB0aGluZyAz",  # base64 of "Task 3: do thing 3"
        "status": "todo",
        "branch": "pressplay/task-3",
        "dependencies": ["2", "1"],
        "waitFor": ["2"],
        "promptPath": ".taskmaster/docs/task-3/prompt.md",
        "priority": "high",
        "pr": None,
        "prUrl": "",
    }
    assert by_id["7"]["waitFor"] == []
    counts = {k: result.outputs[k] for k in ("count", "done", "inProgress", "todo", "skipped", "blocked")}
    assert counts == {
        "count": "3",
        "done": "2",
        "inProgress": "1",
        "todo": "2",
        "skipped": "1",
        "blocked": "2",
    }
    assert "3 task(s) to run" in result.outputs["summary"]
    assert "blocked by skipped tasks (6, 8)" in result.outputs["summary"]


def test_plain_layout_custom_paths_and_templates(gh: GitHubEmulator, side: Sidecar) -> None:
    gh.create_repo(REPO, files={"plan/tasks.json": tasks_file(task("a1"), task("a2", ["a1"]), tag=None)})
    result = side.run_step(
        "backlog",
        {
            "repo": REPO,
            "tasksPath": "plan/tasks.json",
            "promptPath": "plan/{id}/PROMPT.md",
            "branch": "agents/{id}",
        },
        outputs=["tasks", "tag"],
    )
    assert result.phase == "Succeeded", result.message
    items = json.loads(result.outputs["tasks"])
    assert [(i["id"], i["branch"], i["promptPath"]) for i in items] == [
        ("a1", "agents/a1", "plan/a1/PROMPT.md"),
        ("a2", "agents/a2", "plan/a2/PROMPT.md"),
    ]
    assert result.outputs["tag"] == ""


def test_blank_template_parameters_mean_the_defaults(gh: GitHubEmulator, side: Sidecar) -> None:
    gh.create_repo(REPO, files={TASKS_PATH: tasks_file(task(1))})
    result = side.run_step(
        "backlog", {"repo": REPO, "base": "", "tasksPath": " ", "tag": ""}, outputs=["count"]
    )
    assert result.phase == "Succeeded", result.message
    assert result.outputs["count"] == "1"


def test_a_second_press_costs_no_rate_limit(gh: GitHubEmulator, side: Sidecar, rest: Rest) -> None:
    gh.create_repo(REPO, files={TASKS_PATH: tasks_file(task(1), task(2, [1]))})
    task_pr(gh, rest, 1)
    first = side.run_step("backlog", {"repo": REPO})
    assert first.phase == "Succeeded", first.message
    gh.reset_requests()
    second = side.run_step("backlog", {"repo": REPO})
    assert second.phase == "Succeeded", second.message
    reads = [r for r in gh.requests if r.path.startswith(f"/repos/{REPO}/")]
    assert reads, "expected GitHub reads"
    assert all(r.status == 304 for r in reads), [(r.path, r.status) for r in reads]


@pytest.mark.parametrize(
    ("files", "args", "words"),
    [
        (
            {"README.md": "x"},
            {},
            f"{TASKS_PATH} does not exist in {REPO} on the default branch: commit Taskmaster's",
        ),
        ({TASKS_PATH: "{}"}, {"base": "release"}, f"{REPO} has no branch or commit 'release'"),
        (
            {TASKS_PATH: '{"master": {"tasks": [\n  {"id": 1,}\n]}}'},
            {},
            "is not valid JSON: Expecting property name",
        ),
        ({TASKS_PATH: tasks_file(task(1))}, {"tag": "v2"}, "has no tag 'v2'; its tags are master"),
        (
            {TASKS_PATH: tasks_file(task(1, [2]), task(2, [1]), task(3, [99]))},
            {},
            "dependency cycle: 1 → 2 → 1",
        ),
        (
            {TASKS_PATH: tasks_file(task(1, [2]), task(2, [1]), task(3, [99]))},
            {},
            "task 3 depends on 99, which is not",
        ),
        ({".taskmaster/tasks/tasks.json/x": "{}"}, {}, "is not a file"),
    ],
)
def test_bad_task_files_fail_with_the_fix(
    gh: GitHubEmulator, side: Sidecar, files: dict[str, str], args: dict[str, str], words: str
) -> None:
    gh.create_repo(REPO, files=files)
    result = side.run_step("backlog", {"repo": REPO, **args})
    assert result.phase == "Failed"
    assert words in result.message


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ({"promptPath": "docs/prompt.md"}, "promptPath must contain `{id}`"),
        ({"tasksPath": "../etc/passwd"}, "tasksPath must be a relative path"),
        ({"branch": "task {id}"}, "would not be a valid git branch name"),
        ({"taskPath": "x.json"}, "backlog.taskPath: unknown argument"),
        ({"repo": "not a repo"}, "backlog.repo"),
    ],
)
def test_bad_arguments_name_the_field(side: Sidecar, args: dict[str, str], words: str) -> None:
    result = side.run_step("backlog", {"repo": REPO, **args})
    assert result.phase == "Failed"
    assert words in result.message


def test_titles_travel_base64_whatever_they_hold() -> None:
    """Argo formats withParam items with %v and templates them again (processItem / expandTask):
    the item carries the title only base64-encoded, so nothing in it can mangle or break the fan-out."""
    import base64

    from pressplay.steps.backlog import BacklogArgs, _item
    from pressplay.tasks import parse_tasks

    title = 'Say "hi" \\ é — 🚀 {{x}} {{=sprig.upper(1)}}'
    tasks = parse_tasks(json.dumps({"tasks": [{"id": 1, "title": title}]}))
    args = BacklogArgs.model_validate({"repo": "acme/api"})
    item = _item(tasks.tasks[0], "todo", None, {}, args)
    assert "title" not in item
    assert base64.b64decode(item["titleB64"]).decode() == title
    assert "{{" not in json.dumps(item) and json.dumps(item).isascii()
