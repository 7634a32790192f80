"""Generated documentation: each step's argument table, from its pydantic model, so docs cannot drift.

``docs/steps/<key>.md`` holds the two marker lines below; ``pressplay docs`` rewrites what is between
them (and writes the page of an installed step that has none, a step from another package included),
and ``pressplay docs --check`` (run by a test) fails when a page is missing, lacks the markers or is stale.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from pressplay.steps.registry import Registry, installed
from pressplay.types import format_duration

BEGIN = "<!-- BEGIN GENERATED ARGS -->"
END = "<!-- END GENERATED ARGS -->"


def _type_of(schema: dict[str, Any], defs: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        target = defs.get(name, {})
        if "enum" in target:
            return " \\| ".join(f"`{v}`" for v in target["enum"])
        return str(name)
    if "enum" in schema:
        return " \\| ".join(f"`{v}`" for v in schema["enum"])
    if "const" in schema:
        return f"`{schema['const']}`"
    if "anyOf" in schema:
        parts = [_type_of(s, defs) for s in schema["anyOf"] if s.get("type") != "null"]
        return " or ".join(dict.fromkeys(parts))
    kind = schema.get("type")
    if kind == "array":
        return f"list of {_type_of(schema.get('items', {}), defs)}"
    if kind == "object":
        extra = schema.get("additionalProperties")
        return f"map of {_type_of(extra, defs)}" if isinstance(extra, dict) else "object"
    if kind == "string" and schema.get("format") == "date-time":
        return "RFC 3339 time"
    if kind == "string" and "pattern" in schema and schema.get("examples"):
        return f"string, e.g. `{schema['examples'][0]}`"
    return str(kind or "any")


def args_table(model: type[BaseModel]) -> str:
    """A Markdown table: argument, type, required/default, description."""
    schema = model.model_json_schema(by_alias=True, mode="validation")
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    durations = {
        (info.alias or name): info.default
        for name, info in model.model_fields.items()
        if isinstance(info.default, timedelta)
    }
    rows = ["| argument | type | required / default | description |", "|---|---|---|---|"]
    for name, prop in schema.get("properties", {}).items():
        if name in required:
            default = "**required**"
        elif name in durations:
            default = f"`{format_duration(durations[name])}`"
        elif "default" in prop:
            value = prop["default"]
            default = "—" if value is None else f"`{json.dumps(value)}`"
        else:
            default = "—"
        desc = " ".join(str(prop.get("description", "")).split()).replace("|", "\\|")
        rows.append(f"| `{name}` | {_type_of(prop, defs)} | {default} | {desc} |")
    return "\n".join(rows)


def render_page(text: str, table: str) -> str:
    if BEGIN not in text or END not in text:
        raise ValueError(f"page lacks the markers {BEGIN} / {END}")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{table}\n{END}{tail}"


def new_page(key: str, summary: str, package: str) -> str:
    """The first version of a step's page: a title, the step's summary, the generated table's markers."""
    return (
        f"# `{key}`\n\n{summary or 'TODO: what this step does.'}\n\n"
        f"Shipped by `{package}`.\n\n## Arguments\n\n{BEGIN}\n{END}\n"
    )


def update_docs(
    docs_dir: Path, *, check: bool = False, steps: Registry | None = None, only: Sequence[str] = ()
) -> list[str]:
    """Bring ``docs_dir/steps/<key>.md`` up to date for every installed step (or the keys in ``only``).

    Writes a missing page (title, summary, table) and rewrites stale tables. With ``check``, writes
    nothing and returns a problem per page that is missing, lacks the markers or is stale; without
    it, returns what it wrote and raises ValueError for a page whose markers are missing.
    """
    registry = steps if steps is not None else installed()
    keys = list(only) or registry.keys()
    problems: list[str] = []
    for key in keys:
        spec = registry.get(key)
        page = docs_dir / "steps" / f"{key}.md"
        table = args_table(spec.args_model)
        if not page.exists():
            if check:
                problems.append(f"{page}: missing (run: pressplay docs)")
                continue
            page.parent.mkdir(parents=True, exist_ok=True)
            package = registry.entries()[key].package
            page.write_text(render_page(new_page(key, spec.summary, package), table), encoding="utf-8")
            problems.append(f"{page}: created")
            continue
        text = page.read_text(encoding="utf-8")
        if BEGIN not in text or END not in text:
            message = f"{page}: lacks the lines {BEGIN} and {END} where the argument table goes"
            if check:
                problems.append(message)
                continue
            raise ValueError(message)
        new = render_page(text, table)
        if new != text:
            if check:
                problems.append(f"{page}: stale (run: pressplay docs)")
            else:
                page.write_text(new, encoding="utf-8")
                problems.append(f"{page}: updated")
    return problems
