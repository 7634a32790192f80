"""``acceptance``: evaluate a task's acceptance spec on its pull request, report it, and gate on it.

Every criterion of the spec (``docs/acceptance-spec.md``) is evaluated on every call — never stopping
at the first miss — against the PR head:

- ``checks``: check runs and commit statuses (the newest run per name; our own status excluded);
- ``reviews``: the latest review per trusted reviewer; approvals and outstanding change requests;
- ``deploy``: the Argo CD Application through ``pressplay.kube`` (Synced + Healthy at the head SHA);
- ``http``: probes, run in parallel with their own timeouts (http/https only, redirects checked);
- ``agent``: the acceptance agent's verdict document (``verdict`` argument).

Each criterion is *passed*, *failed* or *pending* (still moving: checks running, deploy progressing,
approvals missing, a probe not reachable yet). While anything is pending the step is Running and
requeues, until the deadline; then the pending criteria count as unmet. The report is a sticky PR
comment (table: criterion, result, evidence) written through the ``comment`` step's
:func:`~pressplay.steps.comment.upsert_sticky`, and the ``pressplay/acceptance`` commit status through
the ``status`` step's :func:`~pressplay.steps.status.set_status`; both write only on change.

The gate never merges and cannot bypass required reviews: it only reports and sets a status.

Deadline: ``timeout`` after ``since`` when given, else after the first ``pending`` status this run
set on the head commit (read back from GitHub, so a sidecar restart does not reset it).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote, urljoin

import httpx
from pydantic import Field, field_validator, model_validator

from pressplay.acceptance_spec import (
    AcceptanceSpec,
    AgentCriterion,
    ChecksCriterion,
    DeployCriterion,
    HttpCriterion,
    ReviewsCriterion,
    SpecError,
    check_probe_url,
    parse_spec,
    parse_verdict,
)
from pressplay.github import RepoClient, read_text
from pressplay.steps.base import (
    Failed,
    Outcome,
    PermanentError,
    Running,
    StepContext,
    Succeeded,
    TemporaryError,
    step,
)
from pressplay.steps.shared.statuses import set_status, shorten
from pressplay.steps.shared.sticky import KEY_RE, upsert_sticky
from pressplay.steps.waiting import Deadline, WaitArgs, next_poll
from pressplay.tasks import check_repo_path
from pressplay.types import TRUSTED_ASSOCIATIONS, Duration, Repo, parse_timestamp

CONTEXT = "pressplay/acceptance"
CHECK_FAILING = frozenset(
    {"failure", "cancelled", "timed_out", "action_required", "startup_failure", "stale"}
)
#: Probes share this budget: the whole call must answer Argo's agent well within its 30 s.
PROBE_BUDGET = 20.0
PROBE_BODY_LIMIT = 1024 * 1024
MAX_REDIRECTS = 5

State = Literal["passed", "failed", "pending"]
ICON = {"passed": "✅", "failed": "❌", "pending": "⏳"}


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
    spec_ref: str | None = Field(
        None,
        min_length=1,
        max_length=255,
        description=(
            "Branch or SHA to read `specPath` from. Default: the PR's base branch, so the PR under test "
            "cannot edit its own gate."
        ),
    )
    verdict: dict[str, Any] | str | None = Field(
        None,
        description=(
            "The acceptance agent's verdict document (JSON), e.g. "
            "`{{steps.acceptance-agent.outputs.parameters.verdict}}`. Needed by `agent` criteria."
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


# -- results ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Detail:
    label: str
    state: State
    evidence: str
    url: str = ""


@dataclass(frozen=True)
class CriterionResult:
    id: str
    kind: str
    name: str
    state: State
    evidence: str
    url: str = ""
    details: tuple[Detail, ...] = field(default_factory=tuple)

    def as_output(self) -> dict[str, Any]:
        out = asdict(self)
        out["result"] = out.pop("state")
        out["details"] = [{**d, "result": d.pop("state")} for d in out["details"]]
        return out


def _worst(states: list[State]) -> State:
    if "failed" in states:
        return "failed"
    return "pending" if "pending" in states else "passed"


# -- criteria over plain data -------------------------------------------------------------------------


def eval_checks(
    crit: ChecksCriterion,
    cid: str,
    check_runs: list[Any],
    statuses: list[Any],
    own_context: str,
    sha: str,
    protected: list[str] | None = None,
) -> CriterionResult:
    """Newest check run per name plus the newest status per context (ours excluded).

    ``protected``: the checks the base branch's protection requires (used with ``branchProtection``).
    """
    seen: dict[str, tuple[State, str, str]] = {}  # name -> (state, detail, url)
    newest: dict[str, dict[str, Any]] = {}
    for run in check_runs:
        if not isinstance(run, dict) or not run.get("name"):
            continue
        name = str(run["name"])
        key = (str(run.get("started_at") or ""), int(run.get("id") or 0))
        old = newest.get(name)
        if old is None or key > (str(old.get("started_at") or ""), int(old.get("id") or 0)):
            newest[name] = run
    for name, run in newest.items():
        url = str(run.get("html_url") or run.get("details_url") or "")
        if run.get("status") != "completed":
            seen[name] = ("pending", str(run.get("status") or "queued"), url)
        elif run.get("conclusion") in crit.passing_conclusions:
            seen[name] = ("passed", str(run.get("conclusion")), url)
        else:
            seen[name] = ("failed", str(run.get("conclusion") or "no conclusion"), url)
    for status in statuses:
        if not isinstance(status, dict) or not status.get("context") or status.get("context") == own_context:
            continue
        name = str(status["context"])
        if name in seen:
            continue  # a check run of the same name wins; statuses arrive newest first
        url = str(status.get("target_url") or "")
        state = str(status.get("state") or "pending")
        mapped: State = "passed" if state == "success" else "pending" if state == "pending" else "failed"
        seen[name] = (mapped, state, url)

    required = list(dict.fromkeys([*crit.required, *((protected or []) if crit.branch_protection else [])]))
    if required:
        wanted = required
    else:
        wanted = [name for name in sorted(seen) if name not in crit.ignore]
        if not wanted:
            return CriterionResult(
                cid, "checks", crit.name or "Checks", "pending", f"no check has reported on {sha[:7]} yet"
            )
    parts: list[str] = []
    states: list[State] = []
    link = ""
    for name in wanted:
        if name not in seen:
            states.append("pending")
            parts.append(f"{name} ⏳ not reported yet")
            continue
        state, detail, url = seen[name]
        states.append(state)
        parts.append(f"{name} {ICON[state]}" + ("" if state == "passed" else f" {detail}"))
        if state == "failed" and not link:
            link = url
    overall = _worst(states)
    name = crit.name or ("Required checks" if required else "All checks")
    passed = states.count("passed")
    evidence = f"{passed}/{len(wanted)} passed: " + ", ".join(parts)
    return CriterionResult(cid, "checks", name, overall, evidence, link)


def eval_reviews(crit: ReviewsCriterion, cid: str, reviews: list[Any]) -> CriterionResult:
    """Latest APPROVED/CHANGES_REQUESTED/DISMISSED review per trusted reviewer decides."""
    latest: dict[str, tuple[str, str, str]] = {}  # login -> (submitted_at, state, url)
    for review in reviews:
        if not isinstance(review, dict) or review.get("author_association") not in TRUSTED_ASSOCIATIONS:
            continue
        state = str(review.get("state") or "")
        if state not in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
            continue
        login = str((review.get("user") or {}).get("login") or "")
        when = str(review.get("submitted_at") or "")
        if login and (login not in latest or when >= latest[login][0]):
            latest[login] = (when, state, str(review.get("html_url") or ""))
    approvers = sorted(login for login, (_, state, _) in latest.items() if state == "APPROVED")
    blockers = sorted(login for login, (_, state, _) in latest.items() if state == "CHANGES_REQUESTED")
    name = crit.name or (f"≥ {crit.min_approvals} approval(s)" if crit.min_approvals else "Reviews")
    who = ", ".join(f"`{login}`" for login in approvers) or "nobody"
    if crit.no_changes_requested and blockers:
        url = latest[blockers[0]][2]
        names = ", ".join(f"`{login}`" for login in blockers)
        return CriterionResult(cid, "reviews", name, "failed", f"changes requested by {names}", url)
    if len(approvers) < crit.min_approvals:
        return CriterionResult(
            cid,
            "reviews",
            name,
            "pending",
            f"{len(approvers)} of {crit.min_approvals} approvals (approved by {who})",
        )
    return CriterionResult(cid, "reviews", name, "passed", f"approved by {who}")


def _same_repo(url: object, repo: str) -> bool:
    text = str(url or "").lower().removesuffix("/").removesuffix(".git")
    return text.endswith("/" + repo.lower()) or text.endswith(":" + repo.lower())


def deploy_result(
    crit: DeployCriterion,
    cid: str,
    app: dict[str, Any],
    *,
    ctx: StepContext,
    repo: str,
    sha: str,
    anchor: datetime,
    now: datetime,
    link: str = "",
) -> CriterionResult:
    """The ``argocd`` step's own decision for this Application at the PR head, read-only.

    "Deployed" means exactly what the ``argocd`` step waits for (Synced + Healthy at the revision, no
    operation in flight, re-compared after the last sync, Degraded/Missing only after their grace).
    For a multi-source Application the PR head is expected on the sources that point at ``repo``.
    """
    from pressplay.steps import argocd as cd

    name = crit.name or f"Deployed: {crit.application}"
    state = cd.AppState.parse(app)
    count = max(1, len(state.sources))
    if not crit.require_revision:
        expected = ["*"] * count
    elif state.multi_source:
        expected = [sha if _same_repo(src.get("repoURL"), repo) else "*" for src in state.sources]
        if sha not in expected:
            urls = ", ".join(str(src.get("repoURL", "?")) for src in state.sources)
            return CriterionResult(
                cid, "deploy", name, "failed",
                f"no source of {state.namespace}/{state.name} is {repo} ({urls}): set `requireRevision: false`",
                link,
            )  # fmt: skip
    else:
        expected = [sha]
    revision: str | list[str] = expected if state.multi_source else expected[0]
    args = cd.ArgoCDArgs.model_validate(
        {"app": crit.application, "namespace": state.namespace or None, "revision": revision}
    )
    verdict = cd.evaluate(args, state, expected, anchor, now, cd.Matcher(args, ctx, state))
    result: State = (
        "passed" if verdict.kind == "done" else "failed" if verdict.kind == "failed" else "pending"
    )
    return CriterionResult(cid, "deploy", name, result, verdict.message, link)


def eval_agent(crit: AgentCriterion, cid: str, verdict: dict[str, Any] | str | None) -> CriterionResult:
    name = crit.name or "Acceptance agent's verdict"
    if verdict is None:
        return CriterionResult(
            cid, "agent", name, "failed",
            "no verdict was given: pass the acceptance agent's `verdict` output to the step's `verdict` argument",
        )  # fmt: skip
    try:
        doc = parse_verdict(verdict)
    except SpecError as exc:
        return CriterionResult(cid, "agent", name, "failed", str(exc))
    reported = {item.id: item for item in doc.items}
    details: list[Detail] = []
    if crit.items:
        for want in crit.items:
            got = reported.get(want.id)
            label = want.id + (f": {want.description}" if want.description else "")
            if got is None:
                details.append(Detail(label, "failed", "not reported by the agent"))
            else:
                details.append(
                    Detail(label, "passed" if got.passed else "failed", got.evidence, got.url or "")
                )
    else:
        if not doc.items:
            return CriterionResult(cid, "agent", name, "failed", "the verdict reports no items")
        details = [
            Detail(item.id, "passed" if item.passed else "failed", item.evidence, item.url or "")
            for item in doc.items
        ]
    ok = sum(1 for d in details if d.state == "passed")
    overall: State = "passed" if ok == len(details) else "failed"
    unmet = [d.label.split(":", 1)[0] for d in details if d.state != "passed"]
    evidence = f"{ok}/{len(details)} items passed" + (f"; unmet: {', '.join(unmet)}" if unmet else "")
    if doc.summary:
        evidence += f". {doc.summary}"
    return CriterionResult(cid, "agent", name, overall, evidence, details=tuple(details))


def probe(
    crit: HttpCriterion, cid: str, budget: float = PROBE_BUDGET, transport: httpx.BaseTransport | None = None
) -> CriterionResult:
    """One HTTP probe: status and body pattern. Unreachable or 502/503/504 → pending (it may be starting)."""
    name = crit.name or f"{crit.method} {crit.url}"
    timeout = min(crit.timeout.total_seconds(), budget)
    started = time.monotonic()
    url = crit.url
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, transport=transport) as client:
            for _hop in range(MAX_REDIRECTS + 1):
                left = timeout - (time.monotonic() - started)
                if left <= 0:
                    raise httpx.TimeoutException("probe timed out")
                with client.stream(crit.method, url, timeout=left) as resp:
                    if resp.is_redirect and crit.follow_redirects:
                        target = urljoin(url, resp.headers.get("location", ""))
                        try:
                            check_probe_url(target)
                        except ValueError as exc:
                            return CriterionResult(
                                cid, "http", name, "failed", f"redirected to {target[:200]}: {exc}", crit.url
                            )
                        url = target
                        continue
                    body = b""
                    if crit.body_pattern is not None and crit.method == "GET":
                        for chunk in resp.iter_bytes():
                            body += chunk
                            if len(body) >= PROBE_BODY_LIMIT:
                                break
                    status = resp.status_code
                    break
            else:
                return CriterionResult(
                    cid, "http", name, "failed", f"more than {MAX_REDIRECTS} redirects", crit.url
                )
    except (httpx.TimeoutException, httpx.TransportError) as exc:
        kind = (
            "timed out"
            if isinstance(exc, httpx.TimeoutException)
            else f"not reachable ({type(exc).__name__})"
        )
        return CriterionResult(cid, "http", name, "pending", f"{crit.method} {url} {kind}", crit.url)
    elapsed = round((time.monotonic() - started) * 1000)
    seen = f"{crit.method} {url} → {status} in {elapsed} ms"
    if status not in crit.expect_status:
        expected = " or ".join(str(s) for s in crit.expect_status)
        state: State = "pending" if status in (502, 503, 504) else "failed"
        return CriterionResult(cid, "http", name, state, f"{seen}; expected {expected}", crit.url)
    if crit.body_pattern is not None:
        text = body[:PROBE_BODY_LIMIT].decode("utf-8", "replace")
        if not re.search(crit.body_pattern, text):
            return CriterionResult(
                cid, "http", name, "failed", f"{seen}; body does not match /{crit.body_pattern}/", crit.url
            )
        seen += f"; body matches /{crit.body_pattern}/"
    return CriterionResult(cid, "http", name, "passed", seen, crit.url)


# -- the report -------------------------------------------------------------------------------------


def _cell(text: str, limit: int = 400) -> str:
    """Table-safe, mention-safe text: no pipes or newlines, no @-pings, bounded length."""
    flat = " ".join(str(text).split()).replace("|", "\\|").replace("@", "@\u200b").replace("<", "&lt;")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _link(text: str, url: str) -> str:
    return f"{text} ([details]({url}))" if url.startswith(("http://", "https://")) else text


def overall_state(results: list[CriterionResult]) -> State:
    return _worst([r.state for r in results])


def render_report(results: list[CriterionResult], spec: AcceptanceSpec, sha: str, final: bool) -> str:
    state = overall_state(results)
    if final and state == "pending":
        state = "failed"
    heading = {"passed": "passed", "failed": "failed", "pending": "in progress"}[state]
    passed = sum(1 for r in results if r.state == "passed")
    lines = [
        f"### {ICON[state]} pressplay acceptance {heading}",
        "",
        f"{passed} of {len(results)} criteria passed at `{sha[:7]}`."
        + (
            " Still pending at the deadline counts as unmet."
            if final and any(r.state == "pending" for r in results)
            else ""
        ),
    ]
    if spec.description:
        lines += ["", _cell(spec.description, 1000)]
    lines += ["", "| Criterion | Result | Evidence |", "|---|---|---|"]
    for r in results:
        lines.append(
            f"| {_cell(r.name, 120)} (`{r.id}`) | {ICON[r.state]} {r.state} | {_link(_cell(r.evidence), r.url)} |"
        )
        for d in r.details:
            lines.append(
                f"| ↳ {_cell(d.label, 160)} | {ICON[d.state]} {d.state} | {_link(_cell(d.evidence), d.url)} |"
            )
    lines += ["", "<sub>Reported by the pressplay `acceptance` step; it never merges.</sub>"]
    return "\n".join(lines)


def render_spec_error(problem: str, sha: str) -> str:
    """The report comment when the spec cannot be used: what to fix, in a code block."""
    fence = "`" * 3
    return "\n".join(
        [
            "### ⚠️ pressplay acceptance could not run: the acceptance spec is invalid",
            "",
            f"Nothing was evaluated at `{sha[:7]}`. What to fix:",
            "",
            fence + "text",
            problem.replace(fence, "'" * 3),
            fence,
        ]
    )


# -- the step ---------------------------------------------------------------------------------------


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
    """Created-at of the oldest status in the current unbroken run of ``pending`` statuses of ``context``."""
    statuses = gh.get(f"commits/{sha}/statuses", {"per_page": 100}).json or []
    ours = [s for s in statuses if isinstance(s, dict) and s.get("context") == context]
    if not ours or ours[0].get("state") != "pending":
        return None
    anchor = None
    for status in ours:
        if status.get("state") != "pending":
            break
        anchor = parse_timestamp(status.get("created_at")) or anchor
    return anchor


def _app_link(ctx: StepContext, namespace: str, name: str) -> str:
    base = (ctx.settings.argocd_url or "").rstrip("/")
    return f"{base}/applications/{namespace}/{name}" if base else ""


def _deploy(
    ctx: StepContext, crit: DeployCriterion, cid: str, *, repo: str, sha: str, anchor: datetime
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
    return deploy_result(crit, cid, app, ctx=ctx, repo=repo, sha=sha, anchor=anchor, now=ctx.now(), link=link)


def evaluate(
    spec: AcceptanceSpec, *, gh: RepoClient, ctx: StepContext, number: int, sha: str, context: str,
    verdict: dict[str, Any] | str | None, anchor: datetime, base_ref: str | None = None,
) -> list[CriterionResult]:  # fmt: skip
    """Evaluate every criterion (GitHub data fetched once per kind; probes in parallel)."""
    ids = spec.criterion_ids()
    results: dict[int, CriterionResult] = {}
    cache: dict[str, Any] = {}

    def protected_checks() -> list[str]:
        if "protected" not in cache:
            names: list[str] = []
            if base_ref:
                branch = gh.get(f"branches/{quote(base_ref, safe='')}", allow=(404,))
                body = branch.json if branch.status != 404 and isinstance(branch.json, dict) else {}
                rules = (body.get("protection") or {}).get("required_status_checks") or {}
                names = [str(c) for c in rules.get("contexts") or []]
                names += [str(c.get("context")) for c in rules.get("checks") or [] if isinstance(c, dict)]
            cache["protected"] = list(dict.fromkeys(n for n in names if n))
        return cache["protected"]  # type: ignore[no-any-return]

    def checks_data() -> tuple[list[Any], list[Any]]:
        if "checks" not in cache:
            runs = gh.get_all(f"commits/{sha}/check-runs", {"filter": "latest"}, key="check_runs")
            combined = gh.get(f"commits/{sha}/status", {"per_page": 100}).json or {}
            cache["checks"] = (list(runs), list(combined.get("statuses") or []))
        return cache["checks"]  # type: ignore[no-any-return]

    probes: list[tuple[int, HttpCriterion]] = []
    for i, crit in enumerate(spec.criteria):
        cid = ids[i]
        if isinstance(crit, ChecksCriterion):
            runs, statuses = checks_data()
            protected = protected_checks() if crit.branch_protection else None
            results[i] = eval_checks(crit, cid, runs, statuses, context, sha, protected)
        elif isinstance(crit, ReviewsCriterion):
            if "reviews" not in cache:
                cache["reviews"] = list(gh.get_all(f"pulls/{number}/reviews"))
            results[i] = eval_reviews(crit, cid, cache["reviews"])
        elif isinstance(crit, DeployCriterion):
            results[i] = _deploy(ctx, crit, cid, repo=gh.full_name, sha=sha, anchor=anchor)
        elif isinstance(crit, HttpCriterion):
            probes.append((i, crit))
        else:
            results[i] = eval_agent(crit, cid, verdict)
    if probes:
        with ThreadPoolExecutor(max_workers=min(8, len(probes)), thread_name_prefix="probe") as pool:
            futures = {i: pool.submit(probe, crit, ids[i]) for i, crit in probes}
            for i, future in futures.items():
                results[i] = future.result()
    return [results[i] for i in range(len(spec.criteria))]


def _unmet_lines(results: list[CriterionResult]) -> list[str]:
    return [
        f"- {r.id} ({r.name}): {r.state}: {shorten(r.evidence, 300)}" for r in results if r.state != "passed"
    ]


@step("acceptance", AcceptanceArgs)
def acceptance(args: AcceptanceArgs, ctx: StepContext) -> Outcome:
    """Evaluate the acceptance spec on the PR head; report (sticky comment + status); gate on the result."""
    gh = ctx.github.repo(args.repo)
    pr = gh.get(f"pulls/{args.number}").json or {}
    sha = str((pr.get("head") or {}).get("sha") or "")
    pr_url = str(pr.get("html_url") or "")
    base_ref = str((pr.get("base") or {}).get("ref") or "") or None
    if pr.get("state") != "open" and not pr.get("merged"):
        return Failed(f"{args.repo}#{args.number} is closed without being merged: nothing to accept")
    try:
        spec, spec_url = _load_spec(args, gh, base_ref)
    except SpecError as exc:
        problem = f"{exc}\nFix the spec (schema: schemas/acceptance-spec.v1.json, docs/acceptance-spec.md)."
        note = upsert_sticky(gh, args.number, args.comment_key, render_spec_error(problem, sha))
        set_status(gh, sha, args.context, "error", "the acceptance spec is invalid", note.url or pr_url)
        return Failed(problem, outputs={"passed": False, "commentUrl": note.url, "url": pr_url, "sha": sha})

    now = ctx.now()
    anchor = args.since or _run_anchor(gh, sha, args.context) or now
    results = evaluate(
        spec,
        gh=gh,
        ctx=ctx,
        number=args.number,
        sha=sha,
        context=args.context,
        verdict=args.verdict,
        anchor=anchor,
        base_ref=base_ref,
    )
    deadline = Deadline(anchor, args.timeout)
    state = overall_state(results)
    final = state != "pending" or deadline.passed(now)
    body = render_report(results, spec, sha, final)
    comment = upsert_sticky(gh, args.number, args.comment_key, body)
    passed = sum(1 for r in results if r.state == "passed")
    counts = f"{passed}/{len(results)} criteria passed"

    if not final:
        pending = [r for r in results if r.state == "pending"]
        set_status(
            gh, sha, args.context, "pending", f"{counts}; waiting for {len(pending)}", comment.url or pr_url
        )
        requeue = next_poll(
            now - anchor,
            changed=comment.action != "unchanged",
            budget=gh.budget(),
            minimum=ctx.settings.requeue_min_seconds,
            maximum=ctx.settings.requeue_max_seconds,
            remaining=deadline.remaining(now),
        )
        waiting = "; ".join(f"{r.id}: {shorten(r.evidence, 120)}" for r in pending)
        return Running(
            f"acceptance of {args.repo}#{args.number} at {sha[:7]}: {counts}; waiting for {waiting}", requeue
        )

    ok = state == "passed"
    set_status(gh, sha, args.context, "success" if ok else "failure", counts, comment.url or pr_url)
    verdict_doc = {
        "version": 1,
        "passed": ok,
        "sha": sha,
        "criteria": [r.as_output() for r in results],
    }
    unmet = [r for r in results if r.state != "passed"]
    summary = (
        f"acceptance passed for {args.repo}#{args.number} at {sha[:7]}: all {len(results)} criteria met"
        if ok
        else f"acceptance failed for {args.repo}#{args.number} at {sha[:7]}: {len(unmet)} of {len(results)} "
        f"criteria unmet ({', '.join(r.id for r in unmet)})"
    )
    outputs: dict[str, Any] = {
        "passed": ok,
        "verdict": verdict_doc,
        "commentUrl": comment.url,
        "url": pr_url,
        "specUrl": spec_url,
        "sha": sha,
        "summary": summary,
    }
    if ok or not args.fail_on_unmet:
        return Succeeded(outputs, summary=summary)
    return Failed(
        summary + ":\n" + "\n".join(_unmet_lines(results)) + f"\nReport: {comment.url or pr_url}", outputs
    )
