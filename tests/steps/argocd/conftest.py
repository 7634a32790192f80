"""Helpers for the Kubernetes / Argo CD tests (fixtures ``kube_emulator`` etc. come from the pytest plugin)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.kube.conftest import NEW, NEWER, OLD

from pressplay.config import Settings
from pressplay.steps.base import (
    Failed,
    Outcome,
    PermanentError,
    Running,
    StepContext,
    TemporaryError,
    WorkflowMeta,
)
from pressplay.steps.registry import get_step
from pressplay.testing.kube_emulator import KubeEmulator

__all__ = ["NEW", "NEWER", "OLD", "START", "Clock", "DirectRunner"]
START = datetime(2026, 11, 25, 10, 0, 0, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class DirectRunner:
    """Calls the argocd step function directly (no HTTP), with a controllable clock."""

    emulator: KubeEmulator
    clock: Clock = field(default_factory=Clock)
    workflow: WorkflowMeta = field(default_factory=lambda: WorkflowMeta("wf-1", "argo", "uid-1"))
    settings_overrides: dict[str, Any] = field(default_factory=dict)

    def settings(self) -> Settings:
        options: dict[str, Any] = {"argocd_url": "https://cd.example.com", **self.settings_overrides}
        return Settings(kube_api_url=self.emulator.url, **options)

    def __call__(self, **raw: Any) -> Outcome:
        """One call; the two error kinds become outcomes exactly as the web layer maps them."""
        spec = get_step("argocd")
        ctx = StepContext(settings=self.settings(), workflow=self.workflow, clock=self.clock)
        try:
            return spec.run(raw, ctx)
        except PermanentError as exc:
            return Failed(str(exc))
        except TemporaryError as exc:
            return Running(str(exc), exc.retry_after)


@pytest.fixture
def run_direct(kube_emulator: KubeEmulator) -> DirectRunner:
    return DirectRunner(kube_emulator)
