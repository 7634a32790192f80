"""Git for one agent step: checkout, the resume check, one commit with trailers, a non-force push.

Authentication: every command that talks to the remote runs with
``-c credential.helper= -c credential.helper=<pressplay git-credential> -c credential.useHttpPath=true``.
The empty value first clears helpers from the user's or system's config (a ``store`` helper would
write the token to ``~/.git-credentials``); ours mints the token on demand and prints it to git through
a pipe. The remote URL never carries credentials and nothing is written to ``.git/config``. Hooks and
fsmonitor commands are switched off for every command, since the agent controls the checkout.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pressplay.redact import redact

TASK_TRAILER = "Pressplay-Task"
STEP_TRAILER = "Pressplay-Step"
GIT_TIMEOUT_SECONDS = 300.0


#: The agent can write anything into the checkout, ``.git/`` included. None of it may run code in our
#: git commands (which carry the credential helper): no hooks (a ``pre-push`` hook could ask the helper
#: for a token), no fsmonitor command.
_HARDENING = ("-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false")


class GitError(RuntimeError):
    """A git command failed; the message carries git's (redacted) stderr and what to check."""


def credential_helper_command() -> str:
    """The helper as git runs it: a shell command (``!`` prefix) that gets ``get``/``store``/``erase``."""
    return f"!{shlex.quote(sys.executable)} -m pressplay.agent.credential"


@dataclass(frozen=True)
class StepCommit:
    sha: str
    subject: str


class Git:
    """A repository checkout driven with plain ``git`` commands (no shell)."""

    def __init__(
        self, root: Path, *, env: Mapping[str, str] | None = None, helper: str | None = None
    ) -> None:
        self.root = root
        base_env = dict(os.environ if env is None else env)
        base_env.update(
            GIT_TERMINAL_PROMPT="0",
            GIT_ASKPASS="",
            SSH_ASKPASS="",
            GCM_INTERACTIVE="never",
            LC_ALL="C",
        )
        base_env.pop("GIT_DIR", None)
        base_env.pop("GIT_WORK_TREE", None)
        self.env = base_env
        self.helper = credential_helper_command() if helper is None else helper

    # -- plumbing ---------------------------------------------------------------------------
    def _auth_flags(self) -> list[str]:
        return [
            "-c",
            "credential.helper=",
            "-c",
            f"credential.helper={self.helper}",
            "-c",
            "credential.useHttpPath=true",
        ]

    def run(self, *args: str, remote: bool = False, check: bool = True, stdin: str | None = None) -> str:
        argv = ["git", *_HARDENING, *(self._auth_flags() if remote else []), *args]
        try:
            proc = subprocess.run(
                argv,
                cwd=self.root,
                env=self.env,
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

    # -- checkout ---------------------------------------------------------------------------
    def prepare(self, remote_url: str, *, branch: str, base: str) -> bool:
        """Fetch and check out ``branch`` (from the remote when it exists, else from ``base``).

        Returns whether the branch already existed on the remote.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        if not (self.root / ".git").exists():
            self.run("init", "--quiet")
            self.run("remote", "add", "origin", remote_url)
        else:
            current = self.run("remote", "get-url", "origin", check=False).strip()
            if current != remote_url:
                self.run("remote", "set-url", "origin", remote_url)
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
        self.run("clean", "-ffdq")
        return exists

    # -- queries ----------------------------------------------------------------------------
    def head(self) -> str:
        return self.run("rev-parse", "HEAD").strip()

    def current_branch(self) -> str:
        return self.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False).strip()

    def find_step_commit(self, *, task: str, step: str, base: str) -> StepCommit | None:
        """The commit on this branch (not on ``base``) whose trailers name this task and step."""
        fmt = (
            f"%H%x1f%s%x1f%(trailers:key={TASK_TRAILER},valueonly,separator=%x2c)"
            f"%x1f%(trailers:key={STEP_TRAILER},valueonly,separator=%x2c)%x1e"
        )
        out = self.run("log", f"--format={fmt}", f"origin/{base}..HEAD")
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

    def push(self, branch: str) -> None:
        try:
            self.run("push", "--quiet", "--porcelain", "origin", f"HEAD:refs/heads/{branch}", remote=True)
        except GitError as exc:
            if "rejected" in str(exc) or "non-fast-forward" in str(exc) or "fetch first" in str(exc):
                raise GitError(
                    f"push to {branch!r} was rejected: the branch moved on the remote while this step ran. "
                    "Run the step again; it starts from the new tip."
                ) from exc
            raise
