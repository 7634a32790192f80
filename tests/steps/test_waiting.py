"""The wait kit (``pressplay.steps.waiting``): how every waiting step paces its polls and how its wait ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from pressplay.config import Settings
from pressplay.steps.base import Failed, Running, Succeeded
from pressplay.steps.waiting import (
    SOON,
    GiveUp,
    OnFailure,
    OnFailureArgs,
    Wait,
    WaitArgs,
    keep_waiting,
    next_poll,
    settle,
)

ANCHOR = datetime(2026, 11, 25, 10, tzinfo=UTC)
SETTINGS = Settings(requeue_min_seconds=10, requeue_max_seconds=300)


def wait_at(minutes: float, timeout: timedelta = timedelta(minutes=30)) -> Wait:
    return Wait(ANCHOR, timeout, ANCHOR + timedelta(minutes=minutes))


# -- arguments ---------------------------------------------------------------------------------------


def test_wait_args_accept_duration_strings_and_times() -> None:
    args = WaitArgs.model_validate({"timeout": "45m", "since": "2026-11-25T10:00:00Z"})
    assert args.timeout == timedelta(minutes=45)
    assert args.since == datetime(2026, 11, 25, 10, tzinfo=UTC)


def test_on_failure_args_take_fail_or_continue() -> None:
    assert OnFailureArgs.model_validate({}).on_failure is OnFailure.fail
    assert OnFailureArgs.model_validate({"onFailure": "continue"}).on_failure is OnFailure.cont
    with pytest.raises(ValidationError, match="'fail' or 'continue'"):
        OnFailureArgs.model_validate({"onFailure": "ignore"})


def test_every_step_with_on_failure_shares_the_one_enum() -> None:
    from pressplay.steps import checks, dispatch

    for model in (checks.ChecksArgs, dispatch.DispatchArgs):
        assert issubclass(model, OnFailureArgs)
        assert model.model_fields["on_failure"].annotation is OnFailure
        assert "onFailure" in model.model_json_schema()["properties"]


# -- the clock of one poll ---------------------------------------------------------------------------


def test_wait_measures_from_its_durable_anchor() -> None:
    wait = wait_at(20)
    assert wait.deadline == ANCHOR + timedelta(minutes=30)
    assert wait.elapsed == timedelta(minutes=20)
    assert wait.remaining == timedelta(minutes=10)
    assert not wait.over
    assert wait_at(30).over  # the deadline itself is over
    assert wait_at(31).remaining == timedelta(minutes=-1)


def test_timed_out_says_how_long_what_since_when_and_the_fix() -> None:
    assert wait_at(31).timed_out("checks") == (
        "timed out after 30m waiting for checks (started 2026-11-25T10:00:00Z); raise `timeout` if this needs longer"
    )
    assert wait_at(31).timed_out("checks", "last: build running") == (
        "timed out after 30m waiting for checks (started 2026-11-25T10:00:00Z); last: build running; "
        "raise `timeout` if this needs longer"
    )


def test_timed_out_writes_the_anchor_in_utc() -> None:
    """A `since` given with an offset is the same instant: the message says it in UTC, not mislabelled."""
    berlin = ANCHOR.astimezone(timezone(timedelta(hours=1)))
    wait = Wait(berlin, timedelta(minutes=30), ANCHOR + timedelta(hours=1))
    assert "(started 2026-11-25T10:00:00Z)" in wait.timed_out("checks")


# -- the requeue -------------------------------------------------------------------------------------


def test_next_poll_adapts() -> None:
    fresh = next_poll(timedelta(seconds=5))
    later = next_poll(timedelta(minutes=30))
    assert fresh == timedelta(seconds=10)
    assert later == timedelta(minutes=3)
    assert next_poll(timedelta(minutes=30), changed=False) > later
    assert next_poll(timedelta(minutes=30), budget=0.01) == timedelta(minutes=5)
    assert next_poll(timedelta(minutes=30), remaining=timedelta(seconds=4)) == timedelta(seconds=5)


def test_requeue_is_paced_by_the_settings() -> None:
    assert wait_at(0.1).requeue(SETTINGS) == timedelta(seconds=10)  # the configured minimum
    slow = Settings(requeue_min_seconds=60, requeue_max_seconds=120)
    assert wait_at(0.1).requeue(slow) == timedelta(seconds=60)
    assert wait_at(20, timedelta(hours=2)).requeue(slow) == timedelta(seconds=120)  # and maximum


def test_requeue_backs_off_when_nothing_changed_or_the_budget_runs_low() -> None:
    wait = wait_at(10, timedelta(hours=1))
    moving = wait.requeue(SETTINGS)
    assert moving == timedelta(minutes=1)
    assert wait.requeue(SETTINGS, changed=False) == timedelta(minutes=2)
    assert wait.requeue(SETTINGS, budget=0.1) == timedelta(minutes=3)
    assert wait.requeue(SETTINGS, budget=0.01) == timedelta(minutes=5)


def test_requeue_never_sleeps_past_the_deadline() -> None:
    assert wait_at(29.9).requeue(SETTINGS, changed=False, budget=0.01) == timedelta(seconds=7)


def test_requeue_comes_back_when_something_is_due() -> None:
    wait = wait_at(10, timedelta(hours=1))
    assert wait.requeue(SETTINGS, at_most=timedelta(seconds=20)) == timedelta(seconds=21)
    assert wait.requeue(SETTINGS, at_most=timedelta(0)) == timedelta(seconds=1)
    assert wait.requeue(SETTINGS, at_most=timedelta(hours=1)) == timedelta(minutes=1)  # only ever sooner


def test_requeue_soon_when_news_is_expected() -> None:
    wait = wait_at(10, timedelta(hours=1))
    assert wait.requeue(SETTINGS, soon=True) == timedelta(seconds=10)  # the configured minimum
    tiny = Settings(requeue_min_seconds=1)
    assert wait.requeue(tiny, soon=True) == SOON  # not a poll a second
    assert wait_at(59.95, timedelta(hours=1)).requeue(tiny, soon=True) == timedelta(seconds=4)


# -- how a wait ends ---------------------------------------------------------------------------------


def test_settle_fails_or_continues_with_the_outputs() -> None:
    failure = GiveUp("3 checks failed: fix them", {"state": "failure"}, summary="3 checks failed")
    assert settle(failure) == Failed("3 checks failed: fix them", outputs={"state": "failure"})
    assert settle(failure, OnFailure.cont) == Succeeded({"state": "failure"}, summary="3 checks failed")
    assert settle(GiveUp("gone"), OnFailure.cont) == Succeeded({}, summary="gone")


def test_keep_waiting_before_the_deadline_is_running_and_never_gives_up() -> None:
    def give_up() -> GiveUp:
        raise AssertionError("give_up is only called past the deadline")

    outcome = keep_waiting(wait_at(10, timedelta(hours=1)), SETTINGS, "2 checks running", give_up=give_up)
    assert outcome == Running("2 checks running", requeue=timedelta(minutes=1))
    soon = keep_waiting(wait_at(10, timedelta(hours=1)), SETTINGS, "syncing", give_up=give_up, soon=True)
    assert soon == Running("syncing", requeue=timedelta(seconds=10))


@pytest.mark.parametrize(
    ("on_failure", "expected"),
    [
        (OnFailure.fail, Failed("timed out", outputs={"state": "timed_out"})),
        (OnFailure.cont, Succeeded({"state": "timed_out"}, summary="timed out")),
    ],
)
def test_keep_waiting_past_the_deadline_gives_up_as_the_template_asked(
    on_failure: OnFailure, expected: Failed | Succeeded
) -> None:
    calls: list[str] = []

    def give_up() -> GiveUp:
        calls.append("give_up")
        return GiveUp("timed out", {"state": "timed_out"})

    assert (
        keep_waiting(wait_at(30), SETTINGS, "still running", give_up=give_up, on_failure=on_failure)
        == expected
    )
    assert calls == ["give_up"]
