"""``dependencies`` with ``fromTasksFile`` (issue 13 items 2 and 7): press-play loops over task ids
only, and this step reads the task itself from the tasks file: its dependencies, its exact title
(base64, byte for byte: quotes, backslashes, non-ASCII, emoji, braces), its branch and prompt path."""

from __future__ import annotations

import base64
import json

import pytest
from tests.steps.conftest import REPO, TASKS_PATH, Rest, task, task_pr, tasks_file

from pressplay.testing.github_emulator import GitHubEmulator
from pressplay.testing.sidecar import Sidecar

OUTPUTS = ["merged", "count", "dependsOn", "titleB64", "branch", "promptPath"]
HOSTILE = "Say \"hi\" \\ café — 🚀 {{x}} ${{ secrets.X }} {{=sprig.upper('x')}}"


@pytest.fixture
def repo(gh: GitHubEmulator) -> str:
    second = task(2, [1])
    second["title"] = HOSTILE
    gh.create_repo(REPO, files={TASKS_PATH: tasks_file(task(1), second)})
    return REPO


def test_reads_the_task_from_the_file(gh: GitHubEmulator, repo: str, side: Sidecar, rest: Rest) -> None:
    task_pr(gh, rest, 1, merged=True)
    result = side.run_step(
        "dependencies",
        {"repo": repo, "task": "2", "fromTasksFile": "true", "dependsOn": "[]"},
        outputs=OUTPUTS,
    )
    assert result.phase == "Succeeded", result.message
    out = result.outputs
    assert json.loads(out["dependsOn"]) == ["1"]
    assert base64.b64decode(out["titleB64"]).decode("utf-8") == HOSTILE
    assert out["branch"] == "pressplay/task-2"
    assert out["promptPath"] == ".taskmaster/docs/task-2/prompt.md"
    assert out["count"] == "1"


def test_given_values_win(repo: str, side: Sidecar) -> None:
    given = base64.b64encode(b"Given title").decode()
    result = side.run_step(
        "dependencies",
        {
            "repo": repo,
            "task": "1",
            "fromTasksFile": "true",
            "branch": "feature/x",
            "titleB64": given,
            "promptPath": "docs/p.md",
        },
        outputs=OUTPUTS,
    )
    assert result.phase == "Succeeded", result.message
    assert (result.outputs["titleB64"], result.outputs["branch"], result.outputs["promptPath"]) == (
        given,
        "feature/x",
        "docs/p.md",
    )
    assert result.outputs["dependsOn"] == "[]"


def test_without_from_tasks_file_outputs_the_arguments(repo: str, side: Sidecar) -> None:
    result = side.run_step("dependencies", {"repo": repo, "task": "1", "dependsOn": ""}, outputs=OUTPUTS)
    assert result.phase == "Succeeded", result.message
    assert (result.outputs["branch"], result.outputs["titleB64"], result.outputs["dependsOn"]) == (
        "pressplay/task-1",
        "",
        "[]",
    )


def test_a_task_gone_from_the_file_fails_naming_it(repo: str, side: Sidecar) -> None:
    result = side.run_step(
        "dependencies", {"repo": repo, "task": "9", "fromTasksFile": "true"}, outputs=OUTPUTS
    )
    assert result.phase == "Failed"
    assert "has no task 9" in result.message and "press play again" in result.message


@pytest.mark.parametrize(("field", "value"), [("branch", "a..b"), ("promptPath", "../etc/passwd")])
def test_bad_given_values_name_the_field(repo: str, side: Sidecar, field: str, value: str) -> None:
    result = side.run_step("dependencies", {"repo": repo, "task": "1", field: value}, outputs=OUTPUTS)
    assert result.phase == "Failed"
    assert field in result.message
