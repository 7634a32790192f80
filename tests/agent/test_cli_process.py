"""`pressplay agent checkout|run|push` as the agent-step containers run them: processes configured by
PRESSPLAY_* only, one after the other on a shared workspace and outputs directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .conftest import git


def test_agent_run_from_environment_variables(tmp_path: Path, remote: Path, agents_dir: Path) -> None:
    context = tmp_path / "event.md"
    context.write_text("\n")  # what the template mounts when there is no event text
    env = {
        **os.environ,
        "PRESSPLAY_REPO": "acme/demo",
        "PRESSPLAY_BASE": "main",
        "PRESSPLAY_BRANCH": "pressplay/task-1",
        "PRESSPLAY_WORKING_DIRECTORY": ".",
        "PRESSPLAY_AGENT": "author",
        "PRESSPLAY_MODEL": "",
        "PRESSPLAY_TASK_ID": "1",
        "PRESSPLAY_STEP": "",
        "PRESSPLAY_PROMPT_PATH": "",
        "PRESSPLAY_PROMPT_MOD": "Keep it small.",
        "PRESSPLAY_CONTEXT_FILES": str(context),
        "PRESSPLAY_ATTEMPTS": "",
        "PRESSPLAY_AGENTS_DIR": str(agents_dir),
        "PRESSPLAY_WORKSPACE": str(tmp_path / "workspace"),
        "PRESSPLAY_OUTPUTS_DIR": str(tmp_path / "outputs"),
        "PRESSPLAY_REMOTE_URL": str(remote),
        "HOME": str(tmp_path / "home"),
        "DEMO_MODE": "good",
    }
    logs = _phases(env)
    assert "[agent] agent: attempt 1 mode good" in logs["run"]
    outputs = tmp_path / "outputs"
    sha = (outputs / "commit-sha").read_text()
    assert sha == git(remote, "rev-parse", "pressplay/task-1")
    assert json.loads((outputs / "changed-files").read_text()) == ["greeting.py"]
    assert json.loads((outputs / "gate-report.json").read_text())["passed"] is True

    again = _phases(env)
    assert "[agent]" not in again["run"]
    assert (outputs / "status").read_text() == "existing"
    assert (outputs / "commit-sha").read_text() == sha


def _phases(env: dict[str, str]) -> dict[str, str]:
    logs = {}
    for phase in ("checkout", "run", "push"):
        proc = subprocess.run(
            [sys.executable, "-m", "pressplay", "agent", phase],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, phase + ": " + proc.stdout + proc.stderr
        logs[phase] = proc.stdout
    return logs
