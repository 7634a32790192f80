"""The demo's git host: anonymous clone, pushes only with a token the GitHub emulator issued."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pressplay.agent.git import Git, GitError
from pressplay.demo import git_http
from pressplay.testing.github_emulator import GitHubEmulator

pytestmark = pytest.mark.skipif(not git_http.available(), reason="git has no http-backend on this machine")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[GitHubEmulator, git_http.GitHttpServer]]:
    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "README.md").write_text("hi\n")
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "seed"]):
        subprocess.run(["git", *args], cwd=seed, env={**env, "PATH": "/usr/bin:/bin"}, check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(seed), str(tmp_path / "remote.git")], check=True)
    with GitHubEmulator() as emulator:
        emulator.create_repo("acme/greeter")
        server = git_http.GitHttpServer(tmp_path / "remote.git", "acme/greeter", emulator.url).start()
        try:
            yield emulator, server
        finally:
            server.stop()


def _clone(tmp_path: Path, server: git_http.GitHttpServer, helper: str, name: str) -> Git:
    git = Git(tmp_path / name, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, helper=helper)
    git.prepare(server.remote_url, branch="pressplay/task-1", base="main")
    (git.root / "x.txt").write_text(name)
    git.stage_all_since(git.head())
    git.commit("x", trailers=[("Pressplay-Task", "1")], author=("t", "t@t"))
    return git


def _push(git: Git, server: git_http.GitHttpServer) -> None:
    git.run("push", "--quiet", server.remote_url, "HEAD:refs/heads/pressplay/task-1", remote=True)


def test_push_needs_a_token_the_emulator_issued(
    served: tuple[GitHubEmulator, git_http.GitHttpServer], tmp_path: Path
) -> None:
    emulator, server = served
    bogus = (
        "!f() { echo username=x-access-token; echo password=ghs_000000000000000000000000000000000000; }; f"
    )
    git = _clone(tmp_path, server, bogus, "bogus")  # the clone itself is anonymous
    with pytest.raises(GitError):
        _push(git, server)
    assert server.pushes_refused >= 1
    token = emulator.installation_token("acme")
    good = f"!f() {{ echo username=x-access-token; echo password={token}; }}; f"
    git = _clone(tmp_path, server, good, "good")
    _push(git, server)
    assert server.pushes_authenticated >= 1
    heads = subprocess.run(
        ["git", f"--git-dir={tmp_path / 'remote.git'}", "rev-parse", "pressplay/task-1"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert heads.stdout.strip() == git.head()
