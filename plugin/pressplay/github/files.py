"""Reading a text file of a repository through the contents API (tasks.json, an acceptance spec)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from urllib.parse import quote

from pressplay.errors import PermanentError
from pressplay.github._client import RepoClient

__all__ = ["RepoFile", "read_text"]


@dataclass(frozen=True)
class RepoFile:
    path: str
    ref: str
    text: str
    html_url: str
    sha: str
    not_modified: bool


def read_text(repo: RepoClient, path: str, ref: str | None, *, hint: str) -> RepoFile:
    """The file ``path`` at ``ref`` (default branch when ``None``) as UTF-8 text.

    Raises :class:`PermanentError` naming the file and ``hint`` (what to do) when it is missing, a
    directory or not text. Uses a conditional request, so an unchanged file costs no rate limit.
    """
    at = f" at {ref}" if ref else " on the default branch"
    params = {"ref": ref} if ref else None
    resp = repo.get(f"contents/{quote(path)}", params, allow=(404,))
    if resp.status == 404:
        if ref:
            branch = repo.get(f"branches/{quote(ref, safe='')}", allow=(404,))
            commit = (
                branch
                if branch.status != 404
                else repo.get(f"commits/{quote(ref, safe='')}", allow=(404, 422))
            )
            if commit.status in (404, 422):
                raise PermanentError(
                    f"{repo.full_name} has no branch or commit {ref!r}: check the ref argument"
                )
        raise PermanentError(f"{path} does not exist in {repo.full_name}{at}: {hint}")
    body = resp.json
    if isinstance(body, list) or not isinstance(body, dict) or body.get("type") not in (None, "file"):
        raise PermanentError(
            f"{path} in {repo.full_name}{at} is not a file (it is a directory or a link): {hint}"
        )
    content = body.get("content") or ""
    sha = str(body.get("sha") or "")
    if not content and int(body.get("size") or 0) > 0 and sha:
        # files over 1 MB: the contents API leaves `content` empty; the blobs API has it
        try:
            blob = repo.get(f"git/blobs/{sha}").json or {}
        except PermanentError as exc:
            raise PermanentError(f"cannot read {path} in {repo.full_name}{at}: {exc}") from exc
        content = blob.get("content") or ""
    try:
        raw = base64.b64decode(content, validate=False)
        text = raw.decode("utf-8-sig")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise PermanentError(f"{path} in {repo.full_name}{at} is not UTF-8 text: {hint}") from exc
    return RepoFile(
        path=path,
        ref=ref or "",
        text=text,
        html_url=str(body.get("html_url") or ""),
        sha=sha,
        not_modified=resp.not_modified,
    )
