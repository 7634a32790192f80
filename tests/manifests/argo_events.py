"""Argo Events v1.9 Sensor semantics, re-implemented for tests (pkg/sensors/dependencies/filter.go,
pkg/sensors/triggers/params.go), with the real path and regex engines: gjson paths (gjson-py) and
Go's RE2 (google-re2).

- String data filters: every value is an **unanchored** regex (``re2.search``); comparator ``!=``
  inverts; any value may match.
- A missing path is an error and drops the event (the dependency does not fire).
- number: float comparison; bool: ``strconv.ParseBool``.
- ``exprs``: fields bound from gjson paths (a missing one drops the event), then the expression.
- Kinds combine with ``filtersLogicalOperator`` (default ``and``); inside a kind with
  ``dataLogicalOperator`` / ``exprLogicalOperator`` (default ``and``).
- Trigger ``conditions`` are a boolean over dependency names; empty means all dependencies.
- Trigger parameters: ``dataKey`` is a gjson path into the event data, rendered as gjson's
  ``String()`` (numbers as their JSON text); ``value`` is the default when the key is missing;
  ``dest`` is an sjson path; ``operation`` is overwrite / append / prepend.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import gjson
import re2


class FilterError(Exception):
    """Argo Events logs these and drops the event."""


def github_event(event: str, payload: Mapping[str, Any], delivery: str | None = None) -> dict[str, Any]:
    """The event data a GitHub EventSource publishes for one delivery (see argo-events start.go)."""
    delivery = delivery or str(uuid.uuid4())
    body = dict(payload)
    body["X-GitHub-Event"] = event
    body["X-GitHub-Delivery"] = delivery
    return {
        "headers": {
            "X-Github-Event": [event],
            "X-Github-Delivery": [delivery],
            "Content-Type": ["application/json"],
            "User-Agent": ["GitHub-Hookshot/0000000"],
        },
        "body": body,
        "metadata": {},
    }


def lookup(data: Any, path: str) -> Any:
    """gjson ``Get``; raises :class:`FilterError` when the path does not exist."""
    try:
        return gjson.get(data, path)
    except Exception as exc:  # gjson-py raises GJSONParseError / GJSONError for a missing path
        raise FilterError(f"path {path} does not exist") from exc


_B64_OF_PATH = re.compile(r"^\{\{ b64enc \.Input\.([\w.]+) \}\}$")
_B64_OF_TITLE_AND_BODY = re.compile(
    r'^\{\{ printf "# %s\\n\\n%s" \.Input\.([\w.]+) \(default "" \.Input\.([\w.]+)\) \| b64enc \}\}$'
)


def _go_field(data: Any, path: str) -> Any:
    """``.Input.a.b`` of a Go template over gjson's ``Value()``: a missing key is nil."""
    node = data
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def data_template(template: str, data: Any) -> str:
    """The two ``dataTemplate`` forms our Sensors use, as Argo Events' ``getValueWithTemplate`` runs
    them (Go text/template with sprig over the event data): ``b64enc`` of a string field, and ``printf``
    of a title and a body (``default ""``) piped to ``b64enc``. sprig's ``b64enc`` of nil is a template
    error; an empty result is an error too; both fall back to the parameter's ``value``. Any other form
    fails the test: teach it here first."""
    if match := _B64_OF_PATH.match(template):
        value = _go_field(data, match[1])
        if not isinstance(value, str):
            raise FilterError(f"b64enc: wrong type for value; expected string; got {type(value).__name__}")
        text = value
    elif match := _B64_OF_TITLE_AND_BODY.match(template):
        title, body = _go_field(data, match[1]), _go_field(data, match[2])
        text = "# {}\n\n{}".format(_go_print(title), "" if body in (None, "") else _go_print(body))
    else:
        raise AssertionError(f"dataTemplate form not known to this test double: {template!r}")
    if not text:
        raise FilterError("template evaluated to empty string or no value")
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _go_print(value: Any) -> str:
    """``%s`` of a value in Go: nil prints as ``%!s(<nil>)``."""
    return "%!s(<nil>)" if value is None else value if isinstance(value, str) else as_string(value)


def as_string(value: Any) -> str:
    """gjson's ``Result.String()``: strings as they are, scalars as JSON text, objects as raw JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    return json.dumps(value, separators=(",", ":"))


def _parse_bool(text: str) -> bool:
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise FilterError(f"{text!r} is not a boolean")


def data_filter(f: Mapping[str, Any], data: Any) -> bool:
    value = lookup(data, str(f["path"]))
    kind = f.get("type")
    comparator = f.get("comparator") or "="
    values = f.get("value") or []
    if kind == "string":
        text = as_string(value)
        for pattern in values:
            matched = re2.search(pattern, text) is not None
            if (comparator == "!=" and not matched) or (comparator != "!=" and matched):
                return True
        return False
    if kind == "number":
        try:
            number = float(as_string(value))
        except ValueError as exc:
            raise FilterError(f"{value!r} is not a number") from exc
        ops = {
            ">=": float.__ge__,
            ">": float.__gt__,
            "=": float.__eq__,
            "!=": float.__ne__,
            "<": float.__lt__,
            "<=": float.__le__,
        }
        return any(ops[comparator](number, float(v)) for v in values)
    if kind == "bool":
        actual = _parse_bool(as_string(value))
        return any(actual == _parse_bool(v) for v in values)
    raise FilterError(f"unsupported filter type {kind!r}")


_TOKEN = re.compile(r"\s*(&&|\|\||==|!=|\(|\)|'[^']*'|\"[^\"]*\"|[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?)")


def evaluate_boolean(expression: str, names: Mapping[str, Any]) -> bool:
    """A govaluate-style expression limited to what pressplay's Sensors use:
    names, string/number literals, ``==``, ``!=``, ``&&``, ``||`` and parentheses."""
    out: list[str] = []
    pos = 0
    text = expression.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise FilterError(f"cannot parse {expression!r} at {text[pos:]!r}")
        token = match.group(1)
        pos = match.end()
        if token == "&&":
            out.append(" and ")
        elif token == "||":
            out.append(" or ")
        elif token in ("==", "!=", "(", ")") or token[0] in "'\"" or token[0].isdigit():
            out.append(token)
        elif token in names:
            out.append(f"__v[{token!r}]")
        else:
            raise FilterError(f"unknown name {token!r} in {expression!r}")
    return bool(eval("".join(out), {"__builtins__": {}}, {"__v": dict(names)}))


def expr_filter(f: Mapping[str, Any], data: Any) -> bool:
    names = {str(field["name"]): lookup(data, str(field["path"])) for field in f.get("fields") or []}
    return evaluate_boolean(str(f["expr"]), names)


def _combine(results: list[bool], operator: str | None) -> bool:
    if not results:
        return True
    return any(results) if operator == "or" else all(results)


def dependency_fires(dep: Mapping[str, Any], data: Any) -> bool:
    filters = dep.get("filters") or {}
    try:
        kinds: list[bool] = []
        if filters.get("exprs"):
            kinds.append(
                _combine([expr_filter(f, data) for f in filters["exprs"]], filters.get("exprLogicalOperator"))
            )
        if filters.get("data"):
            kinds.append(
                _combine([data_filter(f, data) for f in filters["data"]], filters.get("dataLogicalOperator"))
            )
    except FilterError:
        return False
    return _combine(kinds, dep.get("filtersLogicalOperator"))


def _set(target: dict[str, Any], dest: str, value: str, operation: str) -> None:
    parts = dest.split(".")
    node: Any = target
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    last = parts[-1]
    key: Any = int(last) if isinstance(node, list) else last
    current = node[key] if (isinstance(node, list) or key in node) else ""
    if operation == "append":
        node[key] = f"{current}{value}"
    elif operation == "prepend":
        node[key] = f"{value}{current}"
    else:
        node[key] = value


@dataclass
class Fired:
    trigger: str
    workflow: dict[str, Any]


def fire(sensor: Mapping[str, Any], data: Any) -> list[Fired]:
    """The triggers of ``sensor`` that one event fires, each with its resolved Workflow object."""
    spec = sensor["spec"]
    fired_deps = {str(dep["name"]) for dep in spec.get("dependencies", []) if dependency_fires(dep, data)}
    results: list[Fired] = []
    for trigger in spec.get("triggers", []):
        template = trigger["template"]
        conditions = template.get("conditions")
        if conditions:
            names = {str(dep["name"]): str(dep["name"]) in fired_deps for dep in spec["dependencies"]}
            safe = {re.sub(r"\W", "_", k): v for k, v in names.items()}
            expr = re.sub(r"[A-Za-z][\w-]*", lambda m: re.sub(r"\W", "_", m.group(0)), conditions)
            if not evaluate_boolean(expr, safe):
                continue
        elif not all(str(dep["name"]) in fired_deps for dep in spec["dependencies"]):
            continue
        workflow_trigger = template["argoWorkflow"]
        resource = copy.deepcopy(workflow_trigger["source"]["resource"])
        for param in workflow_trigger.get("parameters", []):
            src = param["src"]
            if src["dependencyName"] not in fired_deps:
                continue
            try:
                if "dataTemplate" in src:
                    value = data_template(src["dataTemplate"], data)
                else:
                    value = as_string(lookup(data, src["dataKey"]))
            except FilterError:
                if "value" not in src:
                    raise AssertionError(
                        f"trigger {template['name']}: {src.get('dataKey') or src['dataTemplate']} failed, no default"
                    ) from None
                value = str(src["value"])
            _set(resource, param["dest"], value, param.get("operation", "overwrite"))
        results.append(Fired(str(template["name"]), resource))
    return results


def argument(workflow: Mapping[str, Any], name: str) -> str:
    for param in workflow["spec"]["arguments"]["parameters"]:
        if param["name"] == name:
            return str(param["value"])
    raise KeyError(name)
