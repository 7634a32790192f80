"""``checks``: selection and verdict on GitHub-shaped data, then the whole step through real HTTP
(agent emulator → sidecar → GitHub emulator)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from pressplay.steps.checks import (
    Check,
    ChecksArgs,
    Rules,
    describe,
    evaluate,
    from_check_runs,
    from_statuses,
    from_workflow_runs,
    matches,
    newest_per_name,
    select,
)

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def ts(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def run(
    name: str,
    status: str = "completed",
    conclusion: str | None = "success",
    *,
    at: float = 0,
    ident: int = 0,
    title: str | None = None,
) -> dict[str, Any]:
    """A check run as ``GET /commits/{ref}/check-runs`` lists it (the fields we read)."""
    ident = ident or abs(hash((name, at))) % 10**9
    return {
        "id": ident,
        "name": name,
        "head_sha": "a" * 40,
        "status": status,
        "conclusion": conclusion if status == "completed" else None,
        "started_at": ts(at),
        "completed_at": ts(at + 60) if status == "completed" else None,
        "html_url": f"https://github.com/acme/api/runs/{ident}",
        "details_url": "https://ci.example.com",
        "output": {"title": title, "summary": None, "text": None, "annotations_count": 0},
        "check_suite": {"id": 1},
    }


def status(context: str, state: str, *, at: float = 0) -> dict[str, Any]:
    return {
        "id": abs(hash((context, at))) % 10**9,
        "state": state,
        "context": context,
        "description": f"{context} is {state}",
        "target_url": f"https://ci.example.com/{context}",
        "created_at": ts(at),
        "updated_at": ts(at),
    }


def verdict_of(checks: list[Check], grace_over: bool = False, **rules: Any) -> Any:
    return evaluate(checks, Rules(**rules), grace_over=grace_over)


# -- shapes -----------------------------------------------------------------------------------------


def test_real_webhook_check_runs_normalise(shared_dir: Path) -> None:
    fixtures = shared_dir / "fixtures" / "github-webhooks"
    failed = json.loads((fixtures / "check_run.completed-failure.json").read_text())["check_run"]
    passed = json.loads((fixtures / "check_run.completed-success.json").read_text())["check_run"]
    checks = from_check_runs([failed, passed])
    assert {c.conclusion for c in checks} == {"failure", "success"}
    bad = next(c for c in checks if c.conclusion == "failure")
    assert bad.name == failed["name"]
    assert bad.url == failed["html_url"]
    assert bad.completed


def test_real_webhook_workflow_run_normalises(shared_dir: Path) -> None:
    fixtures = shared_dir / "fixtures" / "github-webhooks"
    body = json.loads((fixtures / "workflow_run.completed-failure.json").read_text())["workflow_run"]
    (check,) = from_workflow_runs([body])
    assert check.kind == "workflow_run"
    assert check.name == (body["name"] or body["path"])  # this recording has an empty name
    assert check.conclusion == "failure"
    assert check.url == body["html_url"]


def test_statuses_map_states() -> None:
    checks = from_statuses([status("ci/a", "pending"), status("ci/b", "error"), status("ci/c", "success")])
    by_name = {c.name: c for c in checks}
    assert not by_name["ci/a"].completed and by_name["ci/a"].conclusion is None
    assert by_name["ci/b"].conclusion == "error"
    v = verdict_of(checks)
    assert v.state == "pending"
    assert [c.name for c in v.failing] == ["ci/b"]


def test_check_run_summary_uses_output_title() -> None:
    (check,) = from_check_runs([run("lint", "completed", "failure", title="3 errors in src/app.py")])
    assert check.summary == "3 errors in src/app.py"


# -- newest run per name ------------------------------------------------------------------------------


def test_stale_failed_run_is_superseded_by_newer_success() -> None:
    checks = from_check_runs(
        [
            run("build", conclusion="failure", at=0, ident=10),
            run("build", conclusion="success", at=300, ident=11),
        ]
    )
    (newest,) = newest_per_name(checks)
    assert newest.id == 11
    v = verdict_of(checks)
    assert v.state == "success"


def test_rerun_in_progress_supersedes_earlier_failure() -> None:
    checks = from_check_runs(
        [run("build", conclusion="failure", at=0, ident=10), run("build", "in_progress", at=300, ident=12)]
    )
    v = verdict_of(checks, fail_fast=True)
    assert v.state == "pending"
    assert not v.failing


def test_newer_failure_beats_older_success() -> None:
    checks = from_check_runs(
        [
            run("build", conclusion="success", at=0, ident=10),
            run("build", conclusion="failure", at=300, ident=9),
        ]
    )
    assert verdict_of(checks).state == "failure"


def test_same_name_of_different_kinds_are_separate() -> None:
    checks = from_check_runs([run("ci", conclusion="success")]) + from_statuses([status("ci", "failure")])
    v = verdict_of(checks)
    assert v.state == "failure"
    assert [(c.kind, c.name) for c in v.failing] == [("status", "ci")]


# -- selection ---------------------------------------------------------------------------------------


def test_required_patterns_select_and_ignore_wins() -> None:
    checks = from_check_runs(
        [
            run("test (3.11)"),
            run("test (3.12)", conclusion="failure"),
            run("lint", conclusion="failure"),
            run("docs"),
        ]
    )
    chosen, missing = select(checks, Rules(required=("test (*)", "docs"), ignore=("test (3.12)",)))
    assert [c.name for c in chosen] == ["docs", "test (3.11)"]
    assert missing == []


def test_own_contexts_are_always_ignored() -> None:
    checks = from_statuses([status("pressplay/acceptance", "pending"), status("ci", "success")])
    v = verdict_of(checks)
    assert v.state == "success"
    assert [c.name for c in v.selected] == ["ci"]


def test_exact_name_with_glob_characters_matches_itself() -> None:
    assert matches("build [linux]", "build [linux]")
    assert matches("build (ubuntu, 3.11)", "build (*)")
    assert not matches("Build", "build")


# -- skipped / neutral ---------------------------------------------------------------------------------


def test_skipped_and_neutral_pass_by_default_and_are_reported() -> None:
    checks = from_check_runs(
        [run("a"), run("deploy-preview", conclusion="skipped"), run("scan", conclusion="neutral")]
    )
    v = verdict_of(checks)
    assert v.state == "success"
    text = describe(v, "abc1234")
    assert "1 skipped: deploy-preview" in text
    assert "1 neutral" in text


def test_skipped_can_fail() -> None:
    checks = from_check_runs([run("a"), run("gate", conclusion="skipped"), run("scan", conclusion="neutral")])
    v = verdict_of(checks, pass_conclusions=frozenset({"success", "neutral"}))
    assert v.state == "failure"
    assert [c.name for c in v.failing] == ["gate"]


def test_neutral_can_fail_through_args() -> None:
    args = ChecksArgs.model_validate({"repo": "acme/api", "ref": "main", "neutral": "fail"})
    rules = Rules.of(args)
    assert rules.pass_conclusions == {"success", "skipped"}


@pytest.mark.parametrize("conclusion", ["failure", "cancelled", "timed_out", "action_required", "stale"])
def test_other_conclusions_fail(conclusion: str) -> None:
    assert verdict_of(from_check_runs([run("x", conclusion=conclusion)])).state == "failure"


# -- waiting, grace, fail-fast -----------------------------------------------------------------------


def test_waits_for_all_before_failing_unless_fail_fast() -> None:
    checks = from_check_runs([run("a", conclusion="failure"), run("b", "in_progress")])
    assert verdict_of(checks).state == "pending"
    fast = verdict_of(checks, fail_fast=True)
    assert fast.state == "failure"
    assert [c.name for c in fast.failing] == ["a"]


def test_missing_required_waits_during_grace_then_fails() -> None:
    checks = from_check_runs([run("build")])
    during = verdict_of(checks, required=("build", "e2e"))
    assert during.state == "pending"
    assert during.missing == ["e2e"]
    assert "not reported yet: e2e" in describe(during, "abc1234")
    after = verdict_of(checks, grace_over=True, required=("build", "e2e"))
    assert after.state == "failure"
    assert [(c.name, c.conclusion) for c in after.failing] == [("e2e", "missing")]


def test_no_checks_at_all() -> None:
    assert verdict_of([]).state == "pending"
    none = verdict_of([], grace_over=True)
    assert none.state == "failure"
    assert "no checks appeared" in describe(none, "abc1234")
    assert verdict_of([], grace_over=True, allow_none=True).state == "success"


# -- arguments ---------------------------------------------------------------------------------------


def test_args_need_exactly_one_target() -> None:
    with pytest.raises(ValidationError, match="exactly one of `ref`"):
        ChecksArgs.model_validate({"repo": "acme/api"})
    with pytest.raises(ValidationError, match="exactly one of `ref`"):
        ChecksArgs.model_validate({"repo": "acme/api", "ref": "main", "number": 3})


def test_args_reject_own_contexts_and_typos() -> None:
    with pytest.raises(ValidationError, match="never waited on"):
        ChecksArgs.model_validate({"repo": "acme/api", "ref": "main", "required": ["pressplay/acceptance"]})
    with pytest.raises(ValidationError, match="requird"):
        ChecksArgs.model_validate({"repo": "acme/api", "ref": "main", "requird": ["build"]})
    with pytest.raises(ValidationError, match=r"onFailure|on_failure"):
        ChecksArgs.model_validate({"repo": "acme/api", "ref": "main", "onFailure": "ignore"})


def test_args_camel_case_and_durations() -> None:
    args = ChecksArgs.model_validate(
        {
            "repo": "acme/api",
            "number": 7,
            "timeout": "45m",
            "grace": "90s",
            "failFast": True,
            "onFailure": "continue",
        }
    )
    assert args.timeout == timedelta(minutes=45)
    assert args.grace == timedelta(seconds=90)
    assert args.fail_fast
    assert args.on_failure.value == "continue"
