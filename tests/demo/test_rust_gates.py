"""The Rust sample's lint gate (clippy pedantic, -D warnings) blocks a push; a clean change goes through."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from pressplay.agent.options import AgentOptions
from pressplay.agent.runtime import run_step
from pressplay.demo.sample import project_files, write_agents_dir

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("cargo") is None
        or subprocess.run(["cargo", "clippy", "--version"], capture_output=True, check=False).returncode != 0
        or subprocess.run(["cargo", "fmt", "--version"], capture_output=True, check=False).returncode != 0,
        reason="cargo with clippy and rustfmt is not installed: the Rust sample cannot be checked here",
    ),
]


@pytest.fixture
def rust_remote(tmp_path: Path) -> Path:
    seed = tmp_path / "seed"
    for rel, text in project_files("rust").items():
        (seed / rel).parent.mkdir(parents=True, exist_ok=True)
        (seed / rel).write_text(text)
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "rust sample"]):
        subprocess.run(["git", *args], cwd=seed, env=env, check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(seed), str(tmp_path / "remote.git")], check=True)
    return tmp_path / "remote.git"


def _author(tmp_path: Path, remote: Path, faults: str) -> tuple[object, AgentOptions]:
    options = AgentOptions(
        repo="acme/greeter",
        branch="pressplay/task-1",
        agent="author",
        task_id="1",
        agents_dir=write_agents_dir(tmp_path / "agents", "rust"),
        workspace=tmp_path / f"ws-{faults or 'clean'}",
        outputs_dir=tmp_path / f"out-{faults or 'clean'}",
        remote_url=str(remote),
        attempts=1,
    )
    env = {**os.environ, "PRESSPLAY_DEMO_FAULTS": faults, "CARGO_TARGET_DIR": str(tmp_path / "target")}
    return run_step(options, sink=io.StringIO(), environ=env), options


def test_clippy_pedantic_warning_blocks_the_push_and_clean_code_passes(
    tmp_path: Path, rust_remote: Path
) -> None:
    result, options = _author(tmp_path, rust_remote, "lint:1")
    assert result.status == "gates-failed", result.summary  # type: ignore[attr-defined]
    report = json.loads((options.outputs_dir / "gate-report.json").read_text())
    clippy = next(g for g in report["gates"] if g["name"] == "clippy")
    assert clippy["passed"] is False
    assert any("must_use" in line for line in clippy["findings"] + clippy["tail"]), clippy
    branches = subprocess.run(
        ["git", f"--git-dir={rust_remote}", "branch"], capture_output=True, text=True, check=True
    )
    assert "pressplay/task-1" not in branches.stdout

    result, _ = _author(tmp_path, rust_remote, "")
    assert result.status == "committed", result.summary  # type: ignore[attr-defined]
    assert [g["name"] for g in result.report.to_json()["gates"]] == ["fmt", "clippy", "test"]  # type: ignore[attr-defined]
