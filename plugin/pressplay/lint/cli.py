"""``pressplay lint [PATH]``: the command-line face of :mod:`pressplay.lint`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from pressplay.lint.core import Severity, lint_documents
from pressplay.lint.load import LoadError, load_cluster, load_path

DEFAULT_PATH = "manifests"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pressplay lint",
        description=(
            "Check rendered Argo manifests: pressplay step arguments and outputs against the steps, "
            "task/step/template references, Workflow arguments against their WorkflowTemplate, no "
            "parameters in shell source, v4 synchronization syntax, anchored Sensor filters, slim "
            "withParam items, ServiceAccounts. PATH is a kustomization directory (rendered with kubectl "
            "kustomize), a directory of YAML files, a YAML file, or - for standard input. Every rule: "
            "docs/lint.md."
        ),
    )
    parser.add_argument(
        "path", nargs="?", default=DEFAULT_PATH, help=f"what to check (default: {DEFAULT_PATH})"
    )
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    parser.add_argument("--strict", action="store_true", help="warnings fail the run too")
    parser.add_argument("--kubectl", default=None, help="kubectl binary used to render a kustomization")
    parser.add_argument(
        "--installed",
        action="append",
        default=[],
        metavar="DIR",
        help="objects already installed (a kustomization, a folder of YAML or a file; repeatable): the "
        "WorkflowTemplates a Workflow references and the install's ServiceAccounts are looked up there, "
        "not linted (e.g. --installed manifests to lint a Workflow of your own)",
    )
    parser.add_argument(
        "--cluster",
        action="store_true",
        help="read the installed WorkflowTemplates and ServiceAccounts from the cluster with kubectl and "
        "your kubeconfig (read only)",
    )
    parser.add_argument("--namespace", help="with --cluster: the namespace (default: the kubeconfig's)")
    parser.add_argument("--context", help="with --cluster: the kubeconfig context")
    return parser


def plural(count: int, noun: str) -> str:
    """``1 error``, ``2 errors``, ``0 warnings``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def main(argv: Sequence[str] | None = None) -> int:
    """Exit code: 0 clean, 1 problems found, 2 the manifests could not be read."""
    args = build_parser().parse_args(list(argv) if argv is not None else None)
    try:
        documents = load_path(args.path, kubectl=args.kubectl)
        installed = [doc for path in args.installed for doc in load_path(path, kubectl=args.kubectl)]
        if args.cluster:
            installed += load_cluster(args.namespace, args.context, args.kubectl)
    except LoadError as exc:
        print(f"pressplay lint: {exc}", file=sys.stderr)
        return 2
    findings = lint_documents(documents, installed)
    errors = [f for f in findings if f.severity is Severity.error]
    warnings = [f for f in findings if f.severity is Severity.warning]
    if args.format == "json":
        print(json.dumps({"objects": len(documents), "findings": [f.as_dict() for f in findings]}, indent=2))
    else:
        for finding in findings:
            print(finding.format())
        print(
            f"pressplay lint: {plural(len(documents), 'object')}, {plural(len(errors), 'error')}, "
            f"{plural(len(warnings), 'warning')}",
            file=sys.stderr,
        )
    if errors or (args.strict and warnings):
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
