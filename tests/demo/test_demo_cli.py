"""`pressplay demo` as the README runs it: a real process, then a second run that does nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pressplay.demo import cli

pytestmark = pytest.mark.slow


def _demo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pressplay", "demo", *args],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_demo_command_then_resume(tmp_path: Path) -> None:
    first = _demo("--state-dir", str(tmp_path / "state"))
    assert first.returncode == 0, first.stdout + first.stderr
    assert "task  title" in first.stdout
    assert first.stdout.count(" merged\n") + first.stdout.rstrip().endswith("merged") >= 3
    assert '"level"' not in first.stdout + first.stderr  # the sidecar's JSON logs go to sidecar.log
    second = _demo("--state-dir", str(tmp_path / "state"))
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Nothing to do" in second.stdout
    assert "resuming from" in second.stdout


def test_bad_options_are_named(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert cli.main(["--state-dir", str(tmp_path), "--until", "deploy-everything"]) == 2
    assert "--until 'deploy-everything'" in capsys.readouterr().err
    assert cli.main(["--state-dir", str(tmp_path), "--agent-cmd", "no-such-agent-cli -p"]) == 2
    assert "'no-such-agent-cli' is not on PATH" in capsys.readouterr().err
    assert not (tmp_path / "remote.git").exists()
