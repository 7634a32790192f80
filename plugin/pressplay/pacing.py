"""How waits pace themselves and when they give up — without any state in the sidecar.

- :class:`WaitArgs`: the arguments every waiting step shares (``timeout``, ``since``).
- :class:`Deadline`: ``anchor + timeout``, where the anchor is a *durable* timestamp (``since`` if the
  template passes one, e.g. ``{{tasks.author.finishedAt}}``, else a timestamp read from GitHub or
  Kubernetes such as a check suite's ``created_at``). A sidecar restart cannot reset it.
- :func:`next_poll`: the requeue interval: short while things move, longer while nothing changes, and
  longer still when the GitHub installation's rate-limit budget runs low.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import AwareDatetime, Field

from pressplay.steps.base import PermanentError, StepArgs
from pressplay.types import Duration, format_duration


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


@dataclass(frozen=True)
class Deadline:
    anchor: datetime
    timeout: timedelta

    @property
    def at(self) -> datetime:
        return self.anchor + self.timeout

    def remaining(self, now: datetime) -> timedelta:
        return self.at - now

    def passed(self, now: datetime) -> bool:
        return now >= self.at

    def check(self, now: datetime, what: str) -> None:
        """Raise :class:`PermanentError` once the deadline has passed."""
        if self.passed(now):
            raise PermanentError(
                f"timed out after {format_duration(self.timeout)} waiting for {what} "
                f"(started {self.anchor.isoformat()}); raise `timeout` if this needs longer"
            )


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
