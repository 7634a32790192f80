"""Shared machinery of the reliability suite (every module sets ``pytestmark = pytest.mark.reliability``).

- ``github``: one GitHub emulator for the session (127.0.0.1), with the repository ``acme/api``.
- ``planted``: known secrets: the GitHub App private key the sidecar signs with (the emulator's), an
  agent bearer token and a webhook secret. Sidecar processes get them where pressplay reads secrets.
- ``sandbox``: HOME, TMPDIR and log directory of every sidecar process the suite starts; the secret
  scan (``test_secrets.py``) reads every file in it.
- ``serve``: start real ``pressplay serve`` processes (gunicorn, 127.0.0.1, free port), stopped after
  the test.
- ``pytest_terminal_summary`` prints the suite's figures: runs, faults injected, duplicates, 5xx seen.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.reliability._figures import FIGURES, LABELS
from tests.reliability._secrets import Planted, make_planted

_serial = itertools.count(1)


@pytest.fixture(scope="session")
def github() -> Iterator[Any]:
    """A started GitHub emulator with ``acme/api`` (skips when the emulator is not installed)."""
    module = pytest.importorskip(
        "pressplay.testing.github_emulator", reason="needs pressplay.testing.github_emulator"
    )
    with module.GitHubEmulator() as gh:
        gh.create_repo("acme/api", files={"README.md": "# api\n", "tasks.yaml": "tasks: []\n"})
        yield gh


@pytest.fixture(scope="session")
def planted(github: Any, tmp_path_factory: pytest.TempPathFactory) -> Planted:
    """The secrets the suite watches for (the emulator's App key is the key pressplay signs with)."""
    return make_planted(tmp_path_factory.mktemp("planted"), Path(github.private_key_file))


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sandbox")
    for name in ("home", "tmp", "logs"):
        (root / name).mkdir()
    return root


@pytest.fixture(autouse=True)
def in_process_log(sandbox: Path) -> Iterator[Path]:
    """Copy the JSON log of in-process sidecars into the sandbox for the secret scan (per test; the
    handler's formatter is not a ``JsonFormatter``, so ``telemetry.setup_logging`` behaves as usual)."""
    import logging

    from pressplay.telemetry import LOGGER_NAME, JsonFormatter

    class _Copy(logging.Formatter):
        def __init__(self) -> None:
            super().__init__()
            self._json = JsonFormatter()

        def format(self, record: logging.LogRecord) -> str:
            return self._json.format(record)

    path = sandbox / "logs" / "in-process.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(_Copy())
    logger = logging.getLogger(LOGGER_NAME)
    logger.addHandler(handler)
    yield path
    logger.removeHandler(handler)
    handler.close()


def sidecar_env(github: Any, planted: Planted, sandbox: Path, **extra: str | None) -> dict[str, str]:
    """The environment of a sidecar process: the emulator's App, planted secrets, a sandboxed HOME.
    An ``extra`` value of ``None`` leaves that variable unset."""
    env: dict[str, str | None] = {
        **planted.env(),
        "PRESSPLAY_GITHUB_APP_ID": str(github.app_id),
        "PRESSPLAY_GITHUB_API_URL": github.url,
        "PRESSPLAY_LOG_LEVEL": "DEBUG",
        "HOME": str(sandbox / "home"),
        "TMPDIR": str(sandbox / "tmp"),
        "OTEL_TRACES_EXPORTER": "none",
        **extra,
    }
    return {key: value for key, value in env.items() if value is not None}


def sidecar_process(
    github: Any,
    planted: Planted,
    sandbox: Path,
    *,
    speedup: float = 1000.0,
    port: int | None = None,
    **env: str | None,
) -> Any:
    """A (not yet started) ``pressplay serve`` process: 1 worker x 16 threads, logs in the sandbox."""
    from pressplay.testing.sidecar import SidecarProcess

    return SidecarProcess(
        port=port,
        env=sidecar_env(github, planted, sandbox, **env),
        speedup=speedup,
        token=planted.token,
        workers=1,
        threads=16,
        log_path=sandbox / "logs" / f"sidecar-{next(_serial)}.log",
    )


@pytest.fixture
def serve(github: Any, planted: Planted, sandbox: Path) -> Iterator[Callable[..., Any]]:
    """``serve(**options) -> SidecarProcess`` (started): a real ``pressplay serve`` on 127.0.0.1."""
    started: list[Any] = []

    def start(**options: Any) -> Any:
        process = sidecar_process(github, planted, sandbox, **options)
        started.append(process)
        return process.start()

    yield start
    for process in started:
        process.stop()


@pytest.fixture(scope="module")
def served(github: Any, planted: Planted, sandbox: Path) -> Iterator[Any]:
    """One ``pressplay serve`` process shared by a module's tests."""
    process = sidecar_process(github, planted, sandbox)
    process.start()
    yield process
    process.stop()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not FIGURES:
        return
    terminalreporter.section("pressplay reliability figures")
    width = max(len(text) for text in LABELS.values())
    always = {"runs", "faults_injected", "duplicates", "http_5xx", "secret_leaks"}
    for key, text in LABELS.items():
        if key in FIGURES or key in always:
            terminalreporter.write_line(f"{text:<{width}}  {FIGURES[key]}")
    for key in sorted(set(FIGURES) - set(LABELS)):
        terminalreporter.write_line(f"{key:<{width}}  {FIGURES[key]}")
