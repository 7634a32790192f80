"""``argocd``: wait until an Argo CD Application is Synced and Healthy **at the expected revision**.

Each call reads the Application once (``ctx.kube``) and answers at once; see ``docs/steps/argocd.md``
for the full contract. In short:

- Succeeded when ``status.sync`` is ``Synced`` at the expected revision(s) (one per source of a
  multi-source app; or, with ``revisionMatch: ancestor``, a descendant of it per GitHub's compare API),
  health is ``Healthy`` (``Suspended`` if allowed), no operation is in progress, and Argo CD has
  re-compared the app after the last operation finished.
- Failed on an operation that ended ``Failed``/``Error`` for that revision (with ``sync: true``, one
  that failed before this wait began is retried instead), ``Degraded`` past
  ``degradedGrace``, ``Missing`` past ``missingGrace``, a current ``ComparisonError`` /
  ``SyncError`` / ``InvalidSpecError`` condition, or the deadline.
- Otherwise Running. While Argo CD has not compared the app since the wait started (or for a minute),
  it sets the ``argocd.argoproj.io/refresh: normal`` annotation. With ``sync: true`` it starts one sync
  by patching ``operation`` — only when Argo CD already compares against the expected revision (so it
  never rolls back to an older one), no operation is set or running, no sync for this revision has
  started since the wait began, and automated sync is off. The patch carries ``metadata.resourceVersion``,
  so of two concurrent calls exactly one succeeds.

Durable deadline anchor: ``since`` if given; else the annotation
``pressplay.dev/wait-<hash of workflow uid and revision>`` that the first call writes on the
Application (``{"since": ..., "workflow": ..., "revision": ...}``) and the final call removes. State lives
on the Application, so a sidecar restart continues the same wait.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from pressplay.steps.base import (
    Failed,
    Outcome,
    OutputValue,
    PermanentError,
    PressplayError,
    StepContext,
    Succeeded,
    step,
)
from pressplay.steps.waiting import GiveUp, Wait, WaitArgs, keep_waiting
from pressplay.types import COMMIT_SHA_RE, Duration, Repo, check_commit_sha, format_duration, parse_timestamp

log = logging.getLogger("pressplay.steps.argocd")

REFRESH_ANNOTATION = "argocd.argoproj.io/refresh"
ANCHOR_PREFIX = "pressplay.dev/wait-"
#: Anchors of waits that never finished (a deleted workflow) are dropped after this long.
ANCHOR_TTL = timedelta(days=7)
#: Ask for another refresh when the last comparison is older than this and still not at the revision.
REFRESH_AFTER = timedelta(seconds=60)
ERROR_CONDITIONS = ("ComparisonError", "SyncError", "InvalidSpecError")
IN_FLIGHT = ("Running", "Terminating")
COMPLETED_BAD = ("Failed", "Error")

_HEXISH = re.compile(r"^[0-9a-fA-F]{4,}$")
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_GIT_URL = re.compile(
    r"^(?:https?://|ssh://git@|git@)(?P<host>[^/:]+)[/:](?P<owner>[^/]+)/(?P<name>[^/]+?)(?:\.git)?/?$"
)


class ArgoCDArgs(WaitArgs):
    """Arguments of the ``argocd`` step."""

    app: str = Field(description="Name of the Argo CD `Application` to wait for.")
    namespace: str | None = Field(
        None,
        description="Namespace of the Application. Default: the sidecar's `PRESSPLAY_ARGOCD_NAMESPACE` (`argocd`).",
    )
    revision: str | list[str] = Field(
        description=(
            "Expected revision: the full Git commit SHA (40 hex characters; 64 in a SHA-256 repository), "
            "e.g. `{{tasks.author.outputs.parameters.sha}}`. "
            "For a multi-source app, a list with one entry per `spec.sources` entry, in order; `*` accepts "
            "any revision for a source, and a Helm source takes its chart version."
        )
    )
    revision_match: Literal["exact", "ancestor"] = Field(
        "exact",
        description=(
            "`exact`: the app must be synced at `revision`. `ancestor`: a later commit that contains "
            "`revision` also counts (use it when the tracked branch may move on), checked with GitHub's "
            "compare API."
        ),
    )
    repo: Repo | None = Field(
        None,
        description=(
            "GitHub repository (`owner/name`) for `revisionMatch: ancestor`. Default: parsed from the "
            "source's `repoURL`."
        ),
    )
    sync: bool = Field(
        False,
        description=(
            "Start one sync when Argo CD compares against the expected revision but has not applied it "
            "(and automated sync is off). Needs `patch` on applications."
        ),
    )
    prune: bool = Field(False, description="With `sync`: delete resources that are no longer in Git.")
    allow_suspended: bool = Field(
        False,
        description="Accept health `Suspended` (e.g. a paused Rollout) as done, like `argocd app wait --suspended`.",
    )
    degraded_grace: Duration = Field(
        timedelta(minutes=3),
        description="Fail once the app has been `Degraded` this long at the expected revision.",
    )
    missing_grace: Duration = Field(
        timedelta(minutes=5), description="Fail once the app's resources have been `Missing` this long."
    )

    @field_validator("app")
    @classmethod
    def _check_app(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(
                f"{value!r} is not an Application name: use the `metadata.name` of the Argo CD Application "
                "(lowercase letters, digits, '-' and '.')"
            )
        return value

    @field_validator("namespace")
    @classmethod
    def _check_namespace(cls, value: str | None) -> str | None:
        if value is not None and not _NAMESPACE.match(value):
            raise ValueError(
                f"{value!r} is not a namespace name (lowercase letters, digits and '-', at most 63)"
            )
        return value

    @field_validator("revision")
    @classmethod
    def _check_revision(cls, value: str | list[str]) -> str | list[str]:
        items = [value] if isinstance(value, str) else value
        if not items:
            raise ValueError("give at least one revision")
        clean = []
        for item in items:
            text = item.strip()
            if not text:
                raise ValueError(
                    "revision is empty: pass the full commit SHA, e.g. `{{tasks.author.outputs.parameters.sha}}`"
                )
            # Hex is a commit SHA (a Helm chart version or a branch is not): the full one, or a hint.
            clean.append(check_commit_sha(text) if _HEXISH.match(text) else text)
        return clean[0] if isinstance(value, str) else clean

    @model_validator(mode="after")
    def _check_combination(self) -> ArgoCDArgs:
        if self.prune and not self.sync:
            raise ValueError("`prune` only applies with `sync: true`")
        return self

    @property
    def expected(self) -> list[str]:
        return [self.revision] if isinstance(self.revision, str) else list(self.revision)


def _revisions(holder: Mapping[str, Any] | None) -> list[str]:
    if not holder:
        return []
    many = holder.get("revisions")
    if isinstance(many, list) and many:
        return [str(r) for r in many]
    one = holder.get("revision")
    return [str(one)] if one else []


def _short(revision: str) -> str:
    return revision[:7] if COMMIT_SHA_RE.match(revision) else revision


def _shorts(revisions: Sequence[str]) -> str:
    return ", ".join(_short(r) for r in revisions) or "none yet"


@dataclass
class AppState:
    """What one GET of the Application says, in the terms the wait needs."""

    namespace: str
    name: str
    resource_version: str
    annotations: dict[str, str]
    sources: list[dict[str, Any]]
    multi_source: bool
    automated: bool
    sync_status: str
    revisions: list[str]
    health: str
    health_since: datetime | None
    reconciled_at: datetime | None
    operation: dict[str, Any] | None
    op_phase: str | None
    op_message: str
    op_started: datetime | None
    op_finished: datetime | None
    op_revisions: list[str]
    op_dry_run: bool
    has_op_state: bool
    conditions: list[dict[str, Any]]
    resources: list[dict[str, Any]]
    history_id: int | None

    @classmethod
    def parse(cls, obj: Mapping[str, Any]) -> AppState:
        meta = obj.get("metadata") or {}
        spec = obj.get("spec") or {}
        status = obj.get("status") or {}
        sync = status.get("sync") or {}
        health = status.get("health") or {}
        op_state = status.get("operationState") or {}
        requested = (op_state.get("operation") or {}).get("sync") or {}
        sources = spec.get("sources") or []
        multi = bool(sources)
        if not multi and spec.get("source"):
            sources = [spec["source"]]
        automated_policy = (spec.get("syncPolicy") or {}).get("automated")
        automated = isinstance(automated_policy, dict) and automated_policy.get("enabled", True) is not False
        history = status.get("history") or []
        history_id = history[-1].get("id") if history and isinstance(history[-1], dict) else None
        return cls(
            namespace=str(meta.get("namespace", "")),
            name=str(meta.get("name", "")),
            resource_version=str(meta.get("resourceVersion", "")),
            annotations=dict(meta.get("annotations") or {}),
            sources=[dict(s) for s in sources],
            multi_source=multi,
            automated=automated,
            sync_status=str(sync.get("status") or "Unknown"),
            revisions=_revisions(sync),
            health=str(health.get("status") or "Unknown"),
            health_since=parse_timestamp(health.get("lastTransitionTime")),
            reconciled_at=parse_timestamp(status.get("reconciledAt")),
            operation=obj.get("operation") if isinstance(obj.get("operation"), dict) else None,
            op_phase=op_state.get("phase") or None,
            op_message=str(op_state.get("message") or ""),
            op_started=parse_timestamp(op_state.get("startedAt")),
            op_finished=parse_timestamp(op_state.get("finishedAt")),
            op_revisions=_revisions(op_state.get("syncResult")) or _revisions(requested),
            op_dry_run=bool(requested.get("dryRun")),
            has_op_state=bool(op_state),
            conditions=[c for c in status.get("conditions") or [] if isinstance(c, dict)],
            resources=[r for r in status.get("resources") or [] if isinstance(r, dict)],
            history_id=history_id if isinstance(history_id, int) else None,
        )

    def target_revisions(self) -> str:
        return ", ".join(str(s.get("targetRevision") or "HEAD") for s in self.sources)

    def in_progress(self) -> str | None:
        """Why an operation counts as in progress (as ``argocd app wait --operation`` decides), or None."""
        if self.operation is not None:
            if self.op_phase in IN_FLIGHT:
                return f"sync operation {self.op_phase} ({self.op_message or 'no message yet'})"
            return "a sync operation was requested and the controller has not started it yet"
        if self.op_phase in IN_FLIGHT:
            return f"sync operation {self.op_phase} ({self.op_message or 'no message yet'})"
        if self.has_op_state and self.op_finished is None:
            return f"sync operation {self.op_phase or 'pending'} has not finished"
        if (
            self.op_finished is not None
            and not self.op_dry_run
            and (self.reconciled_at is None or self.reconciled_at < self.op_finished)
        ):
            return "waiting for Argo CD to re-compare the app after the sync that just finished"
        return None

    def resource_problems(self, health: str, limit: int = 5) -> str:
        found = []
        for res in self.resources:
            res_health = res.get("health") or {}
            if res_health.get("status") == health:
                where = f"{res.get('namespace')}/" if res.get("namespace") else ""
                what = f"{res.get('kind', '?')} {where}{res.get('name', '?')}"
                found.append(f"{what}: {res_health['message']}" if res_health.get("message") else what)
        more = f" (+{len(found) - limit} more)" if len(found) > limit else ""
        return "; ".join(found[:limit]) + more

    def describe(self) -> str:
        text = f"sync {self.sync_status} at {_shorts(self.revisions)}, health {self.health}"
        if self.op_phase:
            text += f", last operation {self.op_phase}"
        return text


@dataclass
class Matcher:
    """Decides whether an observed revision satisfies an expected one (exact, or ancestor via GitHub)."""

    args: ArgoCDArgs
    ctx: StepContext
    state: AppState
    _memo: dict[tuple[str, str, int], bool] = field(default_factory=dict)

    def one(self, expected: str, actual: str, index: int) -> bool:
        if expected == "*" or expected == actual:
            return True
        if self.args.revision_match != "ancestor" or not (
            COMMIT_SHA_RE.match(expected) and COMMIT_SHA_RE.match(actual)
        ):
            return False
        key = (expected, actual, index)
        if key not in self._memo:
            self._memo[key] = self._contains(expected, actual, index)
        return self._memo[key]

    def all(self, expected: Sequence[str], actual: Sequence[str]) -> bool:
        return len(actual) == len(expected) and all(
            self.one(e, a, i) for i, (e, a) in enumerate(zip(expected, actual, strict=True))
        )

    def _repo_for(self, index: int) -> str:
        if self.args.repo:
            return self.args.repo
        url = str(self.state.sources[index].get("repoURL", "")) if index < len(self.state.sources) else ""
        match = _GIT_URL.match(url)
        api_host = urlsplit(self.ctx.settings.github_api_url).hostname or "api.github.com"
        hosts = {"github.com", api_host.removeprefix("api.")}
        if match and match["host"].lower() in hosts:
            return f"{match['owner']}/{match['name']}"
        raise PermanentError(
            f"revisionMatch: ancestor needs the GitHub repository of source {index + 1} ({url or 'no repoURL'}): "
            "pass `repo: owner/name`"
        )

    def _contains(self, expected: str, actual: str, index: int) -> bool:
        repo = self._repo_for(index)
        resp = self.ctx.github.repo(repo).get(f"compare/{expected}...{actual}", {"per_page": 1}, allow=(404,))
        if resp.status == 404:
            raise PermanentError(
                f"GitHub cannot compare {_short(expected)}...{_short(actual)} in {repo}: one of them is not in "
                "that repository; check `revision` and `repo`"
            )
        body = resp.json if isinstance(resp.json, dict) else {}
        return body.get("status") in ("ahead", "identical")


@dataclass
class Anchor:
    key: str
    since: datetime
    existing: bool


def _anchor_key(ctx: StepContext, expected: Sequence[str]) -> str:
    owner = ctx.workflow.uid or f"{ctx.workflow.namespace}/{ctx.workflow.name}"
    digest = hashlib.sha256(f"{owner}|{','.join(expected)}".encode()).hexdigest()[:16]
    return ANCHOR_PREFIX + digest


def _anchor_since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        data = json.loads(value)
    except ValueError:
        return None
    return parse_timestamp(data.get("since")) if isinstance(data, dict) else None


def _url(ctx: StepContext, namespace: str, app: str) -> str:
    base = ctx.settings.argocd_url
    return f"{base.rstrip('/')}/applications/{namespace}/{app}" if base else ""


def _outputs(state: AppState, url: str) -> dict[str, OutputValue]:
    revision: OutputValue = (
        state.revisions if state.multi_source else (state.revisions[0] if state.revisions else "")
    )
    return {
        "revision": revision,
        "syncStatus": state.sync_status,
        "health": state.health,
        "operationPhase": state.op_phase or "",
        "url": url,
        "reconciledAt": state.reconciled_at.strftime("%Y-%m-%dT%H:%M:%SZ") if state.reconciled_at else "",
        "historyId": state.history_id if state.history_id is not None else "",
    }


@dataclass
class Verdict:
    """What this call decided: done, failed, or wait (optionally asking for a refresh or a sync)."""

    kind: Literal["done", "failed", "wait"]
    message: str
    refresh: bool = False
    sync_to: list[str] | None = None
    urgent: bool = False
    wait_at_most: timedelta | None = None


def _current_error(state: AppState, anchor: datetime, expected: Sequence[str], at_target: bool) -> str | None:
    for cond in state.conditions:
        kind = cond.get("type")
        if kind not in ERROR_CONDITIONS:
            continue
        message = str(cond.get("message", ""))
        since = parse_timestamp(cond.get("lastTransitionTime"))
        current = (
            at_target
            or (since is not None and since >= anchor)
            or any(COMMIT_SHA_RE.match(e) and e in message for e in expected)
            or (kind != "SyncError" and state.reconciled_at is not None and state.reconciled_at >= anchor)
        )
        if current:
            return f"{kind}: {message}"
    return None


def _grace(since: datetime, grace: timedelta, now: datetime) -> timedelta:
    return grace - (now - since)


def evaluate(
    args: ArgoCDArgs,
    state: AppState,
    expected: Sequence[str],
    anchor: datetime,
    now: datetime,
    match: Matcher,
) -> Verdict:
    """The decision for one observation of the Application (no I/O except the ancestor check)."""
    at_target = match.all(expected, state.revisions)
    where = f"Application {state.namespace}/{state.name}"
    progress = state.in_progress()
    if progress and state.op_phase in IN_FLIGHT:
        # A running operation (possibly retrying after a failed attempt) decides first: its end is
        # what the next checks look at, and a SyncError it raised meanwhile may still be retried away.
        return Verdict("wait", f"{where}: {progress}", urgent=True)
    error = _current_error(state, anchor, expected, at_target)
    if error:
        return Verdict("failed", f"{where}: {error}")
    if progress:
        return Verdict("wait", f"{where}: {progress}", urgent=True)
    op_for_target = bool(state.op_revisions) and match.all(expected, state.op_revisions)
    started_in_wait = state.op_started is not None and state.op_started >= anchor
    # A failed sync from before this wait began is retried when the caller asks for a sync (and Argo CD
    # would not retry it by itself); one that failed during this wait ends it.
    retry_old_failure = args.sync and not state.automated and not started_in_wait
    if state.op_phase in COMPLETED_BAD and op_for_target and not retry_old_failure:
        return Verdict(
            "failed",
            f"{where}: the sync to {_shorts(state.op_revisions)} ended {state.op_phase}: "
            f"{state.op_message or 'no message'}; fix the deployment and push a new commit, or sync again in Argo CD",
        )
    if not at_target:
        stale = (
            state.reconciled_at is None
            or state.reconciled_at < anchor
            or now - state.reconciled_at >= REFRESH_AFTER
        )
        refresh = REFRESH_ANNOTATION not in state.annotations and stale
        note = "; refresh requested" if refresh else ""
        return Verdict(
            "wait",
            f"{where}: Argo CD compares {state.target_revisions()} at {_shorts(state.revisions)}, "
            f"expected {_shorts(expected)}{note}",
            refresh=refresh,
        )
    if state.sync_status != "Synced":
        if args.sync and not state.automated and not (op_for_target and started_in_wait):
            return Verdict(
                "wait",
                f"{where}: {state.sync_status} at {_shorts(state.revisions)}; sync started",
                sync_to=list(state.revisions),
                urgent=True,
            )
        if state.health == "Missing":
            since = max(t for t in (state.health_since, state.op_finished, anchor) if t is not None)
            left = _grace(since, args.missing_grace, now)
            if left <= timedelta(0):
                hint = (
                    " and automated sync is off: pass `sync: true` or sync it in Argo CD"
                    if not state.automated
                    else ""
                )
                return Verdict(
                    "failed", f"{where}: resources Missing for {format_duration(now - since)}{hint}"
                )
        if state.automated:
            why = "automated sync will apply it"
        elif args.sync:
            why = "a sync for this revision already ran since the wait started; waiting for it to take effect"
        else:
            why = "automated sync is off: pass `sync: true` or sync it in Argo CD"
        return Verdict("wait", f"{where}: {state.sync_status} at {_shorts(state.revisions)}; {why}")
    if state.health == "Healthy" or (state.health == "Suspended" and args.allow_suspended):
        return Verdict("done", f"{where} Synced and {state.health} at {_shorts(state.revisions)}")
    if state.health in ("Degraded", "Missing"):
        grace = args.degraded_grace if state.health == "Degraded" else args.missing_grace
        candidates = (
            [state.health_since, state.op_finished] if state.health_since or state.op_finished else [anchor]
        )
        since = max(t for t in candidates if t is not None)
        left = _grace(since, grace, now)
        if left <= timedelta(0):
            details = state.resource_problems(state.health)
            return Verdict(
                "failed",
                f"{where} is {state.health} at {_shorts(state.revisions)} for {format_duration(now - since)}"
                + (f": {details}" if details else ""),
            )
        return Verdict(
            "wait",
            f"{where}: {state.health} at {_shorts(state.revisions)}, {format_duration(left)} of grace left",
            wait_at_most=left,
        )
    if state.health == "Suspended":
        return Verdict(
            "wait",
            f"{where}: Suspended at {_shorts(state.revisions)}; pass `allowSuspended: true` to accept it",
        )
    return Verdict("wait", f"{where}: Synced at {_shorts(state.revisions)}, health {state.health}")


def _expected_for(args: ArgoCDArgs, state: AppState) -> list[str]:
    expected = args.expected
    where = f"Application {state.namespace}/{state.name}"
    if state.multi_source:
        if len(expected) != len(state.sources):
            urls = ", ".join(str(s.get("repoURL", "?")) for s in state.sources)
            raise PermanentError(
                f"{where} has {len(state.sources)} sources ({urls}): pass `revision` as a list of "
                f"{len(state.sources)} revisions in that order (`*` for a source you do not care about)"
            )
    elif len(expected) != 1:
        raise PermanentError(f"{where} has a single source: pass `revision` as one SHA, not {len(expected)}")
    elif not state.sources:
        raise PermanentError(f"{where} has no `spec.source`: nothing to compare `revision` with")
    return expected


def _best_effort(what: str, action: Callable[[], object]) -> None:
    try:
        action()
    except PressplayError as exc:
        log.warning("could not %s: %s", what, exc)


def _sync_operation(
    args: ArgoCDArgs, state: AppState, revisions: list[str], expected: Sequence[str], ctx: StepContext
) -> dict[str, Any]:
    sync: dict[str, Any] = {"prune": args.prune, "syncStrategy": {"hook": {}}}
    if state.multi_source:
        sync["revisions"] = revisions
    else:
        sync["revision"] = revisions[0]
    return {
        "initiatedBy": {"username": "pressplay"},
        "info": [
            {"name": "expected-revision", "value": ",".join(expected)},
            {"name": "workflow", "value": f"{ctx.workflow.namespace}/{ctx.workflow.name}"},
        ],
        "sync": sync,
    }


@step(
    "argocd",
    ArgoCDArgs,
    permissions={},
    outputs=("revision", "syncStatus", "health", "operationPhase", "url", "reconciledAt", "historyId"),
)
def argocd(args: ArgoCDArgs, ctx: StepContext) -> Outcome:
    """Wait until an Argo CD Application is Synced and Healthy at the expected revision."""
    namespace = args.namespace or ctx.settings.argocd_namespace
    kube = ctx.kube
    state = AppState.parse(kube.get_application(namespace, args.app))
    expected = _expected_for(args, state)
    now = ctx.now()
    url = _url(ctx, namespace, args.app)
    key = _anchor_key(ctx, expected)
    recorded = _anchor_since(state.annotations.get(key))
    if args.since is not None:
        anchor = Anchor(key, args.since, existing=True)
    else:
        anchor = Anchor(key, recorded or now, existing=recorded is not None)

    verdict = evaluate(args, state, expected, anchor.since, now, Matcher(args, ctx, state))
    outputs = _outputs(state, url)
    link = f" ({url})" if url else ""

    def forget_anchor() -> None:
        if recorded is not None:
            _best_effort(
                "remove the wait anchor",
                lambda: kube.patch_application(
                    namespace, args.app, {"metadata": {"annotations": {key: None}}}
                ),
            )

    if verdict.kind == "done":
        forget_anchor()
        return Succeeded(outputs, summary=verdict.message + link)
    if verdict.kind == "failed":
        forget_anchor()
        return Failed(verdict.message + link, outputs)

    wait = Wait(anchor.since, args.timeout, now)
    nudged = False if wait.over else _nudge(args, ctx, namespace, state, anchor, verdict, expected, now)

    def give_up() -> GiveUp:
        forget_anchor()
        what = f"{namespace}/{args.app} to be Synced and Healthy at {_shorts(expected)}"
        last = f"last state: {state.describe()} — {verdict.message}"
        return GiveUp(wait.timed_out(what, last) + link, outputs)

    return keep_waiting(
        wait,
        ctx.settings,
        verdict.message,
        give_up=give_up,
        soon=verdict.urgent or nudged,
        at_most=verdict.wait_at_most,
    )


def _nudge(
    args: ArgoCDArgs,
    ctx: StepContext,
    namespace: str,
    state: AppState,
    anchor: Anchor,
    verdict: Verdict,
    expected: Sequence[str],
    now: datetime,
) -> bool:
    """Patch the Application as the wait needs: record the anchor (dropping stale ones), ask for a
    refresh, start a sync. True when it patched."""
    key = anchor.key
    annotations: dict[str, str | None] = {}
    if not anchor.existing:
        annotations[key] = json.dumps(
            {
                "since": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "workflow": f"{ctx.workflow.namespace}/{ctx.workflow.name}",
                "revision": ",".join(expected),
            },
            separators=(",", ":"),
        )
        for other, value in state.annotations.items():
            if other.startswith(ANCHOR_PREFIX) and other != key:
                since = _anchor_since(value)
                if since is None or now - since > ANCHOR_TTL:
                    annotations[other] = None
    if verdict.refresh:
        annotations[REFRESH_ANNOTATION] = "normal"
    patch: dict[str, Any] = {}
    if annotations:
        patch["metadata"] = {"annotations": annotations}
    if verdict.sync_to is not None:
        patch["operation"] = _sync_operation(args, state, verdict.sync_to, expected, ctx)
    if not patch:
        return False
    # resourceVersion makes the patch conditional: a concurrent call (or the controller) changing
    # the app meanwhile gets 409 → TemporaryError → re-read; never two operations.
    patch.setdefault("metadata", {})["resourceVersion"] = state.resource_version
    try:
        ctx.kube.patch_application(namespace, args.app, patch)
    except PermanentError as exc:
        purposes = [
            purpose
            for purpose, needed in (
                ("record when the wait started (or pass `since`)", not anchor.existing),
                ("request a refresh", verdict.refresh),
                ("start a sync", verdict.sync_to is not None),
            )
            if needed
        ]
        raise PermanentError(f"{exc}; the step patches the Application to {' and '.join(purposes)}") from None
    return True
