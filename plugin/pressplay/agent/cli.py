"""``pressplay agent``: the three phases of one agent step; ``profiles`` checks an agents directory.

``checkout`` (holds the App key: a fresh checkout, the trusted start recorded), ``run`` (the agent,
the gates and a local commit; no key, no token), ``push`` (holds the App key: verifies the commit and
pushes it to the task's branch). The ``agent-step`` template runs them as three containers of one
pod; see docs/agent-image.md. Every option is also the variable ``PRESSPLAY_<OPTION>``
(``--task-id`` → ``PRESSPLAY_TASK_ID``); flags win. Exit codes: 0 done (committed, already done, or
nothing to change), 1 gates failed, 2 invalid input, 3 the agent failed, 4 git failed, 5 an
unexpected error.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from pressplay.agent.options import AgentOptions
from pressplay.agent.profile import ProfileError, load_profiles

if TYPE_CHECKING:
    from pressplay.agent.runtime import StepResult


def _bool(value: str) -> bool:
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise argparse.ArgumentTypeError(f"{value!r} is not a boolean: use true or false")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pressplay agent", description=__doc__.split("\n\n")[0].replace("``", "")
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_ in PHASES.items():
        _add_step_options(
            sub.add_parser(
                name, help=help_, description=f"{help_}. Every option is also PRESSPLAY_<OPTION>; flags win."
            )
        )
    profiles = sub.add_parser("profiles", help="validate agents.yaml and list the profiles")
    profiles.add_argument("--agents-dir", type=Path, default=None, help="default /etc/pressplay/agents")
    return parser


PHASES = {
    "checkout": "check out the task branch in a fresh workspace and record the trusted start (holds the App key)",
    "run": "run the agent, the gates and a local commit in the checked-out workspace (no key, no token)",
    "push": "verify the agent's commit and push it to the task branch (holds the App key)",
}


def _add_step_options(run: argparse.ArgumentParser) -> None:
    add = run.add_argument
    add("--repo", help="owner/name")
    add("--base", help="branch a new branch starts from (default main)")
    add("--branch", help="branch to work on, e.g. pressplay/task-7")
    add("--working-directory", help="directory inside the repository for the agent and gates (default .)")
    add("--agent", help="agent profile name (a key of agents.yaml)")
    add("--model", help="model for the agent CLI (default: the profile's)")
    add("--task-id", help="task id")
    add("--step", help="this step's identity for the Pressplay-Step trailer (default: the agent name)")
    add("--prompt-path", help="task prompt, relative to the repository root")
    add("--prompt-mod", help="text put before the task prompt")
    add("--prompt-mod-file", type=Path, help="file whose text is added to prompt_mod")
    add("--context-file", dest="context_files", action="append", type=Path, help="extra context (repeatable)")
    add("--attempts", type=int, help="agent attempts (default: the profile's)")
    add("--timeout", help="timeout of one agent attempt, e.g. 45m (default: the profile's)")
    add("--agents-dir", type=Path, help="the mounted agents ConfigMap (default /etc/pressplay/agents)")
    add("--workspace", type=Path, help="where the repository is cloned (default /workspace)")
    add("--outputs-dir", type=Path, help="where Argo output files go (default /tmp/outputs)")
    add("--state-dir", type=Path, help="checkout's record for push (default /var/run/pressplay/state)")
    add("--remote-url", help="git remote (default: the GitHub HTTPS URL of --repo)")
    add("--agent-command", help="replace the profile's command (shell-style argv, no shell is used)")
    add("--git-author-name", help="commit author name")
    add("--git-author-email", help="commit author email")
    add("--push", type=_bool, help="push the commit (default true; `push` ignores it)")


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    if args.command == "profiles":
        from pressplay.agent.options import DEFAULT_AGENTS_DIR

        try:
            found = load_profiles(args.agents_dir or DEFAULT_AGENTS_DIR)
        except ProfileError as exc:
            print(f"pressplay agent profiles: {exc}", file=sys.stderr)
            return 2
        for name, profile in sorted(found.items()):
            names = [g.name for g in profile.gates if g.language is None]
            languages = list(dict.fromkeys(g.language for g in profile.gates if g.language))
            if languages:  # an `auto` preset: the gates of the repository's language(s)
                names.insert(0, f"auto ({'|'.join(languages)}, or PRESSPLAY_GATES)")
            gates = ", ".join(names) or "no gates"
            command = profile.command[0] if profile.command else "(gates only)"
            print(f"{name}: {command}; {gates}")
        return 0
    from pressplay.redact import register_environment

    register_environment(os.environ)  # before anything can print a secret of this process
    flags = {k: v for k, v in vars(args).items() if k != "command"}
    try:
        options = AgentOptions.from_sources(flags)
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"]) or "options"
            flag = "--" + where.replace("_", "-")
            print(
                f"pressplay agent {args.command}: {where} ({flag} or PRESSPLAY_{where.upper()}): {error['msg']}",
                file=sys.stderr,
            )
        return 2
    result: StepResult | None
    if args.command == "checkout":
        from pressplay.agent.checkout import checkout_phase

        os.umask(0o002)  # the agent (another UID, the workspace's group) writes in this checkout
        result = checkout_phase(options)
    elif args.command == "push":
        from pressplay.agent.push import push_phase

        result = push_phase(options)
    else:
        from pressplay.agent.process import become_subreaper
        from pressplay.agent.runtime import agent_phase

        become_subreaper()  # what the agent leaves running in the background comes to us to be stopped
        result = agent_phase(options)
    code = result.exit_code if result is not None else 0
    if result is not None and code != 0:
        write_termination_message(f"{result.status}: {result.summary}")
    _flush_telemetry()
    return code


#: Where Kubernetes reads a container's termination message (the container's ``terminationMessagePath``).
TERMINATION_LOG = Path("/dev/termination-log")


def write_termination_message(message: str, path: Path | None = None) -> None:
    """Tell Kubernetes why this container failed: the kubelet puts the file's text into the container's
    ``terminated.message``, and Argo appends it to the node's message (``inferFailedReason``), so a failed
    agent step says why (``gates-failed: ...``) instead of only ``main: Error (exit code 1)``. Redacted,
    at most 4 KiB (the kubelet's limit); nothing happens where the file is absent (outside a pod)."""
    from pressplay.redact import redact

    target = path or Path(os.environ.get("PRESSPLAY_TERMINATION_LOG") or TERMINATION_LOG)
    if not target.exists():
        return
    data = redact(message).encode("utf-8")[:4000].decode("utf-8", "ignore")
    with contextlib.suppress(OSError):
        target.write_text(data, encoding="utf-8")


def _flush_telemetry() -> None:
    """Export the step's span before the short-lived container exits (a no-op without OTEL_* set)."""
    from pressplay import telemetry

    provider = telemetry._state.get("tracer_provider")
    flush = getattr(provider, "force_flush", None)
    if callable(flush):
        flush(5000)
