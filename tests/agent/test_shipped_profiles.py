"""The agent profiles shipped in manifests/agents load with the runtime's own loader, and every agent a
WorkflowTemplate names has a profile and a system prompt."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from pressplay.agent.profile import SYSTEM_PROMPT_SUFFIX, load_profiles

ROOT = Path(__file__).resolve().parents[2]
AGENTS = ROOT / "manifests" / "agents"


@pytest.fixture
def shipped() -> Path:
    # a tracked file: its absence is a broken checkout, never a reason to skip
    assert (AGENTS / "agents.yaml").is_file(), "manifests/agents/agents.yaml is tracked: restore it"
    return AGENTS


def test_shipped_profiles_load(shipped: Path) -> None:
    profiles = load_profiles(shipped)
    assert profiles, "no profiles"
    for name, profile in profiles.items():
        assert profile.command, f"{name}: no command"


def test_every_agent_named_by_a_workflow_has_a_profile_and_prompt(shipped: Path) -> None:
    profiles = load_profiles(shipped)
    named: set[str] = set()
    for path in (ROOT / "manifests" / "workflows").glob("*.yaml"):
        named |= set(re.findall(r"\{name: agent, value: ([a-z0-9-]+)\}", path.read_text()))
    assert named, "no agent-step calls found in manifests/workflows"
    assert named <= set(profiles), f"agents without a profile: {sorted(named - set(profiles))}"
    kustomization = yaml.safe_load((shipped / "kustomization.yaml").read_text())
    files = {
        entry.split("=", 1)[0]
        for generator in kustomization.get("configMapGenerator", [])
        for entry in generator.get("files", [])
    }
    missing = sorted(name for name in profiles if f"{name}{SYSTEM_PROMPT_SUFFIX}" not in files)
    assert not missing, f"profiles without a system prompt in the ConfigMap: {missing}"
