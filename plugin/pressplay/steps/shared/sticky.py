"""Sticky comments: one comment per ``key`` on an issue or pull request, found again by a hidden
marker ``<!-- pressplay:KEY -->`` at the end of a comment **our App** wrote.

The ``comment`` step is this module with arguments; the ``acceptance`` step reports through it.
Only our App's comments count (a person who pastes the marker cannot hijack it), every page of the
conversation is read, and an earlier race's duplicates are deleted, oldest kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pressplay.errors import PermanentError
from pressplay.github import GitHubPermanentError, RepoClient

__all__ = [
    "BODY_LIMIT",
    "KEY_RE",
    "MODES",
    "CommentResult",
    "find_sticky",
    "marker",
    "render",
    "upsert_sticky",
]

#: GitHub rejects comment bodies longer than this many characters.
BODY_LIMIT = 65536
KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@+=-]{0,99}$")
#: upsert: create or edit in place; create: post once, never edit; delete: remove every copy.
MODES = frozenset({"upsert", "create", "delete"})


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
    if mode not in MODES:
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
