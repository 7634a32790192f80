"""``pressplay lint [PATH]``: the command-line face of :mod:`pressplay.lint`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from pressplay.lint.core import Severity, lint_documents
from pressplay.lint.load import LoadError, load_path

DEFAULT_PATH = "manifests"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pressplay lint",
        description=(
            "Check rendered Argo manifests: pressplay step arguments against the step models, task/step/"
            "template references, no parameters in shell source, v4 synchronization syntax, anchored "
            "Sensor filters. PATH is a kustomization directory (rendered with `kubectl kustomize`), a "
            "directory of YAML files, a YAML file, or - for standard input."
        ),
    )
    parser.add_argument(
        "path", nargs="?", default=DEFAULT_PATH, help=f"what to check (default: {DEFAULT_PATH})"
    )
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    parser.add_argument("--strict", action="store_true", help="warnings fail the run too")
    parser.add_argument("--kubectl", default=None, help="kubectl binary used to render a kustomization")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Exit code: 0 clean, 1 problems found, 2 the manifests could not be read."""
    args = build_parser().parse_args(list(argv) if argv is not None else None)
    try:
        documents = load_path(args.path, kubectl=args.kubectl)
    except LoadError as exc:
        print(f"pressplay lint: {exc}", file=sys.stderr)
        return 2
    findings = lint_documents(documents)
    errors = [f for f in findings if f.severity is Severity.error]
    warnings = [f for f in findings if f.severity is Severity.warning]
    if args.format == "json":
        print(json.dumps({"objects": len(documents), "findings": [f.as_dict() for f in findings]}, indent=2))
    else:
        for finding in findings:
            print(finding.format())
        print(
            f"pressplay lint: {len(documents)} objects, {len(errors)} error(s), {len(warnings)} warning(s)",
            file=sys.stderr,
        )
    if errors or (args.strict and warnings):
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
