""" "Is CI green" has one answer: the acceptance ``checks`` criterion and the ``checks`` step agree on the
same GitHub data — as pure functions over GitHub-shaped data, and as whole steps through the sidecar."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest
from tests.steps.conftest import REPO

from pressplay.acceptance_spec import ChecksCriterion
from pressplay.steps.acceptance import checks_rules, eval_checks
from pressplay.steps.checks import ChecksArgs, Rules, evaluate, from_check_runs, from_statuses
from pressplay.testing.github_emulator import GitHubEmulator
from pressplay.testing.sidecar import Sidecar

SHA = "d" * 40
OWN = "pressplay/acceptance"
AS_CRITERION = {"success": "passed", "failure": "failed", "pending": "pending"}


def run(
    name: str, conclusion: str | None = "success", *, at: str, rid: int, status: str = "completed"
) -> dict[str, Any]:
    return {"id": rid, "name": name, "status": status, "conclusion": conclusion, "started_at": at,
            "html_url": f"https://github.com/{REPO}/runs/{rid}"}  # fmt: skip


def status(context: str, state: str, *, at: str, sid: int) -> dict[str, Any]:
    return {
        "id": sid,
        "context": context,
        "state": state,
        "created_at": at,
        "target_url": "https://ci.example.com",
    }


T = "2026-11-25T10:00:00Z"


def case(
    shows: str,
    expected: str,
    runs: Sequence[dict[str, Any]] = (),
    statuses: Sequence[dict[str, Any]] = (),
    *,
    both: dict[str, Any] | None = None,
    criterion: dict[str, Any] | None = None,
    arguments: dict[str, Any] | None = None,
) -> Any:
    """One data set: ``both`` holds fields spelled alike in the spec and as `checks` arguments;
    ``criterion`` / ``arguments`` those spelled differently."""
    crit = {**(both or {}), **(criterion or {})}
    args = {**(both or {}), **(arguments or {})}
    return pytest.param(list(runs), list(statuses), crit, args, expected, id=shows)


CASES = [
    case("a re-run whose newer run passes", "passed",
         [run("build", "failure", at=T, rid=1), run("build", at="2026-11-25T10:07:00Z", rid=2)]),
    case("a re-run whose newer run fails", "failed",
         [run("build", at=T, rid=1), run("build", "failure", at="2026-11-25T10:07:00Z", rid=2)]),
    case("the newer run has fractional seconds (as raw strings it sorts older: '.' < 'Z')", "passed",
         [run("build", "failure", at=T, rid=7), run("build", at="2026-11-25T10:00:00.250Z", rid=3)]),
    case("the older run carries a +02:00 offset (as raw strings it sorts newer)", "failed",
         [run("build", at="2026-11-25T11:00:00+02:00", rid=9), run("build", "failure", at="2026-11-25T10:30:00Z", rid=4)]),
    case("skipped and neutral pass by default", "passed",
         [run("lint", "skipped", at=T, rid=1), run("scan", "neutral", at=T, rid=2)]),
    case("neutral made failing", "failed", [run("scan", "neutral", at=T, rid=2)],
         criterion={"passingConclusions": ["success", "skipped"]}, arguments={"neutral": "fail"}),
    case("skipped made failing", "failed", [run("lint", "skipped", at=T, rid=1)],
         criterion={"passingConclusions": ["success", "neutral"]}, arguments={"skipped": "fail"}),
    case("a status and a check run with the same name: both count", "failed",
         [run("ci", at=T, rid=1)], [status("ci", "failure", at="2026-11-25T10:01:00Z", sid=5)]),
    case("the newest status per context wins (listed oldest first here)", "passed", [],
         [status("ci", "failure", at=T, sid=1), status("ci", "success", at="2026-11-25T10:05:00Z", sid=2)]),
    case("our own status is never counted", "passed",
         [run("build", at=T, rid=1)], [status(OWN, "failure", at=T, sid=1)]),
    case("a running check is pending", "pending", [run("build", None, at=T, rid=1, status="in_progress")]),
    case("one failure decides while another still runs", "failed",
         [run("build", "failure", at=T, rid=1), run("e2e", None, at=T, rid=2, status="queued")]),
    case("a required check that has not reported yet is pending", "pending",
         [run("build", at=T, rid=1)], both={"required": ["build", "e2e"]}),
    case("required names are glob patterns in both", "failed",
         [run("test (3.11)", at=T, rid=1), run("test (3.12)", "failure", at=T, rid=2)], both={"required": ["test (*)"]}),
    case("ignored checks are left out", "passed",
         [run("build", at=T, rid=1), run("flaky", "failure", at=T, rid=2)], both={"ignore": ["fla*"]}),
]  # fmt: skip


@pytest.mark.parametrize(("runs", "statuses", "criterion", "arguments", "expected"), CASES)
def test_acceptance_and_checks_agree_on_the_same_data(
    runs: list[dict[str, Any]],
    statuses: list[dict[str, Any]],
    criterion: dict[str, Any],
    arguments: dict[str, Any],
    expected: str,
) -> None:
    data = from_check_runs(runs) + from_statuses(statuses)
    crit = ChecksCriterion.model_validate({"kind": "checks", **criterion})
    # the checks step as a template would configure it: decide at the first failure
    args = ChecksArgs.model_validate({"repo": REPO, "ref": SHA, "failFast": True, **arguments})
    step_verdict = evaluate(data, Rules.of(args), grace_over=False)

    result = eval_checks(crit, "checks-1", data, sha=SHA, own_context=OWN)

    assert AS_CRITERION[step_verdict.state] == result.state == expected, result.evidence


def test_the_criterion_uses_the_rules_the_checks_step_would() -> None:
    crit = ChecksCriterion.model_validate(
        {"kind": "checks", "passingConclusions": ["success", "skipped"], "ignore": ["docs*"]}
    )
    args = ChecksArgs.model_validate(
        {"repo": REPO, "ref": SHA, "failFast": True, "neutral": "fail", "ignore": ["docs*"]}
    )
    rules = checks_rules(crit, own_context="gate/acceptance")
    assert rules.pass_conclusions == Rules.of(args).pass_conclusions
    assert (rules.fail_fast, rules.allow_none) == (True, False)
    assert rules.ignore == ("docs*", "gate/acceptance")  # a custom status context is ours too


# -- through the sidecar, against the GitHub emulator ----------------------------------------------


def _rerun_passes(gh: GitHubEmulator, sha: str) -> None:
    gh.add_check_run(REPO, sha, "build", status="completed", conclusion="failure")
    gh.add_check_run(REPO, sha, "build", status="completed", conclusion="success")


def _rerun_fails(gh: GitHubEmulator, sha: str) -> None:
    gh.add_check_run(REPO, sha, "build", status="completed", conclusion="success")
    gh.add_check_run(REPO, sha, "build", status="completed", conclusion="failure")


def _skipped_and_neutral(gh: GitHubEmulator, sha: str) -> None:
    gh.add_check_run(REPO, sha, "build", status="completed", conclusion="success")
    gh.add_check_run(REPO, sha, "docs", status="completed", conclusion="skipped")
    gh.add_check_run(REPO, sha, "scan", status="completed", conclusion="neutral")


def _status_and_run_same_name(gh: GitHubEmulator, sha: str) -> None:
    gh.add_check_run(REPO, sha, "ci", status="completed", conclusion="success")
    gh.add_status(REPO, sha, "ci", "failure")


def _status_superseded(gh: GitHubEmulator, sha: str) -> None:
    gh.add_status(REPO, sha, "ci/legacy", "failure")
    gh.add_status(REPO, sha, "ci/legacy", "success")
    gh.add_status(REPO, sha, OWN, "failure")


def _still_running(gh: GitHubEmulator, sha: str) -> None:
    gh.add_check_run(REPO, sha, "build", status="completed", conclusion="success")
    gh.add_check_run(REPO, sha, "e2e", status="in_progress")


@pytest.mark.parametrize(
    ("arrange", "phase"),
    [
        pytest.param(_rerun_passes, "Succeeded", id="re-run passes"),
        pytest.param(_rerun_fails, "Failed", id="re-run fails"),
        pytest.param(_skipped_and_neutral, "Succeeded", id="skipped and neutral"),
        pytest.param(_status_and_run_same_name, "Failed", id="status and check run of one name"),
        pytest.param(_status_superseded, "Succeeded", id="newest status wins, ours ignored"),
        pytest.param(_still_running, "Running", id="still running"),
    ],
)
def test_both_steps_answer_alike_on_the_same_pull_request(
    gh: GitHubEmulator, side: Sidecar, arrange: Callable[[GitHubEmulator, str], None], phase: str
) -> None:
    gh.create_repo(REPO, files={"README.md": "# api\n"})
    sha = gh.push(REPO, "pressplay/task-7", {"app.py": "x = 1\n"}, message="Task 7")
    number = gh.open_pull(
        REPO, "pressplay/task-7", "main", "Task 7", user=gh.bot.login, author_association="NONE"
    )
    arrange(gh, sha)

    checks = side.call_step("checks", {"repo": REPO, "number": number, "failFast": True})
    gate = side.call_step(
        "acceptance",
        {"repo": REPO, "number": number, "spec": {"version": 1, "criteria": [{"kind": "checks"}]}},
    )

    assert checks.phase == gate.phase == phase, (checks.message, gate.message)
