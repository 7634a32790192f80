"""The demo's step order is the `task` WorkflowTemplate's DAG order, so the two cannot drift."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from pressplay.demo.pipeline import (
    AGENT_OF,
    ON_FAILURE_FALLBACK,
    ON_FAILURE_STEP,
    PRESS_PLAY_STEPS,
    TASK_STEPS,
)

ROOT = Path(__file__).resolve().parents[2]
TASK_YAML = ROOT / "manifests" / "workflows" / "task.yaml"
PRESS_PLAY_YAML = ROOT / "manifests" / "workflows" / "press-play.yaml"


def _dag(path: Path, template: str) -> list[dict[str, Any]]:
    assert path.is_file(), f"{path.relative_to(ROOT)} is tracked: restore it"
    doc = yaml.safe_load(path.read_text())
    for tmpl in doc["spec"]["templates"]:
        if tmpl["name"] == template:
            return list(tmpl["dag"]["tasks"])
    raise AssertionError(f"{path.name} has no template {template!r}")


def _parents(task: dict[str, Any], names: set[str]) -> set[str]:
    text = task.get("depends") or " ".join(task.get("dependencies", []))
    tokens = {
        tok.split(".")[0]
        for tok in text.replace("(", " ").replace(")", " ").replace("&&", " ").replace("||", " ").split()
    }
    return tokens & names


def _topological(tasks: list[dict[str, Any]]) -> list[str]:
    """Kahn's order; ties broken by the order the tasks are written in."""
    names = [t["name"] for t in tasks]
    parents = {t["name"]: _parents(t, set(names)) for t in tasks}
    done: list[str] = []
    while len(done) < len(names):
        ready = [n for n in names if n not in done and parents[n] <= set(done)]
        assert ready, f"cycle among {set(names) - set(done)}"
        done.append(ready[0])
    return done


def test_demo_runs_the_task_dag_in_its_order() -> None:
    order = _topological(_dag(TASK_YAML, "pipeline"))
    assert ON_FAILURE_STEP in order, "the failure report step was renamed in task.yaml"
    assert ON_FAILURE_FALLBACK in order, "the failure report's fallback was renamed in task.yaml"
    reports = {ON_FAILURE_STEP, ON_FAILURE_FALLBACK}
    assert [name for name in order if name not in reports] == list(TASK_STEPS)


def test_agent_steps_use_the_templates_agent_profiles() -> None:
    tasks = {t["name"]: t for t in _dag(TASK_YAML, "pipeline")}
    for step, agent in AGENT_OF.items():
        params = {p["name"]: p.get("value") for p in tasks[step]["arguments"]["parameters"]}
        assert tasks[step]["templateRef"] == {"name": "agent-step", "template": "agent-step"}
        assert params["agent"] == agent


def test_press_play_is_backlog_then_tasks() -> None:
    order = _topological(_dag(PRESS_PLAY_YAML, "play"))
    assert order == list(PRESS_PLAY_STEPS)
