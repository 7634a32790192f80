"""``pressplay demo``: press play on a sample repository on this machine (no cluster, no GitHub account).

State (the local git remote, the GitHub emulator's snapshot, agent logs) lives in ``--state-dir``
(default ``./.pressplay-demo``); running the demo again resumes from it, and does nothing new when
every task is merged. ``--reset`` starts over.

The demo runs on the test kit's emulators, which come with the testing extra: without it, the command
prints ``pip install 'pressplay[testing]'`` and exits 2.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DEFAULT_STATE_DIR = Path(".pressplay-demo")


def build_parser() -> argparse.ArgumentParser:
    # help text is plain text: the docstring's reStructuredText literals lose their backticks
    parser = argparse.ArgumentParser(
        prog="pressplay demo", description=__doc__.split("\n\n")[0].replace("``", "")
    )
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR, help="default ./.pressplay-demo")
    parser.add_argument(
        "--reset", action="store_true", help="delete the state directory first and start over"
    )
    parser.add_argument(
        "--sample",
        choices=("python", "rust"),
        default="python",
        help="the sample project (rust needs cargo with clippy and rustfmt); fixed once the state exists",
    )
    parser.add_argument(
        "--agent-cmd",
        help="a real agent CLI instead of the scripted agent, e.g. 'claude -p' (prompt on stdin; no shell)",
    )
    parser.add_argument(
        "--faults",
        default="",
        help="make the scripted agent misbehave on task N: lint:N, lint-once:N, ci:N, ci-unfixable:N "
        "(comma-separated)",
    )
    parser.add_argument("--until", help="stop every task before this step of the task pipeline (e.g. merge)")
    parser.add_argument("--prompt-mod", default="", help="text put in front of every agent prompt")
    parser.add_argument(
        "--comment",
        action="append",
        default=[],
        metavar="TASK=TEXT",
        help="after press-play, comment TEXT on task TASK's open PR as a trusted member and run the "
        "pr-remediation flow (use with --until merge; repeatable)",
    )
    return parser


def _parse_comments(raw: list[str]) -> list[tuple[str, str]] | str:
    found = []
    for item in raw:
        task, sep, text = item.partition("=")
        if not sep or not task.strip() or not text.strip():
            return f"--comment {item!r}: write it as TASK=TEXT, e.g. --comment '1=Please rename greet'"
        found.append((task.strip(), text.strip()))
    return found


def _missing_testing_extra() -> str | None:
    """The install hint when the test kit the demo runs on (its emulators) is not installed."""
    try:
        import pressplay.testing  # noqa: F401  (raises ImportError with the hint without the extra)
    except ImportError as exc:
        return str(exc)
    return None


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    if (hint := _missing_testing_extra()) is not None:
        print(f"pressplay demo: {hint}", file=sys.stderr)
        return 2
    from pressplay.demo.pipeline import TASK_STEPS

    if args.until is not None and args.until not in TASK_STEPS:
        print(f"pressplay demo: --until {args.until!r}: use one of {', '.join(TASK_STEPS)}", file=sys.stderr)
        return 2
    if args.sample == "rust" and (shutil.which("cargo") is None):
        print("pressplay demo: --sample rust needs cargo (with clippy and rustfmt) on PATH", file=sys.stderr)
        return 2
    from pressplay.demo.sample import TASKS
    from pressplay.demo.scripted_agent import parse_faults

    try:
        parse_faults(args.faults, (str(task["id"]) for task in TASKS))
    except ValueError as exc:
        print(f"pressplay demo: {exc}", file=sys.stderr)
        return 2
    comments = _parse_comments(args.comment)
    if isinstance(comments, str):
        print(f"pressplay demo: {comments}", file=sys.stderr)
        return 2
    agent_command = shlex.split(args.agent_cmd) if args.agent_cmd else None
    if agent_command is not None and shutil.which(agent_command[0]) is None:
        print(f"pressplay demo: --agent-cmd: {agent_command[0]!r} is not on PATH", file=sys.stderr)
        return 2
    state_dir: Path = args.state_dir.resolve()
    if args.reset and state_dir.exists():
        shutil.rmtree(state_dir)

    from pressplay.demo.runner import Demo, render_table
    from pressplay.demo.world import World

    out = sys.stdout
    resume = (state_dir / "remote.git").exists()
    out.write(
        f"pressplay demo: {'resuming from' if resume else 'starting in'} {state_dir} "
        f"(agent: {args.agent_cmd or 'scripted'}; agent output in {state_dir / 'agent.log'})\n"
    )
    with World(state_dir, language=args.sample, agent_command=agent_command) as world:
        out.write(
            f"GitHub emulator {world.github.url}, Argo CD emulator {world.kube.url}, sidecar {world.sidecar.url}\n"
        )
        demo = Demo(world, out, faults=args.faults, until=args.until, prompt_mod=args.prompt_mod)
        reports = demo.press_play()
        remediation_failed = _remediate(world, demo, comments, out)
    if reports:
        out.write("\n" + render_table(reports) + "\n")
    failed = [r for r in reports if r.outcome != "merged" and not r.outcome.startswith("stopped before")]
    return 1 if failed or remediation_failed else 0


def _remediate(world: Any, demo: Any, comments: list[tuple[str, str]], out: Any) -> bool:
    """Run the pr-remediation flow for each ``--comment``; True when one of them failed."""
    failed = False
    for task, text in comments:
        pull = next(
            (
                p
                for p in world.pulls()
                if p["head"]["ref"] == f"pressplay/task-{task}" and p["state"] == "open"
            ),
            None,
        )
        if pull is None:
            out.write(f"--comment {task}=...: task {task} has no open PR (run with --until merge first)\n")
            failed = True
            continue
        number = int(pull["number"])
        comment_id = world.comment_as_member(number, text)
        out.write(f"pr-remediation for task {task}: comment {comment_id} on PR #{number}\n")
        result = demo.remediate(task, number, comment_id, text)
        failed = failed or (result is not None and not result.ok)
    return failed
