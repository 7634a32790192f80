"""No whole ConfigMap loaded into a container's environment (``envFrom: configMapRef``).

``envFrom`` turns *every* key of the ConfigMap into a variable, now and after any later edit of it:
a ``PRESSPLAY_GITHUB_API_URL`` key in a telemetry ConfigMap would send the App's JWTs elsewhere, a
``PRESSPLAY_AGENT_COMMAND`` key would replace the agent. pressplay's programs read their settings
from ``PRESSPLAY_*`` variables, so whoever may edit that ConfigMap could reconfigure them. Name each
variable instead (``env: [{name: OTEL_SERVICE_NAME, valueFrom: {configMapKeyRef: {name: ..., key:
OTEL_SERVICE_NAME, optional: true}}}]``). Checked in every container of Workflow-like objects and in
the sidecar of executor-plugin ConfigMaps. (``secretRef`` is not reported: a Secret of credentials for
one container is loaded whole on purpose.)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import yaml

from pressplay.lint.core import Document, LintContext

PLUGIN_LABEL = "workflows.argoproj.io/configmap-type"


def _message(name: str) -> str:
    return (
        f"envFrom ConfigMap {name!r} makes every key of it an environment variable (a PRESSPLAY_* key "
        "there would change pressplay's settings, e.g. PRESSPLAY_GITHUB_API_URL); list the variables "
        "one by one: env: [{name: X, valueFrom: {configMapKeyRef: {name: ..., key: X, optional: true}}}]"
    )


def _check_container(ctx: LintContext, doc: Document, path: str, container: Mapping[str, Any]) -> None:
    sources = container.get("envFrom")
    if not isinstance(sources, Sequence) or isinstance(sources, str):
        return
    for index, source in enumerate(sources):
        if isinstance(source, Mapping) and isinstance(source.get("configMapRef"), Mapping):
            name = str(source["configMapRef"].get("name", "?"))
            ctx.add(doc, f"{path}.envFrom[{index}].configMapRef", _message(name))


def _containers(template: Mapping[str, Any], where: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for key in ("container", "script"):
        body = template.get(key)
        if isinstance(body, Mapping):
            yield f"{where}.{key}", body
    container_set = template.get("containerSet")
    if isinstance(container_set, Mapping):
        for container in container_set.get("containers") or []:
            if isinstance(container, Mapping):
                yield f"{where}.containerSet[{container.get('name', '?')}]", container
    for group_key in ("initContainers", "sidecars"):
        for container in template.get(group_key) or []:
            if isinstance(container, Mapping):
                yield f"{where}.{group_key}[{container.get('name', '?')}]", container


def check(ctx: LintContext, doc: Document, spec: Mapping[str, Any]) -> None:
    """Every container of a Workflow, WorkflowTemplate, ClusterWorkflowTemplate or CronWorkflow."""
    templates = spec.get("templates")
    if isinstance(templates, Sequence):
        for index, template in enumerate(templates):
            if isinstance(template, Mapping):
                where = f"spec.templates[{template.get('name', index)}]"
                for path, container in _containers(template, where):
                    _check_container(ctx, doc, path, container)
    defaults = spec.get("templateDefaults")
    if isinstance(defaults, Mapping):
        for path, container in _containers(defaults, "spec.templateDefaults"):
            _check_container(ctx, doc, path, container)


def check_plugin_configmap(ctx: LintContext, doc: Document) -> None:
    """The sidecar of an executor plugin (``data["sidecar.container"]``, a YAML string)."""
    labels = (doc.body.get("metadata") or {}).get("labels") or {}
    if not isinstance(labels, Mapping) or labels.get(PLUGIN_LABEL) != "ExecutorPlugin":
        return
    data = doc.body.get("data")
    text = data.get("sidecar.container") if isinstance(data, Mapping) else None
    if not isinstance(text, str):
        return
    try:
        container = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        ctx.add(doc, "data.sidecar.container", f"not YAML: {exc}")
        return
    if isinstance(container, Mapping):
        _check_container(ctx, doc, "data.sidecar.container", container)
