"""The demo end to end with ``../shared/tools/hostile-agent`` as every agent (issue 18): each agent step
runs as the pod runs it (checkout with the key → the agent without it, sandboxed → push), the steps
still commit and push to the task branch, and nothing the agent tried reached a secret or moved the push.

Old code (one in-process ``pressplay agent run`` holding the App settings, ``git push origin`` as the
checkout configured it): the agent saw ``PRESSPLAY_GITHUB_PRIVATE_KEY_FILE`` in its parent's
environment and read the key, and the planted ``pushurl`` took the authenticated push to another
repository of the installation.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from pressplay.demo import git_http
from pressplay.demo.runner import Demo
from pressplay.demo.sample import REPO
from pressplay.demo.world import World

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not git_http.available(), reason="git has no http-backend on this machine"),
]


def test_a_hostile_agent_in_every_step_reaches_nothing_and_pushes_only_to_the_task_branch(
    tmp_path: Path, shared_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hostile = shared_dir / "tools" / "hostile-agent"
    state_dir = tmp_path / "demo"
    report = tmp_path / "hostile.jsonl"
    marker = tmp_path / "pwned"
    out = io.StringIO()
    with World(state_dir, agent_command=[str(hostile)]) as world:
        assert world.git_http is not None
        monkeypatch.setenv("HOSTILE_AGENT_REPORT", str(report))
        monkeypatch.setenv("HOSTILE_AGENT_MARKER", str(marker))
        monkeypatch.setenv("HOSTILE_AGENT_DECOY", f"{world.git_http.url}/acme/secret.git")
        world.github.create_repo("acme/secret")  # another repository of the same installation
        demo = Demo(world, out, until="ci")
        if demo.pod.isolation.startswith("none"):
            pytest.skip(f"the agent phase cannot be isolated on this machine: {demo.pod.isolation}")
        reports = demo.press_play()
        requests = list(world.git_http.requests)
        tokens = list(world.github.issued_tokens)
        assert world.github.private_key_file is not None
        key_lines = [
            line
            for line in Path(world.github.private_key_file).read_text().splitlines()
            if "-----" not in line
        ]
        remote_log = world.remote
    output = out.getvalue()
    assert [r.outcome for r in reports] == ["stopped before ci"] * 2 + ["blocked"], output
    for step in ("author", "lint", "tests"):
        assert "pushed to pressplay/task-1" in next(
            line for line in output.splitlines() if line.strip().startswith(f"task 1  {step}")
        ), output

    runs = [json.loads(line) for line in report.read_text().splitlines()]
    assert len(runs) == 6  # author, lint, tests of tasks 1 and 2
    for run in runs:
        assert run["planted"]["remote.origin.pushurl"] is True
        assert run["key_in_prompt"] is False and run["token_in_prompt"] is False
        assert run["own_env_secret_names"] == []
        assert run["readable_secret_files"] == []
        assert "unreadable" not in run["ancestors"][0] and run["ancestors"][0]["secret_names"] == []
    assert not marker.exists() and not Path(f"{marker}.hook").exists()
    git_paths = {path for _, path, _ in requests if ".git/" in path}
    assert git_paths and all(path.startswith(f"/{REPO}.git/") for path in git_paths), git_paths
    assert remote_log.exists()

    texts = [(state_dir / "agent.log").read_text()]
    texts += [p.read_text() for p in (state_dir / "runs").rglob("outputs/*") if p.is_file()]
    for text in texts:
        assert not any(token in text for token in tokens)
        assert not any(line in text for line in key_lines[:5])
