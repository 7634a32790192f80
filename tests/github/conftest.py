"""Fixtures for the GitHub client layer and emulator tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pressplay.github import GitHubClients, clients_for, reset_clients
from pressplay.testing.github_emulator import GitHubEmulator

REPO = "acme/api"


@pytest.fixture
def emu(github_emulator: GitHubEmulator) -> Iterator[GitHubEmulator]:
    """The emulator with ``acme/api`` (main + one feature branch ahead of it)."""
    github_emulator.create_repo(REPO, files={"README.md": "# api\n", "src/app.py": "print('v1')\n"})
    github_emulator.push(REPO, "pressplay/task-1", {"src/app.py": "print('v2')\n"}, message="Task 1")
    yield github_emulator
    assert not github_emulator.server_errors, "the emulator crashed"


@pytest.fixture
def clients(emu: GitHubEmulator) -> Iterator[GitHubClients]:
    reset_clients()
    yield clients_for(emu.settings())
    reset_clients()
