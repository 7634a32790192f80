"""Argo template tags: ``{{inputs.parameters.x}}`` (simple) and ``{{=expr}}`` (expression)."""

from __future__ import annotations

import re
from dataclasses import dataclass

TAG_RE = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)


@dataclass(frozen=True)
class Reference:
    """One variable a tag reads, e.g. ``tasks.open-pr.outputs.parameters.number``."""

    scope: str  # "tasks", "steps", "inputs", "workflow", "item", other
    text: str


def tags(text: str) -> list[str]:
    """The inside of every ``{{...}}`` in ``text``, stripped."""
    return [match.group(1).strip() for match in TAG_RE.finditer(text)]


def has_tag(text: str) -> bool:
    return TAG_RE.search(text) is not None


def is_whole_tag(text: str) -> bool:
    """The string is exactly one tag (its whole value comes from substitution)."""
    match = TAG_RE.fullmatch(text.strip())
    return match is not None


# Inside expression tags variables appear bare (``tasks.a.outputs.parameters.b``) or with
# bracketed dashed names (``inputs.parameters['repo-key']``).
_EXPR_VAR_RE = re.compile(
    r"(?<![\w.'\"])((?:tasks|steps)\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*"
    r"|(?:inputs|workflow)\.parameters(?:\.[A-Za-z0-9_-]+|\[['\"][^'\"]+['\"]\])"
    r"|item(?:\.[A-Za-z0-9_-]+)*)"
)


def references(tag: str) -> list[Reference]:
    """Variables read by one tag's inside (simple tag or ``=expression``)."""
    if tag.startswith("="):
        found = []
        for match in _EXPR_VAR_RE.finditer(tag[1:]):
            text = re.sub(r"\[['\"]([^'\"]+)['\"]\]", r".\1", match.group(1))
            found.append(Reference(text.split(".", 1)[0], text))
        return found
    text = tag.strip()
    return [Reference(text.split(".", 1)[0], text)]


def substitute(text: str, value: str) -> str:
    """``text`` with every tag replaced by ``value``."""
    return TAG_RE.sub(value, text)
