"""``pressplay step``: one step once, outside the sidecar (the task's stop report from a pod of its own
when Argo has marked the Workflow's plugin nodes Error), against the GitHub emulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pressplay import step_cli
from pressplay.cli import main as cli_main
from pressplay.steps.shared.sticky import marker
from pressplay.testing.github_emulator import GitHubEmulator
from pressplay.testing.sidecar import Sidecar

REPO = "acme/api"


@pytest.fixture
def gh(github_emulator: GitHubEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> GitHubEmulator:
    github_emulator.create_repo(REPO)
    github_emulator.add_issue(REPO, "Task 7")  # #1
    for name, value in github_emulator.sidecar_settings().items():
        monkeypatch.setenv(f"PRESSPLAY_{name.upper()}", str(value))
    monkeypatch.setenv("ARGO_WORKFLOW", "press-play-x1")
    monkeypatch.setattr(step_cli, "TERMINATION_LOG", tmp_path / "termination-log")
    return github_emulator


def report(*extra: str) -> list[str]:
    return [
        "step",
        "comment",
        "--arg",
        f"repo={REPO}",
        "--arg",
        "number=1",
        "--arg",
        "key=task-7/report",
        *extra,
    ]


def ours(gh: GitHubEmulator) -> list[dict[str, Any]]:
    return [c for c in gh.comments(REPO, 1) if marker("task-7/report") in str(c["body"])]


def test_posts_the_sticky_comment_once_however_often_it_runs(
    gh: GitHubEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    body = "**pressplay stopped task 7** in workflow `pressplay/press-play-x1`."
    for _ in range(2):
        assert cli_main([*report(), "--arg", f"body={body}"]) == 0
    outputs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [o["action"] for o in outputs] == ["created", "unchanged"]
    (comment,) = ours(gh)
    assert comment["body"].startswith(body)
    assert str(comment["id"]) == outputs[0]["id"]


def test_the_sidecar_and_the_command_share_one_sticky_comment(
    gh: GitHubEmulator, sidecar_factory: Any
) -> None:
    sidecar: Sidecar = sidecar_factory(**gh.sidecar_settings())
    args = {"repo": REPO, "number": 1, "key": "task-7/report", "body": "from the sidecar"}
    assert sidecar.run_step("comment", args, outputs=["id", "url", "action"]).phase == "Succeeded"
    assert cli_main([*report(), "--arg", "body=from the pod"]) == 0
    (comment,) = ours(gh)
    assert comment["body"].startswith("from the pod")


def test_a_bad_argument_fails_naming_it(gh: GitHubEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main([*report(), "--arg", "body=x", "--arg", "numbr=2"]) == 1
    err = capsys.readouterr().err
    assert "numbr" in err and "did you mean `number`" in err
    assert "numbr" in step_cli.TERMINATION_LOG.read_text(encoding="utf-8")
    assert not ours(gh)


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["step", "commnt", "--arg", "repo=a/b"], "no step 'commnt'"),
        (["step", "comment", "--arg", "repo"], "write NAME=VALUE"),
        (["step", "comment", "--arg", "repo=a/b", "--arg", "repo=c/d"], "--arg repo given twice"),
    ],
)
def test_usage_errors_name_the_fix(argv: list[str], words: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli_main(argv)
    assert exit_.value.code == 2
    assert words in capsys.readouterr().err


def test_a_wait_is_refused(gh: GitHubEmulator, capsys: pytest.CaptureFixture[str]) -> None:
    head = gh.repo_state(REPO).branches["main"]
    gh.add_check_run(REPO, head, "ci", status="in_progress")
    code = cli_main(["step", "checks", "--arg", f"repo={REPO}", "--arg", f"ref={head}"])
    assert code == 3
    assert "runs a step once" in capsys.readouterr().err
