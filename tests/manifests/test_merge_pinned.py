"""The task flow merges only the head that passed acceptance (issue 18).

Attack: `merge` got no `sha`, so a commit pushed after the acceptance step passed (by a person, CI or
a remediation agent) was merged unaccepted. The flow now passes the acceptance step's `sha` output
(the head it evaluated, from whichever of `acceptance` / `acceptance-default` ran) to `merge`, whose
own test (tests/steps/merge/test_pinned.py) shows a moved head is not merged. Both tests here failed
before: the merge task had no `sha` argument.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from .argo_dag import Simulator

Objects = Mapping[tuple[str, str], Mapping[str, Any]]
ACCEPTED = "a" * 40
DEFAULT_ACCEPTED = "d" * 40
READY = "c" * 40
WORKFLOW = {"name": "press-play-x", "namespace": "pressplay", "status": "Running", "parameters": {}}


def _templates(objects: Objects) -> dict[str, Mapping[str, Any]]:
    return {t["name"]: t for t in objects[("WorkflowTemplate", "task")]["spec"]["templates"]}


def test_the_merge_task_passes_the_sha_acceptance_evaluated(objects: Objects) -> None:
    templates = _templates(objects)
    tasks = {t["name"]: t for t in templates["pipeline"]["dag"]["tasks"]}
    args = {p["name"]: str(p["value"]) for p in tasks["merge"]["arguments"]["parameters"]}
    assert "tasks.acceptance.outputs.parameters.sha" in args["sha"]
    assert "tasks['acceptance-default'].outputs.parameters.sha" in args["sha"]
    assert "ready" not in args["sha"] and "open-pr" not in args["sha"]  # not a head read before acceptance
    # both acceptance templates publish the sha the step outputs; merge hands it to the step
    for name in ("acceptance", "acceptance-default"):
        outputs = {p["name"]: p for p in templates[name]["outputs"]["parameters"]}
        assert outputs["sha"]["valueFrom"] == {"supplied": {}}, name
    merge = templates["merge"]
    assert "sha" in {p["name"] for p in merge["inputs"]["parameters"]}
    assert merge["plugin"]["pressplay"]["merge"]["sha"] == "{{inputs.parameters.sha}}"


class World:
    """Leaf templates as the sidecar would answer them; each acceptance variant its own head."""

    def __call__(self, name: str, args: dict[str, str]) -> tuple[str, dict[str, str]]:
        if name == "dependencies":
            branch = args["branch"] or f"pressplay/task-{args['taskId']}"
            return "Succeeded", {
                "branch": branch,
                "titleB64": args["titleB64"],
                "promptPath": "",
                "dependsOn": "[]",
            }
        if name == "agent-step/agent-step":
            return "Succeeded", {"summary": "done", "commit-sha": READY, "verdict": '{"version": 1}'}
        if name == "open-pr":
            return "Succeeded", {
                "number": "12",
                "url": "https://github.com/acme/widgets/pull/12",
                "headSha": READY,
            }
        if name == "checks":
            return "Succeeded", {"state": "success", "failing": "[]"}
        if name == "checks-final":
            return "Succeeded", {"sha": READY, "checks": "[]"}
        if name == "acceptance":
            return "Succeeded", {"passed": "true", "sha": ACCEPTED}
        if name == "acceptance-default":
            return "Succeeded", {"passed": "true", "sha": DEFAULT_ACCEPTED}
        if name == "merge":
            return "Succeeded", {"sha": "f" * 40}
        return "Succeeded", {}


@pytest.mark.parametrize(
    ("acceptance_path", "expected"),
    [(".taskmaster/docs/task-7/acceptance.yaml", ACCEPTED), ("", DEFAULT_ACCEPTED)],
)
def test_merge_is_called_with_the_accepted_sha(objects: Objects, acceptance_path: str, expected: str) -> None:
    simulator = Simulator(objects[("WorkflowTemplate", "task")], World(), WORKFLOW)
    node = simulator.call(
        "pipeline",
        {
            "repo": "acme/widgets",
            "repoKey": "acme.widgets",
            "taskId": "7",
            "title": "Add the health endpoint",
            "branch": "pressplay/task-7",
            "acceptancePath": acceptance_path,
        },
    )
    assert node.phase == "Succeeded"
    merges = [args for name, args in simulator.calls if name == "merge"]
    assert len(merges) == 1
    assert merges[0]["sha"] == expected
