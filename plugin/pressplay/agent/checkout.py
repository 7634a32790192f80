"""``pressplay agent checkout``: the first container of ``agent-step``; it holds the App key.

It makes a fresh checkout of the task's branch in the shared workspace (an empty directory: whatever
is there from an earlier run is removed first, so no config, hook or file an agent wrote is ever used
by a process that holds the key), reading through ``pressplay git-credential`` with a token for that
one repository and ``contents: read``. Then it records the trusted start state
(:class:`pressplay.agent.state.StartState`: repository, URL, branch, the commit the branch starts at,
the step's commit when the branch already has one) in the state directory, which the agent's
container does not mount, for ``pressplay agent push``.

The repository URL is computed from the settings (``PRESSPLAY_GITHUB_API_URL`` and the repository);
``--remote-url`` replaces it for local remotes in tests and the demo.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from pressplay.agent.credential import helper_command, remote_url_for
from pressplay.agent.git import Git, GitError
from pressplay.agent.options import AgentOptions
from pressplay.agent.runtime import Log, StepResult, traced, write_outputs
from pressplay.agent.state import STATE_FILE, StartState
from pressplay.config import Settings
from pressplay.redact import register_environment


def task_remote_url(options: AgentOptions, settings: Settings | None, env: Mapping[str, str]) -> str:
    """The task repository's URL: ``--remote-url`` when given, else computed from the settings (those
    given, else ``PRESSPLAY_GITHUB_API_URL`` of the phase's environment, else the defaults)."""
    if options.remote_url:
        return options.remote_url
    if settings is not None:
        api_url = settings.github_api_url
    else:
        api_url = env.get("PRESSPLAY_GITHUB_API_URL") or Settings().github_api_url
    return remote_url_for(options.repo, api_url)


def empty_workspace(root: Path) -> None:
    """Make ``root`` an empty directory (links inside are removed, never followed).

    Only an empty directory or an earlier checkout (it has ``.git``) is emptied; anything else is
    refused with :class:`GitError`, so a mistyped ``--workspace`` never deletes someone's files.
    """
    if root.is_symlink():
        raise GitError(f"workspace {root} is a symbolic link: give the directory itself")
    root.mkdir(parents=True, exist_ok=True)
    entries = list(os.scandir(root))
    git_dir = root / ".git"
    if entries and (git_dir.is_symlink() or not git_dir.is_dir()):
        raise GitError(f"workspace {root} is not empty and not an earlier checkout: refusing to empty it")
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path)
        else:
            os.unlink(entry.path)


def checkout_phase(
    options: AgentOptions,
    *,
    sink: TextIO | None = None,
    settings: Settings | None = None,
    environ: Mapping[str, str] | None = None,
) -> StepResult | None:
    """Check out the branch and record the start. None when done; a failed result (outputs written)."""
    out = sink or sys.stdout
    log = Log(out)
    env = dict(os.environ if environ is None else environ)
    register_environment(env)

    failed = traced(
        "agent.checkout", options, env, lambda: _checkout(options, settings=settings, env=env, log=log)
    )
    if failed is not None:
        write_outputs(failed, options.outputs_dir)
        log(f"{failed.status}: {failed.summary}")
    return failed


def _checkout(
    options: AgentOptions, *, settings: Settings | None, env: dict[str, str], log: Log
) -> StepResult | None:
    (options.state_dir / STATE_FILE).unlink(missing_ok=True)  # no start of an earlier run counts
    remote = task_remote_url(options, settings, env)
    helper = helper_command(options.repo, "read")
    with tempfile.TemporaryDirectory(prefix="pressplay-checkout-home-") as home:
        git = Git(options.workspace, env=env, helper=helper, home=Path(home), keep_env=False)
        try:
            log(f"checkout {options.repo} {options.branch} (base {options.base})")
            empty_workspace(options.workspace)
            existed = git.prepare(remote, branch=options.branch, base=options.base)
            start = git.head()
            existing = git.find_step_commit(
                task=options.task_id, step=options.step_key, base=f"origin/{options.base}"
            )
        except GitError as exc:
            return StepResult("git-failed", str(exc))
    StartState(
        repo=options.repo,
        remote_url=remote,
        branch=options.branch,
        base=options.base,
        task_id=options.task_id,
        step=options.step_key,
        start=start,
        branch_existed=existed,
        existing=existing.sha if existing else None,
    ).write(options.state_dir)
    log(
        f"{options.branch} starts at {start[:12]}"
        + (f"; step {options.step_key} is already done in {existing.sha[:12]}" if existing else "")
    )
    return None
