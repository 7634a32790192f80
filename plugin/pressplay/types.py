"""Argument types shared by every step, so templates read alike and errors say the same thing.

- :data:`Repo`: ``owner/name``.
- :data:`Duration`: a Go-style duration string (``90s``, ``30m``, ``1h30m``) or a number of seconds.
- :func:`format_duration`: the inverse, as Argo's ``requeue`` field wants it.
- :data:`CommitSha`, :data:`GitRef`: a full commit SHA; a branch, tag or SHA (never starting with ``-``).
- :data:`Text`: free text that may carry untrusted parts base64-encoded (``{b64: ...}``), so that Argo
  never templates them (docs/architecture.md, "Event and agent text").
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, PlainSerializer, WithJsonSchema

_REPO_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
#: Longest duration any argument may ask for (a year): longer is a mistake, and beyond it datetimes overflow.
MAX_DURATION = timedelta(days=366)


def parse_duration(value: object) -> timedelta:
    """Parse ``"1h30m"``, ``"45s"``, ``"500ms"``, ``90`` (seconds) or a :class:`timedelta`."""
    result = _parse_duration(value)
    if result > MAX_DURATION:
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:39] + "…"
        raise ValueError(
            f"{shown} is longer than the longest duration allowed, {format_duration(MAX_DURATION)}"
        )
    return result


def _parse_duration(value: object) -> timedelta:
    if isinstance(value, str):  # a template's text: the same few values on every poll
        return _parse_duration_text(value)
    return _parse_duration_value(value)


@functools.lru_cache(maxsize=256)
def _parse_duration_text(value: str) -> timedelta:
    return _parse_duration_value(value)


def _parse_duration_value(value: object) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a duration such as '30s', '10m' or '1h30m', got a boolean")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        if value > MAX_DURATION.total_seconds():
            return MAX_DURATION + timedelta(seconds=1)
        return timedelta(seconds=float(value))
    if not isinstance(value, str):
        raise ValueError("expected a duration such as '30s', '10m' or '1h30m'")
    text = value.strip()
    if text.isdigit():
        return timedelta(seconds=min(int(text), MAX_DURATION.total_seconds() + 1))
    pos = 0
    total = 0.0
    for match in _DURATION_RE.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if total > MAX_DURATION.total_seconds():
        total = MAX_DURATION.total_seconds() + 1
    if not text or pos != len(text):
        raise ValueError(
            f"{value!r} is not a duration: use a number with h, m, s or ms, e.g. '30s' or '1h30m'"
        )
    return timedelta(seconds=total)


def format_duration(value: timedelta | float) -> str:
    """A Go ``time.ParseDuration`` string: ``"30s"``, ``"2m30s"``, ``"1h0m5s"``. Never empty, never 0."""
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    whole = max(1, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s" if secs else f"{minutes}m"
    return f"{secs}s"


def _check_repo(value: str) -> str:
    if not _REPO_RE.match(value):
        raise ValueError(f"{value!r} is not a repository: write it as 'owner/name', e.g. 'acme/api'")
    return value


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^(\d+(\.\d+)?(h|m|s|ms))+$|^\d+$", "examples": ["30m"]}),
]
"""A duration argument: ``"30s"``, ``"10m"``, ``"1h30m"`` or a number of seconds."""

Repo = Annotated[
    str,
    AfterValidator(_check_repo),
    WithJsonSchema({"type": "string", "pattern": _REPO_RE.pattern, "examples": ["acme/api"]}),
]
"""A repository as ``owner/name``."""


def parse_timestamp(value: object) -> datetime | None:
    """An RFC 3339 timestamp as GitHub and Kubernetes write it (``2026-11-25T10:00:00Z``), or None.

    Naive values are taken as UTC; anything that is not a timestamp gives None.
    """
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


#: A full commit SHA: SHA-1 (40 hex) or SHA-256 (64 hex, repositories using it), lower case.
COMMIT_SHA_RE = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
_ABBREVIATED_SHA_RE = re.compile(r"^[0-9a-f]{4,39}$")
_SHA_EXAMPLE = "e.g. the pullRequest step's `headSha` output"


def is_commit_sha(value: str) -> bool:
    """Whether ``value`` is a full commit SHA (in any case): a name that can never move."""
    return COMMIT_SHA_RE.match(value.lower()) is not None


def check_commit_sha(value: str) -> str:
    """A full commit SHA, lower-cased; raises ValueError naming the fix for anything else (an
    abbreviated SHA is told apart: it never matches the full SHAs GitHub and Argo CD report)."""
    sha = value.strip().lower()
    if COMMIT_SHA_RE.match(sha):
        return sha
    if _ABBREVIATED_SHA_RE.match(sha):
        raise ValueError(
            f"{value!r} looks like an abbreviated commit SHA: pass the full 40-character SHA (a short one "
            f"never matches the full commit SHA that GitHub and Argo CD report), {_SHA_EXAMPLE}"
        )
    raise ValueError(f"must be a full commit SHA (40 hex characters), {_SHA_EXAMPLE}; got {value!r}")


def _blank_is_none(value: object) -> object:
    """Argo substitutes an unset parameter as an empty string: that means "not given"."""
    return None if isinstance(value, str) and not value.strip() else value


CommitSha = Annotated[
    str,
    AfterValidator(check_commit_sha),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": "^(?:[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$",
            "examples": ["6dcb09b5b57875f334f61aebed695e2e4193db5e"],
        }
    ),
]
"""A full commit SHA (40 hex characters, or 64 in a SHA-256 repository), lower-cased."""

OptionalCommitSha = Annotated[CommitSha | None, BeforeValidator(_blank_is_none)]
"""A :data:`CommitSha` that may be left out: ``None``, or an empty string (an unset Argo parameter)."""

#: What git (``check-ref-format``) never allows in a ref name: ``..``, ``@{``, ``//``, a component that
#: starts with ``.``, whitespace and control characters, ``~^:?*[\``.
_BAD_REF_RE = re.compile(r"\.\.|@\{|//|/\.|[\x00-\x20~^:?*\[\\\x7f]")
_REF_EXAMPLE = "e.g. 'main' or 'pressplay/task-7'"


def check_git_ref(value: str) -> str:
    """A branch, tag or commit SHA as git and GitHub accept it, stripped; raises ValueError naming the fix.

    Never one that starts with ``-``: a git command (or a tool that passes it on) reads it as an option
    (``--upload-pack=...``), not as a name.
    """
    ref = value.strip()
    if ref.startswith("-"):
        raise ValueError(
            f"{value!r} starts with '-', which git reads as an option, not a name: use a branch or tag "
            f"name that does not start with '-', {_REF_EXAMPLE}"
        )
    if (
        not ref
        or len(ref) > 255
        or _BAD_REF_RE.search(ref)
        or ref.startswith(("/", "."))
        or ref.endswith(("/", ".", ".lock"))
        or ref == "@"
    ):
        fork = "; pull requests from forks are not supported ('owner:branch')" if ":" in ref else ""
        raise ValueError(
            f"{value!r} is not a valid branch name: git allows no spaces, '..', '~^:?*[\\', '@{{' or '//' in a "
            f"branch or tag name, and no leading or trailing '/' or '.'{fork}; {_REF_EXAMPLE}"
        )
    return ref


GitRef = Annotated[
    str,
    AfterValidator(check_git_ref),
    WithJsonSchema(
        {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[^-./\\s]", "examples": ["main"]}
    ),
]
"""A branch, tag or commit SHA (``main``, ``pressplay/task-7``, ``v1.2.0``): a valid git ref name, never
starting with ``-``."""

OptionalGitRef = Annotated[GitRef | None, BeforeValidator(_blank_is_none)]
"""A :data:`GitRef` that may be left out: ``None``, or an empty string (an unset Argo parameter)."""

#: GitHub ``author_association`` values pressplay trusts to steer an agent or approve a change.
TRUSTED_ASSOCIATIONS = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})

#: Commit-status contexts pressplay owns: the ``status`` step writes no other (a step must never fake a
#: check a person or CI owns, e.g. one branch protection requires), and waits never wait on them.
OWN_CONTEXT_PREFIX = "pressplay/"


def is_own_context(context: str) -> bool:
    """Whether ``context`` is one of pressplay's own (``pressplay`` or ``pressplay/...``)."""
    return context == OWN_CONTEXT_PREFIX.rstrip("/") or context.startswith(OWN_CONTEXT_PREFIX)


# -- free text --------------------------------------------------------------------------------------
# Argo substitutes parameter values into a template and then templates the result again
# (common.SubstituteParams / template.Replace): text a person or an agent wrote must never be a
# parameter value in clear. Such text travels base64-encoded (the Sensors' dataTemplate `b64enc`, the
# agent's `*-b64` outputs) and a step argument takes it as {b64: "..."}; our code decodes it.


def decode_b64_text(value: str, what: str = "`b64`") -> str:
    """Base64 (standard alphabet, padded) of UTF-8 text -> the text; ValueError naming the fix."""
    raw = "".join(value.split())
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(
            f"{what} is not valid base64: encode the text as standard padded base64 "
            "(the Sensors' `b64enc`, or an agent step's `*-b64` output)"
        ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{what} does not decode to UTF-8 text: encode UTF-8 text as base64") from None


def _join_text(value: object) -> object:
    parts = value if isinstance(value, list) else [value]
    out: list[str] = []
    for i, part in enumerate(parts):
        where = f"part {i + 1}" if isinstance(value, list) else "the value"
        if isinstance(part, str):
            out.append(part)
        elif isinstance(part, dict) and set(part) == {"b64"} and isinstance(part["b64"], str):
            out.append(
                decode_b64_text(part["b64"], f"`b64` of {where}" if isinstance(value, list) else "`b64`")
            )
        else:
            raise ValueError(
                f"{where} must be text, {{b64: <base64 of UTF-8 text>}}, or a list of these (joined); "
                f"got {type(part).__name__}"
            )
    return "".join(out)


_TEXT_PART_SCHEMA = {
    "anyOf": [
        {"type": "string"},
        {
            "type": "object",
            "properties": {"b64": {"type": "string", "contentEncoding": "base64"}},
            "required": ["b64"],
            "additionalProperties": False,
        },
    ]
}

Text = Annotated[
    str,
    BeforeValidator(_join_text),
    WithJsonSchema(
        {
            "anyOf": [*_TEXT_PART_SCHEMA["anyOf"], {"type": "array", "items": _TEXT_PART_SCHEMA}],
            "examples": ["Done.", {"b64": "RG9uZS4="}, ["**Reply:** ", {"b64": "RG9uZS4="}]],
        }
    ),
]
"""Free text: a string, ``{b64: <base64 of UTF-8 text>}``, or a list of these joined in order.

Use the ``b64`` form for anything a person or an agent wrote (a comment, an issue, an agent's summary):
Argo templates a parameter value again when it substitutes it, so ``{{`` in such text would break or
steer the flow; base64 has no braces."""
