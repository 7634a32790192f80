"""Findings, the documents being linted, and the driver that runs every check."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


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

    def format(self) -> str:
        where = f"{self.file}: {self.obj}" if self.obj else self.file
        if self.path:
            where += f": {self.path}"
        return f"{where}: {self.severity.value}: {self.message}"

    def as_dict(self) -> dict[str, str]:
        return {
            "file": self.file,
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

    def __post_init__(self) -> None:
        self.templates: dict[tuple[str, str], Mapping[str, Any]] = {}
        self.config_maps: dict[str, Mapping[str, Any]] = {}
        for doc in self.documents:
            if doc.kind in ("WorkflowTemplate", "ClusterWorkflowTemplate"):
                self.templates[(doc.kind, doc.name)] = doc.body
            elif doc.kind == "ConfigMap":
                data = doc.body.get("data")
                self.config_maps[doc.name] = data if isinstance(data, Mapping) else {}

    def workflow_template(self, name: str, cluster: bool = False) -> Mapping[str, Any] | None:
        return self.templates.get(("ClusterWorkflowTemplate" if cluster else "WorkflowTemplate", name))

    def add(self, doc: Document, path: str, message: str, severity: Severity = Severity.error) -> None:
        self.findings.append(Finding(doc.file, doc.label, path, message, severity))


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


def lint_documents(documents: Iterable[Document]) -> list[Finding]:
    """Run every check over ``documents``; findings sorted by file, object and path."""
    from pressplay.lint import events, plugin_steps, references, shell, synchronization

    ctx = LintContext(list(documents))
    for doc in ctx.documents:
        if doc.kind in WORKFLOW_KINDS:
            spec = workflow_spec(doc)
            if spec is None:
                continue
            plugin_steps.check(ctx, doc, spec)
            references.check(ctx, doc, spec)
            shell.check(ctx, doc, spec)
            synchronization.check(ctx, doc, spec)
        elif doc.kind == "Sensor":
            events.check_sensor(ctx, doc)
        elif doc.kind == "EventSource":
            events.check_event_source(ctx, doc)
    return sorted(set(ctx.findings))
