"""No template tags in shell (or interpreter) source: values reach containers as env vars or files.

A tag in ``script.source`` or in the script given to ``sh -c`` is substituted *into the program
text*: a branch name, comment or title containing ``$(...)``, backticks or quotes then runs as
code. Pass values as ``env`` (``value: "{{inputs.parameters.x}}"``, read as ``"$X"``) or as an input
artifact file instead. Tags that only expand to paths Argo controls (``{{inputs.artifacts.x.path}}``,
``{{outputs.*.path}}``) are allowed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any

from pressplay.lint import expressions
from pressplay.lint.core import Document, LintContext

SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "ksh", "busybox"})
#: Interpreters that take program text as an argument (`python -c SRC`, `node -e SRC`, ...).
INTERPRETERS = {"python": "c", "python3": "c", "node": "e", "perl": "e", "ruby": "e", "pwsh": "c"}
_SAFE_TAG = re.compile(r"^(inputs\.artifacts\.[\w-]+\.path|outputs\.(parameters|artifacts)\.[\w-]+\.path)$")


def _unsafe_tags(text: str) -> list[str]:
    return [tag for tag in expressions.tags(text) if not _SAFE_TAG.match(tag)]


def _argv(container: Mapping[str, Any]) -> list[Any]:
    argv: list[Any] = []
    for key in ("command", "args"):
        value = container.get(key)
        if isinstance(value, Sequence) and not isinstance(value, str):
            argv.extend(value)
    return argv


def _shell_script_index(argv: list[Any]) -> int | None:
    """Index of the script argument in ``sh -c SCRIPT`` (or ``bash -ec SCRIPT`` ...), if any."""
    if not argv or not isinstance(argv[0], str):
        return None
    program = PurePosixPath(argv[0]).name
    if program in SHELLS:
        flag = "c"
    elif re.sub(r"[\d.]+$", "", program) in INTERPRETERS:
        flag = INTERPRETERS[re.sub(r"[\d.]+$", "", program)]
    else:
        return None
    for index, arg in enumerate(argv[1:], start=1):
        if isinstance(arg, str) and arg.startswith("-") and not arg.startswith("--") and flag in arg[1:]:
            return index + 1 if index + 1 < len(argv) else None
    return None


def _hint(tags: list[str]) -> str:
    shown = ", ".join("{{" + t + "}}" for t in tags[:3])
    return (
        f"{shown} is substituted into shell source, so a value containing quotes, `$(...)` or "
        "backticks runs as code; pass it as an env var (env: [{name: X, value: '{{...}}'}], then use "
        '"$X") or as an input artifact file'
    )


def _check_container(ctx: LintContext, doc: Document, path: str, container: Mapping[str, Any]) -> None:
    argv = _argv(container)
    index = _shell_script_index(argv)
    if index is not None and isinstance(argv[index], str):
        tags = _unsafe_tags(argv[index])
        if tags:
            ctx.add(doc, f"{path}.command/args[{index}]", _hint(tags))
    source = container.get("source")
    if isinstance(source, str):
        tags = _unsafe_tags(source)
        if tags:
            ctx.add(doc, f"{path}.source", _hint(tags))


def check(ctx: LintContext, doc: Document, spec: Mapping[str, Any]) -> None:
    templates = spec.get("templates")
    if not isinstance(templates, Sequence):
        return
    for index, template in enumerate(templates):
        if not isinstance(template, Mapping):
            continue
        where = f"spec.templates[{template.get('name', index)}]"
        for key in ("container", "script"):
            body = template.get(key)
            if isinstance(body, Mapping):
                _check_container(ctx, doc, f"{where}.{key}", body)
        container_set = template.get("containerSet")
        if isinstance(container_set, Mapping):
            for container in container_set.get("containers") or []:
                if isinstance(container, Mapping):
                    _check_container(
                        ctx, doc, f"{where}.containerSet[{container.get('name', '?')}]", container
                    )
        for group_key in ("initContainers", "sidecars"):
            for container in template.get(group_key) or []:
                if isinstance(container, Mapping):
                    _check_container(
                        ctx, doc, f"{where}.{group_key}[{container.get('name', '?')}]", container
                    )
