"""``pressplay step KEY --arg NAME=VALUE ...``: run one step once, in this process, outside the sidecar.

For the rare moment a plugin step cannot run: Argo keeps a Failed agent pod (an eviction) until the
Workflow ends and marks every later plugin node of that Workflow Error
(``updateAgentPodStatus`` → ``markTaskSetNodesError``), so a template that must still reach GitHub
then (the task's stop report) runs this in a pod of its own. The step is the same code with the same
argument model and the same idempotency as under the sidecar: a sticky comment run here and by the
sidecar is still one comment. GitHub App settings come from ``PRESSPLAY_*`` as for ``serve``
(``PRESSPLAY_GITHUB_APP_ID``, ``PRESSPLAY_GITHUB_PRIVATE_KEY_FILE``, ...); the Workflow from
``ARGO_WORKFLOW`` / ``ARGO_NAMESPACE`` when set.

Exit status: 0 Succeeded (the outputs are printed as JSON), 1 Failed (the message on stderr), 3 the
step wants to wait (``Running``): waiting needs the plugin's requeue, so a wait is refused here.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from pressplay.config import Settings
from pressplay.steps.base import Failed, Running, WorkflowMeta
from pressplay.steps.execute import Call, execute
from pressplay.steps.registry import installed

#: Where Kubernetes reads a container's termination message (the node's message in Argo).
TERMINATION_LOG = Path("/dev/termination-log")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pressplay step",
        description="Run one step once, in this process (for a pod of its own when the plugin cannot answer).",
    )
    p.add_argument("key", help="the step's key under plugin.pressplay, e.g. comment")
    p.add_argument(
        "--arg",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="one argument, as the template's plugin step would give it (repeatable)",
    )
    return p


def _arguments(pairs: Sequence[str], parser: argparse.ArgumentParser) -> dict[str, str]:
    args: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            parser.error(f"--arg {pair!r}: write NAME=VALUE, e.g. --arg repo=acme/api")
        if name in args:
            parser.error(f"--arg {name} given twice")
        args[name] = value
    return args


def _report(message: str) -> None:
    print(message, file=sys.stderr)
    with contextlib.suppress(OSError):  # not in a container: stderr is the record
        TERMINATION_LOG.write_text(message[:4000], encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    ns = parser.parse_args(argv)
    steps = installed()
    if ns.key not in steps:
        parser.error(f"no step {ns.key!r}: the installed steps are {', '.join(steps.keys())}")
    body = {ns.key: _arguments(ns.arg, parser)}
    workflow = WorkflowMeta(
        name=os.environ.get("ARGO_WORKFLOW", ""),
        namespace=os.environ.get("ARGO_NAMESPACE", ""),
        uid=os.environ.get("ARGO_WORKFLOW_UID", ""),
    )
    call = Call(body=body, workflow=workflow, template_name=f"step-{ns.key}")
    outcome = execute(call, Settings(), steps=steps)
    if isinstance(outcome, Failed):
        _report(outcome.message)
        return 1
    if isinstance(outcome, Running):
        _report(
            f"step {ns.key} wants to wait ({outcome.message}); `pressplay step` runs a step once: "
            "run waits as plugin steps"
        )
        return 3
    print(json.dumps(dict(outcome.outputs), ensure_ascii=False, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
