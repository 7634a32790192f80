"""Git for one agent step: checkout, the resume check, one commit with trailers, a non-force push.

Authentication (checkout and push only, the phases that hold the App key): every command that talks
to the remote runs with ``-c credential.helper= -c credential.helper=<pressplay git-credential --repo
R> -c credential.useHttpPath=true``. The empty value first clears helpers from any other config (a
``store`` helper would write the token to ``~/.git-credentials``); ours answers for the task
repository's URL only and mints the token on demand, through a pipe. The remote URL never carries
credentials and nothing is written to ``.git/config``.

Hardening: git runs with a minimal environment (no ``GIT_*`` variable of the caller survives;
``GIT_CONFIG_NOSYSTEM=1``, ``GIT_CONFIG_GLOBAL=/dev/null``), hooks and fsmonitor commands off for
every command. The checkout is made in a fresh, empty workspace; the push never runs git in the
workspace at all (:mod:`pressplay.agent.push` reads only its objects).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pressplay.redact import redact

TASK_TRAILER = "Pressplay-Task"
STEP_TRAILER = "Pressplay-Step"
GIT_TIMEOUT_SECONDS = 300.0
SHA_RE = re.compile(r"^[0-9a-f]{40}$")

#: The agent can write anything into the checkout, ``.git/`` included. None of it may run code in our
#: git commands: no hooks (a ``pre-push`` hook could ask the helper for a token), no fsmonitor command.
_HARDENING = ("-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false")
#: Variables a key-holding git keeps from its caller (everything else, ``GIT_*`` above all, is dropped).
_KEEP = (
    "PATH",
    "LANG",
    "TZ",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTPS_PROXY",
    "NO_PROXY",
    "https_proxy",
    "no_proxy",
)


class GitError(RuntimeError):
    """A git command failed; the message carries git's (redacted) stderr and what to check."""


def git_env(base: Mapping[str, str], *, home: Path | None = None, keep_all: bool = False) -> dict[str, str]:
    """The environment of one git command.

    ``keep_all`` keeps the caller's variables (the agent phase: no secret is there), else only
    :data:`_KEEP`, ``PRESSPLAY_GITHUB_*`` and ``PRESSPLAY_REPOSITORIES`` (what the credential helper
    reads) survive. Either way no
    ``GIT_*`` variable of the caller survives, system and global config are off and prompts disabled.
    """
    if keep_all:
        env = {k: v for k, v in base.items() if not k.startswith("GIT_")}
    else:
        env = {
            k: v
            for k, v in base.items()
            if k in _KEEP or k.startswith("PRESSPLAY_GITHUB_") or k == "PRESSPLAY_REPOSITORIES"
        }
    env.setdefault("PATH", os.defpath)
    if home is not None:
        env["HOME"] = str(home)
        env["XDG_CONFIG_HOME"] = str(home / ".config")
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_TERMINAL_PROMPT="0",
        GIT_ASKPASS="",
        SSH_ASKPASS="",
        GCM_INTERACTIVE="never",
        LC_ALL="C",
    )
    return env


@dataclass(frozen=True)
class StepCommit:
    sha: str
    subject: str


class Git:
    """A repository driven with plain ``git`` commands (no shell)."""

    def __init__(
        self,
        root: Path,
        *,
        env: Mapping[str, str] | None = None,
        helper: str | None = None,
        home: Path | None = None,
        keep_env: bool = True,
    ) -> None:
        self.root = root
        self.env = git_env(os.environ if env is None else env, home=home, keep_all=keep_env)
        self.helper = helper

    # -- plumbing ---------------------------------------------------------------------------
    def _auth_flags(self) -> list[str]:
        flags = ["-c", "credential.helper="]
        if self.helper:
            flags += ["-c", f"credential.helper={self.helper}"]
        return [*flags, "-c", "credential.useHttpPath=true"]

    def run(
        self,
        *args: str,
        remote: bool = False,
        check: bool = True,
        stdin: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> str:
        argv = ["git", *_HARDENING, *(self._auth_flags() if remote else []), *args]
        try:
            proc = subprocess.run(
                argv,
                cwd=self.root,
                env={**self.env, **(env or {})},
                input=stdin,
                capture_output=True,
                text=True,
                encoding="utf-8",
                errors="replace",
                timeout=GIT_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise GitError(f"git {args[0]} timed out after {GIT_TIMEOUT_SECONDS:.0f}s") from exc
        if check and proc.returncode != 0:
            detail = redact((proc.stderr or proc.stdout).strip())
            raise GitError(f"git {' '.join(args[:2])} failed (exit {proc.returncode}): {detail}")
        return proc.stdout

    def succeeds(self, *args: str) -> bool:
        """Whether a (local) git command exits 0."""
        argv = ["git", *_HARDENING, *args]
        try:
            proc = subprocess.run(
                argv,
                cwd=self.root,
                env=self.env,
                capture_output=True,
                timeout=GIT_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise GitError(f"git {args[0]} timed out after {GIT_TIMEOUT_SECONDS:.0f}s") from exc
        return proc.returncode == 0

    # -- checkout ---------------------------------------------------------------------------
    def prepare(self, remote_url: str, *, branch: str, base: str) -> bool:
        """Fetch and check out ``branch`` (from the remote when it exists, else from ``base``).

        The workspace must be empty or absent (:func:`pressplay.agent.checkout.checkout` makes it so).
        Returns whether the branch already existed on the remote.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        # --shared=group: the agent runs under another UID in the workspace's group (agent-step.yaml).
        self.run("init", "--quiet", "--shared=group", "--template=")
        self.run("remote", "add", "origin", remote_url)
        heads = self.run("ls-remote", "--heads", "origin", base, branch, remote=True)
        found = {line.split("\t", 1)[1].strip() for line in heads.splitlines() if "\t" in line}
        if f"refs/heads/{base}" not in found:
            raise GitError(f"base branch {base!r} does not exist on the remote: check the `base` parameter")
        exists = f"refs/heads/{branch}" in found
        refspecs = [f"+refs/heads/{base}:refs/remotes/origin/{base}"]
        if exists:
            refspecs.append(f"+refs/heads/{branch}:refs/remotes/origin/{branch}")
        self.run("fetch", "--quiet", "--no-tags", "origin", *refspecs, remote=True)
        start = f"origin/{branch}" if exists else f"origin/{base}"
        self.run("checkout", "--quiet", "--force", "-B", branch, start)
        return exists

    # -- queries ----------------------------------------------------------------------------
    def head(self) -> str:
        return self.run("rev-parse", "HEAD").strip()

    def current_branch(self) -> str:
        return self.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False).strip()

    def find_step_commit(self, *, task: str, step: str, base: str, head: str = "HEAD") -> StepCommit | None:
        """The commit on ``head`` (not on ``base``) whose trailers name this task and step."""
        fmt = (
            f"%H%x1f%s%x1f%(trailers:key={TASK_TRAILER},valueonly,separator=%x2c)"
            f"%x1f%(trailers:key={STEP_TRAILER},valueonly,separator=%x2c)%x1e"
        )
        out = self.run("log", f"--format={fmt}", f"{base}..{head}")
        for record in out.split("\x1e"):
            parts = record.strip("\n").split("\x1f")
            if len(parts) != 4:
                continue
            sha, subject, tasks, steps = parts
            if task in {t.strip() for t in tasks.split(",")} and step in {
                s.strip() for s in steps.split(",")
            }:
                return StepCommit(sha=sha.strip(), subject=subject)
        return None

    def files_of(self, sha: str) -> list[str]:
        out = self.run("show", "--no-renames", "--name-only", "--format=", sha)
        return [line for line in out.splitlines() if line.strip()]

    # -- writing ----------------------------------------------------------------------------
    def stage_all_since(self, start: str) -> list[str]:
        """Fold whatever the agent did (edits, its own commits) into the index on top of ``start``."""
        self.run("reset", "--quiet", "--soft", start)
        self.run("add", "--all")
        out = self.run("diff", "--cached", "--no-renames", "--name-only")
        return [line for line in out.splitlines() if line.strip()]

    def commit(self, message: str, *, trailers: Sequence[tuple[str, str]], author: tuple[str, str]) -> str:
        body = message.rstrip() + "\n\n" + "\n".join(f"{k}: {v}" for k, v in trailers) + "\n"
        name, email = author
        self.env.update(
            GIT_AUTHOR_NAME=name, GIT_AUTHOR_EMAIL=email, GIT_COMMITTER_NAME=name, GIT_COMMITTER_EMAIL=email
        )
        self.run("-c", "commit.gpgsign=false", "commit", "--quiet", "--no-verify", "-F", "-", stdin=body)
        return self.head()
