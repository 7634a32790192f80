"""The ``acceptance`` step: its arguments, the GitHub data of one evaluation, and how a call ends.

A call reads the PR, loads the spec, evaluates every criterion, writes the report (sticky comment)
and the commit status, then ends like every waiting step (:mod:`pressplay.steps.waiting`): passed →
Succeeded; failed → settled per ``failOnUnmet``; pending → Running with the paced requeue until the
deadline, where the pending criteria count as unmet.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any
from urllib.parse import quote

from pydantic import Field, field_validator, model_validator

from pressplay.acceptance_spec import (
    AcceptanceSpec,
    ChecksCriterion,
    DeployCriterion,
    HttpCriterion,
    ReviewsCriterion,
    SpecError,
    parse_spec,
)
from pressplay.errors import PermanentError, TemporaryError
from pressplay.github import RepoClient, read_text
from pressplay.steps import checks as ci
from pressplay.steps.acceptance.criteria import (
    CriterionResult,
    deploy_result,
    eval_agent,
    eval_checks,
    eval_reviews,
)
from pressplay.steps.acceptance.probe import probe
from pressplay.steps.acceptance.report import (
    overall_state,
    render_report,
    render_spec_error,
    unmet_lines,
    waiting_for,
)
from pressplay.steps.base import Failed, Outcome, OutputValue, StepContext, Succeeded, step
from pressplay.steps.shared.statuses import set_status
from pressplay.steps.shared.sticky import KEY_RE, upsert_sticky
from pressplay.steps.waiting import GiveUp, OnFailure, Wait, WaitArgs, keep_waiting, settle
from pressplay.tasks import check_repo_path
from pressplay.types import Duration, OptionalGitRef, Repo, decode_b64_text, parse_timestamp

__all__ = ["CONTEXT", "AcceptanceArgs", "acceptance", "evaluate_spec"]

CONTEXT = "pressplay/acceptance"
_NEVER = datetime.min.replace(tzinfo=UTC)


class AcceptanceArgs(WaitArgs):
    """Arguments of the ``acceptance`` step."""

    repo: Repo = Field(description="Repository as `owner/name`, e.g. `acme/api`.")
    number: int = Field(..., ge=1, description="The task's pull request number.")
    spec: dict[str, Any] | str | None = Field(
        None,
        description=(
            "The acceptance spec inline: a mapping, or YAML/JSON text (see docs/acceptance-spec.md). "
            "Give `spec` or `specPath`."
        ),
    )
    spec_path: str | None = Field(
        None,
        description="Path of the spec file in the repository, e.g. `.taskmaster/docs/task-7/acceptance.yaml`.",
    )
    spec_ref: OptionalGitRef = Field(
        None,
        description=(
            "Branch or SHA to read `specPath` from. Default: the PR's base branch, so the PR under test "
            "cannot edit its own gate."
        ),
    )
    verdict: dict[str, Any] | str | None = Field(
        None,
        description=(
            "The acceptance agent's verdict document (JSON), best as `{b64: ...}` of the agent step's "
            "`verdict-b64` output (the agent's text in clear would be templated again by Argo), e.g. "
            '`{b64: "{{steps.acceptance-agent.outputs.parameters.verdict-b64}}"}`. Needed by `agent` criteria.'
        ),
    )
    timeout: Duration = Field(
        timedelta(minutes=30),
        description="How long pending criteria may stay pending before they count as unmet, e.g. `30m`.",
    )
    fail_on_unmet: bool = Field(
        True,
        description="Fail the node when a criterion is unmet (false: succeed with `passed=false`).",
    )
    comment_key: str = Field(
        "acceptance", description="Key of the sticky report comment (one report per key and PR)."
    )
    context: str = Field(CONTEXT, min_length=1, max_length=255, description="Commit status context to set.")

    @field_validator("spec_path")
    @classmethod
    def _spec_path(cls, value: str | None) -> str | None:
        return check_repo_path(value, "specPath") if value else None

    @field_validator("comment_key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not KEY_RE.match(value):
            raise ValueError("must be letters, digits and ._:/@+=- (up to 100), e.g. 'acceptance'")
        return value

    @field_validator("verdict", mode="before")
    @classmethod
    def _verdict_b64(cls, value: object) -> object:
        # The agent's verdict as the template hands it on: {b64: "{{...verdict-b64}}"} (pressplay.types.Text)
        if isinstance(value, dict) and set(value) == {"b64"} and isinstance(value["b64"], str):
            text = decode_b64_text(value["b64"], "`verdict.b64`")
            return text if text.strip() else None
        return value

    @field_validator("spec", "verdict", "spec_path", "spec_ref", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _one_spec(self) -> AcceptanceArgs:
        if self.spec is None and self.spec_path is None:
            raise ValueError(
                "give the acceptance spec: `spec` (inline) or `specPath` (a file in the repository)"
            )
        if self.spec is not None and self.spec_path is not None:
            raise ValueError("give either `spec` or `specPath`, not both")
        return self

    @property
    def on_failure(self) -> OnFailure:
        """``failOnUnmet`` in the wait kit's terms."""
        return OnFailure.fail if self.fail_on_unmet else OnFailure.cont


# -- reading GitHub ---------------------------------------------------------------------------------


def _load_spec(args: AcceptanceArgs, gh: RepoClient, base_ref: str | None) -> tuple[AcceptanceSpec, str]:
    if args.spec is not None:
        return parse_spec(args.spec, "the inline acceptance spec (`spec`)"), ""
    assert args.spec_path is not None
    ref = args.spec_ref or base_ref
    file = read_text(
        gh,
        args.spec_path,
        ref,
        hint="add the task's acceptance spec (docs/acceptance-spec.md) or fix `specPath`",
    )
    return parse_spec(file.text, f"{args.spec_path} (at {ref or 'the default branch'})"), file.html_url


def _run_anchor(gh: RepoClient, sha: str, context: str) -> datetime | None:
    """Created-at of the oldest status in the current unbroken run of ``pending`` statuses of ``context``
    (newest first by time, then id: the order GitHub lists them in)."""
    statuses = gh.get(f"commits/{sha}/statuses", {"per_page": 100}).json or []
    ours = sorted(
        (s for s in statuses if isinstance(s, dict) and s.get("context") == context),
        key=lambda s: (
            parse_timestamp(s.get("created_at")) or _NEVER,
            s.get("id") if isinstance(s.get("id"), int) else 0,
        ),
        reverse=True,
    )
    if not ours or ours[0].get("state") != "pending":
        return None
    anchor = None
    for status in ours:
        if status.get("state") != "pending":
            break
        anchor = parse_timestamp(status.get("created_at")) or anchor
    return anchor


class _Head:
    """What one evaluation reads from GitHub about the PR head, each kind at most once."""

    def __init__(
        self, gh: RepoClient, *, number: int, sha: str, base_ref: str | None, since: datetime
    ) -> None:
        self.gh = gh
        self.number = number
        self.sha = sha
        self.base_ref = base_ref
        self.since = since

    @cached_property
    def checks(self) -> list[ci.Check]:
        """The head's check runs and commit statuses, read exactly as the ``checks`` step reads them."""
        args = ci.ChecksArgs.model_validate(
            {"repo": self.gh.full_name, "ref": self.sha, "since": self.since, "statuses": True}
        )
        return ci.read(self.gh, args).checks

    @cached_property
    def protected(self) -> list[str]:
        """The checks the base branch's protection requires (none when GitHub does not show it)."""
        if not self.base_ref:
            return []
        branch = self.gh.get(f"branches/{quote(self.base_ref, safe='')}", allow=(404,))
        body = branch.json if branch.status != 404 and isinstance(branch.json, dict) else {}
        rules = (body.get("protection") or {}).get("required_status_checks") or {}
        names = [str(c) for c in rules.get("contexts") or []]
        names += [str(c.get("context")) for c in rules.get("checks") or [] if isinstance(c, dict)]
        return list(dict.fromkeys(n for n in names if n))

    @cached_property
    def reviews(self) -> list[Any]:
        return list(self.gh.get_all(f"pulls/{self.number}/reviews"))


def _app_link(ctx: StepContext, namespace: str, name: str) -> str:
    base = (ctx.settings.argocd_url or "").rstrip("/")
    return f"{base}/applications/{namespace}/{name}" if base else ""


def _deploy(
    ctx: StepContext, crit: DeployCriterion, cid: str, *, repo: str, sha: str, wait: Wait
) -> CriterionResult:
    namespace = crit.namespace or ctx.settings.argocd_namespace
    link = _app_link(ctx, namespace, crit.application)
    name = crit.name or f"Deployed: {crit.application}"
    try:
        getter: Callable[[str, str], dict[str, Any]] = ctx.kube.get_application
    except (ImportError, AttributeError):
        return CriterionResult(cid, "deploy", name, "pending", "pending: argocd support not available", link)
    except TemporaryError as exc:
        return CriterionResult(cid, "deploy", name, "pending", f"cannot reach Kubernetes yet: {exc}", link)
    except PermanentError as exc:
        return CriterionResult(
            cid, "deploy", name, "failed", f"cannot read Argo CD Applications: {exc}", link
        )
    try:
        app = getter(namespace, crit.application)
    except TemporaryError as exc:
        return CriterionResult(
            cid, "deploy", name, "pending", f"cannot read the Application yet: {exc}", link
        )
    except PermanentError as exc:
        return CriterionResult(cid, "deploy", name, "failed", str(exc), link)
    return deploy_result(
        crit, cid, app, ctx=ctx, repo=repo, sha=sha, anchor=wait.anchor, now=wait.now, link=link
    )


def evaluate_spec(
    spec: AcceptanceSpec, *, gh: RepoClient, ctx: StepContext, number: int, sha: str, context: str,
    verdict: dict[str, Any] | str | None, wait: Wait, base_ref: str | None = None,
) -> list[CriterionResult]:  # fmt: skip
    """Evaluate every criterion (GitHub data read once per kind; probes in parallel)."""
    ids = spec.criterion_ids()
    head = _Head(gh, number=number, sha=sha, base_ref=base_ref, since=wait.anchor)
    results: dict[int, CriterionResult] = {}
    probes: list[tuple[int, HttpCriterion]] = []
    for i, crit in enumerate(spec.criteria):
        cid = ids[i]
        if isinstance(crit, ChecksCriterion):
            results[i] = eval_checks(
                crit,
                cid,
                head.checks,
                sha=sha,
                own_context=context,
                protected=head.protected if crit.branch_protection else (),
                deadline_passed=wait.over,
            )
        elif isinstance(crit, ReviewsCriterion):
            results[i] = eval_reviews(crit, cid, head.reviews)
        elif isinstance(crit, DeployCriterion):
            results[i] = _deploy(ctx, crit, cid, repo=gh.full_name, sha=sha, wait=wait)
        elif isinstance(crit, HttpCriterion):
            probes.append((i, crit))
        else:
            results[i] = eval_agent(crit, cid, verdict)
    if probes:
        with ThreadPoolExecutor(max_workers=min(8, len(probes)), thread_name_prefix="probe") as pool:
            allow = ctx.settings.probe_allow_cidrs
            futures = {i: pool.submit(probe, crit, ids[i], allow=allow) for i, crit in probes}
            for i, future in futures.items():
                results[i] = future.result()
    return [results[i] for i in range(len(spec.criteria))]


# -- the step ---------------------------------------------------------------------------------------


@step(
    "acceptance",
    AcceptanceArgs,
    permissions={
        "actions": "read",
        "checks": "read",
        "contents": "read",
        "issues": "write",
        "pull_requests": "write",
        "statuses": "write",
    },
    outputs=("passed", "verdict", "commentUrl", "url", "specUrl", "sha"),
)
def acceptance(args: AcceptanceArgs, ctx: StepContext) -> Outcome:
    """Evaluate the acceptance spec on the PR head; report (sticky comment + status); gate on the result."""
    gh = ctx.github.repo(args.repo)
    pr = gh.get(f"pulls/{args.number}").json or {}
    sha = str((pr.get("head") or {}).get("sha") or "")
    pr_url = str(pr.get("html_url") or "")
    base_ref = str((pr.get("base") or {}).get("ref") or "") or None
    where = f"{args.repo}#{args.number}"
    if pr.get("state") != "open" and not pr.get("merged"):
        return Failed(f"{where} is closed without being merged: nothing to accept")
    if not sha:
        raise PermanentError(f"GitHub returned {where} without a head commit SHA; check `repo` and `number`")
    try:
        spec, spec_url = _load_spec(args, gh, base_ref)
    except SpecError as exc:
        problem = f"{exc}\nFix the spec (schema: schemas/acceptance-spec.v1.json, docs/acceptance-spec.md)."
        note = upsert_sticky(gh, args.number, args.comment_key, render_spec_error(problem, sha))
        set_status(gh, sha, args.context, "error", "the acceptance spec is invalid", note.url or pr_url)
        return Failed(problem, outputs={"passed": False, "commentUrl": note.url, "url": pr_url, "sha": sha})

    now = ctx.now()
    wait = Wait(args.since or _run_anchor(gh, sha, args.context) or now, args.timeout, now)
    results = evaluate_spec(
        spec,
        gh=gh,
        ctx=ctx,
        number=args.number,
        sha=sha,
        context=args.context,
        verdict=args.verdict,
        wait=wait,
        base_ref=base_ref,
    )
    state = overall_state(results)
    final = state != "pending" or wait.over
    comment = upsert_sticky(gh, args.number, args.comment_key, render_report(results, spec, sha, final))
    report_url = comment.url or pr_url
    passed = sum(1 for r in results if r.state == "passed")
    counts = f"{passed}/{len(results)} criteria passed"
    at = f"{where} at {sha[:7]}"

    def outputs(ok: bool, summary: str) -> dict[str, OutputValue]:
        verdict_doc = {"version": 1, "passed": ok, "sha": sha, "criteria": [r.as_output() for r in results]}
        return {
            "passed": ok,
            "verdict": verdict_doc,
            "commentUrl": comment.url,
            "url": pr_url,
            "specUrl": spec_url,
            "sha": sha,
            "summary": summary,
        }

    if state == "passed":
        set_status(gh, sha, args.context, "success", counts, report_url)
        summary = f"acceptance passed for {at}: all {len(results)} criteria met"
        return Succeeded(outputs(True, summary), summary=summary)

    def unmet() -> GiveUp:
        """The final failure: the ``failure`` status, every unmet criterion, and the fix for a timeout."""
        set_status(gh, sha, args.context, "failure", counts, report_url)
        missed = [r for r in results if r.state != "passed"]
        summary = (
            f"acceptance failed for {at}: {len(missed)} of {len(results)} criteria unmet "
            f"({', '.join(r.id for r in missed)})"
        )
        pending = [r.id for r in missed if r.state == "pending"]
        lines = [summary + ":", *unmet_lines(results)]
        if pending:
            lines.append(wait.timed_out(", ".join(pending)))
        lines.append(f"Report: {report_url}")
        return GiveUp("\n".join(lines), outputs(False, summary), summary)

    if state == "failed":
        return settle(unmet(), args.on_failure)
    if not wait.over:
        waiting = sum(1 for r in results if r.state == "pending")
        set_status(gh, sha, args.context, "pending", f"{counts}; waiting for {waiting}", report_url)
    return keep_waiting(
        wait,
        ctx.settings,
        f"acceptance of {at}: {counts}; waiting for {waiting_for(results)}",
        give_up=unmet,
        on_failure=args.on_failure,
        changed=comment.action != "unchanged",
        budget=gh.budget(),
    )
