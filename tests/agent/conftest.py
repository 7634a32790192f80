"""Fixtures: a bare git remote with a small project, an agents directory, and option factories."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pressplay.agent.options import AgentOptions

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    """A bare repository whose ``main`` has a tiny Python project and a task prompt for task 1."""
    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "app.py").write_text('"""App."""\n\nVALUE = 1\n')
    (seed / ".taskmaster" / "docs" / "task-1").mkdir(parents=True)
    (seed / ".taskmaster" / "docs" / "task-1" / "prompt.md").write_text("Add a greeting module.\n")
    git(seed, "init", "-q", "-b", "main")
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "initial")
    bare = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(seed), str(bare))
    return bare


AGENT_SCRIPT = textwrap.dedent(
    '''
    """A scripted agent: writes greeting.py; behaviour chosen by DEMO_MODE."""
    import os, pathlib, sys, time
    mode = os.environ.get("DEMO_MODE", "good")
    prompt = sys.stdin.read() if not os.environ.get("NO_STDIN") else ""
    pathlib.Path("seen-prompt.txt").write_text(prompt) if mode == "record" else None
    attempt = int(os.environ["PRESSPLAY_ATTEMPT"])
    print("agent: attempt", attempt, "mode", mode)
    print("agent: token ghs_" + "a" * 36)
    if mode == "sleep":
        time.sleep(60)
    if mode == "fail":
        sys.exit(7)
    if mode == "leave-branch":
        import subprocess
        subprocess.run(["git", "checkout", "-q", "-b", "elsewhere"], check=True)
    bad = mode == "bad" or (mode == "fix-on-retry" and attempt == 1)
    body = "def greet():\\n    return 'hi'\\n" if bad else '"""Greeting."""\\n\\n\\ndef greet():\\n    """Say hi."""\\n    return "hi"\\n'
    if mode != "noop":
        pathlib.Path("greeting.py").write_text(body)
    if mode == "env":
        pathlib.Path("env.txt").write_text("\\n".join(sorted(os.environ)))
    '''
)

GATE_SCRIPT = textwrap.dedent(
    '''
    """A configured gate: every module needs a docstring."""
    import ast, pathlib, sys
    bad = [p for p in sorted(pathlib.Path(".").glob("*.py")) if ast.get_docstring(ast.parse(p.read_text())) is None]
    for p in bad:
        print(f"{p}:1:1: D100 missing module docstring")
    sys.exit(1 if bad else 0)
    '''
)


@pytest.fixture
def agents_dir(tmp_path: Path) -> Path:
    d = tmp_path / "agents"
    d.mkdir()
    (d / "agent.py").write_text(AGENT_SCRIPT)
    (d / "gate.py").write_text(GATE_SCRIPT)
    py = sys.executable
    (d / "agents.yaml").write_text(
        textwrap.dedent(
            f"""\
            agents:
              author:
                description: test author
                command: ["{py}", "{d / "agent.py"}"]
                prompt: stdin
                attempts: 2
                timeout: 20s
                gates:
                  - name: docstrings
                    run: ["{py}", "{d / "gate.py"}"]
              checker:
                command: []
                gates:
                  - name: docstrings
                    run: ["{py}", "{d / "gate.py"}"]
            """
        )
    )
    (d / "author_system-prompt.md").write_text("You are the author. Keep changes small.\n")
    return d


@pytest.fixture
def make_options(tmp_path: Path, remote: Path, agents_dir: Path) -> Callable[..., AgentOptions]:
    counter = {"n": 0}

    def make(**overrides: Any) -> AgentOptions:
        counter["n"] += 1
        values: dict[str, Any] = {
            "repo": "acme/demo",
            "branch": "pressplay/task-1",
            "agent": "author",
            "task_id": "1",
            "agents_dir": agents_dir,
            "workspace": tmp_path / f"ws{counter['n']}",
            "outputs_dir": tmp_path / f"out{counter['n']}",
            "state_dir": tmp_path / f"state{counter['n']}",
            "remote_url": str(remote),
        }
        values.update(overrides)
        return AgentOptions(**values)

    return make
