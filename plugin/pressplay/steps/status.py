"""``status``: set a commit status (``context``, ``state``, ``description``, ``targetUrl``) on a SHA.

Idempotency key: the status **context** on that SHA. Before writing, the step reads the newest status
of that context (the combined-status endpoint lists exactly one, the newest, per context); when state,
description and target URL already match, nothing is written. Calling the step three times writes
one status.

The core is :func:`pressplay.steps.shared.statuses.set_status` (the ``acceptance`` step reports
through it too).
"""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import Field, field_validator

from pressplay.steps.base import Outcome, StepArgs, StepContext, Succeeded, step
from pressplay.steps.shared.statuses import DESCRIPTION_LIMIT, set_status
from pressplay.types import OWN_CONTEXT_PREFIX, CommitSha, Repo, is_own_context

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
    sha: CommitSha = Field(
        description="Full commit SHA (40 hex characters) the status is set on, e.g. `{{tasks.pr.outputs.parameters.headSha}}`."
    )
    context: str = Field(
        "pressplay",
        min_length=1,
        max_length=255,
        description=(
            "Status context, the name shown on the PR and used by branch protection: `pressplay` or "
            "`pressplay/<name>`, e.g. `pressplay/acceptance` (other contexts are refused). It is the "
            "idempotency key: one status per context and SHA."
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
        if not is_own_context(value):
            raise ValueError(
                f"pressplay sets only its own contexts (`pressplay` or `{OWN_CONTEXT_PREFIX}<name>`), so it can "
                "never stand in for a check that CI or a person owns; use e.g. 'pressplay/deploy'"
            )
        return value


@step(
    "status",
    StatusArgs,
    permissions={"statuses": "write"},
    outputs=("id", "state", "context", "action", "url", "targetUrl"),
)
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
