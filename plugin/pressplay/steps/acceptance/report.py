"""What the ``acceptance`` step writes: the report comment (a table: criterion, result, evidence), the
comment for a spec that cannot be used, and the lines of its node messages.

Every piece of untrusted text (check names, evidence, the agent's verdict) goes through :func:`cell`:
no pipes or newlines that would break the table, no @-mentions that would ping people, bounded length.
"""

from __future__ import annotations

from collections.abc import Sequence

from pressplay.acceptance_spec import AcceptanceSpec
from pressplay.steps.acceptance.criteria import ICON, CriterionResult, State, worst
from pressplay.steps.shared.statuses import shorten

__all__ = ["cell", "overall_state", "render_report", "render_spec_error", "unmet_lines", "waiting_for"]


def cell(text: str, limit: int = 400) -> str:
    """Table-safe, mention-safe text: no pipes or newlines, no @-pings, bounded length."""
    flat = " ".join(str(text).split()).replace("|", "\\|").replace("@", "@\u200b").replace("<", "&lt;")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _link(text: str, url: str) -> str:
    return f"{text} ([details]({url}))" if url.startswith(("http://", "https://")) else text


def overall_state(results: Sequence[CriterionResult]) -> State:
    return worst(r.state for r in results)


def render_report(results: Sequence[CriterionResult], spec: AcceptanceSpec, sha: str, final: bool) -> str:
    """The report comment. ``final``: the last report of this run (pending at the deadline is unmet)."""
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
        lines += ["", cell(spec.description, 1000)]
    lines += ["", "| Criterion | Result | Evidence |", "|---|---|---|"]
    for r in results:
        lines.append(
            f"| {cell(r.name, 120)} (`{r.id}`) | {ICON[r.state]} {r.state} | {_link(cell(r.evidence), r.url)} |"
        )
        for d in r.details:
            lines.append(
                f"| ↳ {cell(d.label, 160)} | {ICON[d.state]} {d.state} | {_link(cell(d.evidence), d.url)} |"
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


def unmet_lines(results: Sequence[CriterionResult]) -> list[str]:
    """One line per criterion that did not pass, for the Failed message."""
    return [
        f"- {r.id} ({r.name}): {r.state}: {shorten(r.evidence, 300)}" for r in results if r.state != "passed"
    ]


def waiting_for(results: Sequence[CriterionResult]) -> str:
    """The pending criteria and their evidence, for the Running message."""
    return "; ".join(f"{r.id}: {shorten(r.evidence, 120)}" for r in results if r.state == "pending")
