"""The test kit's page lists every fixture and switch, and the GitHub emulator refuses what GitHub does
not have (a typo in a scenario would otherwise never settle CI)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from pressplay import pytest_plugin
from pressplay.testing.agent import AgentEmulator
from pressplay.testing.github_emulator import GitHubEmulator
from pressplay.testing.kube_emulator import KubeEmulator
from pressplay.testing.sidecar import Sidecar, SidecarProcess

PAGE = (Path(__file__).resolve().parents[1] / "docs" / "testing-kit.md").read_text()


def test_the_page_lists_every_fixture() -> None:
    source = inspect.getsource(pytest_plugin)
    fixtures = re.findall(r"@pytest\.fixture(?:\([^)]*\))?\ndef (\w+)", source)
    assert {"sidecar", "sidecar_factory", "github_emulator", "kube_emulator"} <= set(fixtures)
    for name in fixtures:
        assert f"`{name}`" in PAGE, name


@pytest.mark.parametrize("cls", [GitHubEmulator, KubeEmulator, Sidecar, SidecarProcess, AgentEmulator])
def test_the_page_lists_every_switch(cls: type) -> None:
    for name in list(inspect.signature(cls.__init__).parameters)[1:]:
        if name != "overrides":
            assert name in PAGE, f"{cls.__name__}({name}=...) is not on docs/testing-kit.md"
    if cls in (GitHubEmulator, KubeEmulator):
        for name, _ in inspect.getmembers(cls, callable):
            if not name.startswith("_") and name != "handle":
                assert f"{name}" in PAGE, f"{cls.__name__}.{name} is not on docs/testing-kit.md"


def test_simulate_ci_refuses_conclusions_github_does_not_have() -> None:
    emulator = GitHubEmulator()
    with pytest.raises(ValueError, match="'passed' is not a check run conclusion GitHub has; use one of "
                       "action_required, cancelled, failure, neutral, skipped, stale, success, timed_out"):  # fmt: skip
        emulator.simulate_ci("acme/api", {"build": "passed"})
    with pytest.raises(ValueError, match="'green' is not a commit status state GitHub has"):
        emulator.simulate_ci("acme/api", statuses={"ci/legacy": "green"})
    with pytest.raises(ValueError, match="complete_check_run: 'ok'"):
        emulator.complete_check_run("acme/api", 1, "ok")
    emulator.simulate_ci("acme/api", {"build": "success", "lint": "timed_out"}, statuses={"ci": "error"})
