"""A simulated press-play: each task goes through the plugin steps of the ``task`` flow, driven over
real HTTP by Argo's agent emulator, against the GitHub emulator; then an audit of what GitHub holds.

Per task (branch ``pressplay/task-<id>`` pushed beforehand, CI simulated on push):

1. ``pullRequest`` head→main with labels ``pressplay`` and ``task-<id>`` (outputs number, url);
2. ``comment`` the sticky status comment ``task-<id>/status`` ("checks running");
3. ``checks`` on the PR (requeued until CI settles);
4. ``comment`` the same key again with the verdict (updated in place, never a second comment);
5. ``status`` ``pressplay/acceptance`` on the head;
6. ``merge`` (direct, pinned to the head SHA): merged once, however often it is called.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from pressplay.testing.agent import AgentEmulator, Result, make_template
from tests.reliability._figures import add
from tests.reliability._secrets import emitted

REPO_FILES = {"README.md": "# api\n", "app.py": "print('hello')\n"}


@dataclass
class TaskRun:
    task: str
    branch: str
    results: list[tuple[str, Result]] = field(default_factory=list)
    error: str = ""

    @property
    def failed(self) -> list[tuple[str, Result]]:
        return [(key, r) for key, r in self.results if r.phase != "Succeeded"]


def prepare(gh: Any, repo: str, tasks: Iterable[str], *, polls: int = 2) -> dict[str, str]:
    """Create ``repo`` with CI (``build`` passes after ``polls`` reads) and push one branch per task."""
    gh.create_repo(repo, files=REPO_FILES)
    gh.simulate_ci(repo, {"build": "success"}, after_polls=polls, branches=r"pressplay/task-.*")
    branches = {}
    for task in tasks:
        branch = f"pressplay/task-{task}"
        gh.push(repo, branch, {f"task_{task}.py": f"# task {task}\n"}, message=f"Task {task}")
        branches[task] = branch
    return branches


def steps_for(
    repo: str, task: str, branch: str
) -> list[tuple[str, Callable[[dict[str, str]], dict[str, Any]], list[str]]]:
    """(step key, args from the outputs so far, outputs to declare) for one task."""
    key = f"task-{task}/status"
    return [
        (
            "pullRequest",
            lambda out: {
                "repo": repo,
                "head": branch,
                "base": "main",
                "title": f"Task {task}: the change",
                "body": f"Carries task {task}.",
                "labels": ["pressplay", f"task-{task}"],
                "node": f"press-play.task-{task}.open-pr",
            },
            ["number", "url", "headSha"],
        ),
        (
            "comment",
            lambda out: {"repo": repo, "number": int(out["number"]), "key": key, "body": "checks running"},
            ["url"],
        ),
        (
            "checks",
            lambda out: {"repo": repo, "number": int(out["number"]), "required": ["build"], "timeout": "10m"},
            ["state"],
        ),
        (
            "comment",
            lambda out: {
                "repo": repo,
                "number": int(out["number"]),
                "key": key,
                "body": f"checks: {out.get('state', '?')}",
            },
            ["url"],
        ),
        (
            "status",
            lambda out: {
                "repo": repo,
                "sha": out["headSha"],
                "context": "pressplay/acceptance",
                "state": "success",
                "description": f"task {task} accepted",
            },
            [],
        ),
        (
            "merge",
            lambda out: {"repo": repo, "number": int(out["number"]), "mode": "direct", "sha": out["headSha"]},
            [],
        ),
    ]


def run_task(agent: AgentEmulator, repo: str, task: str, branch: str) -> TaskRun:
    run = TaskRun(task, branch)
    outputs: dict[str, str] = {}
    for key, make_args, declared in steps_for(repo, task, branch):
        args = make_args(outputs)
        result = agent.run(make_template(key, args, name=f"{key}-{task}", outputs=declared))
        add("requests", result.calls)
        emitted(f"task {task} {key} message", result.message)
        emitted(f"task {task} {key} outputs", result.outputs)
        run.results.append((key, result))
        if result.phase != "Succeeded":
            break
        outputs.update(result.outputs)
    add("tasks")
    return run


def run_all(
    make_agent: Callable[[], AgentEmulator], repo: str, branches: dict[str, str], workers: int = 8
) -> list[TaskRun]:
    """Every task concurrently (``workers`` at a time, like the agent's task workers)."""

    def one(item: tuple[str, str]) -> TaskRun:
        task, branch = item
        with make_agent() as agent:
            try:
                return run_task(agent, repo, task, branch)
            except Exception as exc:  # a harness error must surface, not vanish in a thread
                return TaskRun(task, branch, error=f"{type(exc).__name__}: {exc}")

    with ThreadPoolExecutor(max_workers=workers) as pool:
        runs = list(pool.map(one, sorted(branches.items())))
    add("runs")
    return runs


@dataclass
class Audit:
    prs_per_head: Counter[str]
    comments_per_key: Counter[str]
    merged_per_head: Counter[str]

    @property
    def duplicates(self) -> list[str]:
        found = [f"{n} PRs for {head}" for head, n in self.prs_per_head.items() if n > 1]
        found += [f"{n} sticky comments for {key}" for key, n in self.comments_per_key.items() if n > 1]
        return found


_MARKER = re.compile(r"<!-- pressplay:(\S+) -->")


def audit(gh: Any, repo: str) -> Audit:
    """What GitHub (the emulator) now holds: PRs per head branch, our sticky comments per key."""
    prs: Counter[str] = Counter()
    comments: Counter[str] = Counter()
    with gh.lock:
        state = gh.repo_state(repo)
        numbers = [(n, issue.pull.head_ref) for n, issue in state.issues.items() if issue.pull is not None]
    for number, head in numbers:
        prs[head] += 1
        for comment in gh.comments(repo, number):
            if comment["user"]["login"] != gh.bot.login:
                continue
            for key in _MARKER.findall(comment["body"]):
                comments[f"#{number} {key}"] += 1
    merged = Counter(head for number, head in numbers if gh.pull(repo, number).get("merged"))
    duplicates = sum(n - 1 for n in prs.values() if n > 1) + sum(n - 1 for n in comments.values() if n > 1)
    add("duplicates", duplicates)
    return Audit(prs, comments, merged)
