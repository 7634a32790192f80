"""Commit statuses written once per (SHA, context): the ``status`` step is this module with
arguments; the ``acceptance`` step reports through it.

Before writing, :func:`set_status` reads the newest status of that context (the combined-status
endpoint lists exactly one, the newest, per context); when state, description and target URL
already match, nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pressplay.errors import PermanentError
from pressplay.github import GitHubPermanentError, RepoClient

__all__ = ["DESCRIPTION_LIMIT", "StatusResult", "set_status", "shorten"]

#: GitHub keeps at most this many characters of a status description.
DESCRIPTION_LIMIT = 140


@dataclass(frozen=True)
class StatusResult:
    """What :func:`set_status` did. ``action`` is ``created`` or ``unchanged``."""

    id: int
    state: str
    context: str
    description: str
    target_url: str
    action: str
    commit_url: str


def shorten(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis when longer."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _newest_for_context(repo: RepoClient, sha: str, context: str) -> tuple[dict[str, Any] | None, str]:
    """The newest status with ``context`` on ``sha`` (or None) and the commit's web URL."""
    page = 1
    html = ""
    while True:
        response = repo.get(f"commits/{sha}/status", {"per_page": 100, "page": page}, allow=(404, 422))
        if response.status in (404, 422):
            raise PermanentError(
                f"commit {sha} not found in {repo.full_name}: pass the full SHA of a commit that was "
                "pushed to this repository (e.g. the pullRequest step's `headSha` output)"
            )
        combined = response.json if isinstance(response.json, dict) else {}
        repository = combined.get("repository") or {}
        if not html and repository.get("html_url"):
            html = f"{repository['html_url']}/commit/{sha}"
        statuses = combined.get("statuses") or []
        for status in statuses:
            if status.get("context") == context:
                return status, html
        total = int(combined.get("total_count") or 0)
        if not statuses or page * 100 >= total:
            return None, html
        page += 1


def set_status(
    repo: RepoClient,
    sha: str,
    context: str,
    state: str,
    description: str = "",
    target_url: str | None = None,
) -> StatusResult:
    """Set the status ``context`` on ``sha`` unless its newest status already says the same thing.

    Raises :class:`PermanentError` when the commit does not exist (GitHub answers 404/422) and
    :class:`TemporaryError` on transient trouble, as every GitHub call does.
    """
    description = shorten(description)
    target = target_url or ""
    current, commit_url = _newest_for_context(repo, sha, context)
    if (
        current is not None
        and current.get("state") == state
        and (current.get("description") or "") == description
        and (current.get("target_url") or "") == target
    ):
        return StatusResult(
            id=int(current.get("id") or 0),
            state=state,
            context=context,
            description=description,
            target_url=target,
            action="unchanged",
            commit_url=commit_url,
        )
    payload: dict[str, Any] = {"state": state, "context": context, "description": description}
    if target:
        payload["target_url"] = target
    try:
        created = repo.post(f"statuses/{sha}", payload).json
    except GitHubPermanentError as exc:
        raise PermanentError(f"cannot set status '{context}' on {sha} in {repo.full_name}: {exc}") from exc
    return StatusResult(
        id=int(created.get("id") or 0) if isinstance(created, dict) else 0,
        state=state,
        context=context,
        description=description,
        target_url=target,
        action="created",
        commit_url=commit_url,
    )
