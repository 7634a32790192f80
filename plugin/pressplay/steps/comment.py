"""``comment``: one sticky comment per ``key`` on an issue or pull request.

The comment carries a hidden marker ``<!-- pressplay:KEY -->``. Only comments **written by our App**
(``user.login == <app-slug>[bot]``) count as ours, so a person who pastes the marker into their own
comment cannot hijack it; every page of the conversation is read. Modes:

- ``upsert`` (default): create the comment, or edit ours in place; an unchanged body writes nothing.
- ``create``: post it once; if ours already exists, leave it as it is (a write-once note).
- ``delete``: delete ours (every copy), if any.

If an earlier race left two of our comments with the same key, the oldest is kept and the others
are deleted, so the conversation heals itself.

The core is :func:`pressplay.steps.shared.sticky.upsert_sticky` (the ``acceptance`` step reports
through it too).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, field_validator, model_validator

from pressplay.steps.base import Outcome, StepArgs, StepContext, Succeeded, step
from pressplay.steps.shared.sticky import BODY_LIMIT, KEY_RE, upsert_sticky
from pressplay.types import Repo, Text


class CommentMode(StrEnum):
    """What to do with the keyed comment."""

    upsert = "upsert"
    create = "create"
    delete = "delete"


class CommentArgs(StepArgs):
    """Arguments of the ``comment`` step."""

    repo: Repo = Field(description="Repository as `owner/name`, e.g. `acme/api`.")
    number: int = Field(ge=1, description="Issue or pull request number to comment on.")
    key: str = Field(
        description=(
            "Names the sticky comment (letters, digits and `._:/@+=-`, up to 100), e.g. `acceptance` or "
            "`task-7/report`. One comment per key and issue; it is stored as a hidden marker."
        )
    )
    body: Text = Field(
        "",
        description=(
            f"Markdown body. Required unless `mode: delete`. Longer than {BODY_LIMIT} characters is "
            "cut with a note. Text a person or an agent wrote goes in as `{b64: ...}` (or a list of "
            "strings and `{b64: ...}` parts, joined), never in clear: Argo would template it again."
        ),
    )
    mode: CommentMode = Field(
        CommentMode.upsert,
        description=(
            "`upsert` (create or edit in place; no write when unchanged), `create` (post once, never "
            "edit), or `delete` (remove it)."
        ),
    )

    @field_validator("key")
    @classmethod
    def _key_shape(cls, value: str) -> str:
        if not KEY_RE.match(value):
            raise ValueError(
                "must be 1-100 characters of letters, digits and ._:/@+=- starting with a letter or digit, "
                "e.g. 'acceptance' or 'task-7/report'"
            )
        return value

    @model_validator(mode="after")
    def _body_needed(self) -> CommentArgs:
        if self.mode is not CommentMode.delete and not self.body:
            raise ValueError(f"body: required when mode is '{self.mode.value}' (only 'delete' needs no body)")
        return self


@step(
    "comment",
    CommentArgs,
    permissions={"issues": "write", "pull_requests": "write"},
    outputs=("id", "url", "action"),
)
def comment(args: CommentArgs, ctx: StepContext) -> Outcome:
    """Create, update in place, or delete the sticky comment ``key`` on an issue or pull request."""
    repo = ctx.github.repo(args.repo)
    result = upsert_sticky(repo, args.number, args.key, args.body, args.mode.value)
    where = f"{args.repo}#{args.number}"
    summary = {
        "created": f"comment '{args.key}' posted on {where}",
        "updated": f"comment '{args.key}' updated on {where}",
        "unchanged": f"comment '{args.key}' on {where} already up to date",
        "deleted": f"comment '{args.key}' deleted from {where}",
        "absent": f"no comment '{args.key}' on {where} to delete",
    }[result.action]
    return Succeeded(
        {"id": "" if result.id is None else str(result.id), "url": result.url, "action": result.action},
        summary=summary,
    )
