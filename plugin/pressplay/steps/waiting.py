"""The kit for waiting steps: how a wait paces itself and how it ends — without any state in the sidecar.

A waiting step reads the world, decides whether it is done, and otherwise ends with the one helper
:func:`keep_waiting`: past the deadline it gives up (Failed, or Succeeded with ``state`` outputs when
the template asked ``onFailure: continue``); before it, Running with a paced requeue. Its pieces:

- :class:`WaitArgs`: the arguments every waiting step shares (``timeout``, ``since``);
  :class:`OnFailureArgs` adds ``onFailure`` for steps whose failure a DAG may route on.
- :class:`Wait`: one poll's anchor, timeout and clock (elapsed, remaining, over), the standard
  give-up sentence (:meth:`Wait.timed_out`) and the paced requeue (:meth:`Wait.requeue`). The anchor
  is a *durable* timestamp (``since`` if the template passes one, e.g. ``{{tasks.author.finishedAt}}``,
  else a timestamp read from GitHub or Kubernetes such as a check suite's ``created_at``), so a
  sidecar restart cannot reset the deadline ``anchor + timeout``.
- :class:`GiveUp` and :func:`settle`: a final failure, and how ``onFailure`` turns it into an outcome.
  A step whose wait ends in failure before the deadline (checks failed, a run concluded ``failure``)
  settles it the same way.
- :func:`next_poll`: the requeue interval: short while things move, longer while nothing changes, and
  longer still when the GitHub installation's rate-limit budget runs low.

A poll, end to end::

    wait = Wait(args.since or observed_anchor, args.timeout, ctx.now())
    if done:
        return Succeeded(outputs, summary=...)
    if failed:
        return settle(GiveUp(message, outputs, summary), args.on_failure)
    return keep_waiting(
        wait, ctx.settings, f"waiting for {what}",
        give_up=lambda: GiveUp(wait.timed_out(what), {**outputs, "state": "timed_out"}),
        on_failure=args.on_failure, changed=not resp.not_modified, budget=repo.budget(),
    )
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from pydantic import AwareDatetime, Field

from pressplay.config import Settings
from pressplay.steps.base import Failed, Outcome, OutputValue, Running, StepArgs, Succeeded
from pressplay.types import Duration, format_duration

__all__ = [
    "SOON",
    "GiveUp",
    "OnFailure",
    "OnFailureArgs",
    "Wait",
    "WaitArgs",
    "keep_waiting",
    "next_poll",
    "settle",
]


#: The requeue of a poll that expects news soon (an operation running, GitHub still computing), unless
#: the configured minimum is longer: soon, without hammering the API when the minimum is tiny.
SOON = timedelta(seconds=5)


class WaitArgs(StepArgs):
    """Arguments shared by every step that waits."""

    timeout: Duration = Field(
        timedelta(hours=1), description="Give up (Failed) this long after the wait started, e.g. `30m`."
    )
    since: AwareDatetime | None = Field(
        None,
        description=(
            "When the wait started (RFC 3339), e.g. `{{tasks.author.finishedAt}}`. "
            "Default: the step's own durable anchor (see its page)."
        ),
    )


class OnFailure(StrEnum):
    """What a final failure (failed or timed out) makes of the node."""

    fail = "fail"
    cont = "continue"


class OnFailureArgs(WaitArgs):
    """:class:`WaitArgs` plus ``onFailure``, for waits whose failure a DAG may route on."""

    on_failure: OnFailure = Field(
        OnFailure.fail,
        description=(
            "`fail`: the node fails when the wait ends in failure or times out. `continue`: the node "
            "succeeds with the failure in its outputs (e.g. `state=failure`, `state=timed_out`), so the "
            "DAG can route on it."
        ),
    )


@dataclass(frozen=True)
class GiveUp:
    """A final failure: the node's ``message``, its ``outputs``, and the ``summary`` output."""

    message: str
    outputs: Mapping[str, OutputValue] = field(default_factory=dict)
    summary: str = ""


def settle(failure: GiveUp, on_failure: OnFailure = OnFailure.fail) -> Outcome:
    """A final failure as the template asked: Failed, or Succeeded with the outputs (``continue``)."""
    if on_failure is OnFailure.cont:
        return Succeeded(failure.outputs, summary=failure.summary or failure.message)
    return Failed(failure.message, outputs=failure.outputs)


@dataclass(frozen=True)
class Wait:
    """One poll of a wait: its durable ``anchor``, its ``timeout`` and the time ``now``."""

    anchor: datetime
    timeout: timedelta
    now: datetime

    @property
    def deadline(self) -> datetime:
        return self.anchor + self.timeout

    @property
    def elapsed(self) -> timedelta:
        return self.now - self.anchor

    @property
    def remaining(self) -> timedelta:
        return self.deadline - self.now

    @property
    def over(self) -> bool:
        return self.now >= self.deadline

    def timed_out(self, what: str, detail: str = "") -> str:
        """The standard give-up sentence: how long, for what, since when, ``detail`` (e.g. the last
        state seen), and the fix."""
        started = self.anchor.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        extra = f"; {detail}" if detail else ""
        return (
            f"timed out after {format_duration(self.timeout)} waiting for {what} (started {started})"
            f"{extra}; raise `timeout` if this needs longer"
        )

    def requeue(
        self,
        settings: Settings,
        *,
        changed: bool = True,
        budget: float | None = None,
        at_most: timedelta | None = None,
        soon: bool = False,
    ) -> timedelta:
        """The paced interval to the next poll (see :func:`next_poll`), never past the deadline, never
        later than ``at_most`` (+1 s) when the step knows something is due by then, and no more than
        :data:`SOON` (or the configured minimum, if longer) when ``soon``: news is expected shortly."""
        interval = next_poll(
            self.elapsed,
            changed=changed,
            budget=budget,
            minimum=settings.requeue_min_seconds,
            maximum=settings.requeue_max_seconds,
            remaining=self.remaining,
        )
        if soon:
            interval = min(interval, max(SOON, timedelta(seconds=settings.requeue_min_seconds)))
        if at_most is not None:
            interval = min(interval, max(timedelta(seconds=1), at_most + timedelta(seconds=1)))
        return interval


def keep_waiting(
    wait: Wait,
    settings: Settings,
    message: str,
    *,
    give_up: Callable[[], GiveUp],
    on_failure: OnFailure = OnFailure.fail,
    changed: bool = True,
    budget: float | None = None,
    at_most: timedelta | None = None,
    soon: bool = False,
) -> Outcome:
    """How every wait that is not done ends a poll: past the deadline, ``give_up()`` settled per
    ``on_failure``; before it, Running with ``message`` and the paced requeue (see :meth:`Wait.requeue`
    for ``changed``, ``budget``, ``at_most`` and ``soon``). ``give_up`` is called only past the
    deadline, so it may do the work a final answer needs (e.g. remove a wait's bookkeeping)."""
    if wait.over:
        return settle(give_up(), on_failure)
    requeue = wait.requeue(settings, changed=changed, budget=budget, at_most=at_most, soon=soon)
    return Running(message, requeue=requeue)


def next_poll(
    elapsed: timedelta,
    *,
    changed: bool = True,
    budget: float | None = None,
    minimum: float = 10.0,
    maximum: float = 300.0,
    remaining: timedelta | None = None,
) -> timedelta:
    """The requeue interval for a wait.

    ``elapsed``: time since the wait's anchor. ``changed``: whether this poll saw anything new (a 304
    means no). ``budget``: fraction of the installation's rate limit left (0..1), if known.
    ``remaining``: time left before the deadline (the poll never sleeps past it).
    """
    seconds = max(minimum, min(maximum, elapsed.total_seconds() / 10.0))
    if not changed:
        seconds = min(maximum, seconds * 2)
    if budget is not None:
        if budget < 0.05:
            seconds = max(seconds, maximum)
        elif budget < 0.2:
            seconds = min(maximum, seconds * 3)
        elif budget < 0.5:
            seconds = min(maximum, seconds * 1.5)
    if remaining is not None and remaining.total_seconds() > 0:
        seconds = min(seconds, max(1.0, remaining.total_seconds() + 1))
    return timedelta(seconds=round(seconds))
