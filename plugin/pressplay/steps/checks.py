"""``checks``: wait until the checks of a commit (a ref or a PR's head) settle, then pass or fail.

What counts as a check: the commit's **check runs** (GitHub Actions jobs and every other App's checks),
its **commit statuses** (the newest per context) and, with ``workflowRuns: true``, its **Actions
workflow runs** (named by the workflow's ``name``).

Selection and verdict (all of it in :func:`evaluate`, a pure function of GitHub-shaped data):

- ``required`` (names or glob patterns) selects checks; empty selects every check present.
  ``ignore`` removes checks; our own contexts (``pressplay/*``) are always removed.
- The **newest run per name wins** (by start time, then id): a stale run of an older check suite or
  an earlier attempt that a re-run superseded never decides.
- A completed check passes on ``success`` and, by default, on ``neutral`` and ``skipped`` (the
  ``neutral`` / ``skipped`` arguments make either a failure). Everything else that completed fails.
- A required name that has not appeared is *missing*; it is waited for during ``grace`` and counts as
  failing afterwards. With no ``required`` names and no checks at all after ``grace`` the wait fails
  (``allowNone: true`` makes that a success).
- The verdict waits until every selected check has completed, unless ``failFast`` is set.

Deadline (durable, see :mod:`pressplay.steps.waiting`): ``since`` if given; otherwise the earliest start of
the commit's check runs or commit statuses; before any has started, the earliest ``created_at`` of its
check suites (GitHub creates them at the push); else the commit's committer date. ``grace`` and
``timeout`` are both measured from that anchor, so a restarted sidecar reaches the same deadline.
Templates should pass ``since`` (e.g. ``{{tasks.open-pr.finishedAt}}``) and the head SHA as ``ref``:
then every poll of an unchanged commit is a free 304, even in a busy repository.

Every poll is a set of conditional requests: an unchanged commit costs no rate limit.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import Field, field_validator, model_validator

from pressplay.github import GitHubPermanentError, RepoClient
from pressplay.steps.base import Outcome, OutputValue, PermanentError, StepContext, Succeeded, step
from pressplay.steps.waiting import GiveUp, OnFailure, OnFailureArgs, Wait, keep_waiting, settle
from pressplay.types import OWN_CONTEXT_PREFIX, Duration, OptionalGitRef, Repo, is_commit_sha, parse_timestamp

#: Our own status contexts and check names: never waited on (we would wait for ourselves).
OWN_PATTERN = OWN_CONTEXT_PREFIX + "*"
#: Longest ``summary`` text kept per check in the outputs.
SUMMARY_LIMIT = 300
#: How many names a node message lists before "and N more".
MESSAGE_NAMES = 5
#: Largest number of commit-status pages read (100 contexts each).
STATUS_PAGES = 10

#: Conclusions that always pass / that pass unless configured otherwise.
_ALWAYS_PASS = frozenset({"success"})
_PENDING_STATES = frozenset({"queued", "in_progress", "waiting", "requested", "pending", "expected"})


class Policy(StrEnum):
    passes = "pass"
    fails = "fail"


class ChecksArgs(OnFailureArgs):
    """Arguments of the ``checks`` step."""

    repo: Repo = Field(description="Repository as `owner/name`, e.g. `acme/api`.")
    ref: OptionalGitRef = Field(
        None,
        description=(
            "Commit to wait on: a full SHA, a branch or a tag (a branch is followed to its current head). "
            "Give `ref` or `number`, not both."
        ),
    )
    number: int | None = Field(
        None, ge=1, description="Pull request number: wait on the checks of its current head commit."
    )
    required: list[str] = Field(
        default_factory=list,
        description=(
            "Check names to wait for, exact or as glob patterns (`build (*)`); each must appear and pass. "
            "Empty: every check on the commit."
        ),
    )
    ignore: list[str] = Field(
        default_factory=list,
        description="Check names or glob patterns never waited on. `pressplay/*` is always ignored.",
    )
    workflow_runs: bool = Field(
        False,
        description=(
            "Also wait on the Actions workflow runs of the commit (named by the workflow's `name`), "
            "not only on their jobs' check runs."
        ),
    )
    statuses: bool = Field(True, description="Also wait on commit statuses (the newest per context).")
    neutral: Policy = Field(
        Policy.passes, description="Whether a `neutral` conclusion counts as `pass` or `fail`."
    )
    skipped: Policy = Field(
        Policy.passes,
        description="Whether `skipped` counts as `pass` or `fail` (skips are named in `summary`).",
    )
    grace: Duration = Field(
        "5m",  # validated into a timedelta (validate_default)
        validate_default=True,
        description=(
            "How long after the anchor (see `since`) checks that have not appeared yet are waited for; "
            "afterwards a missing required check fails."
        ),
    )
    allow_none: bool = Field(
        False, description="With no `required` names: succeed when no check at all appeared within `grace`."
    )
    fail_fast: bool = Field(
        False, description="Decide `failure` as soon as one check fails, without waiting for the rest."
    )
    on_failure: OnFailure = Field(
        OnFailure.fail,
        description=(
            "`fail`: the node fails when checks fail or time out. `continue`: the node succeeds with "
            "`state=failure` (or `state=timed_out`) so the DAG can route to remediation."
        ),
    )

    @field_validator("ref")
    @classmethod
    def _ref(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value or any(ch.isspace() for ch in value) or ".." in value or value.startswith("-"):
            raise ValueError(
                "must be a commit SHA, a branch or a tag name, e.g. 'main' or a 40-character SHA"
            )
        return value.removeprefix("refs/heads/")

    @field_validator("required", "ignore")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        cleaned = [item.strip() for item in value]
        if any(not item for item in cleaned):
            raise ValueError("entries must be non-empty check names or glob patterns")
        return cleaned

    @field_validator("required")
    @classmethod
    def _not_own(cls, value: list[str]) -> list[str]:
        own = [item for item in value if fnmatch.fnmatchcase(item, OWN_PATTERN)]
        if own:
            raise ValueError(
                f"{', '.join(own)}: pressplay's own contexts (`{OWN_PATTERN}`) are never waited on; "
                "remove them from `required`"
            )
        return value

    @model_validator(mode="after")
    def _one_target(self) -> ChecksArgs:
        if (self.ref is None) == (self.number is None):
            raise ValueError(
                "give exactly one of `ref` (a SHA, branch or tag) or `number` (a pull request number)"
            )
        return self


# -- the data: one normalised check --------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """A check run, a commit status or a workflow run, in one shape."""

    kind: str  # "check_run" | "status" | "workflow_run"
    name: str
    status: str  # "completed" or a pending state ("queued", "in_progress", "pending", ...)
    conclusion: str | None  # None while not completed
    url: str
    summary: str
    started: str  # RFC 3339 (ordering key); "" when GitHub gave none
    id: int

    @property
    def completed(self) -> bool:
        return self.status == "completed"

    def as_output(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "status": self.status,
            "conclusion": self.conclusion,
            "url": self.url,
            "summary": self.summary,
        }


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _short(text: str, limit: int = SUMMARY_LIMIT) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def from_check_runs(runs: Iterable[Mapping[str, Any]]) -> list[Check]:
    """Check runs (``GET /commits/{ref}/check-runs`` items) as :class:`Check`."""
    found = []
    for run in runs:
        status = _text(run.get("status")) or "queued"
        raw_output = run.get("output")
        output: Mapping[str, Any] = raw_output if isinstance(raw_output, Mapping) else {}
        title, text = _text(output.get("title")), _text(output.get("summary"))
        found.append(
            Check(
                kind="check_run",
                name=_text(run.get("name")),
                status=status,
                conclusion=(_text(run.get("conclusion")) or None) if status == "completed" else None,
                url=_text(run.get("html_url")) or _text(run.get("details_url")),
                summary=_short(f"{title}: {text}" if title and text and title not in text else title or text),
                started=_text(run.get("started_at")) or _text(run.get("completed_at")),
                id=_int(run.get("id")),
            )
        )
    return found


def from_statuses(statuses: Iterable[Mapping[str, Any]]) -> list[Check]:
    """Commit statuses (``GET /commits/{ref}/statuses``) as :class:`Check` (newest per context wins later)."""
    found = []
    for item in statuses:
        state = _text(item.get("state")) or "pending"
        done = state != "pending"
        found.append(
            Check(
                kind="status",
                name=_text(item.get("context")) or "default",
                status="completed" if done else "pending",
                conclusion=state if done else None,
                url=_text(item.get("target_url")),
                summary=_short(_text(item.get("description"))),
                started=_text(item.get("created_at")) or _text(item.get("updated_at")),
                id=_int(item.get("id")),
            )
        )
    return found


def from_workflow_runs(runs: Iterable[Mapping[str, Any]]) -> list[Check]:
    """Workflow runs (``GET /actions/runs?head_sha=`` → ``workflow_runs``) as :class:`Check`."""
    found = []
    for run in runs:
        status = _text(run.get("status")) or "queued"
        found.append(
            Check(
                kind="workflow_run",
                name=_text(run.get("name")) or _text(run.get("path")),
                status=status,
                conclusion=(_text(run.get("conclusion")) or None) if status == "completed" else None,
                url=_text(run.get("html_url")),
                summary=_short(_text(run.get("display_title"))),
                started=_text(run.get("run_started_at")) or _text(run.get("created_at")),
                id=_int(run.get("id")),
            )
        )
    return found


def newest_per_name(checks: Iterable[Check]) -> list[Check]:
    """Keep the newest check per (kind, name): latest start, then highest id. Sorted by name."""
    newest: dict[tuple[str, str], Check] = {}
    for check in checks:
        key = (check.kind, check.name)
        current = newest.get(key)
        if current is None or (_instant(check.started), check.id) > (_instant(current.started), current.id):
            newest[key] = check
    return sorted(newest.values(), key=lambda c: (c.name.lower(), c.kind))


def _instant(text: str) -> datetime:
    parsed = parse_timestamp(text)
    return parsed if parsed is not None else datetime.min.replace(tzinfo=UTC)


def matches(name: str, pattern: str) -> bool:
    """``pattern`` is the exact name or a glob (``*``, ``?``, ``[...]``); case-sensitive like GitHub."""
    return name == pattern or fnmatch.fnmatchcase(name, pattern)


# -- the verdict -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rules:
    required: Sequence[str] = ()
    ignore: Sequence[str] = ()
    pass_conclusions: frozenset[str] = frozenset({"success", "neutral", "skipped"})
    allow_none: bool = False
    fail_fast: bool = False

    @classmethod
    def of(cls, args: ChecksArgs) -> Rules:
        passing = set(_ALWAYS_PASS)
        if args.neutral is Policy.passes:
            passing.add("neutral")
        if args.skipped is Policy.passes:
            passing.add("skipped")
        return cls(
            required=tuple(args.required),
            ignore=tuple(args.ignore),
            pass_conclusions=frozenset(passing),
            allow_none=args.allow_none,
            fail_fast=args.fail_fast,
        )


@dataclass(frozen=True)
class Verdict:
    """``state``: ``success``, ``failure`` or ``pending``."""

    state: str
    selected: list[Check]
    failing: list[Check]
    pending: list[Check]
    missing: list[str]  # required patterns with no check yet
    reason: str = ""
    skipped: list[Check] = field(default_factory=list)
    neutral: list[Check] = field(default_factory=list)


def select(checks: Iterable[Check], rules: Rules) -> tuple[list[Check], list[str]]:
    """The newest checks that ``rules`` select, and the required patterns nothing matched."""
    ignore = (*rules.ignore, OWN_PATTERN)
    present = [c for c in newest_per_name(checks) if not any(matches(c.name, p) for p in ignore)]
    if not rules.required:
        return present, []
    chosen = [c for c in present if any(matches(c.name, p) for p in rules.required)]
    missing = [p for p in rules.required if not any(matches(c.name, p) for c in chosen)]
    return chosen, missing


def evaluate(checks: Iterable[Check], rules: Rules, *, grace_over: bool) -> Verdict:
    """Decide from one snapshot of a commit's checks. ``grace_over``: the grace period has passed."""
    selected, missing = select(checks, rules)
    pending = [c for c in selected if not c.completed]
    failing = [c for c in selected if c.completed and c.conclusion not in rules.pass_conclusions]
    skipped = [c for c in selected if c.completed and c.conclusion == "skipped"]
    neutral = [c for c in selected if c.completed and c.conclusion == "neutral"]

    def verdict(state: str, reason: str = "", failed: list[Check] | None = None) -> Verdict:
        return Verdict(
            state, selected, failing if failed is None else failed, pending, missing, reason, skipped, neutral
        )

    if failing and rules.fail_fast:
        return verdict("failure")
    if missing and grace_over:
        never = [missing_check(p) for p in missing]
        if not pending or rules.fail_fast:
            return verdict("failure", failed=failing + never)
        return verdict("pending")
    if pending or missing:
        return verdict("pending")
    if not selected:
        if not grace_over:
            return verdict("pending", "no checks have appeared yet")
        if rules.allow_none:
            return verdict("success", "no checks appeared (allowNone)")
        return verdict("failure", "no checks appeared within the grace period")
    return verdict("failure" if failing else "success")


def missing_check(pattern: str) -> Check:
    """A required check that never appeared, as it is reported in ``failing``."""
    return Check("missing", pattern, "missing", "missing", "", "required check did not appear", "", 0)


def _names(checks: Sequence[Check | str], *, with_conclusion: bool = False) -> str:
    parts = [
        c if isinstance(c, str) else f"{c.name} ({c.conclusion or c.status})" if with_conclusion else c.name
        for c in checks
    ]
    if len(parts) > MESSAGE_NAMES:
        parts = [*parts[:MESSAGE_NAMES], f"and {len(parts) - MESSAGE_NAMES} more"]
    return ", ".join(parts)


def describe(verdict: Verdict, short_sha: str) -> str:
    """One line for ``summary`` and the node message."""
    total = _total(verdict)
    extras = []
    if verdict.skipped:
        extras.append(f"{len(verdict.skipped)} skipped: {_names(verdict.skipped)}")
    if verdict.neutral:
        extras.append(f"{len(verdict.neutral)} neutral")
    tail = f" ({'; '.join(extras)})" if extras else ""
    if verdict.state == "success":
        if not total:
            return f"no checks on {short_sha}: {verdict.reason or 'nothing to wait for'}"
        return f"all {total} checks passed on {short_sha}{tail}"
    if verdict.state == "failure":
        if not verdict.failing:
            return f"{verdict.reason or 'checks failed'} on {short_sha}"
        return (
            f"{len(verdict.failing)} of {total} checks failed on {short_sha}: "
            f"{_names(verdict.failing, with_conclusion=True)}"
        )
    return f"waiting on {short_sha}: {_still_waiting(verdict)}"


def _total(verdict: Verdict) -> int:
    return len(verdict.selected) + sum(1 for c in verdict.failing if c.kind == "missing")


def _still_waiting(verdict: Verdict) -> str:
    """What a pending verdict waits for: the running checks, the missing ones, those already failed."""
    total = _total(verdict)
    waiting = []
    if verdict.pending:
        running = _names(verdict.pending, with_conclusion=True)
        waiting.append(f"{len(verdict.pending)} of {total} checks running: {running}")
    if verdict.missing:
        waiting.append(f"not reported yet: {_names(verdict.missing)}")
    if verdict.failing:
        waiting.append(f"already failed: {_names(verdict.failing)}")
    return "; ".join(waiting) or verdict.reason or "no checks yet"


# -- reading GitHub --------------------------------------------------------------------------------


@dataclass
class Snapshot:
    """Everything one poll read. ``changed`` is False when every request answered 304."""

    sha: str
    url: str
    checks: list[Check]
    anchor: datetime | None  # the durable anchor GitHub reports (None: nothing recorded yet)
    changed: bool


def _bad_target(args: ChecksArgs, exc: GitHubPermanentError) -> PermanentError:
    """Name the argument to fix when GitHub does not know the ref or the pull request."""
    detail = f"GitHub {exc.status}: {exc.github_message or 'Not Found'}"
    if args.number is not None:
        return PermanentError(
            f"pull request #{args.number} not found in {args.repo} ({detail}); check `number` and `repo`"
        )
    if exc.status == 422:
        return PermanentError(
            f"ref {args.ref!r} not found in {args.repo} ({detail}); check `ref`: a full commit SHA, "
            "a branch or a tag of that repository"
        )
    return PermanentError(
        f"{args.repo} or its ref {args.ref!r} not found ({detail}); check `repo` (and that the App is "
        "installed on it) and `ref`"
    )


def _head(repo: RepoClient, args: ChecksArgs) -> tuple[str, str, bool, dict[str, Any] | None]:
    """(sha, web url, changed, commit json when read) of the commit to wait on."""
    try:
        if args.number is not None:
            resp = repo.get(f"pulls/{args.number}")
        else:  # a commit named by its full SHA never changes: read it once per process
            resp = repo.get(f"commits/{args.ref}", immutable=is_commit_sha(args.ref or ""))
    except GitHubPermanentError as exc:
        if exc.status in (404, 422) and not exc.route.endswith("/installation"):
            raise _bad_target(args, exc) from None
        raise
    body: dict[str, Any] = resp.json if isinstance(resp.json, dict) else {}
    if args.number is not None:
        head = body.get("head")
        sha = _text(head.get("sha")) if isinstance(head, dict) else ""
        url = _text(body.get("html_url"))
        return sha or _missing_sha(args), f"{url}/checks" if url else "", not resp.not_modified, None
    return (
        _text(body.get("sha")) or _missing_sha(args),
        _text(body.get("html_url")),
        not resp.not_modified,
        body,
    )


def _missing_sha(args: ChecksArgs) -> str:
    what = f"pull request #{args.number}" if args.number is not None else f"ref {args.ref!r}"
    raise PermanentError(f"GitHub returned {what} of {args.repo} without a commit SHA")


def _commit_date(commit: Mapping[str, Any] | None) -> datetime | None:
    if not commit:
        return None
    inner = commit.get("commit")
    if not isinstance(inner, Mapping):
        return None
    for who in ("committer", "author"):
        person = inner.get(who)
        if isinstance(person, Mapping) and (when := parse_timestamp(person.get("date"))):
            return when
    return None


def _statuses(repo: RepoClient, sha: str) -> tuple[list[dict[str, Any]], bool]:
    """Every status of the commit (``GET /commits/{sha}/statuses``, newest first) and whether anything
    changed. The list, unlike the combined status, carries no repository object, so its ETag only
    changes when a status does: an unchanged poll stays a free 304 in a busy repository."""
    items = repo.get_all(f"commits/{sha}/statuses", max_pages=STATUS_PAGES)
    return [s for s in items if isinstance(s, dict)], not items.not_modified


def read(repo: RepoClient, args: ChecksArgs) -> Snapshot:
    """One poll: resolve the head, then read check runs, statuses and (optionally) workflow runs.

    Anchor (when ``since`` is not given): the earliest start of the commit's check runs or statuses;
    before anything has started, the earliest check suite (GitHub creates one per App at the push);
    else the commit's date. Check suites are read only in that first phase: their answers embed the
    repository, whose ``pushed_at`` changes with every push, so they are rarely a free 304.
    """
    sha, url, changed, commit = _head(repo, args)
    runs = repo.get_all(f"commits/{sha}/check-runs", {"filter": "all"}, key="check_runs")
    changed = changed or not runs.not_modified
    checks = from_check_runs(r for r in runs if isinstance(r, dict))
    anchors: list[datetime | None] = [
        parse_timestamp(r.get("started_at")) for r in runs if isinstance(r, dict)
    ]
    statuses: list[dict[str, Any]] = []
    if args.statuses or (args.since is None and not any(anchors)):
        statuses, status_changed = _statuses(repo, sha)
        changed = changed or status_changed
        if args.statuses:
            checks += from_statuses(statuses)
        anchors += [parse_timestamp(s.get("created_at")) for s in statuses]
    if args.since is None and not any(anchors):
        suites = repo.get_all(f"commits/{sha}/check-suites", key="check_suites")
        changed = changed or not suites.not_modified
        anchors = [parse_timestamp(s.get("created_at")) for s in suites if isinstance(s, dict)]
    if args.workflow_runs:
        wruns = repo.get_all("actions/runs", {"head_sha": sha}, key="workflow_runs")
        changed = changed or not wruns.not_modified
        checks += from_workflow_runs(r for r in wruns if isinstance(r, dict))
    known = [t for t in anchors if t is not None]
    anchor = min(known) if known else None
    if anchor is None and args.since is None:
        if commit is None:
            commit = repo.get(f"commits/{sha}").json
        anchor = _commit_date(commit if isinstance(commit, dict) else None)
    return Snapshot(sha=sha, url=url, checks=checks, anchor=anchor, changed=changed)


# -- the step ----------------------------------------------------------------------------------------


def _outputs(verdict: Verdict, snap: Snapshot, state: str, summary: str) -> dict[str, OutputValue]:
    return {
        "state": state,
        "failing": [
            {"name": c.name, "kind": c.kind, "conclusion": c.conclusion, "url": c.url, "summary": c.summary}
            for c in verdict.failing
        ],
        "checks": [c.as_output() for c in verdict.selected],
        "sha": snap.sha,
        "url": snap.url,
        "summary": summary,
    }


@step(
    "checks",
    ChecksArgs,
    permissions={
        "actions": "read",
        "checks": "read",
        "contents": "read",
        "pull_requests": "read",
        "statuses": "read",
    },
    outputs=("state", "failing", "checks", "sha", "url"),
)
def checks(args: ChecksArgs, ctx: StepContext) -> Outcome:
    """Wait until the checks of a ref or a pull request's head settle; fail with the failing ones."""
    repo = ctx.github.repo(args.repo)
    snap = read(repo, args)
    now = ctx.now()
    wait = Wait(args.since or snap.anchor or now, args.timeout, now)
    grace_left = wait.anchor + args.grace - now
    verdict = evaluate(snap.checks, Rules.of(args), grace_over=grace_left <= timedelta(0))
    short = snap.sha[:7]
    summary = describe(verdict, short)

    if verdict.state == "success":
        return Succeeded(_outputs(verdict, snap, "success", summary), summary=summary)
    if verdict.state == "failure":
        links = "; ".join(f"{c.name}: {c.url}" for c in verdict.failing[:MESSAGE_NAMES] if c.url)
        message = summary + (f" — {links}" if links else "")
        return settle(GiveUp(message, _outputs(verdict, snap, "failure", summary), summary), args.on_failure)

    def give_up() -> GiveUp:
        message = wait.timed_out(f"the checks on {short}", f"last: {_still_waiting(verdict)}")
        unfinished = [replace(c, conclusion="timed_out") for c in verdict.pending]
        unfinished += [missing_check(p) for p in verdict.missing]
        timed_out = replace(verdict, state="failure", failing=verdict.failing + unfinished)
        return GiveUp(message, _outputs(timed_out, snap, "timed_out", message), message)

    return keep_waiting(
        wait,
        ctx.settings,
        summary,
        give_up=give_up,
        on_failure=args.on_failure,
        changed=snap.changed,
        budget=repo.budget(),
        at_most=grace_left if verdict.missing and grace_left > timedelta(0) else None,
    )
