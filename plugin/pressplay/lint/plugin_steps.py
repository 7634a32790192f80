"""Plugin steps: ``plugin: {pressplay: {<step>: {...}}}`` validated against the step's model.

Argo substitutes ``{{...}}`` before the sidecar sees a template, and always into *strings*: an
argument written as ``number: "{{inputs.parameters.pr}}"`` reaches the model as ``"42"``. So a value
holding tags is checked with stand-ins that are strings too: for a whole-tag value, the first of a
few typical strings of the field's JSON type that the model accepts (``"1"`` for an integer,
``"[]"`` for a list, ``"acme/api"`` for a repository, ...); tags inside a longer string become
``1`` (then ``x``). An argument the model cannot accept as any such string is reported: e.g. a list
argument given as one expression must be accepted as JSON text by the step.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from pressplay.config import PLUGIN_KEY
from pressplay.lint import expressions
from pressplay.lint.core import Document, LintContext, Severity
from pressplay.steps.base import StepSpec
from pressplay.steps.execute import argument_names, describe_error, did_you_mean

_GENERIC_STRINGS = (
    "x",
    "1",
    "acme/api",
    "main",
    "0123456789abcdef0123456789abcdef01234567",
    "30m",
    "2026-01-01T00:00:00Z",
    "x.yaml",
    "true",
)


def _resolve(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = defs.get(ref.rsplit("/", 1)[1])
        if isinstance(target, Mapping):
            return target
    return schema


def candidates(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> list[str]:
    """Strings an Argo substitution could deliver that fit ``schema``, most plausible first."""
    schema = _resolve(schema, defs)
    out: list[str] = []
    for option in schema.get("anyOf", []) or schema.get("oneOf", []):
        if isinstance(option, Mapping) and option.get("type") != "null":
            out.extend(candidates(option, defs))
    if "enum" in schema:
        out.extend(str(v).lower() if isinstance(v, bool) else str(v) for v in schema["enum"])
    kind = schema.get("type")
    kinds = [k for k in kind if k != "null"] if isinstance(kind, list) else [kind] if kind else []
    for name in kinds:
        if name == "integer" or name == "number":
            minimum = schema.get("minimum", schema.get("exclusiveMinimum", 0))
            out.append(str(max(1, int(minimum) + 1)))
        elif name == "boolean":
            out.append("true")
        elif name == "array":
            out.extend(["[]", '["x"]'])
        elif name == "object":
            out.append("{}")
        elif name == "string":
            out.extend(str(e) for e in schema.get("examples", []) if isinstance(e, str))
            out.extend(_GENERIC_STRINGS)
    if not out:
        out.extend(_GENERIC_STRINGS)
    seen: dict[str, None] = {}
    for item in out:
        seen.setdefault(item, None)
    return list(seen)


def _embedded(value: Any, stand_in: str) -> Any:
    """``value`` with every tag inside strings replaced by ``stand_in``."""
    if isinstance(value, str):
        return expressions.substitute(value, stand_in)
    # A {b64: ...} part of a Text argument (pressplay.types.Text) carries base64 text: a whole tag
    # stands for base64 ("x"); anything else is checked as written.
    if (
        isinstance(value, Mapping)
        and set(value) == {"b64"}
        and isinstance(value["b64"], str)
        and expressions.is_whole_tag(value["b64"])
    ):
        return {"b64": "eA=="}
    if isinstance(value, Mapping):
        return {k: _embedded(v, stand_in) for k, v in value.items()}
    if isinstance(value, list):
        return [_embedded(v, stand_in) for v in value]
    return value


def _contains_tag(value: Any) -> bool:
    if isinstance(value, str):
        return expressions.has_tag(value)
    if isinstance(value, Mapping):
        return any(_contains_tag(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_tag(v) for v in value)
    return False


def _error_field(error: Mapping[str, Any]) -> str:
    loc = error.get("loc") or ()
    return str(loc[0]) if loc else ""


def _describe(error: ErrorDetails, model: type[BaseModel]) -> str:
    """``<location>: <what is wrong>`` in the sidecar's wording (:func:`describe_error`)."""
    loc, text = describe_error(error, argument_names(model))
    return f"{loc}: {text}" if loc else text


def validate_args(model: type[BaseModel], raw: Mapping[str, Any]) -> list[str]:
    """Problems with ``raw`` as arguments of ``model``; tags stand for strings (see module doc)."""
    schema = model.model_json_schema(by_alias=True)
    props: Mapping[str, Any] = schema.get("properties", {})
    defs: Mapping[str, Any] = schema.get("$defs", {})
    whole: dict[str, list[str]] = {}
    partial: set[str] = set()
    for key, value in raw.items():
        if isinstance(value, str) and expressions.is_whole_tag(value):
            whole[key] = candidates(props.get(key, {}), defs) if key in props else ["x"]
        elif _contains_tag(value):
            partial.add(key)
    choice = dict.fromkeys(whole, 0)
    partial_stand_in = dict.fromkeys(partial, "1")
    for _ in range(64):
        args = {}
        for key, value in raw.items():
            if key in whole:
                args[key] = whole[key][choice[key]]
            elif key in partial:
                args[key] = _embedded(copy.deepcopy(value), partial_stand_in[key])
            else:
                args[key] = value
        try:
            model.model_validate(args)
            return []
        except ValidationError as exc:
            errors = exc.errors()
        moved = False
        for key in {_error_field(e) for e in errors}:
            if key in whole and choice[key] + 1 < len(whole[key]):
                choice[key] += 1
                moved = True
            elif key in partial and partial_stand_in[key] == "1":
                partial_stand_in[key] = "x"
                moved = True
        if not moved:
            problems = []
            for error in errors:
                key = _error_field(error)
                text = _describe(error, model)
                if key in whole:
                    text += (
                        f" (the value is the expression {raw[key]!r}; Argo delivers it as a string, "
                        "which this argument does not accept in any form)"
                    )
                problems.append(text)
            return problems
    return ["could not find stand-in values for the expressions"]  # pragma: no cover - bounded search


def check(ctx: LintContext, doc: Document, spec: Mapping[str, Any]) -> None:
    from pressplay.steps.registry import RegistryError, installed

    registry = installed()
    known_steps = registry.keys

    templates = spec.get("templates")
    if not isinstance(templates, Sequence):
        return
    for index, template in enumerate(templates):
        if not isinstance(template, Mapping):
            continue
        plugin = template.get("plugin")
        if not isinstance(plugin, Mapping) or PLUGIN_KEY not in plugin:
            continue
        where = f"spec.templates[{template.get('name', index)}]"
        if len(plugin) != 1:
            ctx.add(doc, f"{where}.plugin", f"a plugin template has exactly one key; found {sorted(plugin)}")
        body = plugin[PLUGIN_KEY]
        if not isinstance(body, Mapping) or len(body) != 1:
            ctx.add(
                doc,
                f"{where}.plugin.{PLUGIN_KEY}",
                f"give exactly one step under `{PLUGIN_KEY}` (one of: {', '.join(known_steps())})",
            )
            continue
        key, raw_args = next(iter(body.items()))
        path = f"{where}.plugin.{PLUGIN_KEY}.{key}"
        if key not in registry:
            _check_outputs(ctx, doc, where, template, None)
            ctx.add(
                doc,
                path,
                f"unknown step {key!r};{did_you_mean(key, known_steps())} known steps are "
                f"{', '.join(known_steps())}",
            )
            continue
        try:
            spec_ = registry.get(key)
        except RegistryError as exc:
            _check_outputs(ctx, doc, where, template, None)
            ctx.add(doc, path, f"{exc}; its arguments were not checked")
            continue
        _check_outputs(ctx, doc, where, template, spec_)
        if raw_args is None:
            raw_args = {}
        if not isinstance(raw_args, Mapping):
            ctx.add(doc, path, f"the arguments of {key!r} must be a mapping, not {type(raw_args).__name__}")
            continue
        for problem in validate_args(spec_.args_model, raw_args):
            field = problem.split(":", 1)[0].split(".", 1)[0]
            ctx.add(doc, f"{path}.{field}" if field in raw_args else path, f"argument {problem}")
        if "node" not in raw_args:
            ctx.add(
                doc,
                path,
                'pass `node: "{{node.name}}"`: it names the node in logs and traces',
                Severity.warning,
            )


def _check_outputs(
    ctx: LintContext, doc: Document, where: str, template: Mapping[str, Any], spec: StepSpec[Any] | None
) -> None:
    """Each declared output is supplied by the plugin, and is one the step produces (its
    ``@step(outputs=...)``): Argo fails a node whose declared output has no value and no default."""
    produced = spec.produces() if spec is not None else None
    outputs = template.get("outputs")
    params = outputs.get("parameters") if isinstance(outputs, Mapping) else None
    if not isinstance(params, Sequence):
        return
    for param in params:
        if not isinstance(param, Mapping):
            continue
        value_from = param.get("valueFrom")
        name = str(param.get("name", "?"))
        if produced is not None and name not in produced and spec is not None:
            has_default = isinstance(value_from, Mapping) and "default" in value_from
            ctx.add(
                doc,
                f"{where}.outputs.parameters[{name}]",
                f"step {spec.key!r} never produces the output {name!r};{did_you_mean(name, produced)} it "
                f"produces {', '.join(produced)}"
                + ("" if has_default else " (the node would fail: the output has no value and no default)"),
                Severity.warning if has_default else Severity.error,
            )
        if not (isinstance(value_from, Mapping) and "supplied" in value_from):
            ctx.add(
                doc,
                f"{where}.outputs.parameters[{name}]",
                "a plugin step's outputs are supplied by the plugin: declare it with "
                "`valueFrom: {supplied: {}}`",
            )
