"""pressplay: an Argo Workflows executor plugin that carries a backlog of tasks to merged PRs.

The public API for writing steps::

    from pressplay import Failed, Outcome, PermanentError, Running, StepArgs, StepContext, Succeeded, TemporaryError, step

Names are loaded on first use, so ``import pressplay.<light module>`` (e.g. the gunicorn master)
does not pay for pydantic and the step framework.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from pressplay._version import __version__

if TYPE_CHECKING:
    from pressplay.steps.base import (
        Failed,
        Outcome,
        PermanentError,
        Running,
        StepArgs,
        StepContext,
        Succeeded,
        TemporaryError,
        step,
    )

__all__ = [
    "Failed",
    "Outcome",
    "PermanentError",
    "Running",
    "StepArgs",
    "StepContext",
    "Succeeded",
    "TemporaryError",
    "__version__",
    "step",
]


def __getattr__(name: str) -> Any:
    if name in __all__ and name != "__version__":
        return getattr(importlib.import_module("pressplay.steps.base"), name)
    raise AttributeError(f"module 'pressplay' has no attribute {name!r}")
