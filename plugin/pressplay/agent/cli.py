"""``pressplay agent``: ``run`` one agent step; ``profiles`` checks an agents directory.

Every ``run`` option is also the variable ``PRESSPLAY_<OPTION>`` (``--task-id`` → ``PRESSPLAY_TASK_ID``);
flags win. Exit codes: 0 done (committed, already done, or nothing to change), 1 gates failed,
2 invalid input, 3 the agent failed, 4 git failed, 5 an unexpected error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from pressplay.agent.options import AgentOptions
from pressplay.agent.profile import ProfileError, load_profiles


def _bool(value: str) -> bool:
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise argparse.ArgumentTypeError(f"{value!r} is not a boolean: use true or false")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pressplay agent", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser(
        "run",
        help="run one agent step: checkout, agent, gates, commit, push, output files",
        description="Run one agent step. Every option is also PRESSPLAY_<OPTION>; flags win.",
    )
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
    add("--remote-url", help="git remote (default: the GitHub HTTPS URL of --repo)")
    add("--agent-command", help="replace the profile's command (shell-style argv, no shell is used)")
    add("--git-author-name", help="commit author name")
    add("--git-author-email", help="commit author email")
    add("--push", type=_bool, help="push the commit (default true)")
    profiles = sub.add_parser("profiles", help="validate agents.yaml and list the profiles")
    profiles.add_argument("--agents-dir", type=Path, default=None, help="default /etc/pressplay/agents")
    return parser


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
            gates = ", ".join(g.name for g in profile.gates) or "no gates"
            command = profile.command[0] if profile.command else "(gates only)"
            print(f"{name}: {command}; {gates}")
        return 0
    flags = {k: v for k, v in vars(args).items() if k != "command"}
    try:
        options = AgentOptions.from_sources(flags)
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"]) or "options"
            flag = "--" + where.replace("_", "-")
            print(
                f"pressplay agent run: {where} ({flag} or PRESSPLAY_{where.upper()}): {error['msg']}",
                file=sys.stderr,
            )
        return 2
    from pressplay.agent.runtime import run_step

    result = run_step(options)
    _flush_telemetry()
    return result.exit_code


def _flush_telemetry() -> None:
    """Export the step's span before the short-lived container exits (a no-op without OTEL_* set)."""
    from pressplay import telemetry

    provider = telemetry._state.get("tracer_provider")
    flush = getattr(provider, "force_flush", None)
    if callable(flush):
        flush(5000)
