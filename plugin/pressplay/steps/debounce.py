"""``debounce``: let a burst of events settle, then tell the flow whether its trigger is still the newest.

A Sensor starts one workflow per event; a review with ten comments, or a check suite with five failing
jobs, starts several. Each workflow's first step is ``debounce`` with the event's time: it waits until
``eventTime + quiet`` (Running, no pod), then looks at GitHub and outputs ``proceed=true`` only when
no newer trigger of the same ``kind`` exists on the pull request. Exactly the last event of a burst
goes on; the others end quietly (``proceed=false``), to be skipped with ``when``.

Stateless: everything is derived from GitHub (comment/review/run timestamps, the PR head), so a
sidecar restart or a redelivered event gives the same answer.

Kinds and what counts as a newer trigger (by time, ties broken by ``eventId``) — exactly what the
shipped Sensors trigger on, so that one workflow of a burst proceeds:

- ``comment``: a conversation comment, a review comment (on a line of the diff), or a review that
  requests changes, by a trusted author (``OWNER``/``MEMBER``/``COLLABORATOR``, never our own App or
  another bot);
- ``checkRun``: a check run on the PR head that completed with a failing conclusion (not our App's);
- ``workflowRun``: a GitHub Actions run on the PR head that completed with a failing conclusion;
- ``ci``: workflow runs plus the check runs of *other* CI systems (GitHub Actions' own check runs are
  represented by their workflow run) — for a Sensor that triggers on both events, as shipped.

For the CI kinds, a head that moved past ``sha`` (when given) also means "superseded": the new head
gets its own CI and its own events. A closed pull request never proceeds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import AwareDatetime, Field, field_validator

from pressplay.github import RepoClient
from pressplay.steps.base import Outcome, Running, StepArgs, StepContext, Succeeded, step
from pressplay.types import (
    TRUSTED_ASSOCIATIONS,
    Duration,
    OptionalCommitSha,
    Repo,
    format_duration,
    parse_timestamp,
)

#: Conclusions that trigger CI remediation (the `ci-failure` Sensor filters on the same two).
FAILING = frozenset({"failure", "timed_out"})
#: Review states that trigger remediation (approvals, plain comments and dismissals do not).
FEEDBACK_REVIEW_STATES = frozenset({"CHANGES_REQUESTED"})
#: The App whose check runs are GitHub Actions jobs (their workflow run is the trigger).
ACTIONS_APP = "github-actions"

Kind = Literal["comment", "checkRun", "workflowRun", "ci"]


class DebounceArgs(StepArgs):
    """Arguments of the ``debounce`` step."""

    repo: Repo = Field(description="Repository as `owner/name`, e.g. `acme/api`.")
    number: int = Field(..., ge=1, description="Pull request number.")
    kind: Kind = Field(
        ...,
        description=(
            "Which triggers compete: `comment` (comments, review comments and change requests by trusted "
            "authors), `checkRun`, `workflowRun`, or `ci` (workflow runs and other CI systems' check runs)."
        ),
    )
    event_time: AwareDatetime = Field(
        ...,
        description=(
            "When the triggering event happened (RFC 3339), e.g. `comment.created_at`, "
            "`check_run.completed_at` or `workflow_run.updated_at` from the webhook body."
        ),
    )
    event_id: int | None = Field(
        None,
        ge=1,
        description="Id of the triggering comment/review/run: breaks ties between events in the same second.",
    )
    sha: OptionalCommitSha = Field(
        None,
        description="Head SHA the triggering CI event was about; a PR head that moved on supersedes it.",
    )
    quiet: Duration = Field(
        timedelta(seconds=60), description="How long no newer trigger must arrive, e.g. `60s` or `2m`."
    )

    @field_validator("event_id", mode="before")
    @classmethod
    def _blank_id(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("quiet")
    @classmethod
    def _quiet(cls, value: timedelta) -> timedelta:
        if value > timedelta(hours=1):
            raise ValueError("quiet may be at most 1h; a debounce longer than that delays every reaction")
        return value


@dataclass(frozen=True)
class Trigger:
    kind: str
    id: int
    at: datetime
    url: str
    who: str = ""

    def as_output(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "time": self.at.isoformat(),
            "url": self.url,
            "by": self.who,
        }


def newer(triggers: list[Trigger], event_time: datetime, event_id: int | None) -> list[Trigger]:
    """The triggers after (event_time, event_id), newest first; the triggering event itself excluded."""
    out = []
    for trig in triggers:
        if event_id is not None and trig.id == event_id:
            continue
        if trig.at > event_time or (trig.at == event_time and event_id is not None and trig.id > event_id):
            out.append(trig)
    return sorted(out, key=lambda t: (t.at, t.id), reverse=True)


def trusted_feedback(
    comments: list[Any], review_comments: list[Any], reviews: list[Any], bot_login: str
) -> list[Trigger]:
    """Comments, review comments and change requests by trusted people (never our App, never a bot)."""
    out: list[Trigger] = []
    me = bot_login.lower()

    def ok(item: dict[str, Any]) -> bool:
        user = item.get("user") or {}
        login = str(user.get("login") or "").lower()
        return (
            item.get("author_association") in TRUSTED_ASSOCIATIONS
            and login != me
            and user.get("type") != "Bot"
        )

    for kind, items, when in (
        ("comment", comments, "created_at"),
        ("reviewComment", review_comments, "created_at"),
        ("review", reviews, "submitted_at"),
    ):
        for item in items:
            if not isinstance(item, dict) or not ok(item):
                continue
            if kind == "review" and item.get("state") not in FEEDBACK_REVIEW_STATES:
                continue
            at = parse_timestamp(item.get(when))
            if at is not None:
                login = str((item.get("user") or {}).get("login") or "")
                out.append(
                    Trigger(kind, int(item.get("id") or 0), at, str(item.get("html_url") or ""), login)
                )
    return out


def failing_check_runs(check_runs: list[Any], skip_apps: frozenset[str]) -> list[Trigger]:
    """Failed check runs, except those of the apps in ``skip_apps`` (by slug)."""
    out = []
    for run in check_runs:
        if (
            not isinstance(run, dict)
            or run.get("status") != "completed"
            or run.get("conclusion") not in FAILING
        ):
            continue
        if str((run.get("app") or {}).get("slug") or "") in skip_apps:
            continue
        at = parse_timestamp(run.get("completed_at"))
        if at is not None:
            url = str(run.get("html_url") or run.get("details_url") or "")
            out.append(Trigger("checkRun", int(run.get("id") or 0), at, url, str(run.get("name") or "")))
    return out


def failing_workflow_runs(runs: list[Any]) -> list[Trigger]:
    out = []
    for run in runs:
        if (
            not isinstance(run, dict)
            or run.get("status") != "completed"
            or run.get("conclusion") not in FAILING
        ):
            continue
        at = parse_timestamp(run.get("updated_at"))
        if at is not None:
            out.append(
                Trigger(
                    "workflowRun",
                    int(run.get("id") or 0),
                    at,
                    str(run.get("html_url") or ""),
                    str(run.get("name") or ""),
                )
            )
    return out


def _collect(gh: RepoClient, args: DebounceArgs, head: str) -> list[Trigger]:
    since = args.event_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if args.kind == "comment":
        comments = gh.get_all(f"issues/{args.number}/comments", {"since": since})
        review_comments = gh.get_all(f"pulls/{args.number}/comments", {"since": since})
        reviews = gh.get_all(f"pulls/{args.number}/reviews")
        return trusted_feedback(list(comments), list(review_comments), list(reviews), gh.bot_login())
    triggers: list[Trigger] = []
    if args.kind in ("checkRun", "ci"):
        runs = gh.get_all(f"commits/{head}/check-runs", {"filter": "all"}, key="check_runs")
        skip = {gh.bot_login().removesuffix("[bot]")} | ({ACTIONS_APP} if args.kind == "ci" else set())
        triggers += failing_check_runs(list(runs), frozenset(skip))
    if args.kind in ("workflowRun", "ci"):
        runs = gh.get_all("actions/runs", {"head_sha": head}, key="workflow_runs")
        triggers += failing_workflow_runs(list(runs))
    return triggers


@step(
    "debounce",
    DebounceArgs,
    permissions={
        "actions": "read",
        "checks": "read",
        "contents": "read",
        "issues": "read",
        "pull_requests": "read",
    },
    outputs=("proceed", "reason", "newer", "headSha", "url"),
)
def debounce(args: DebounceArgs, ctx: StepContext) -> Outcome:
    """Wait a quiet period after an event, then proceed only if no newer trigger of its kind exists."""
    now = ctx.now()
    settle_at = args.event_time + args.quiet
    if now < settle_at:
        wait = settle_at - now
        return Running(
            f"letting events on {args.repo}#{args.number} settle until {settle_at.isoformat()}",
            requeue=max(timedelta(seconds=1), wait + timedelta(seconds=1)),
        )
    gh = ctx.github.repo(args.repo)
    pr = gh.get(f"pulls/{args.number}").json or {}
    pr_url = str(pr.get("html_url") or "")
    head = str((pr.get("head") or {}).get("sha") or "")

    def answer(proceed: bool, reason: str, found: Trigger | None = None) -> Succeeded:
        return Succeeded(
            {
                "proceed": proceed,
                "reason": reason,
                "newer": found.as_output() if found else {},
                "headSha": head,
                "url": pr_url,
            },
            summary=f"{'proceed' if proceed else 'skip'}: {reason}",
        )

    if pr.get("state") != "open":
        state = "merged" if pr.get("merged") else "closed"
        return answer(False, f"{args.repo}#{args.number} is {state}")
    if args.kind != "comment" and args.sha and head and head != args.sha:
        return answer(
            False, f"the PR head moved from {args.sha[:7]} to {head[:7]}: the new head gets its own CI"
        )
    found = newer(_collect(gh, args, head), args.event_time, args.event_id)
    if found:
        latest = found[0]
        person = latest.kind in ("comment", "reviewComment", "review")
        who = (f" by {latest.who}" if person else f" '{latest.who}'") if latest.who else ""
        return answer(
            False,
            f"{len(found)} newer {args.kind} trigger(s); the newest ({latest.kind} {latest.id}{who} "
            f"at {latest.at.isoformat()}) takes over",
            latest,
        )
    quiet = format_duration(args.quiet) if args.quiet.total_seconds() >= 1 else "0s"
    return answer(
        True, f"no newer {args.kind} trigger on {args.repo}#{args.number} after a {quiet} quiet period"
    )
