"""Figures the reliability suite accumulates and prints at its end (see ``conftest.py``)."""

from __future__ import annotations

import threading
from collections import Counter

_lock = threading.Lock()
FIGURES: Counter[str] = Counter()

#: Display order and wording of the report at the end of the run.
LABELS = {
    "runs": "simulated runs completed",
    "tasks": "tasks carried through steps",
    "requests": "template.execute calls made",
    "github_calls": "GitHub calls in the fault runs",
    "faults_injected": "GitHub faults injected (5xx, timeouts, secondary limits)",
    "restarts": "sidecar SIGKILLs + restarts",
    "duplicates": "duplicates found (PRs, sticky comments, deploy runs)",
    "failed_by_transient": "nodes Failed by a transient fault",
    "fuzz_requests": "fuzzing requests (hypothesis + schemathesis)",
    "rejections": "rejections checked for an explanation",
    "unexplained_rejections": "rejections without an explanation",
    "http_5xx": "5xx answers or step crashes seen (distinct per step, known ones included)",
    "known_bugs_hit": "known bugs hit (pinned by strict xfail tests)",
    "secret_scans": "texts scanned for planted secrets",
    "secret_leaks": "planted secrets found",
}


_seen: dict[str, set[str]] = {}


def distinct(name: str, key: str) -> None:
    """Count ``name`` once per distinct ``key`` (hypothesis replays a failure many times while shrinking)."""
    with _lock:
        seen = _seen.setdefault(name, set())
        if key not in seen:
            seen.add(key)
            FIGURES[name] += 1


def add(name: str, amount: int = 1) -> None:
    with _lock:
        FIGURES[name] += amount
