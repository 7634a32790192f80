"""Third-party GitHub test data fetched with npm and cached under ``<repo>/.cache/`` (gitignored).

- :func:`openapi_description`: ``@octokit/openapi``'s ``generated/api.github.com.json`` only (13 MB out of
  a 385 MB package): ``npm pack`` the tarball into a temp dir and extract that one member.
- :func:`fixtures_server_dir`: ``@octokit/fixtures-server`` (+ express) installed into ``.cache/``.

Both skip the calling test with a reason when npm/node is missing or the registry is unreachable.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE = REPO_ROOT / ".cache"
OPENAPI_VERSION = "23.0.2"
FIXTURES_SERVER_VERSION = "8.1.7"
OPENAPI_MEMBER = "package/generated/api.github.com.json"


def _npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: cannot fetch @octokit test data (CI has npm)")
    return npm


def openapi_path() -> Path:
    target = CACHE / f"octokit-openapi-{OPENAPI_VERSION}" / "api.github.com.json"
    if target.is_file():
        return target
    npm = _npm()
    with tempfile.TemporaryDirectory(prefix="octokit-openapi-") as tmp:
        try:
            subprocess.run(
                [npm, "pack", f"@octokit/openapi@{OPENAPI_VERSION}", "--silent", "--pack-destination", tmp],
                check=True,
                capture_output=True,
                timeout=600,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            pytest.skip(f"npm pack @octokit/openapi@{OPENAPI_VERSION} failed (offline?): {exc}")
        tarball = next(Path(tmp).glob("*.tgz"))
        with tarfile.open(tarball) as archive:
            member = archive.extractfile(OPENAPI_MEMBER)
            assert member is not None, f"{OPENAPI_MEMBER} missing from {tarball.name}"
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(".part")
            partial.write_bytes(member.read())
            partial.replace(target)
    return target


@cache
def openapi_description() -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(openapi_path().read_text(encoding="utf-8"))
    assert spec["info"]["version"] == OPENAPI_VERSION
    return spec


def fixtures_server_dir() -> Path:
    """A folder whose ``node_modules`` holds @octokit/fixtures-server and express."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed: cannot run @octokit/fixtures-server (CI has node)")
    target = CACHE / f"octokit-fixtures-server-{FIXTURES_SERVER_VERSION}"
    marker = target / "node_modules" / "@octokit" / "fixtures-server" / "package.json"
    if marker.is_file() and (target / "node_modules" / "express").is_dir():
        return target
    npm = _npm()
    target.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(
            [
                npm,
                "install",
                "--no-save",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(target),
                f"@octokit/fixtures-server@{FIXTURES_SERVER_VERSION}",
                "express",
            ],
            check=True,
            capture_output=True,
            timeout=600,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"npm install @octokit/fixtures-server failed (offline?): {exc}")
    return target
