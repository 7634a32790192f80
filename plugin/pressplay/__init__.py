"""pressplay: an Argo Workflows executor plugin that carries a backlog of tasks to merged PRs.

The public API for writing steps::

    from pressplay import Failed, Outcome, PermanentError, Running, StepArgs, StepContext, Succeeded, TemporaryError, step
"""

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

__version__ = "0.1.0"

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
