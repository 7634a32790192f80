"""Loops: ``withParam`` items are slim (ids), because Argo writes each whole item into node names.

When a DAG task or a step expands over ``withParam``, Argo names every expanded node
``<name>(<index>:<item>)`` with the *whole* item printed (``generateNodeName`` in
workflow/controller/operator.go, called by ``expandTask`` in dag.go and ``expandStep`` in
steps.go), and every node below it carries that name as a prefix. An object item (a task with its
title, branch, dependencies, ...) makes long node names, repeated in each descendant's name and
status, and grows the Workflow object towards etcd's request limit with the size of the list. A task
that reads ``{{item.<field>}}`` loops over objects: loop over ids (``{{item}}``) and let the steps
read the rest from where the ids point (e.g. the task file).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from pressplay.lint import expressions
from pressplay.lint.core import Document, LintContext, Severity, walk_strings

_ITEM_FIELD = re.compile(r"^\s*item\.([A-Za-z0-9_-]+)")


def _children(template: Mapping[str, Any], where: str) -> list[tuple[Mapping[str, Any], str]]:
    found: list[tuple[Mapping[str, Any], str]] = []
    dag = template.get("dag")
    if isinstance(dag, Mapping) and isinstance(dag.get("tasks"), Sequence):
        for task in dag["tasks"]:
            if isinstance(task, Mapping):
                found.append((task, f"{where}.dag.tasks[{task.get('name', '?')}]"))
    steps = template.get("steps")
    if isinstance(steps, Sequence):
        for index, group in enumerate(steps):
            if isinstance(group, Sequence):
                for step_ in group:
                    if isinstance(step_, Mapping):
                        found.append((step_, f"{where}.steps[{index}][{step_.get('name', '?')}]"))
    return found


def check(ctx: LintContext, doc: Document, spec: Mapping[str, Any]) -> None:
    templates = spec.get("templates")
    if not isinstance(templates, Sequence):
        return
    for index, template in enumerate(templates):
        if not isinstance(template, Mapping):
            continue
        where = f"spec.templates[{template.get('name', index)}]"
        for child, path in _children(template, where):
            if "withParam" not in child:
                continue
            fields: list[str] = []
            for _sub, text in walk_strings({k: v for k, v in child.items() if k != "withParam"}, ""):
                for tag in expressions.tags(text):
                    match = _ITEM_FIELD.match(tag)
                    if match and match.group(1) not in fields:
                        fields.append(match.group(1))
            if fields:
                ctx.add(
                    doc,
                    f"{path}.withParam",
                    "the withParam items are objects (read as "
                    + ", ".join(f"item.{name}" for name in fields)
                    + "): Argo writes each whole item into the name of every expanded node and of all "
                    "nodes below it (generateNodeName), so the Workflow object grows with every field "
                    "of every item; loop over slim items, ids only (`{{item}}`), and let the steps read "
                    "the rest (e.g. from the task file)",
                    Severity.warning,
                )
