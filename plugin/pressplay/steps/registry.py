"""Every step pressplay serves, by key. **To add a step**: write ``steps/<module>.py`` with a function
decorated by :func:`pressplay.steps.base.step`, then add one line to :data:`STEP_MODULES` below.

Modules are imported on first use, so the sidecar does not pay for GitHub or Kubernetes clients
until a step that needs them runs.
"""

from __future__ import annotations

import importlib
from typing import Any

from pressplay.steps.base import StepSpec, registered

#: step key (under ``plugin.pressplay``) -> module that registers it.
STEP_MODULES: dict[str, str] = {
    "pullRequest": "pressplay.steps.pull_request",
    "comment": "pressplay.steps.comment",
    "status": "pressplay.steps.status",
    "checks": "pressplay.steps.checks",
    "dispatch": "pressplay.steps.dispatch",
    "merge": "pressplay.steps.merge",
    "argocd": "pressplay.steps.argocd",
    "acceptance": "pressplay.steps.acceptance",
    "backlog": "pressplay.steps.backlog",
    "dependencies": "pressplay.steps.dependencies",
    "debounce": "pressplay.steps.debounce",
}


class UnknownStep(KeyError):
    """No step is registered under this key."""


def known_steps() -> list[str]:
    return sorted(STEP_MODULES)


def get_step(key: str) -> StepSpec[Any]:
    """The step registered under ``key``, importing its module on first use."""
    spec = registered(key)
    if spec is not None:
        return spec
    module = STEP_MODULES.get(key)
    if module is None:
        raise UnknownStep(key)
    importlib.import_module(module)
    spec = registered(key)
    if spec is None:  # the module exists but forgot to register the key: a programming error
        raise UnknownStep(key)
    return spec


def register_module(key: str, module: str) -> None:
    """Serve an extra step from another package (``module`` must register ``key`` when imported)."""
    STEP_MODULES[key] = module
