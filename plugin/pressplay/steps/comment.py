"""``comment``: one sticky comment per ``key`` on an issue or pull request.

The comment carries a hidden marker ``<!-- pressplay:KEY -->``. Only comments **written by our App**
(``user.login == <app-slug>[bot]``) count as ours, so a person who pastes the marker into their own
comment cannot hijack it; every page of the conversation is read. Modes:

- ``upsert`` (default): create the comment, or edit ours in place; an unchanged body writes nothing.
- ``create``: post it once; if ours already exists, leave it as it is (a write-once note).
- ``delete``: delete ours (every copy), if any.

If an earlier race left two of our comments with the same key, the oldest is kept and the others
are deleted, so the conversation heals itself.

:func:`upsert_sticky` is the reusable core (the ``acceptance`` step reports through it); its
signature is stable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import Field, field_validator, model_validator

from pressplay.github import GitHubPermanentError, RepoClient
from pressplay.steps.base import Outcome, PermanentError, StepArgs, StepContext, Succeeded, step
from pressplay.types import Repo

#: GitHub rejects comment bodies longer than this many characters.
BODY_LIMIT = 65536
KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@+=-]{0,99}$")


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
    body: str = Field(
        "",
        description=(
            f"Markdown body. Required unless `mode: delete`. Longer than {BODY_LIMIT} characters is "
            "cut with a note."
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


@dataclass(frozen=True)
class CommentResult:
    """What :func:`upsert_sticky` did.

    ``action``: ``created``, ``updated``, ``unchanged``, ``deleted`` or ``absent`` (delete found
    nothing). ``id``/``url`` name the comment (``None``/``""`` after a delete). ``removed_duplicates``
    counts extra copies of ours that were deleted.
    """

    id: int | None
    url: str
    action: str
    removed_duplicates: int = 0


def marker(key: str) -> str:
    """The hidden marker that identifies the sticky comment ``key``."""
    return f"<!-- pressplay:{key} -->"


def render(key: str, body: str) -> str:
    """The full comment body: ``body`` (cut to fit GitHub's limit) followed by the marker."""
    tail = "\n\n" + marker(key)
    text = body.rstrip()
    room = BODY_LIMIT - len(tail)
    if len(text) > room:
        note = "\n\n… (cut: the full text is longer than a GitHub comment may be)"
        text = text[: room - len(note)].rstrip() + note
    return text + tail


def _normal(text: str) -> str:
    return text.replace("\r\n", "\n").strip()


def find_sticky(repo: RepoClient, number: int, key: str) -> list[dict[str, Any]]:
    """Our comments on issue/PR ``number`` carrying the marker of ``key``, oldest first (all pages)."""
    try:
        comments = repo.get_all(f"issues/{number}/comments")
    except GitHubPermanentError as exc:
        if exc.status == 404:
            raise PermanentError(
                f"issue or pull request #{number} not found in {repo.full_name}: check `number` (and `repo`)"
            ) from exc
        raise
    login = repo.bot_login().lower()
    tag = marker(key)
    # The marker must END the body (render puts it there), so a body quoting another key's marker
    # never makes the comment count for that key.
    ours = [
        c
        for c in comments
        if isinstance(c, dict)
        and str((c.get("user") or {}).get("login", "")).lower() == login
        and str(c.get("body") or "").rstrip().endswith(tag)
    ]
    ours.sort(key=lambda c: (str(c.get("created_at") or ""), int(c.get("id") or 0)))
    return ours


def _delete(repo: RepoClient, comment: dict[str, Any]) -> None:
    repo.delete(f"issues/comments/{comment['id']}", allow=(404,))


def _create(repo: RepoClient, number: int, text: str) -> dict[str, Any]:
    try:
        created = repo.post(f"issues/{number}/comments", {"body": text}).json
    except GitHubPermanentError as exc:
        if exc.status == 404:
            raise PermanentError(
                f"issue or pull request #{number} not found in {repo.full_name}: check `number` (and `repo`)"
            ) from exc
        if exc.status == 403 and exc.mentions("locked"):
            raise PermanentError(
                f"#{number} in {repo.full_name} is locked: unlock the conversation so pressplay can comment"
            ) from exc
        raise
    return created if isinstance(created, dict) else {}


def upsert_sticky(repo: RepoClient, number: int, key: str, body: str, mode: str = "upsert") -> CommentResult:
    """Create, update, keep or delete the sticky comment ``key`` on ``number`` (see the module doc).

    ``mode`` is ``upsert``, ``create`` or ``delete``. Writes only when something changes.
    """
    if mode not in {m.value for m in CommentMode}:
        raise PermanentError(f"comment mode must be one of upsert, create, delete, got {mode!r}")
    if not KEY_RE.match(key):
        raise PermanentError(f"comment key {key!r} is not valid: use letters, digits and ._:/@+=-")
    ours = find_sticky(repo, number, key)
    if mode == "delete":
        for comment in ours:
            _delete(repo, comment)
        return CommentResult(id=None, url="", action="deleted" if ours else "absent")

    text = render(key, body)
    keep, extra = (ours[0], ours[1:]) if ours else (None, [])
    for duplicate in extra:
        _delete(repo, duplicate)
    if keep is None:
        created = _create(repo, number, text)
        return CommentResult(int(created.get("id") or 0), str(created.get("html_url") or ""), "created")
    if mode == "create" or _normal(str(keep.get("body") or "")) == _normal(text):
        return CommentResult(int(keep["id"]), str(keep.get("html_url") or ""), "unchanged", len(extra))
    response = repo.patch(f"issues/comments/{keep['id']}", {"body": text}, allow=(404,))
    if response.status == 404:  # deleted between our read and our write: post it again
        created = _create(repo, number, text)
        return CommentResult(
            int(created.get("id") or 0), str(created.get("html_url") or ""), "created", len(extra)
        )
    updated = response.json if isinstance(response.json, dict) else {}
    return CommentResult(
        int(updated.get("id") or keep["id"]),
        str(updated.get("html_url") or keep.get("html_url") or ""),
        "updated",
        len(extra),
    )


@step("comment", CommentArgs)
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
