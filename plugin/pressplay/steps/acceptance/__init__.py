"""``acceptance``: evaluate a task's acceptance spec on its pull request, report it, and gate on it.

Every criterion of the spec (``docs/acceptance-spec.md``) is evaluated on every call — never stopping
at the first miss — against the PR head:

- ``checks``: the ``checks`` step's own verdict on the head's check runs and commit statuses
  (:mod:`pressplay.steps.checks`; our own status excluded), so "is CI green" has one answer;
- ``reviews``: the latest review per trusted reviewer; approvals and outstanding change requests;
- ``deploy``: the ``argocd`` step's own decision on the Application (Synced + Healthy at the head SHA);
- ``http``: probes, run in parallel with their own timeouts (http/https only, redirects checked);
- ``agent``: the acceptance agent's verdict document (``verdict`` argument).

Each criterion is *passed*, *failed* or *pending* (still moving: checks running, deploy progressing,
approvals missing, a probe not reachable yet). While anything is pending the step is Running and
requeues, until the deadline; then the pending criteria count as unmet. The report is a sticky PR
comment (table: criterion, result, evidence) and the ``pressplay/acceptance`` commit status, both
written through :mod:`pressplay.steps.shared` and only on change.

The gate never merges and cannot bypass required reviews: it only reports and sets a status.

Deadline: ``timeout`` after ``since`` when given, else after the first ``pending`` status this run
set on the head commit (read back from GitHub, so a sidecar restart does not reset it).

The package: :mod:`.criteria` (each criterion over plain data), :mod:`.probe` (the HTTP probe),
:mod:`.report` (the comment and messages), :mod:`.step` (arguments, reading GitHub, the step).
"""

from __future__ import annotations

from pressplay.steps.acceptance.criteria import (
    ICON,
    CriterionResult,
    Detail,
    State,
    checks_rules,
    deploy_result,
    eval_agent,
    eval_checks,
    eval_reviews,
)
from pressplay.steps.acceptance.probe import (
    MAX_REDIRECTS,
    PATTERN_TIME_LIMIT,
    PROBE_BODY_LIMIT,
    PROBE_BUDGET,
    pattern_search,
    probe,
)
from pressplay.steps.acceptance.report import overall_state, render_report, render_spec_error
from pressplay.steps.acceptance.step import CONTEXT, AcceptanceArgs, acceptance, evaluate_spec

__all__ = [
    "CONTEXT",
    "ICON",
    "MAX_REDIRECTS",
    "PATTERN_TIME_LIMIT",
    "PROBE_BODY_LIMIT",
    "PROBE_BUDGET",
    "AcceptanceArgs",
    "CriterionResult",
    "Detail",
    "State",
    "acceptance",
    "checks_rules",
    "deploy_result",
    "eval_agent",
    "eval_checks",
    "eval_reviews",
    "evaluate_spec",
    "overall_state",
    "pattern_search",
    "probe",
    "render_report",
    "render_spec_error",
]
