"""A failed agent-step container tells Kubernetes why (issue 13 item 4): ``pressplay agent`` writes
``<status>: <summary>`` to the container's termination log, which the kubelet puts into
``terminated.message`` and Argo appends to the node's message (``inferFailedReason``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pressplay.agent.cli import write_termination_message


def test_writes_redacted_and_bounded(tmp_path: Path) -> None:
    log = tmp_path / "termination-log"
    log.write_text("")
    write_termination_message("gates-failed: clippy: 3 warnings " + "x" * 10_000, log)
    text = log.read_text()
    assert text.startswith("gates-failed: clippy: 3 warnings")
    assert len(text.encode()) <= 4000


def test_nothing_happens_outside_a_pod(tmp_path: Path) -> None:
    missing = tmp_path / "absent"
    write_termination_message("agent-failed: x", missing)
    assert not missing.exists()


def test_invalid_options_exit_2_and_a_failed_phase_writes_its_reason(tmp_path: Path) -> None:
    """Through the real CLI: a run whose profile does not exist fails `invalid` and says so in the log."""
    log = tmp_path / "termination-log"
    log.write_text("")
    agents = tmp_path / "agents"
    agents.mkdir()
    (agents / "agents.yaml").write_text("agents: {}\n")
    workspace = tmp_path / "ws"
    workspace.mkdir()
    env = {
        **os.environ,
        "PRESSPLAY_TERMINATION_LOG": str(log),
        "PRESSPLAY_AGENT": "nobody",
        "PRESSPLAY_TASK_ID": "7",
        "PRESSPLAY_REPO": "acme/widgets",
        "PRESSPLAY_BRANCH": "pressplay/task-7",
        "PRESSPLAY_AGENTS_DIR": str(agents),
        "PRESSPLAY_WORKSPACE": str(workspace),
        "PRESSPLAY_OUTPUTS_DIR": str(tmp_path / "out"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "pressplay", "agent", "run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0, done.stdout + done.stderr
    message = log.read_text()
    assert message.split(":", 1)[0] in {"invalid", "error", "git-failed"}, message
    assert "nobody" in message or "git" in message, message
