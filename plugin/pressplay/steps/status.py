"""``status``: set a commit status (``context``, ``state``, ``description``, ``targetUrl``) on a SHA.

Idempotency key: the status **context** on that SHA. Before writing, the step reads the newest status
of that context (the combined-status endpoint lists exactly one, the newest, per context); when state,
description and target URL already match, nothing is written. Calling the step three times writes
one status.

:func:`set_status` is the reusable core (the ``acceptance`` step reports through it); its signature
is stable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import Field, field_validator

from pressplay.github import GitHubPermanentError, RepoClient
from pressplay.steps.base import Outcome, PermanentError, StepArgs, StepContext, Succeeded, step
from pressplay.types import Repo

#: GitHub keeps at most this many characters of a status description.
DESCRIPTION_LIMIT = 140
#: A full commit SHA (SHA-1, or SHA-256 for repositories using it).
SHA_RE = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
_CONTEXT_RE = re.compile(r"^[^\s].{0,254}$")


class StatusState(StrEnum):
    """The states GitHub accepts for a commit status."""

    pending = "pending"
    success = "success"
    failure = "failure"
    error = "error"


class StatusArgs(StepArgs):
    """Arguments of the ``status`` step."""

    repo: Repo = Field(description="Repository as `owner/name`, e.g. `acme/api`.")
    sha: str = Field(
        description="Full commit SHA (40 hex characters) the status is set on, e.g. `{{tasks.pr.outputs.parameters.headSha}}`."
    )
    context: str = Field(
        "pressplay",
        min_length=1,
        max_length=255,
        description=(
            "Status context, the name shown on the PR and used by branch protection, e.g. "
            "`pressplay/acceptance`. It is the idempotency key: one status per context and SHA."
        ),
    )
    state: StatusState = Field(description="One of `pending`, `success`, `failure`, `error`.")
    description: str = Field(
        "",
        description=f"One line shown next to the context; longer than {DESCRIPTION_LIMIT} characters is shortened.",
    )
    target_url: str | None = Field(
        None, description="Link behind the status' *Details*, e.g. the Argo workflow's URL (http or https)."
    )

    @field_validator("sha")
    @classmethod
    def _full_sha(cls, value: str) -> str:
        value = value.strip().lower()
        if not SHA_RE.match(value):
            raise ValueError(
                "must be a full commit SHA (40 hex characters); pass a resolved SHA such as the "
                "`headSha` output of the pullRequest step, not a branch name or a short SHA"
            )
        return value

    @field_validator("target_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not re.match(r"^https?://[^\s/]+\S*$", value):
            raise ValueError("must be an http(s) URL, e.g. 'https://argo.example.com/workflows/ns/name'")
        return value

    @field_validator("context")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if "\n" in value or not _CONTEXT_RE.match(value):
            raise ValueError("must be one line of text, e.g. 'pressplay/acceptance'")
        return value


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


@step("status", StatusArgs)
def status(args: StatusArgs, ctx: StepContext) -> Outcome:
    """Set a commit status; no write when the newest status of the context already matches."""
    repo = ctx.github.repo(args.repo)
    result = set_status(
        repo,
        args.sha,
        args.context,
        args.state.value,
        args.description,
        args.target_url,
    )
    verb = "set" if result.action == "created" else "already"
    return Succeeded(
        {
            "id": result.id,
            "state": result.state,
            "context": result.context,
            "action": result.action,
            "url": result.commit_url,
            "targetUrl": result.target_url,
        },
        summary=f"{result.context} {verb} {result.state} on {args.repo}@{args.sha[:7]}",
    )
