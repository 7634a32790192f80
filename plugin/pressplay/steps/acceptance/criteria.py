"""The criteria of an acceptance spec, each a pure function of data read once per evaluation.

- ``checks`` is the ``checks`` step's own verdict (:func:`pressplay.steps.checks.evaluate`) over the
  same normalised data (:class:`~pressplay.steps.checks.Check`), so "is CI green" has one answer in
  pressplay: the newest run per name by time, the same passing conclusions, statuses and check runs
  counted alike.
- ``deploy`` is the ``argocd`` step's own decision (:func:`pressplay.steps.argocd.evaluate`).
- ``reviews`` and ``agent`` are decided here; ``http`` probes live in :mod:`.probe`.

Each criterion is *passed*, *failed* or *pending* (still moving).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pressplay.acceptance_spec import (
    OWN_PREFIX,
    AgentCriterion,
    ChecksCriterion,
    DeployCriterion,
    ReviewsCriterion,
    SpecError,
    parse_verdict,
)
from pressplay.steps import argocd as cd
from pressplay.steps import checks as ci
from pressplay.steps.base import StepContext
from pressplay.types import TRUSTED_ASSOCIATIONS, parse_timestamp

__all__ = [
    "ICON",
    "OWN_PREFIX",
    "CriterionResult",
    "Detail",
    "State",
    "checks_rules",
    "deploy_result",
    "eval_agent",
    "eval_checks",
    "eval_reviews",
    "worst",
]

State = Literal["passed", "failed", "pending"]
ICON: dict[State, str] = {"passed": "✅", "failed": "❌", "pending": "⏳"}
#: The ``checks`` verdict's states as criterion results.
_FROM_VERDICT: dict[str, State] = {"success": "passed", "failure": "failed", "pending": "pending"}
_KIND = {"check_run": "check run", "status": "status", "workflow_run": "workflow run"}
_NEVER = datetime.min.replace(tzinfo=UTC)


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


def worst(states: Iterable[State]) -> State:
    """``failed`` if any failed, else ``pending`` if any is pending, else ``passed``."""
    seen = set(states)
    if "failed" in seen:
        return "failed"
    return "pending" if "pending" in seen else "passed"


# -- checks: the checks step's evaluation -------------------------------------------------------------


def _own(name: str, own_context: str) -> bool:
    return name == own_context or name.startswith(OWN_PREFIX)


def checks_rules(crit: ChecksCriterion, *, own_context: str, protected: Sequence[str] = ()) -> ci.Rules:
    """The ``checks`` step's :class:`~pressplay.steps.checks.Rules` for a ``checks`` criterion.

    Required: the criterion's names plus, with ``branchProtection``, those the base branch's protection
    requires (``protected``), leaving out pressplay's own contexts (a gate never waits for itself).
    ``ignore`` applies when nothing is required; the step's own status context is always left out.
    ``success`` always passes. The criterion fails as soon as one check fails (``failFast``), so the
    report shows a failure without waiting for the rest.
    """
    extra = [name for name in protected if not _own(name, own_context)] if crit.branch_protection else []
    required = tuple(dict.fromkeys([*crit.required, *extra]))
    ignore = (own_context,) if required else (*crit.ignore, own_context)
    return ci.Rules(
        required=required,
        ignore=ignore,
        pass_conclusions=frozenset({"success", *crit.passing_conclusions}),
        allow_none=False,
        fail_fast=True,
    )


def eval_checks(
    crit: ChecksCriterion,
    cid: str,
    checks: Iterable[ci.Check],
    *,
    sha: str,
    own_context: str,
    protected: Sequence[str] = (),
    deadline_passed: bool = False,
) -> CriterionResult:
    """The ``checks`` step's verdict on the head's checks (built with ``from_check_runs`` /
    ``from_statuses``), as a criterion result listing every selected check.

    ``protected``: the checks the base branch's protection requires (used with ``branchProtection``).
    A required check that has not reported is pending until the deadline (``deadline_passed``): the
    criterion's grace period is the step's whole ``timeout``.
    """
    rules = checks_rules(crit, own_context=own_context, protected=protected)
    verdict = ci.evaluate(checks, rules, grace_over=deadline_passed)
    state = _FROM_VERDICT.get(verdict.state, "failed")
    name = crit.name or ("Required checks" if rules.required else "All checks")
    short = sha[:7]
    if not verdict.selected and not verdict.missing:
        when = "before the deadline" if deadline_passed else "yet"
        return CriterionResult(cid, "checks", name, state, f"no check has reported on {short} {when}")
    shared = Counter(c.name for c in verdict.selected)
    parts: list[str] = []
    passed = 0
    for check in verdict.selected:
        label = (
            check.name if shared[check.name] == 1 else f"{check.name} ({_KIND.get(check.kind, check.kind)})"
        )
        if not check.completed:
            parts.append(f"{label} {ICON['pending']} {check.status}")
        elif check.conclusion in rules.pass_conclusions:
            passed += 1
            parts.append(
                f"{label} {ICON['passed']}"
                + ("" if check.conclusion == "success" else f" {check.conclusion}")
            )
        else:
            parts.append(f"{label} {ICON['failed']} {check.conclusion or 'no conclusion'}")
    for pattern in verdict.missing:
        parts.append(f"{pattern} ❌ never reported" if deadline_passed else f"{pattern} ⏳ not reported yet")
    total = len(verdict.selected) + len(verdict.missing)
    link = next((c.url for c in verdict.failing if c.url), "")
    evidence = f"{passed}/{total} passed: " + ", ".join(parts)
    return CriterionResult(cid, "checks", name, state, evidence, link)


# -- reviews ------------------------------------------------------------------------------------------


def eval_reviews(crit: ReviewsCriterion, cid: str, reviews: list[Any]) -> CriterionResult:
    """Latest APPROVED/CHANGES_REQUESTED/DISMISSED review per trusted reviewer decides (by time)."""
    latest: dict[str, tuple[datetime, str, str]] = {}  # login -> (submitted_at, state, url)
    for review in reviews:
        if not isinstance(review, dict) or review.get("author_association") not in TRUSTED_ASSOCIATIONS:
            continue
        state = str(review.get("state") or "")
        if state not in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
            continue
        login = str((review.get("user") or {}).get("login") or "")
        when = parse_timestamp(review.get("submitted_at")) or _NEVER
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


# -- deploy: the argocd step's evaluation -------------------------------------------------------------


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


# -- agent --------------------------------------------------------------------------------------------


def eval_agent(crit: AgentCriterion, cid: str, verdict: dict[str, Any] | str | None) -> CriterionResult:
    """The acceptance agent's verdict document: every item the criterion names (or, with none named,
    every item the verdict reports) must have passed."""
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
