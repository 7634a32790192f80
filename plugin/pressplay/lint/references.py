"""References inside Workflow-like objects: templates, tasks/steps outputs, inputs, parameters."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pressplay.lint import expressions
from pressplay.lint.core import Document, LintContext, Severity, walk_strings
from pressplay.steps.execute import did_you_mean

# Node attributes besides outputs that {{tasks.X.<attr>}} / {{steps.X.<attr>}} may read.
_DEPENDS_TOKEN = re.compile(r"(?<![\w.-])([A-Za-z0-9][A-Za-z0-9_-]*)(\.[A-Za-z]+)?")
_DEPENDS_RESULTS = frozenset(
    {"Succeeded", "Failed", "Errored", "Skipped", "Omitted", "Daemoned", "AnySucceeded", "AllFailed"}
)
_NODE_ATTRS = frozenset({"id", "ip", "status", "startedAt", "finishedAt", "exitCode", "hostNodeName"})


@dataclass(frozen=True)
class Target:
    """The template a task, step or hook calls, and where it lives."""

    template: Mapping[str, Any]
    owner: str  # "" (same object) or "WorkflowTemplate/<name>"


def _named(items: Any) -> dict[str, Mapping[str, Any]]:
    out: dict[str, Mapping[str, Any]] = {}
    if isinstance(items, Sequence) and not isinstance(items, str):
        for item in items:
            if isinstance(item, Mapping) and isinstance(item.get("name"), str):
                out[item["name"]] = item
    return out


def _params(section: Any) -> dict[str, Mapping[str, Any]]:
    if isinstance(section, Mapping):
        return _named(section.get("parameters"))
    return {}


def _artifacts(section: Any) -> dict[str, Mapping[str, Any]]:
    if isinstance(section, Mapping):
        return _named(section.get("artifacts"))
    return {}


class _Checker:
    def __init__(self, ctx: LintContext, doc: Document, spec: Mapping[str, Any]) -> None:
        self.ctx = ctx
        self.doc = doc
        self.spec = spec
        self.templates = _named(spec.get("templates"))
        arguments = spec.get("arguments")
        self.workflow_params = set(_params(arguments))
        self.global_outputs: set[str] = set()

    def add(self, path: str, message: str, severity: Severity = Severity.error) -> None:
        self.ctx.add(self.doc, path, message, severity)

    # ---------------------------------------------------------------- template resolution
    def resolve(self, caller: Mapping[str, Any], path: str) -> Target | None:
        """The template ``caller`` (a task, step or hook) names, reporting what does not resolve."""
        if "template" in caller:
            name = caller.get("template")
            found = self.templates.get(str(name))
            if found is None:
                self.add(f"{path}.template", f"no template named {name!r} in this object")
                return None
            return Target(found, "")
        ref = caller.get("templateRef")
        if isinstance(ref, Mapping):
            cluster = bool(ref.get("clusterScope"))
            kind = "ClusterWorkflowTemplate" if cluster else "WorkflowTemplate"
            owner = self.ctx.workflow_template(str(ref.get("name")), cluster)
            if owner is None:
                self.add(
                    f"{path}.templateRef", f"no {kind} named {ref.get('name')!r} in the linted manifests"
                )
                return None
            owner_spec = owner.get("spec")
            found = _named(owner_spec.get("templates") if isinstance(owner_spec, Mapping) else None).get(
                str(ref.get("template"))
            )
            if found is None:
                self.add(
                    f"{path}.templateRef",
                    f"{kind} {ref.get('name')!r} has no template named {ref.get('template')!r}",
                )
                return None
            return Target(found, f"{kind}/{ref.get('name')}")
        if "inline" in caller and isinstance(caller.get("inline"), Mapping):
            return Target(caller["inline"], "")
        self.add(path, "names no template: give `template` or `templateRef`")
        return None

    def check_workflow_arguments(self, owner: Mapping[str, Any], called: str) -> None:
        """A Workflow's arguments against its workflowTemplateRef's: Argo merges the two lists
        (``JoinWorkflowSpec``), so a name the template does not declare is a typo that changes nothing,
        and a template parameter with no value on either side stops the submission."""
        owner_spec = owner.get("spec")
        declared = _params(owner_spec.get("arguments")) if isinstance(owner_spec, Mapping) else {}
        given = _params(self.spec.get("arguments"))
        for name in given:
            if name not in declared:
                self.add(
                    f"spec.arguments.parameters[{name}]",
                    f"{called} has no parameter {name!r};{did_you_mean(name, sorted(declared))} it declares "
                    f"{', '.join(sorted(declared)) or 'none'}",
                )
        for name, param in declared.items():
            has_value = "value" in param or "valueFrom" in param
            if not has_value and name not in given:
                self.add(
                    "spec.arguments",
                    f"{called} needs the parameter {name!r} (it has no value there): pass it under "
                    "spec.arguments.parameters",
                )

    def check_arguments(self, caller: Mapping[str, Any], target: Target, path: str) -> None:
        wanted = _params(target.template.get("inputs"))
        given = _params(caller.get("arguments"))
        called = target.template.get("name", "?")
        for name, param in wanted.items():
            has_default = "value" in param or "default" in param or "valueFrom" in param
            if name not in given and not has_default:
                self.add(f"{path}.arguments", f"template {called!r} needs the input parameter {name!r}")
        for name in given:
            if name not in wanted:
                self.add(
                    f"{path}.arguments.parameters[{name}]",
                    f"template {called!r} has no input parameter {name!r};"
                    f"{did_you_mean(name, sorted(wanted))} it declares "
                    f"{', '.join(sorted(wanted)) or 'none'}",
                )

    # ---------------------------------------------------------------- the object
    def run(self) -> None:
        for field in ("entrypoint", "onExit"):
            name = self.spec.get(field)
            if isinstance(name, str) and not expressions.has_tag(name) and name not in self.templates:
                if field == "entrypoint" and not self.templates and "workflowTemplateRef" in self.spec:
                    continue
                self.add(f"spec.{field}", f"no template named {name!r}")
        ref = self.spec.get("workflowTemplateRef")
        if isinstance(ref, Mapping):
            cluster = bool(ref.get("clusterScope"))
            owner = self.ctx.workflow_template(str(ref.get("name")), cluster)
            kind = "ClusterWorkflowTemplate" if cluster else "WorkflowTemplate"
            if owner is None:
                self.add(
                    "spec.workflowTemplateRef",
                    f"no {kind} named {ref.get('name')!r} in the linted manifests; if it is installed, "
                    "name the installed templates with `--installed DIR` (a folder or kustomization) or "
                    "read them from the cluster with `--cluster`",
                )
            else:
                self.check_workflow_arguments(owner, f"{kind} {ref.get('name')!r}")
        self.global_outputs = self._global_outputs()
        for name, template in self.templates.items():
            self.check_template(name, template)

    def _global_outputs(self) -> set[str]:
        names: set[str] = set()
        for template in self.templates.values():
            for param in _params(template.get("outputs")).values():
                global_name = param.get("globalName")
                if isinstance(global_name, str):
                    names.add(global_name)
        return names

    def check_template(self, name: str, template: Mapping[str, Any]) -> None:
        where = f"spec.templates[{name}]"
        inputs = set(_params(template.get("inputs"))) | {
            f"artifacts.{a}" for a in _artifacts(template.get("inputs"))
        }
        dag = template.get("dag")
        steps = template.get("steps")
        children: dict[str, tuple[Mapping[str, Any], Target | None, str]] = {}
        if isinstance(dag, Mapping):
            tasks = _named(dag.get("tasks"))
            for task_name, task in tasks.items():
                path = f"{where}.dag.tasks[{task_name}]"
                target = self.resolve(task, path)
                if target is not None:
                    self.check_arguments(task, target, path)
                children[task_name] = (task, target, path)
                self.check_depends(path, task, tasks)
        elif isinstance(steps, Sequence):
            for group_index, group in enumerate(steps):
                if not isinstance(group, Sequence):
                    continue
                for step_ in group:
                    if not isinstance(step_, Mapping):
                        continue
                    path = f"{where}.steps[{group_index}][{step_.get('name', '?')}]"
                    target = self.resolve(step_, path)
                    if target is not None:
                        self.check_arguments(step_, target, path)
                    children[str(step_.get("name"))] = (step_, target, path)
        scope = "tasks" if isinstance(dag, Mapping) else "steps" if isinstance(steps, Sequence) else ""
        for hook_name, hook in self._hooks(template):
            target = self.resolve(hook, f"{where}.hooks.{hook_name}")
            if target is not None:
                self.check_arguments(hook, target, f"{where}.hooks.{hook_name}")

        # Variables: in a DAG/steps template each child is checked on its own (item scope).
        if children:
            for _child_name, (child, _target, path) in children.items():
                loops = any(k in child for k in ("withParam", "withItems", "withSequence"))
                for sub_path, text in walk_strings(child, path):
                    self.check_text(sub_path, text, inputs, scope, children, loops)
            rest = {k: v for k, v in template.items() if k not in ("dag", "steps")}
            for sub_path, text in walk_strings(rest, where):
                self.check_text(sub_path, text, inputs, scope, children, False)
        else:
            for sub_path, text in walk_strings(template, where):
                self.check_text(sub_path, text, inputs, scope, children, False)

    def check_depends(
        self, path: str, task: Mapping[str, Any], tasks: Mapping[str, Mapping[str, Any]]
    ) -> None:
        """Names in `depends` / `dependencies` exist; a bare name of a conditional task is flagged."""
        for name in task.get("dependencies") or []:
            if name not in tasks:
                self.add(f"{path}.dependencies", f"no task named {name!r} in this DAG")
        depends = task.get("depends")
        if not isinstance(depends, str):
            return
        results: dict[str, set[str]] = {}
        for match in _DEPENDS_TOKEN.finditer(depends):
            if match.group(1) in tasks and match.group(2):
                results.setdefault(match.group(1), set()).add(match.group(2)[1:])
        for name, seen in sorted(results.items()):
            if "Failed" in seen and not {"Errored", "AllFailed"} & seen and "withParam" not in tasks[name]:
                self.add(
                    f"{path}.depends",
                    f"`{name}.Failed` without `{name}.Errored`: Argo keeps the two apart "
                    f"(evaluateDependsLogic), and a node ends in Error on a template or pod error, a "
                    f"plugin's Error answer or a failed agent pod; write `{name}.Failed || {name}.Errored`",
                    Severity.warning,
                )
        for match in _DEPENDS_TOKEN.finditer(depends):
            name, result = match.group(1), match.group(2)
            if name not in tasks:
                self.add(f"{path}.depends", f"no task named {name!r} in this DAG")
            elif result is None and "when" in tasks[name]:
                self.add(
                    f"{path}.depends",
                    f"`{name}` alone means {name}.Succeeded || {name}.Skipped || {name}.Daemoned, and "
                    f"{name!r} has a `when`: this task also runs when {name!r} is skipped; write "
                    f"`{name}.Succeeded` if it should run only after {name!r} ran",
                    Severity.warning,
                )
            elif result is not None and result[1:] not in _DEPENDS_RESULTS:
                self.add(
                    f"{path}.depends",
                    f"unknown result {result[1:]!r}; use one of {', '.join(sorted(_DEPENDS_RESULTS))}",
                )

    @staticmethod
    def _hooks(template: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
        hooks = template.get("hooks")
        if isinstance(hooks, Mapping):
            for name, hook in hooks.items():
                if isinstance(hook, Mapping):
                    yield str(name), hook

    def check_text(
        self,
        path: str,
        text: str,
        inputs: set[str],
        scope: str,
        children: Mapping[str, tuple[Mapping[str, Any], Target | None, str]],
        loops: bool,
    ) -> None:
        for tag in expressions.tags(text):
            for ref in expressions.references(tag):
                self.check_reference(path, ref, inputs, scope, children, loops)

    def check_reference(
        self,
        path: str,
        ref: expressions.Reference,
        inputs: set[str],
        scope: str,
        children: Mapping[str, tuple[Mapping[str, Any], Target | None, str]],
        loops: bool,
    ) -> None:
        parts = ref.text.split(".")
        if ref.scope == "inputs" and len(parts) >= 3 and parts[1] in ("parameters", "artifacts"):
            key = parts[2] if parts[1] == "parameters" else f"artifacts.{parts[2]}"
            if key not in inputs:
                self.add(
                    path, f"{{{{{ref.text}}}}}: this template declares no input {parts[1][:-1]} {parts[2]!r}"
                )
        elif ref.scope == "workflow" and len(parts) >= 3 and parts[1] == "parameters":
            if parts[2] not in self.workflow_params:
                self.add(
                    path,
                    f"{{{{{ref.text}}}}}: {parts[2]!r} is not among spec.arguments.parameters "
                    f"({', '.join(sorted(self.workflow_params)) or 'none'})",
                )
        elif ref.scope == "item":
            if not loops:
                self.add(path, f"{{{{{ref.text}}}}} is used outside a task or step with withParam/withItems")
        elif ref.scope in ("tasks", "steps"):
            self._check_node_ref(path, ref, parts, scope, children)

    def _check_node_ref(
        self,
        path: str,
        ref: expressions.Reference,
        parts: list[str],
        scope: str,
        children: Mapping[str, tuple[Mapping[str, Any], Target | None, str]],
    ) -> None:
        shown = f"{{{{{ref.text}}}}}"
        if ref.scope != scope:
            where = "a DAG template" if ref.scope == "tasks" else "a steps template"
            self.add(path, f"{shown}: `{ref.scope}.` references only work inside {where}")
            return
        if len(parts) < 3:
            return
        name = parts[1]
        if name not in children:
            self.add(
                path,
                f"{shown}: no {scope[:-1]} named {name!r} here (have: {', '.join(sorted(children)) or 'none'})",
            )
            return
        attr = parts[2]
        if attr in _NODE_ATTRS:
            return
        if attr != "outputs" or len(parts) < 4:
            self.add(path, f"{shown}: unknown attribute {attr!r}")
            return
        kind = parts[3]
        if kind in ("result", "exitCode"):
            return
        if kind not in ("parameters", "artifacts") or len(parts) < 5:
            self.add(
                path,
                f"{shown}: expected outputs.parameters.<name>, outputs.artifacts.<name> or outputs.result",
            )
            return
        target = children[name][1]
        if target is None:
            return  # already reported as unresolved
        declared = (
            _params(target.template.get("outputs"))
            if kind == "parameters"
            else _artifacts(target.template.get("outputs"))
        )
        output = parts[4]
        if output not in declared:
            called = target.template.get("name", "?")
            owner = f" of {target.owner}" if target.owner else ""
            self.add(
                path,
                f"{shown}: template {called!r}{owner} declares no output {kind[:-1]} {output!r} "
                f"(declared: {', '.join(sorted(declared)) or 'none'})",
            )


def check(ctx: LintContext, doc: Document, spec: Mapping[str, Any]) -> None:
    _Checker(ctx, doc, spec).run()
