"""How a task's pull requests are found on GitHub: by the ``pressplay`` and ``task-<id>`` labels.

Shared by the ``backlog`` and ``dependencies`` steps (merged = done).
"""

from __future__ import annotations

from typing import Any

__all__ = ["PR_LABEL", "TASKS_HINT", "merged_at", "task_prs"]

#: Label every pressplay pull request carries (GitHub, not the tasks file, says what is done).
PR_LABEL = "pressplay"
TASKS_HINT = "commit Taskmaster's tasks.json there (task-master init / parse-prd), or point `tasksPath` at it"


def task_prs(issues: list[Any]) -> dict[str, list[dict[str, Any]]]:
    """task id → its pull requests (issue-list items with a ``pull_request`` key), from ``task-<id>`` labels."""
    found: dict[str, list[dict[str, Any]]] = {}
    for item in issues:
        if not isinstance(item, dict) or not isinstance(item.get("pull_request"), dict):
            continue
        for label in item.get("labels") or []:
            name = label.get("name") if isinstance(label, dict) else label
            if isinstance(name, str) and name.startswith("task-") and len(name) > len("task-"):
                found.setdefault(name[len("task-") :], []).append(item)
    return found


def merged_at(item: dict[str, Any]) -> str | None:
    pr = item.get("pull_request") or {}
    value = pr.get("merged_at") if isinstance(pr, dict) else None
    return str(value) if value else None
