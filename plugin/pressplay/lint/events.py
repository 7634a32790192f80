"""Argo Events objects: Sensor filters and triggers, GitHub EventSources."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from pressplay.lint.core import Document, LintContext, Severity

_HEADER_PATH = re.compile(r"^headers?\.([^.]+)")
# `field =~ 'regex'` / `field !~ "regex"` in a govaluate expression.
_EXPR_REGEX = re.compile(r"""([=!]~)\s*(?:'([^']*)'|"([^"]*)")""")


def _anchored(pattern: str) -> bool:
    """``^...$`` around the whole pattern (an unanchored Go regex matches anywhere)."""
    if not (pattern.startswith("^") and pattern.endswith("$")) or pattern.endswith("\\$"):
        return False
    # "^a$|^b$" is anchored per alternative only if every top-level alternative is anchored.
    depth = 0
    parts: list[str] = []
    current = ""
    escaped = False
    for char in pattern:
        if escaped:
            current += char
            escaped = False
            continue
        if char == "\\":
            escaped = True
            current += char
            continue
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        if char == "|" and depth == 0:
            parts.append(current)
            current = ""
            continue
        current += char
    parts.append(current)
    return all(part.startswith("^") and part.endswith("$") for part in parts)


def _check_path(ctx: LintContext, doc: Document, where: str, path: str, filter_type: str) -> None:
    match = _HEADER_PATH.match(path)
    if match is None:
        return
    if path.startswith("header."):
        ctx.add(doc, where, f"{path!r}: the GitHub event source puts headers under `headers` (plural)")
        return
    name = match.group(1)
    if name.lower().startswith("x-github-") and not name.startswith("X-Github-"):
        ctx.add(
            doc,
            where,
            f"{path!r}: header names are Go-canonical (`X-Github-Event`, lower-case h); better use "
            "`body.X-GitHub-Event`, the copy the GitHub source puts in the body",
        )
    elif filter_type == "string" and not re.search(r"\.\d+$", path):
        ctx.add(
            doc,
            where,
            f'{path!r} is an array of values (e.g. ["push"]), so a regex never matches it as intended: '
            "append `.0`, or use `body.X-GitHub-Event` / `body.X-GitHub-Delivery`",
        )


#: The ConfigMap the sidecar reads its allow-list from (manifests/settings, filled from the settings).
SETTINGS_CONFIGMAP = "pressplay-settings"


def _check_settings_repositories(
    ctx: LintContext, doc: Document, where: str, data: Mapping[str, Any]
) -> None:
    """Every ``owner/name`` of the sidecar's allow-list must pass the Sensor's repository filter, or
    its events are dropped although the settings list it (the two values live side by side in
    manifests/settings/settings.yaml). ``owner/*`` entries are not probed."""
    if (data.get("comparator") or "=") != "=":
        return
    listed = str(ctx.config_maps.get(SETTINGS_CONFIGMAP, {}).get("repositories") or "")
    patterns = [str(v) for v in data.get("value") or []]
    for repository in (part.strip() for part in listed.split(",")):
        if not repository or repository.endswith("/*"):
            continue
        try:
            matched = any(re.search(pattern, repository) for pattern in patterns)
        except re.error:
            return
        if not matched:
            ctx.add(
                doc,
                f"{where}.value",
                f"{repository!r} is in the settings' repositories but this filter drops its events; "
                "add it to `repositoryRegex` in the settings (manifests/settings/settings.yaml)",
            )


_GITHUB_EVENT_PATHS = ("body.X-GitHub-Event", "headers.X-Github-Event.0")


def _check_github_scope(ctx: LintContext, doc: Document, where: str, filters: Mapping[str, Any]) -> None:
    """A GitHub dependency must filter the installation and the repository: the EventSource publishes
    every delivery signed with the secret, and an App's webhook carries every installation's events."""
    paths = {str(f.get("path", "")) for f in filters.get("data") or [] if isinstance(f, Mapping)}
    if not paths & set(_GITHUB_EVENT_PATHS):
        return
    for path, what in (
        ("body.installation.id", "another installation's events (anyone's, if the App is public)"),
        ("body.repository.full_name", "events of every repository the App is installed on"),
    ):
        if path not in paths:
            ctx.add(
                doc,
                f"{where}.filters.data",
                f"no filter on {path}: {what} start this trigger; filter it "
                "(pressplay's Sensors take both from manifests/settings/settings.yaml)",
                Severity.warning,
            )


def check_sensor(ctx: LintContext, doc: Document) -> None:
    spec = doc.body.get("spec")
    if not isinstance(spec, Mapping):
        return
    dependencies = spec.get("dependencies") or []
    dep_names: list[str] = []
    narrowed: dict[str, set[str]] = {}
    for index, dep in enumerate(dependencies if isinstance(dependencies, Sequence) else []):
        if not isinstance(dep, Mapping):
            continue
        name = str(dep.get("name", index))
        dep_names.append(name)
        narrowed[name] = _narrowed_paths(dep)
        where = f"spec.dependencies[{name}]"
        filters = dep.get("filters")
        if not isinstance(filters, Mapping):
            continue
        for op_key in ("dataLogicalOperator", "exprLogicalOperator"):
            op = filters.get(op_key)
            if op is not None and op not in ("and", "or"):
                ctx.add(doc, f"{where}.filters.{op_key}", f"{op!r}: use lower-case `and` or `or`")
        op = dep.get("filtersLogicalOperator")
        if op is not None and op not in ("and", "or"):
            ctx.add(doc, f"{where}.filtersLogicalOperator", f"{op!r}: use lower-case `and` or `or`")
        for f_index, data in enumerate(filters.get("data") or []):
            if not isinstance(data, Mapping):
                continue
            f_where = f"{where}.filters.data[{f_index}]"
            path = str(data.get("path", ""))
            filter_type = str(data.get("type", ""))
            _check_path(ctx, doc, f_where, path, filter_type)
            if filter_type == "string":
                for value in data.get("value") or []:
                    if isinstance(value, str) and not _anchored(value):
                        ctx.add(
                            doc,
                            f"{f_where}.value",
                            f"{value!r} is an unanchored regex: it matches any value that merely contains "
                            "a match (as 'opened' matches 'reopened'); anchor it: "
                            f"'^{value.strip('^$')}$'",
                        )
            if path == "body.repository.full_name" and filter_type == "string":
                _check_settings_repositories(ctx, doc, f_where, data)
            if not data.get("value"):
                ctx.add(doc, f"{f_where}.value", "a data filter needs at least one value")
            if filter_type not in ("string", "number", "bool"):
                ctx.add(doc, f"{f_where}.type", f"{filter_type!r}: use `string`, `number` or `bool`")
        _check_github_scope(ctx, doc, where, filters)
        for e_index, expr in enumerate(filters.get("exprs") or []):
            if not isinstance(expr, Mapping):
                continue
            for _op, single, double in _EXPR_REGEX.findall(str(expr.get("expr", ""))):
                text = single or double
                if not _anchored(text):
                    ctx.add(
                        doc,
                        f"{where}.filters.exprs[{e_index}].expr",
                        f"{text!r} after =~ / !~ is an unanchored regex; anchor it: '^{text.strip('^$')}$'",
                    )
            for field in expr.get("fields") or []:
                if isinstance(field, Mapping):
                    _check_path(ctx, doc, f"{where}.filters.exprs[{e_index}]", str(field.get("path", "")), "")
    triggers = spec.get("triggers") or []
    for index, trigger in enumerate(triggers if isinstance(triggers, Sequence) else []):
        if isinstance(trigger, Mapping):
            _check_trigger(ctx, doc, index, trigger, dep_names, narrowed)


# GitHub payload fields whose value is free text someone wrote (a body, a title, a name set in a CI
# file, a commit message, a branch or label name chosen by a person): never a parameter in clear.
_EVENT_TEXT = re.compile(
    r"(?:^|\.)(?:body|title|message|description|name|ref|head_branch|label\.name|"
    r"labels\.#\(.*\)\.name|head_commit\.message|commits\.\d+\.message)$"
)
# ... except the ones GitHub constrains: repository names, logins and App slugs ([A-Za-z0-9._-]).
# A branch or label name counts as text unless the dependency's own filter holds it to brace-free
# characters (`^pressplay/task-[A-Za-z0-9._-]+$`): see _narrowed_paths.
_SAFE_TEXT = re.compile(r"(?:^|\.)(?:repository\.(?:full_)?name|owner\.login|sender\.login|app\.slug)$")


def _is_event_text(data_key: str) -> bool:
    key = data_key.removeprefix("body.")
    if _SAFE_TEXT.search(key):
        return False
    return bool(_EVENT_TEXT.search(key))


def _braceless(pattern: str) -> bool:
    """An anchored regex that can only match text without `{` or `}`: literals and character
    classes of its own (no `.`, no negated class, no `\\S`/`\\W`/`\\D`, no brace)."""
    if not (pattern.startswith("^") and pattern.endswith("$")):
        return False
    body = re.sub(r"\\[.\-/_+*?()|^$\[\]]", "", pattern)  # escaped literals
    if re.search(r"\\[SWDpPX]|\[\^|[{}]", body):
        return False
    outside = re.sub(r"\[[^\]]*\]", "", body)
    return "." not in outside


def _narrowed_paths(dep: Mapping[str, Any]) -> set[str]:
    """Paths a dependency's data filters hold to brace-free text (all values, `=` comparator)."""
    filters = dep.get("filters")
    found: set[str] = set()
    if not isinstance(filters, Mapping):
        return found
    for data in filters.get("data") or []:
        if not isinstance(data, Mapping) or data.get("comparator", "=") not in ("=", ""):
            continue
        values = data.get("value") or []
        if data.get("type") == "string" and values and all(_braceless(str(v)) for v in values):
            found.add(str(data.get("path", "")))
    return found


def _check_trigger(
    ctx: LintContext,
    doc: Document,
    index: int,
    trigger: Mapping[str, Any],
    dep_names: list[str],
    narrowed: Mapping[str, set[str]] | None = None,
) -> None:
    template = trigger.get("template")
    if not isinstance(template, Mapping):
        return
    where = f"spec.triggers[{template.get('name', index)}]"
    if len(dep_names) > 1 and not template.get("conditions"):
        ctx.add(
            doc,
            f"{where}.template.conditions",
            f"without `conditions` this trigger waits for ALL of {', '.join(dep_names)}; name the "
            "dependency (or `a || b`)",
        )
    if trigger.get("retryStrategy") and not trigger.get("atLeastOnce"):
        ctx.add(
            doc,
            f"{where}.retryStrategy",
            "retryStrategy only takes effect with `atLeastOnce: true`",
            Severity.warning,
        )
    if not trigger.get("rateLimit"):
        ctx.add(
            doc, f"{where}.rateLimit", "no rateLimit: a webhook storm submits without bound", Severity.warning
        )
    workflow = template.get("argoWorkflow")
    if not isinstance(workflow, Mapping):
        return
    operation = workflow.get("operation", "submit")
    if operation == "submit-from":
        ctx.add(
            doc,
            f"{where}.template.argoWorkflow.operation",
            "`submit-from` reports a failure after creating the Workflow (and may duplicate it on retry): "
            "use `submit` with a Workflow whose spec has `workflowTemplateRef`",
        )
    source = workflow.get("source")
    resource = source.get("resource") if isinstance(source, Mapping) else None
    if not isinstance(resource, Mapping):
        return
    res_where = f"{where}.template.argoWorkflow.source.resource"
    meta_raw = resource.get("metadata")
    meta: Mapping[str, Any] = meta_raw if isinstance(meta_raw, Mapping) else {}
    parameters = [p for p in workflow.get("parameters") or [] if isinstance(p, Mapping)]
    if operation == "submit":
        names_set = any(p.get("dest") == "metadata.name" for p in parameters)
        if "generateName" in meta or not names_set:
            ctx.add(
                doc,
                f"{res_where}.metadata",
                "name the Workflow from the delivery id (a parameter with dest `metadata.name`, e.g. from "
                "body.X-GitHub-Delivery) so a redelivered webhook is 'already exists', not a second run",
                Severity.warning,
            )
    spec_raw = resource.get("spec")
    spec: Mapping[str, Any] = spec_raw if isinstance(spec_raw, Mapping) else {}
    ref = spec.get("workflowTemplateRef")
    if isinstance(ref, Mapping):
        cluster = bool(ref.get("clusterScope"))
        if ctx.workflow_template(str(ref.get("name")), cluster) is None and ctx.templates:
            ctx.add(
                doc, f"{res_where}.spec.workflowTemplateRef", f"no WorkflowTemplate named {ref.get('name')!r}"
            )
        else:
            _check_arguments(ctx, doc, res_where, spec, ctx.workflow_template(str(ref.get("name")), cluster))
    elif operation == "submit":
        ctx.add(
            doc,
            f"{res_where}.spec",
            "submit a Workflow that references its WorkflowTemplate (workflowTemplateRef)",
        )
    arg_params = (spec.get("arguments") or {}).get("parameters") or []
    for p_index, param in enumerate(parameters):
        dest = str(param.get("dest", ""))
        match = re.fullmatch(r"spec\.arguments\.parameters\.(\d+)\.value", dest)
        if match and int(match.group(1)) >= len(arg_params):
            ctx.add(
                doc,
                f"{where}.template.argoWorkflow.parameters[{p_index}].dest",
                f"{dest!r}: the Workflow has only {len(arg_params)} argument parameters",
            )
        src = param.get("src")
        if (
            isinstance(src, Mapping)
            and (data_key := src.get("dataKey"))
            and _is_event_text(str(data_key))
            and str(data_key) not in (narrowed or {}).get(str(src.get("dependencyName")), set())
        ):
            ctx.add(
                doc,
                f"{where}.template.argoWorkflow.parameters[{p_index}].src.dataKey",
                f"{data_key!r} is text a person wrote, passed in clear: Argo templates parameter values "
                "again (common.SubstituteParams), so `{{` in it breaks or steers the flow. Pass it "
                f'base64: `dataTemplate: "{{{{ b64enc .Input.{data_key} }}}}"` (and `value: ""`), and '
                "decode it in the step ({b64: ...}) or the agent (contextB64); or, for a name, hold it to "
                "brace-free characters with a data filter on the same path (e.g. `^[A-Za-z0-9._/-]+$`)",
            )
        if isinstance(src, Mapping) and src.get("dependencyName") not in dep_names:
            ctx.add(
                doc,
                f"{where}.template.argoWorkflow.parameters[{p_index}].src.dependencyName",
                f"no dependency named {src.get('dependencyName')!r}",
            )


def _check_arguments(
    ctx: LintContext, doc: Document, where: str, spec: Mapping[str, Any], template: Mapping[str, Any] | None
) -> None:
    if template is None:
        return
    t_spec = template.get("spec")
    declared_list = (
        (t_spec.get("arguments") or {}).get("parameters") or [] if isinstance(t_spec, Mapping) else []
    )
    declared = {p.get("name"): p for p in declared_list if isinstance(p, Mapping)}
    given = [
        p.get("name") for p in (spec.get("arguments") or {}).get("parameters") or [] if isinstance(p, Mapping)
    ]
    for name in given:
        if name not in declared:
            ctx.add(doc, f"{where}.spec.arguments", f"WorkflowTemplate has no parameter {name!r}")
    for name, param in declared.items():
        if name not in given and "value" not in param:
            ctx.add(
                doc,
                f"{where}.spec.arguments",
                f"WorkflowTemplate parameter {name!r} has no value and is not given",
            )


def check_event_source(ctx: LintContext, doc: Document) -> None:
    spec = doc.body.get("spec")
    if not isinstance(spec, Mapping):
        return
    github = spec.get("github")
    if not isinstance(github, Mapping):
        return
    for name, source in github.items():
        if not isinstance(source, Mapping):
            continue
        where = f"spec.github.{name}"
        if not source.get("webhookSecret"):
            ctx.add(
                doc,
                f"{where}.webhookSecret",
                "no webhookSecret: Argo Events then accepts unsigned deliveries from anyone; set it "
                "(the same secret as the GitHub App's webhook)",
            )
        if source.get("apiToken"):
            ctx.add(
                doc,
                f"{where}.apiToken",
                "personal access tokens are not used by pressplay: use `githubApp` credentials",
            )
