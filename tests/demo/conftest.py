"""Run the demo (the Python API behind `pressplay demo`) and collect what a test asserts on."""

from __future__ import annotations

import io
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pressplay.demo.runner import Demo, TaskReport
from pressplay.demo.sample import REPO
from pressplay.demo.world import World


@dataclass
class DemoRun:
    state_dir: Path
    output: str
    reports: list[TaskReport]
    pulls: list[dict[str, Any]]
    comments: dict[int, list[dict[str, Any]]]
    branches: dict[str, str]
    secrets: list[str] = field(default_factory=list)
    authenticated_pushes: int = 0

    def report(self, task: str) -> TaskReport:
        return next(r for r in self.reports if r.id == task)

    def remote_git(self, *args: str) -> str:
        return subprocess.run(
            ["git", f"--git-dir={self.state_dir / 'remote.git'}", *args],
            capture_output=True,
            text=True,
            check=True,
        ).stdout


def snapshot(world: World) -> tuple[list[dict[str, Any]], dict[int, list[dict[str, Any]]], dict[str, str]]:
    pulls = [dict(p) for p in world.pulls()]
    comments = {int(p["number"]): world.github.comments(REPO, int(p["number"])) for p in pulls}
    branches = dict(world.github.repo_state(REPO).branches)
    return pulls, comments, branches


def run_demo(
    state_dir: Path, *, then: Callable[[World, Demo], None] | None = None, **options: Any
) -> DemoRun:
    out = io.StringIO()
    with World(state_dir) as world:
        demo = Demo(world, out, **options)
        reports = demo.press_play()
        if then is not None:
            then(world, demo)
        pulls, comments, branches = snapshot(world)
        pushes = world.git_http.pushes_authenticated if world.git_http is not None else 0
        key_file = world.github.private_key_file
        secrets = [*world.github.issued_tokens, world.sidecar.token]
        if key_file is not None:
            pem = Path(key_file).read_text()
            secrets += [line for line in pem.splitlines() if line and "-----" not in line][:3]
    return DemoRun(state_dir, out.getvalue(), reports, pulls, comments, branches, secrets, pushes)


@pytest.fixture(scope="module")
def happy_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    return run_demo(tmp_path_factory.mktemp("demo-happy"))
