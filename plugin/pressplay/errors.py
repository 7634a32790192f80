"""The two kinds of trouble every layer reports, in a leaf module that imports nothing from pressplay.

The client layers (``pressplay.github``, ``pressplay.kube``) raise them with the service's own words;
the step layer (``pressplay.steps``) maps them to Argo's answers: :class:`PermanentError` → a Failed
node whose message names the fix, :class:`TemporaryError` → Running with a requeue after
``retry_after``. Keeping them here lets the lower layers raise them without importing the steps.
"""

from __future__ import annotations

from datetime import timedelta

__all__ = ["PermanentError", "PressplayError", "TemporaryError"]


class PressplayError(Exception):
    """Base of the errors pressplay raises on purpose (anything else is a bug or a transport error)."""


class PermanentError(PressplayError):
    """Asking again will not help (bad input, 404, 422, deadline passed): the node fails."""


class TemporaryError(PressplayError):
    """Trouble that passes (5xx, rate limit, timeout, conflict): the node stays Running and is requeued."""

    def __init__(self, message: str, retry_after: timedelta | float = 30.0) -> None:
        super().__init__(message)
        self.retry_after = (
            retry_after if isinstance(retry_after, timedelta) else timedelta(seconds=retry_after)
        )
