"""Findings, the documents being linted, and the driver that runs every check."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import yaml


class Severity(StrEnum):
    error = "error"
    warning = "warning"


@dataclass(frozen=True, order=True)
class Finding:
    """One problem: where it is (file, object, path) and what to do about it."""

    file: str
    obj: str
    path: str
    message: str
    severity: Severity = Severity.error
    #: 1-based line of the offending value in ``file`` (0: unknown, e.g. rendered output).
    line: int = field(default=0, compare=False)

    def format(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        if self.obj:
            where += f": {self.obj}"
        if self.path:
            where += f": {self.path}"
        return f"{where}: {self.severity.value}: {self.message}"

    def as_dict(self) -> dict[str, str | int]:
        return {
            "file": self.file,
            "line": self.line,
            "object": self.obj,
            "path": self.path,
            "severity": self.severity.value,
            "message": self.message,
        }


@dataclass(frozen=True)
class Document:
    """One Kubernetes object and the file it came from."""

    file: str
    body: Mapping[str, Any]
    #: The YAML node the body was built from, when line numbers mean something to the reader.
    node: yaml.Node | None = field(default=None, compare=False, repr=False)

    def line_of(self, path: str) -> int:
        """1-based line of the value at ``path`` (as findings spell it), or of its nearest parent."""
        return locate(self.node, path) if self.node is not None else 0

    @property
    def kind(self) -> str:
        return str(self.body.get("kind", ""))

    @property
    def name(self) -> str:
        meta = self.body.get("metadata")
        if isinstance(meta, Mapping):
            return str(meta.get("name") or meta.get("generateName") or "")
        return ""

    @property
    def label(self) -> str:
        return f"{self.kind or '?'}/{self.name or '?'}"


WORKFLOW_KINDS = frozenset({"Workflow", "WorkflowTemplate", "ClusterWorkflowTemplate", "CronWorkflow"})


@dataclass
class LintContext:
    """Every document being linted, indexed for cross-object lookups, plus the findings so far."""

    documents: list[Document]
    findings: list[Finding] = field(default_factory=list)
    #: objects already installed (``--installed``, ``--cluster``): looked up, never linted
    installed: list[Document] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.templates: dict[tuple[str, str], Mapping[str, Any]] = {}
        self.config_maps: dict[str, Mapping[str, Any]] = {}
        #: names of the ServiceAccounts the linted and installed objects create
        self.service_accounts: set[str] = set()
        for doc in [*self.installed, *self.documents]:  # a linted object wins over an installed one
            if doc.kind in ("WorkflowTemplate", "ClusterWorkflowTemplate"):
                self.templates[(doc.kind, doc.name)] = doc.body
            elif doc.kind == "ConfigMap":
                data = doc.body.get("data")
                self.config_maps[doc.name] = data if isinstance(data, Mapping) else {}
            elif doc.kind == "ServiceAccount":
                self.service_accounts.add(doc.name)

    def workflow_template(self, name: str, cluster: bool = False) -> Mapping[str, Any] | None:
        return self.templates.get(("ClusterWorkflowTemplate" if cluster else "WorkflowTemplate", name))

    def add(self, doc: Document, path: str, message: str, severity: Severity = Severity.error) -> None:
        self.findings.append(Finding(doc.file, doc.label, path, message, severity, doc.line_of(path)))


_SEGMENT = re.compile(r"([^.\[\]]+)|\[([^\]]*)\]")


def locate(node: yaml.Node, path: str) -> int:
    """Follow ``spec.templates[name].dag.tasks[3].x`` through YAML nodes; the deepest line reached."""
    line = node.start_mark.line + 1
    for match in _SEGMENT.finditer(path):
        key, index = match.group(1), match.group(2)
        child: yaml.Node | None = None
        if key is not None and isinstance(node, yaml.MappingNode):
            child = next(
                (v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == key), None
            )
        elif index is not None and isinstance(node, yaml.SequenceNode):
            if index.isdigit() and int(index) < len(node.value):
                child = node.value[int(index)]
            else:
                child = next((item for item in node.value if _named_node(item, index)), None)
        if child is None:
            break
        node = child
        line = node.start_mark.line + 1
    return line


def _named_node(node: yaml.Node, name: str) -> bool:
    if not isinstance(node, yaml.MappingNode):
        return False
    return any(
        isinstance(k, yaml.ScalarNode)
        and k.value == "name"
        and isinstance(v, yaml.ScalarNode)
        and v.value == name
        for k, v in node.value
    )


def workflow_spec(doc: Document) -> Mapping[str, Any] | None:
    """The Workflow spec of a Workflow-like object (a CronWorkflow's lives under workflowSpec)."""
    spec = doc.body.get("spec")
    if not isinstance(spec, Mapping):
        return None
    if doc.kind == "CronWorkflow":
        inner = spec.get("workflowSpec")
        return inner if isinstance(inner, Mapping) else None
    return spec


def walk_strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every string inside ``value`` with its dotted path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from walk_strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk_strings(item, f"{path}[{index}]")


def lint_documents(documents: Iterable[Document], installed: Iterable[Document] = ()) -> list[Finding]:
    """Run every check over ``documents``; findings sorted by file, line, object and path.

    ``installed``: objects already in the cluster (WorkflowTemplates a Workflow references, the
    install's ServiceAccounts): known to the checks, not linted themselves."""
    from pressplay.lint import (
        environment,
        events,
        loops,
        plugin_steps,
        references,
        service_accounts,
        shell,
        synchronization,
    )

    ctx = LintContext(list(documents), installed=list(installed))
    for doc in ctx.documents:
        if doc.kind in WORKFLOW_KINDS:
            spec = workflow_spec(doc)
            if spec is None:
                continue
            plugin_steps.check(ctx, doc, spec)
            references.check(ctx, doc, spec)
            shell.check(ctx, doc, spec)
            environment.check(ctx, doc, spec)
            synchronization.check(ctx, doc, spec)
            loops.check(ctx, doc, spec)
            service_accounts.check(ctx, doc, spec)
        elif doc.kind == "Sensor":
            events.check_sensor(ctx, doc)
        elif doc.kind == "EventSource":
            events.check_event_source(ctx, doc)
        elif doc.kind == "ConfigMap":
            environment.check_plugin_configmap(ctx, doc)
    return sorted(set(ctx.findings), key=lambda f: (f.file, f.line, f.obj, f.path, f.message, f.severity))
