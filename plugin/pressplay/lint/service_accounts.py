"""ServiceAccounts: a workflow's pods run as the ServiceAccount the install creates for them.

Without ``serviceAccountName`` (on the Workflow, or on the WorkflowTemplate it references: Argo
merges the two specs) a workflow's pods run as the namespace's ``default`` account, which the
install grants nothing: the executor cannot report outputs (``workflowtaskresults``) and the
executor plugin's agent pod cannot read its token. Checked when the install's ServiceAccounts are
known: linted with the manifests, or given with ``--installed`` / ``--cluster``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pressplay.lint.core import Document, LintContext, Severity

#: the ServiceAccount manifests/plugin/workflow-rbac.yaml creates for workflow pods
WORKFLOW_SERVICE_ACCOUNT = "pressplay-workflow"


def _referenced_spec(ctx: LintContext, spec: Mapping[str, Any]) -> Mapping[str, Any] | None:
    ref = spec.get("workflowTemplateRef")
    if not isinstance(ref, Mapping):
        return None
    owner = ctx.workflow_template(str(ref.get("name")), bool(ref.get("clusterScope")))
    owner_spec = owner.get("spec") if owner is not None else None
    return owner_spec if isinstance(owner_spec, Mapping) else None


def check(ctx: LintContext, doc: Document, spec: Mapping[str, Any]) -> None:
    if doc.kind == "ClusterWorkflowTemplate":
        return  # used from many namespaces: the Workflow that runs it names the account
    account = spec.get("serviceAccountName")
    if account is None:
        referenced = _referenced_spec(ctx, spec)
        if referenced is None and "workflowTemplateRef" in spec:
            return  # the template is unknown: references already says so
        account = referenced.get("serviceAccountName") if referenced is not None else None
    known = sorted(ctx.service_accounts)
    if not known:
        return  # the install is not among the linted or installed objects: nothing to compare with
    suggestion = WORKFLOW_SERVICE_ACCOUNT if WORKFLOW_SERVICE_ACCOUNT in known or not known else known[0]
    if account is None:
        ctx.add(
            doc,
            "spec",
            "no serviceAccountName: the pods would run as the namespace's `default` ServiceAccount, "
            f"which the install grants nothing; set `serviceAccountName: {suggestion}` (the account "
            "pressplay's install creates for workflow pods)",
            Severity.warning,
        )
    elif isinstance(account, str) and "{{" not in account and account not in known:
        ctx.add(
            doc,
            "spec.serviceAccountName",
            f"no ServiceAccount named {account!r} in the linted or installed manifests (they create "
            f"{', '.join(known)}); use {suggestion!r}, or name the installed objects with `--installed`",
            Severity.warning,
        )
