"""What an install brings: ``pip install pressplay`` runs the sidecar and carries none of the test kit,
``pressplay[testing]`` adds the kit and ``pressplay demo``, and the image's lock files install what the
Dockerfile's build stage installs.

The slow tests make fresh virtual environments from PyPI (pip's cache helps) and install a copy of this
working tree (so no build output lands in it): about 1-3 minutes each on a 2-core machine.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HINT = "pip install 'pressplay[testing]'"
#: what only the testing extra installs (tests/test_packaging.py checks this against pyproject.toml)
TESTING_ONLY = frozenset({"cheroot", "jsonschema", "jsonpatch", "graphql-core", "pytest"})
INSTALL_TIMEOUT = 900


def _env() -> dict[str, str]:
    """This environment, less what would point a fresh venv's Python at the test runner's packages."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(
    argv: list[str | Path], *, timeout: float, cwd: Path, ok: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(a) for a in argv],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if ok:
        assert result.returncode == 0, f"{argv} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result


def _venv(path: Path) -> Path:
    """A fresh virtual environment at ``path``; its bin directory."""
    _run([sys.executable, "-m", "venv", path], timeout=120, cwd=path.parent)
    return path / "bin"


def _installed(bin_dir: Path) -> set[str]:
    listed = _run([bin_dir / "python", "-m", "pip", "list", "--format=json"], timeout=120, cwd=bin_dir)
    return {entry["name"].lower().replace("_", "-").replace(".", "-") for entry in json.loads(listed.stdout)}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def _serving(bin_dir: Path, log: Path) -> Iterator[str]:
    """``pressplay serve`` from ``bin_dir`` on a free port of 127.0.0.1, until it answers ``/healthz``."""
    port = _free_port()
    env = {**_env(), "PRESSPLAY_TOKEN": "install-test-token"}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(bin_dir / "pressplay"), "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=log.parent,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"pressplay serve exited {proc.returncode}:\n{log.read_text()}"
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2) as reply:
                    assert json.loads(reply.read()) == {"status": "ok"}
                    break
            except OSError:
                assert time.monotonic() < deadline, f"no answer on {url}/healthz in 60 s:\n{log.read_text()}"
                time.sleep(0.3)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # gunicorn (serve execs it) and its workers: our own group
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of what building pressplay reads (pip builds in the source tree: build/, *.egg-info)."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md", "requirements"):
        (shutil.copytree if (ROOT / name).is_dir() else shutil.copy2)(ROOT / name, src / name)
    shutil.copytree(
        ROOT / "plugin", src / "plugin", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    )
    return src


def test_demo_without_the_testing_extra_names_the_install(tmp_path: Path) -> None:
    """As after `pip install pressplay`: one line with the hint, exit 2, no traceback, nothing written."""
    # find_spec (which pressplay.testing asks) answers None for a module set to None in sys.modules
    code = (
        "import sys; sys.modules['cheroot'] = None; sys.modules['graphql'] = None\n"
        "from pressplay.cli import main\n"
        f"sys.exit(main(['demo', '--state-dir', {str(tmp_path / 'state')!r}]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and HINT in result.stderr, result.stderr
    assert result.stderr.startswith("pressplay demo: ") and "cheroot, graphql-core" in result.stderr
    assert not (tmp_path / "state").exists()


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_pip_install_serves_without_the_kit_and_the_testing_extra_runs_the_demo(
    source: Path, tmp_path: Path
) -> None:
    bin_dir = _venv(tmp_path / "venv")
    pip = [bin_dir / "python", "-m", "pip", "install", "--quiet", "--no-compile"]
    _run([*pip, source], timeout=INSTALL_TIMEOUT, cwd=tmp_path)
    assert not TESTING_ONLY & _installed(bin_dir), "pip install pressplay (no extras) brought the test kit"
    _run([bin_dir / "python", "-m", "pip", "check"], timeout=120, cwd=tmp_path)

    kit = _run([bin_dir / "python", "-c", "import pressplay.testing"], timeout=60, cwd=tmp_path, ok=False)
    assert kit.returncode == 1 and HINT in kit.stderr, kit.stderr
    demo = _run([bin_dir / "pressplay", "demo"], timeout=60, cwd=tmp_path, ok=False)
    assert demo.returncode == 2 and HINT in demo.stderr and "Traceback" not in demo.stderr, demo.stderr
    assert "--state-dir" in _run([bin_dir / "pressplay", "demo", "--help"], timeout=60, cwd=tmp_path).stdout
    with _serving(bin_dir, tmp_path / "serve.log"):
        pass

    _run([*pip, f"{source}[testing]"], timeout=INSTALL_TIMEOUT, cwd=tmp_path)
    assert _installed(bin_dir) >= TESTING_ONLY
    _run([bin_dir / "python", "-c", "import pressplay.testing"], timeout=60, cwd=tmp_path)
    demo = _run([bin_dir / "pressplay", "demo", "--state-dir", tmp_path / "state"], timeout=300, cwd=tmp_path)
    assert "merged" in demo.stdout, demo.stdout


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_the_lock_files_install_the_image(source: Path, tmp_path: Path) -> None:
    """The Dockerfile's build stage, step by step, in venvs here (no image is built): the locks install
    with every hash checked, pressplay's wheel on top needs nothing more (`pip check`), the runtime has
    the OTLP exporter and none of the test kit, and `pressplay serve` answers."""
    runtime = _venv(tmp_path / "pressplay")
    build = _venv(tmp_path / "build")
    for bin_dir, lock in ((runtime, "sidecar.lock"), (build, "build.lock")):
        _run(
            [bin_dir / "python", "-m", "pip", "install", "--quiet", "--no-compile",
             "--require-hashes", "--no-deps", "-r", source / "requirements" / lock],
            timeout=INSTALL_TIMEOUT,
            cwd=source,
        )  # fmt: skip
    dist = tmp_path / "dist"
    _run(
        [build / "python", "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", dist, "."],
        timeout=300,
        cwd=source,
    )  # fmt: skip
    (wheel,) = dist.glob("pressplay-*.whl")
    _run(
        [
            runtime / "python",
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-compile",
            "--no-deps",
            "--no-index",
            wheel,
        ],
        timeout=300,
        cwd=tmp_path,
    )
    _run([runtime / "python", "-m", "pip", "check"], timeout=120, cwd=tmp_path)
    assert not TESTING_ONLY & _installed(runtime)
    _run(
        [runtime / "python", "-c", "import opentelemetry.exporter.otlp.proto.http"], timeout=60, cwd=tmp_path
    )
    with _serving(runtime, tmp_path / "serve.log"):
        pass
