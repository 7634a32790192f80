"""The inputs of one agent step: flags of ``pressplay agent run`` or ``PRESSPLAY_*`` variables.

Every field ``x_y`` is the flag ``--x-y`` and the variable ``PRESSPLAY_X_Y``; a flag wins over the
variable. The names match the ``agent-step`` WorkflowTemplate's parameters (``repo``, ``base``,
``branch``, ``workingDirectory`` → ``--working-directory``, ``agent``, ``model``, ``taskId`` →
``--task-id``, ``prompt_mod``, ...). Event text (``prompt_mod``, a PR comment) arrives as a variable or
a file, never inside shell source.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pressplay.types import Duration, Repo

ENV_PREFIX = "PRESSPLAY_"
DEFAULT_AGENTS_DIR = Path("/etc/pressplay/agents")
DEFAULT_WORKSPACE = Path("/workspace")
DEFAULT_OUTPUTS_DIR = Path("/tmp/outputs")  # noqa: S108 - the path the agent-step template reads
DEFAULT_STATE_DIR = Path("/var/run/pressplay/state")

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
# git check-ref-format, restricted further to characters that need no quoting anywhere.
_BRANCH_RE = re.compile(r"^(?!/)(?!.*//)(?!.*\.\.)(?!.*@\{)(?!.*\.lock$)(?!.*/$)[A-Za-z0-9._/-]{1,200}$")


class AgentOptions(BaseModel):
    """What one ``agent-step`` run needs. Unknown fields are rejected with their name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    repo: Repo = Field(description="The repository, `owner/name`.")
    branch: str = Field(description="The branch to work on, e.g. `pressplay/task-7`; created from base.")
    base: str = Field("main", description="The branch a new `branch` starts from.")
    working_directory: str = Field(
        ".", description="Directory inside the repository where the agent and the gates run."
    )
    agent: str = Field(description="The agent profile (a key of `agents.yaml` in the agents ConfigMap).")
    model: str | None = Field(None, description="Model for the agent CLI; the profile's default when unset.")
    task_id: str = Field(description="The task id; it selects the task prompt and goes into the trailers.")
    step: str | None = Field(
        None,
        description="This step's identity in the `Pressplay-Step` trailer (default: the agent name). "
        "Give remediation runs a key of their trigger, e.g. `remediation-c123456`.",
    )
    prompt_path: str | None = Field(
        None,
        description="The task prompt, relative to the repository root. Default: `task/prompt.md` in the "
        "working directory, then the Taskmaster files of the task.",
    )
    prompt_mod: str = Field("", description="Text put before the task prompt (the press-play `prompt_mod`).")
    prompt_mod_file: Path | None = Field(None, description="File whose text is added to `prompt_mod`.")
    context_files: tuple[Path, ...] = Field(
        (), description="Extra context for the agent (a PR comment, failing check logs), appended in order."
    )
    attempts: int | None = Field(
        None, ge=1, le=10, description="Agent attempts; the profile's default when unset."
    )
    timeout: Duration | None = Field(
        None, description="Timeout of one agent attempt; the profile's when unset."
    )
    agents_dir: Path = Field(DEFAULT_AGENTS_DIR, description="Where the agents ConfigMap is mounted.")
    workspace: Path = Field(DEFAULT_WORKSPACE, description="Where the repository is cloned.")
    outputs_dir: Path = Field(DEFAULT_OUTPUTS_DIR, description="Where the Argo output files are written.")
    state_dir: Path = Field(
        DEFAULT_STATE_DIR,
        description="Where checkout records the trusted start of the step for push (a volume the agent's "
        "container does not mount).",
    )
    remote_url: str | None = Field(
        None,
        description="Git remote. Default: `https://<GitHub host>/<repo>.git` from PRESSPLAY_GITHUB_API_URL. "
        "Must not carry credentials.",
    )
    agent_command: str | None = Field(
        None, description="Replace the profile's command (a shell-style argv, split without a shell)."
    )
    git_author_name: str = Field("pressplay[bot]", description="Author and committer name of the commit.")
    git_author_email: str = Field(
        "pressplay[bot]@users.noreply.github.com", description="Author and committer email of the commit."
    )
    push: bool = Field(True, description="Push the commit (false: commit locally only).")

    @field_validator("agent", "task_id", "step")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not _NAME_RE.match(value):
            raise ValueError(
                f"{value!r} is not a plain name: use letters, digits, '.', '_' or '-' (at most 63 characters)"
            )
        return value

    @field_validator("branch", "base")
    @classmethod
    def _branch(cls, value: str) -> str:
        if not _BRANCH_RE.match(value):
            raise ValueError(
                f"{value!r} is not a branch name pressplay accepts: use letters, digits and '._/-', "
                "e.g. 'pressplay/task-7'"
            )
        return value

    @field_validator("working_directory", "prompt_path")
    @classmethod
    def _relative(cls, value: str | None) -> str | None:
        if value is None:
            return None
        path = PurePosixPath(value.strip() or ".")
        if path.is_absolute() or ".." in path.parts:
            raise ValueError(f"{value!r} must be a path inside the repository, relative, without '..'")
        return str(path)

    @field_validator("remote_url")
    @classmethod
    def _no_credentials(cls, value: str | None) -> str | None:
        if value and re.match(r"^[a-z+]+://[^/]*@", value):
            raise ValueError(
                "remote_url must not carry credentials: git authenticates through `pressplay git-credential`"
            )
        return value

    @model_validator(mode="after")
    def _different_branches(self) -> AgentOptions:
        if self.branch == self.base:
            raise ValueError(
                f"branch and base are both {self.base!r}: an agent step never commits to its base"
            )
        return self

    @property
    def step_key(self) -> str:
        return self.step or self.agent

    @classmethod
    def from_sources(cls, flags: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> AgentOptions:
        """Merge ``PRESSPLAY_*`` variables with flags (flags win; ``None`` flags are unset)."""
        env = os.environ if environ is None else environ
        raw: dict[str, Any] = {}
        for name in cls.model_fields:
            value = env.get(ENV_PREFIX + name.upper())
            if value is not None and value != "":
                raw[name] = _split_list(value) if name == "context_files" else value
        for name, value in flags.items():
            if value is not None and value != [] and value != ():
                raw[name] = value
        return cls.model_validate(raw)


def _split_list(value: str) -> list[str]:
    """``PRESSPLAY_CONTEXT_FILES``: paths separated by newlines or the OS path separator."""
    parts = re.split(rf"[\n{re.escape(os.pathsep)}]", value)
    return [p.strip() for p in parts if p.strip()]
