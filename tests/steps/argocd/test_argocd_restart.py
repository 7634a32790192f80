"""The ``argocd`` wait across a killed ``pressplay serve`` process (gunicorn, real ``kubernetes`` client)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.steps.argocd.conftest import NEW, OLD

from pressplay.testing.kube_emulator import KubeEmulator, app_status, rfc3339
from pressplay.testing.sidecar import SidecarProcess

pytestmark = pytest.mark.reliability


@pytest.fixture
def processes() -> Iterator[list[SidecarProcess]]:
    started: list[SidecarProcess] = []
    yield started
    for process in started:
        process.stop()


def test_a_killed_sidecar_continues_the_same_wait(
    kube_emulator: KubeEmulator, processes: list[SidecarProcess], tmp_path: Path
) -> None:
    kube_emulator.add_application("api", status=app_status(OLD))
    env = {"PRESSPLAY_KUBE_API_URL": kube_emulator.url, "PRESSPLAY_ARGOCD_URL": "https://cd.example.com"}

    def serve() -> SidecarProcess:
        process = SidecarProcess(env=env, workers=1, threads=4, log_path=tmp_path / "sidecar.log")
        processes.append(process)
        return process.start()

    first = serve()
    assert first.call_step("argocd", {"app": "api", "revision": NEW, "timeout": "30m"}).phase == "Running"
    first.kill()  # SIGKILL: nothing of the first process survives
    annotations = kube_emulator.get("api")["metadata"]["annotations"]
    [key] = [k for k in annotations if k.startswith("pressplay.dev/wait-")]

    second = serve()
    reply = second.call_step("argocd", {"app": "api", "revision": NEW, "timeout": "30m"})
    assert reply.phase == "Running"
    assert kube_emulator.get("api")["metadata"]["annotations"][key] == annotations[key]  # same anchor

    # 31 minutes "pass" (as recorded on the Application): the restarted process times the wait out.
    started = rfc3339(datetime.now(UTC) - timedelta(minutes=31))
    kube_emulator.update(
        "api",
        lambda app: app["metadata"]["annotations"].__setitem__(
            key, json.dumps({**json.loads(annotations[key]), "since": started})
        ),
    )
    reply = second.call_step("argocd", {"app": "api", "revision": NEW, "timeout": "30m"})
    assert reply.phase == "Failed"
    assert reply.message.startswith(
        f"timed out after 30m waiting for argocd/api to be Synced and Healthy at 2222222 (started {started})"
    )
