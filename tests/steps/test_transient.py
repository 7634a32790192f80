"""GitHub having a bad moment is Running + requeue for every gate step, never Failed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pressplay.testing.github_emulator import GitHubEmulator
from pressplay.testing.sidecar import Sidecar
from tests.steps.conftest import REPO, TASKS_PATH, Rest, task, task_pr, tasks_file

PAST = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()


@pytest.mark.parametrize(
    ("step", "path", "kind"),
    [
        ("backlog", r"/contents/", "status"),
        ("backlog", r"/issues$", "reset"),
        ("dependencies", r"/issues$", "too_many"),
        ("debounce", r"/pulls/\d+$", "status"),
        ("acceptance", r"/check-runs$", "status"),
        ("acceptance", r"/issues/\d+/comments$", "secondary"),
    ],
)
def test_transient_github_trouble_is_retried(
    gh: GitHubEmulator, side: Sidecar, rest: Rest, review_comments: Any, step: str, path: str, kind: str
) -> None:
    gh.create_repo(REPO, files={TASKS_PATH: tasks_file(task(1), task(2, [1]))})
    task_pr(gh, rest, 1, merged=True)
    other = task_pr(gh, rest, 2)
    sha = gh.pull(REPO, other)["head"]["sha"]
    gh.add_check_run(REPO, sha, "build", status="completed", conclusion="success")
    args: dict[str, Any] = {
        "backlog": {"repo": REPO},
        "dependencies": {"repo": REPO, "task": 2, "dependsOn": [1]},
        "debounce": {"repo": REPO, "number": other, "kind": "comment", "eventTime": PAST, "quiet": "1s"},
        "acceptance": {
            "repo": REPO,
            "number": other,
            "spec": {"version": 1, "criteria": [{"kind": "checks"}]},
        },
    }[step]
    gh.inject_fault(path, kind=kind, retry_after=1)

    result = side.run_step(step, args)

    assert result.phase == "Succeeded", result.message
    assert result.replies[0].phase == "Running", result.replies[0].message
    assert len(result.replies) == 2
    # nothing secret in anything the sidecar answered
    key = gh.private_key_file.read_text(encoding="utf-8")
    for reply in result.replies:
        text = json.dumps(reply.body)
        assert gh.issued_tokens and not any(token in text for token in gh.issued_tokens)
        assert "PRIVATE KEY" not in text and key.splitlines()[1] not in text
