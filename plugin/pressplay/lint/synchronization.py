"""Argo Workflows v4 synchronization (lists only, lock names without '/', semaphores that exist) and
bounded retries."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from pressplay.lint import expressions
from pressplay.lint.core import Document, LintContext, Severity

# ConfigMap keys (semaphores) allow only these characters.
_KEY_RE = re.compile(r"^[-._a-zA-Z0-9]+$")
# A parameter that holds a raw "owner/name" repository.
_RAW_REPO_RE = re.compile(r"\bparameters(?:\.|\[['\"])repo(?:['\"]\])?$")


def _check_lock_name(ctx: LintContext, doc: Document, path: str, name: str) -> None:
    literal = expressions.substitute(name, "")
    if "/" in literal:
        ctx.add(doc, path, f"lock name {name!r} contains '/': Argo splits lock keys on '/'; use '.' or '-'")
    for tag in expressions.tags(name):
        if _RAW_REPO_RE.search(tag.strip()):
            ctx.add(
                doc,
                path,
                f"lock name {name!r} expands a raw repository ('owner/name' has a '/'); pass an encoded "
                "key instead, e.g. {{=sprig.replace('/', '.', workflow.parameters.repo)}}",
            )


def _check_sync(ctx: LintContext, doc: Document, path: str, sync: Mapping[str, Any]) -> None:
    for old, new in (("semaphore", "semaphores"), ("mutex", "mutexes")):
        if old in sync:
            ctx.add(
                doc,
                f"{path}.{old}",
                f"`synchronization.{old}` was removed in Argo Workflows v4: use the list "
                f"`synchronization.{new}: [...]`",
            )
    mutexes = sync.get("mutexes")
    if isinstance(mutexes, Sequence):
        for index, mutex in enumerate(mutexes):
            if isinstance(mutex, Mapping) and isinstance(mutex.get("name"), str):
                _check_lock_name(ctx, doc, f"{path}.mutexes[{index}].name", mutex["name"])
    semaphores = sync.get("semaphores")
    if isinstance(semaphores, Sequence):
        for index, semaphore in enumerate(semaphores):
            if not isinstance(semaphore, Mapping):
                continue
            ref = semaphore.get("configMapKeyRef")
            if not isinstance(ref, Mapping):
                continue
            where = f"{path}.semaphores[{index}].configMapKeyRef"
            key = str(ref.get("key", ""))
            _check_lock_name(ctx, doc, f"{where}.key", key)
            if not expressions.has_tag(key) and not _KEY_RE.match(key):
                ctx.add(doc, f"{where}.key", f"{key!r} is not a valid ConfigMap key (letters, digits, '-._')")
            cm_name = str(ref.get("name", ""))
            if "namespace" in semaphore or expressions.has_tag(cm_name):
                continue
            if cm_name not in ctx.config_maps:
                if ctx.config_maps:
                    ctx.add(
                        doc,
                        f"{where}.name",
                        f"no ConfigMap {cm_name!r} in the linted manifests: Argo fails the Workflow when "
                        "the semaphore's ConfigMap or key is missing",
                    )
                else:
                    ctx.add(
                        doc,
                        f"{where}.name",
                        f"ConfigMap {cm_name!r} is not among the linted manifests",
                        Severity.warning,
                    )
                continue
            if not expressions.has_tag(key) and key not in ctx.config_maps[cm_name]:
                ctx.add(
                    doc,
                    f"{where}.key",
                    f"ConfigMap {cm_name!r} has no key {key!r}: Argo fails the Workflow "
                    '("Sync configuration key ... not found")',
                )


def _check_retry(ctx: LintContext, doc: Document, path: str, retry: Any) -> None:
    """A retryStrategy without `limit` retries forever; a backoff `maxDuration` hides the real error."""
    if isinstance(retry, Mapping) and "limit" not in retry:
        ctx.add(
            doc, path, 'retryStrategy without `limit` retries without end: give a limit (e.g. limit: "2")'
        )
    backoff = retry.get("backoff") if isinstance(retry, Mapping) else None
    if isinstance(backoff, Mapping) and backoff.get("maxDuration"):
        ctx.add(
            doc,
            f"{path}.backoff.maxDuration",
            "maxDuration counts from the first attempt's start, and once it has passed Argo ends the node "
            'with "Max duration limit exceeded" instead of the failed attempt\'s own message, retryable or '
            "not (processNodeRetries): a long wait or agent run that fails loses its reason. Bound the "
            "retries with `limit` and the time with the template's `timeout` / `activeDeadlineSeconds`",
            Severity.warning,
        )


def check(ctx: LintContext, doc: Document, spec: Mapping[str, Any]) -> None:
    _check_retry(ctx, doc, "spec.retryStrategy", spec.get("retryStrategy"))
    sync = spec.get("synchronization")
    if isinstance(sync, Mapping):
        _check_sync(ctx, doc, "spec.synchronization", sync)
    templates = spec.get("templates")
    if isinstance(templates, Sequence):
        for index, template in enumerate(templates):
            if isinstance(template, Mapping):
                where = f"spec.templates[{template.get('name', index)}]"
                _check_retry(ctx, doc, f"{where}.retryStrategy", template.get("retryStrategy"))
            if isinstance(template, Mapping) and isinstance(template.get("synchronization"), Mapping):
                where = f"spec.templates[{template.get('name', index)}].synchronization"
                _check_sync(ctx, doc, where, template["synchronization"])
