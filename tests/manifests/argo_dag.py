"""A small model of how Argo Workflows runs a DAG template, enough to check pressplay's flow logic
(``depends``, ``when``, recursion, arguments) without a cluster.

- A task is considered once every task its ``depends`` names has completed.
- ``depends``: ``X`` means ``X.Succeeded || X.Skipped || X.Daemoned``; ``X.Failed`` etc. test one
  result. False → the task is **Omitted**.
- ``when`` (after substituting ``{{...}}``) false → **Skipped**; true → the task runs.
- ``withParam`` runs the task once per item of the JSON list, with ``{{item...}}`` bound.
- Running a task calls ``run(template_name, arguments)`` for leaf templates, or recurses into a DAG /
  steps template of the same WorkflowTemplate (``ci-gate`` calls itself); ``templateRef`` to another
  WorkflowTemplate is a leaf named ``<template>/<name>``.
- A DAG / steps template fails when one of its tasks failed (pressplay never uses ``continueOn``
  inside its DAGs).
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

RESULTS = ("Succeeded", "Failed", "Errored", "Skipped", "Omitted", "Daemoned")


@dataclass
class Node:
    name: str
    phase: str
    outputs: dict[str, str] = field(default_factory=dict)
    children: list[Node] = field(default_factory=list)


Run = Callable[[str, dict[str, str]], tuple[str, dict[str, str]]]


def _namespace(value: Any) -> Any:
    if isinstance(value, Mapping):
        return SimpleNamespace(**{str(k).replace("-", "_"): _namespace(v) for k, v in value.items()})
    return value


def _python(expression: str) -> str:
    """An Argo (expr-lang) expression as Python, for the forms the flows use: dashed names, ``x['a-b']``
    and the ternary ``cond ? a : b`` (lazy in both languages)."""
    expr = re.sub(r"\[\s*'([A-Za-z0-9_-]+)'\s*\]", r".\1", expression)  # tasks['a-b'] → tasks.a-b
    expr = re.sub(r"(?<=[\w\]])-(?=[a-z])", "_", expr)  # dashed names → attribute names
    ternary = re.fullmatch(r"(.+?)\s\?\s(.+?)\s:\s(.+)", expr.strip(), re.S)
    return f"({ternary[2]}) if ({ternary[1]}) else ({ternary[3]})" if ternary else expr


def substitute(text: str, scope: Mapping[str, Any]) -> str:
    def replace(match: re.Match[str]) -> str:
        tag = match.group(1).strip()
        if tag.startswith("="):
            expr = _python(tag[1:])
            env = {k.replace("-", "_"): _namespace(v) for k, v in scope.items()}
            value = eval(expr, {"__builtins__": {}, "asInt": int}, env)
            return str(value).lower() if isinstance(value, bool) else str(value)
        node: Any = scope
        for part in tag.split("."):
            node = node[part]
        return node if isinstance(node, str) else json.dumps(node)

    return re.sub(r"\{\{(.*?)\}\}", replace, text)


def evaluate_when(text: str) -> bool:
    python = text.replace("&&", " and ").replace("||", " or ")
    return bool(eval(python, {"__builtins__": {}}, {"true": True, "false": False}))


def evaluate_depends(expression: str, done: Mapping[str, Node]) -> bool:
    def token(match: re.Match[str]) -> str:
        name, result = match.group(1), match.group(2)
        phase = done[name].phase
        if result is None:
            return str(phase in ("Succeeded", "Skipped", "Daemoned"))
        return str(phase == result[1:])

    python = re.sub(r"(?<![\w.-])([A-Za-z0-9][A-Za-z0-9_-]*)(\.[A-Za-z]+)?", token, expression)
    python = python.replace("&&", " and ").replace("||", " or ")
    return bool(eval(python, {"__builtins__": {}}, {}))


def _depends_names(expression: str) -> set[str]:
    return {
        m.group(1) for m in re.finditer(r"(?<![\w.-])([A-Za-z0-9][A-Za-z0-9_-]*)(\.[A-Za-z]+)?", expression)
    }


class Simulator:
    def __init__(self, workflow_template: Mapping[str, Any], run: Run, workflow: Mapping[str, Any]) -> None:
        self.templates = {t["name"]: t for t in workflow_template["spec"]["templates"]}
        self.run = run
        defaults = {
            p["name"]: p["value"]
            for p in (workflow_template["spec"].get("arguments") or {}).get("parameters", [])
            if "value" in p
        }
        self.workflow = {**workflow, "parameters": {**defaults, **dict(workflow.get("parameters") or {})}}
        self.calls: list[tuple[str, dict[str, str]]] = []

    def call(self, name: str, arguments: dict[str, str]) -> Node:
        template = self.templates[name]
        inputs = {p["name"]: p.get("value", "") for p in (template.get("inputs") or {}).get("parameters", [])}
        inputs.update(arguments)
        if "dag" in template:
            return self._dag(name, template, inputs)
        if "steps" in template:
            return self._steps(name, template, inputs)
        self.calls.append((name, inputs))
        phase, outputs = self.run(name, inputs)
        return Node(name, phase, outputs)

    def _scope(self, inputs: Mapping[str, str], done: Mapping[str, Node], kind: str) -> dict[str, Any]:
        return {
            "inputs": {"parameters": dict(inputs)},
            "workflow": self.workflow,
            kind: {
                n: {"outputs": {"parameters": node.outputs}, "status": node.phase} for n, node in done.items()
            },
        }

    def _invoke(self, task: Mapping[str, Any], scope: Mapping[str, Any]) -> Node:
        if "withParam" in task:
            items = json.loads(substitute(str(task["withParam"]), scope))
            single = {k: v for k, v in task.items() if k != "withParam"}
            children = [self._invoke(single, {**scope, "item": item}) for item in items]
            failed = any(c.phase in ("Failed", "Errored") for c in children)
            phase = "Failed" if failed else "Succeeded" if children else "Skipped"
            return Node(task["name"], phase, {}, children)
        args = {
            p["name"]: substitute(str(p.get("value", "")), scope)
            for p in (task.get("arguments") or {}).get("parameters", [])
        }
        if "templateRef" in task:
            ref = task["templateRef"]
            name = f"{ref['name']}/{ref['template']}"
            self.calls.append((name, args))
            phase, outputs = self.run(name, args)
            if ref["name"] == "agent-step":
                # The agent runtime writes <output>-b64 with its summary, verdict and task
                # (agent/runtime.py), and agent-step.yaml defaults its text outputs to "".
                encoded = {
                    f"{name}-b64": base64.b64encode(outputs.get(name, "").encode()).decode()
                    for name in ("summary", "verdict", "task")
                }
                outputs = {**encoded, **outputs}
            return Node(task["name"], phase, outputs)
        node = self.call(task["template"], args)
        node.name = task["name"]
        return node

    def _dag(self, name: str, template: Mapping[str, Any], inputs: Mapping[str, str]) -> Node:
        tasks = {t["name"]: t for t in template["dag"]["tasks"]}
        done: dict[str, Node] = {}
        while len(done) < len(tasks):
            progressed = False
            for task_name, task in tasks.items():
                if task_name in done:
                    continue
                depends = str(task.get("depends", "")).strip()
                if depends and not _depends_names(depends) <= set(done):
                    continue
                progressed = True
                if depends and not evaluate_depends(depends, done):
                    done[task_name] = Node(task_name, "Omitted")
                    continue
                scope = self._scope(inputs, done, "tasks")
                if "when" in task and not evaluate_when(substitute(str(task["when"]), scope)):
                    done[task_name] = Node(task_name, "Skipped")
                    continue
                done[task_name] = self._invoke(task, scope)
            assert progressed, f"{name}: stuck with {sorted(set(tasks) - set(done))}"
        failed = any(n.phase in ("Failed", "Errored") for n in done.values())
        outputs = self._outputs(template, self._scope(inputs, done, "tasks"))
        return Node(name, "Failed" if failed else "Succeeded", outputs, list(done.values()))

    def _steps(self, name: str, template: Mapping[str, Any], inputs: Mapping[str, str]) -> Node:
        done: dict[str, Node] = {}
        for group in template["steps"]:
            for step_ in group:
                scope = self._scope(inputs, done, "steps")
                if "when" in step_ and not evaluate_when(substitute(str(step_["when"]), scope)):
                    done[step_["name"]] = Node(step_["name"], "Skipped")
                    continue
                done[step_["name"]] = self._invoke(step_, scope)
            if any(n.phase in ("Failed", "Errored") for n in done.values()):
                break
        failed = any(n.phase in ("Failed", "Errored") for n in done.values())
        outputs = self._outputs(template, self._scope(inputs, done, "steps"))
        return Node(name, "Failed" if failed else "Succeeded", outputs, list(done.values()))

    @staticmethod
    def _outputs(template: Mapping[str, Any], scope: Mapping[str, Any]) -> dict[str, str]:
        out: dict[str, str] = {}
        for param in (template.get("outputs") or {}).get("parameters", []):
            source = (param.get("valueFrom") or {}).get("parameter")
            if source:
                with contextlib.suppress(KeyError):
                    out[param["name"]] = substitute(source, scope)
        return out


def flatten(node: Node, prefix: str = "") -> dict[str, str]:
    """``{"ci.checks": "Succeeded", ...}`` for every node under ``node``."""
    out: dict[str, str] = {}
    for child in node.children:
        path = f"{prefix}{child.name}"
        out[path] = child.phase
        out.update(flatten(child, f"{path}."))
    return out
