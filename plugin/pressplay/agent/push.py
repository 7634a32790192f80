"""``pressplay agent push``: the last container of ``agent-step``; it holds the App key.

It never runs git in the workspace and never reads its config, hooks or remotes. It builds the push in
a fresh bare repository of its own (a private ``HOME``, ``GIT_CONFIG_NOSYSTEM=1``,
``GIT_CONFIG_GLOBAL=/dev/null``, no hooks) that sees the workspace's *objects* only
(``GIT_ALTERNATE_OBJECT_DIRECTORIES=<workspace>/.git/objects``), and from the agent phase it takes one
40-hex commit id (the ``commit-sha`` output). That commit must:

- be a commit object that descends from the trusted start commit (``StartState.start``, recorded by
  checkout where the agent cannot write), and differ from it;
- carry the step's ``Pressplay-Task`` / ``Pressplay-Step`` trailers.

It is pushed as ``<sha>:refs/heads/<task branch>``, without force, to the task repository's URL
computed from the settings (the same URL checkout recorded), with a token minted for that one
repository with ``contents: write`` only. A push the remote already has is success (a re-run); a
branch that moved meanwhile is a clear failure. A step whose commit checkout already found on the
branch (resume) is reported without a push. Outputs are rewritten from what push verified.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from pressplay.agent.checkout import task_remote_url
from pressplay.agent.credential import helper_command
from pressplay.agent.git import SHA_RE, STEP_TRAILER, TASK_TRAILER, Git, GitError
from pressplay.agent.options import AgentOptions
from pressplay.agent.runtime import (
    Log,
    StepResult,
    gate_report_of,
    read_outputs,
    traced,
    write_output_values,
)
from pressplay.agent.state import StartState, remove_unsafe_entries
from pressplay.config import Settings
from pressplay.redact import register_environment


class PushRefused(RuntimeError):
    """The agent phase's commit is not one push may send."""


def push_phase(
    options: AgentOptions,
    *,
    sink: TextIO | None = None,
    settings: Settings | None = None,
    environ: Mapping[str, str] | None = None,
) -> StepResult:
    """Verify and push the agent phase's commit; rewrite the outputs from what was verified."""
    out = sink or sys.stdout
    log = Log(out)
    env = dict(os.environ if environ is None else environ)
    register_environment(env)
    before = read_outputs(options.outputs_dir)
    remove_unsafe_entries(options.outputs_dir)
    result = traced(
        "agent.push", options, env, lambda: _push(options, before, settings=settings, env=env, log=log)
    )
    assert result is not None
    values = result.outputs()
    # the gates ran in the agent phase: their report stays (as parsed JSON, re-serialised and redacted)
    values["gateReport"] = json.dumps(gate_report_of(before), separators=(",", ":"))
    attempts = before.get("attempts", "").strip()
    values["attempts"] = attempts if attempts.isdigit() else "0"
    write_output_values(values, options.outputs_dir)
    log(f"{result.status}: {result.summary}")
    return result


def _push(
    options: AgentOptions,
    before: Mapping[str, str],
    *,
    settings: Settings | None,
    env: dict[str, str],
    log: Log,
) -> StepResult:
    try:
        state = StartState.read(options.state_dir)
    except ValueError as exc:
        return StepResult("error", str(exc))
    remote = task_remote_url(options, settings, env)
    mine = (options.repo, options.branch, options.task_id, options.step_key, remote)
    recorded = (state.repo, state.branch, state.task_id, state.step, state.remote_url)
    if mine != recorded:
        return StepResult(
            "invalid",
            f"push is for {mine[:4]} at {remote}, but checkout recorded {recorded[:4]} at {state.remote_url}",
        )
    status = before.get("status", "").strip()
    with tempfile.TemporaryDirectory(prefix="pressplay-push-") as private:
        bare = Git(
            Path(private) / "push.git",
            env=env,
            helper=helper_command(options.repo, "write"),
            home=Path(private) / "home",
            keep_env=False,
        )
        bare.root.mkdir()
        (Path(private) / "home").mkdir()
        try:
            bare.env["GIT_ALTERNATE_OBJECT_DIRECTORIES"] = str(_objects_of(options.workspace))
            bare.run("init", "--quiet", "--bare", "--template=")
            if state.existing is not None:
                files = _files(bare, state.existing)
                return StepResult(
                    "existing",
                    f"step {state.step} of task {state.task_id} is already done in {state.existing[:12]} "
                    f"on {state.branch}; nothing to push",
                    commit=state.existing,
                    changed_files=files,
                    pushed=True,
                )
            if status == "unchanged":
                return StepResult(
                    "unchanged",
                    f"step {state.step} of task {state.task_id} changed nothing; no commit",
                    commit=state.start,
                )
            if status != "committed":
                return StepResult(
                    "error",
                    f"the agent phase ended {status or 'without a status'}; "
                    f"nothing to push (checkout found no commit of step {state.step} either)",
                )
            sha = before.get("commit", "").strip()
            _verify(bare, state, sha)
            files = _files(bare, sha, state.start)
            subject = bare.run("log", "-1", "--format=%s", sha).strip()
            log(f"push {sha[:12]} to {state.branch} at {remote}")
            already = _send(bare, remote, sha, state.branch)
        except PushRefused as exc:
            return StepResult("invalid", f"nothing was pushed: {exc}")
        except GitError as exc:
            return StepResult("git-failed", str(exc))
    return StepResult(
        "committed",
        f"{subject} ({len(files)} file(s), {sha[:12]}), pushed to {state.branch}"
        + (" (the remote already had it)" if already else ""),
        commit=sha,
        changed_files=files,
        pushed=True,
    )


def _objects_of(workspace: Path) -> Path:
    """``<workspace>/.git/objects`` as a real directory (a link there is refused, never followed)."""
    git_dir = workspace / ".git"
    objects = git_dir / "objects"
    for path in (workspace, git_dir, objects):
        if path.is_symlink() or not path.is_dir():
            raise GitError(
                f"{path} is not a directory of the checkout: the workspace was changed under pressplay"
            )
    return objects


def _files(bare: Git, sha: str, start: str | None = None) -> list[str]:
    args = ["diff-tree", "-r", "--no-commit-id", "--no-renames", "--name-only"]
    out = bare.run(*args, start, sha) if start else bare.run(*args, "--root", sha)
    return [line for line in out.splitlines() if line.strip()]


def _verify(bare: Git, state: StartState, sha: str) -> None:
    if not SHA_RE.match(sha):
        raise PushRefused(f"the agent phase's commit {sha[:60]!r} is not a commit id")
    if sha == state.start:
        raise PushRefused(f"{sha[:12]} is the start of {state.branch}: there is nothing new to push")
    kind = bare.run("cat-file", "-t", sha, check=False).strip()
    if kind != "commit":
        raise PushRefused(f"{sha[:12]} is not a commit of the workspace ({kind or 'missing'})")
    if not bare.succeeds("merge-base", "--is-ancestor", state.start, sha):
        raise PushRefused(
            f"{sha[:12]} does not descend from {state.start[:12]}, where {state.branch} started"
        )
    fmt = f"%(trailers:key={TASK_TRAILER},valueonly,separator=%x2c)%x1f%(trailers:key={STEP_TRAILER},valueonly,separator=%x2c)"
    tasks, _, steps = bare.run("log", "-1", f"--format={fmt}", sha).strip().partition("\x1f")
    if state.task_id not in {t.strip() for t in tasks.split(",")} or state.step not in {
        s.strip() for s in steps.split(",")
    }:
        raise PushRefused(
            f"{sha[:12]} does not carry the trailers {TASK_TRAILER}: {state.task_id} and {STEP_TRAILER}: {state.step}"
        )


def _send(bare: Git, remote: str, sha: str, branch: str) -> bool:
    """Push without force; True when the remote already had exactly this commit."""
    ref = f"refs/heads/{branch}"

    def there() -> bool:
        heads = bare.run("ls-remote", remote, ref, remote=True, check=False)
        return any(line.split("\t", 1)[0] == sha for line in heads.splitlines())

    if there():
        return True
    try:
        bare.run("push", "--quiet", "--porcelain", "--no-verify", remote, f"{sha}:{ref}", remote=True)
        return False
    except GitError as exc:
        if there():
            return True
        text = str(exc)
        if "rejected" in text or "non-fast-forward" in text or "fetch first" in text:
            raise GitError(
                f"push to {branch!r} was rejected: the branch moved on the remote while this step ran. "
                "Run the step again; it starts from the new tip."
            ) from exc
        raise
