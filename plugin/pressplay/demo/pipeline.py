"""The order of the steps the demo runs: the ``task`` WorkflowTemplate's ``pipeline`` DAG.

``tests/demo/test_pipeline_order.py`` computes the DAG's order from ``manifests/workflows/task.yaml``
and asserts it equals :data:`TASK_STEPS`, so the demo and the template cannot drift apart.
"""

from __future__ import annotations

#: The press-play template: read the backlog, then one ``task`` pipeline per open task.
PRESS_PLAY_STEPS = ("backlog", "task")

#: The ``pipeline`` DAG's tasks in dependency order (conditional ones are shown as skipped).
TASK_STEPS = (
    "dependencies",
    "author",
    "lint",
    "tests",
    "open-pr",
    "ci",
    "ready",
    "deploy-agent",
    "deploy",
    "argocd",
    "acceptance-agent",
    "acceptance",
    "acceptance-default",
    "merge",
    "report-merged",
)

#: Runs instead of the rest when a step after ``open-pr`` fails: a report comment on the PR.
ON_FAILURE_STEP = "report-stopped"

#: Reports from a pod of its own when ``report-stopped`` errs (Argo errs every plugin node once the
#: Workflow's agent pod failed); the demo has no agent pod to lose, so it never runs.
ON_FAILURE_FALLBACK = "report-stopped-pod"

#: Agent profile of each agent-step task of the DAG.
AGENT_OF = {
    "author": "author",
    "lint": "lint",
    "tests": "tests",
    "deploy-agent": "deploy",
    "acceptance-agent": "acceptance",
}
