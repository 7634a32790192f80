"""Agent profiles: how to run one agent CLI and which gates its work must pass.

The agents ConfigMap (mounted at ``/etc/pressplay/agents``) holds ``agents.yaml`` and one
``<agent>_system-prompt.md`` per agent::

    agents:
      author:
        description: Implements a task.
        command: [claude, -p, --model, "{model}", --output-format, stream-json, --verbose,
                  --append-system-prompt, "{system_prompt}"]
        prompt: stdin            # stdin | file ({prompt_file} in the command) | argument ({prompt})
        model: claude-sonnet-4-5
        timeout: 45m             # one attempt
        attempts: 2              # a failed attempt or failing gates give the agent another go
        env: {CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1"}
        gates: [auto]            # presets (auto, rust, python-lint, ...) or {name, run: [argv], timeout, ifExists}

``command`` is an argv template, never shell: each element may use ``{model}``, ``{prompt}``,
``{prompt_file}``, ``{system_prompt}``, ``{system_prompt_file}``, ``{workdir}``, ``{task_id}``,
``{step}``, ``{attempt}``. When the command uses neither system-prompt placeholder, the system prompt is
put in front of the user prompt. An empty command runs no agent (a gates-only step).
"""

from __future__ import annotations

import string
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from pressplay.types import Duration

PLACEHOLDERS = frozenset(
    {
        "model",
        "prompt",
        "prompt_file",
        "system_prompt",
        "system_prompt_file",
        "workdir",
        "task_id",
        "step",
        "attempt",
    }
)
PROFILES_FILE = "agents.yaml"
SYSTEM_PROMPT_SUFFIX = "_system-prompt.md"


class ProfileError(ValueError):
    """The agents ConfigMap is missing, unreadable or describes a profile wrongly."""


class Gate(BaseModel):
    """One compliance gate: a command that must exit 0 in the working directory."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    name: str = Field(description="Name in the gate report, e.g. `clippy`.")
    run: tuple[str, ...] = Field(min_length=1, description="The argv to run (no shell).")
    timeout: Duration = Field(timedelta(minutes=20), description="How long the gate may take.")
    if_exists: str | None = Field(
        None, description="Run only when this path exists in the working directory (e.g. `Cargo.toml`)."
    )
    language: str | None = Field(
        None,
        description="Set on the gates an `auto` preset expands to: the gate runs only when the repository "
        "is of this language (detected by its files, or named in PRESSPLAY_GATES).",
    )


def _gate(name: str, *argv: str, if_exists: str | None = None, minutes: int = 20) -> Gate:
    return Gate(name=name, run=argv, if_exists=if_exists, timeout=timedelta(minutes=minutes))


#: The variable that overrides which languages' gates an `auto` preset runs (set per repository by the
#: settings): empty or `auto` = detect by the repository's files; `none` = no language gates; otherwise
#: a comma-separated list of :data:`LANGUAGES` keys.
GATES_ENV = "PRESSPLAY_GATES"

#: Languages with gate presets, in the order their gates run, and the files that mark a repository (its
#: working directory) as one: `auto` runs the gates of every language one of whose files is there.
LANGUAGES: Mapping[str, tuple[str, ...]] = {
    "rust": ("Cargo.toml",),
    "python": ("pyproject.toml", "setup.py"),
    "node": ("package.json",),
    "go": ("go.mod",),
}

_CLIPPY = ("cargo", "clippy", "--all-targets", "--", "-D", "warnings", "-W", "clippy::pedantic")
# gofmt -l lists the files it would change and exits 0 either way: a listed file fails the gate.
_GOFMT = (
    'files=$(gofmt -l .) || exit 2; [ -z "$files" ] && exit 0; '
    'printf "%s: not gofmt-formatted (run gofmt -w)\\n" $files; exit 1'
)
_LINT: Mapping[str, tuple[Gate, ...]] = {
    "rust": (_gate("fmt", "cargo", "fmt", "--check"), _gate("clippy", *_CLIPPY, minutes=30)),
    "python": (
        _gate("ruff-format", "ruff", "format", "--check", "."),
        _gate("ruff", "ruff", "check", "--output-format", "concise", "."),
    ),
    "node": (
        _gate("npm-lint", "npm", "run", "--if-present", "lint"),
        _gate("tsc", "npx", "--no-install", "tsc", "--noEmit", if_exists="tsconfig.json"),
    ),
    "go": (_gate("gofmt", "sh", "-c", _GOFMT), _gate("go-vet", "go", "vet", "./...")),
}
_TEST: Mapping[str, tuple[Gate, ...]] = {
    "rust": (_gate("test", "cargo", "test", minutes=30),),
    "python": (_gate("pytest", "python", "-m", "pytest", "-q", minutes=30),),
    "node": (_gate("npm-test", "npm", "run", "--if-present", "test", minutes=30),),
    "go": (_gate("go-test", "go", "test", "./...", minutes=30),),
}
_BUILD: Mapping[str, tuple[Gate, ...]] = {
    "rust": (_gate("build", "cargo", "build", "--all-targets", minutes=30),),
    # byte-compiles every module (a syntax error fails), skipping hidden directories and node_modules
    "python": (_gate("compile", "python", "-m", "compileall", "-q", "-x", r"/\.|/node_modules/", "."),),
    "node": (_gate("npm-build", "npm", "run", "--if-present", "build", minutes=30),),
    "go": (_gate("go-build", "go", "build", "./...", minutes=30),),
}
#: `auto` presets: every language's gates at one level, each gate tagged with its language.
AUTO_PRESETS: Mapping[str, Mapping[str, tuple[Gate, ...]]] = {
    "auto": {lang: _LINT[lang] + _TEST[lang] for lang in LANGUAGES},
    "auto-lint": _LINT,
    "auto-build": _BUILD,
}

#: Gate presets a profile names instead of spelling the commands out: per language `<lang>` (lint and
#: tests), `<lang>-lint` and `<lang>-build`; they always run. `auto`, `auto-lint` and `auto-build` run
#: the gates of the repository's language(s) only (see :func:`select_gates`).
PRESETS: Mapping[str, tuple[Gate, ...]] = {
    **{lang: _LINT[lang] + _TEST[lang] for lang in LANGUAGES},
    **{f"{lang}-lint": _LINT[lang] for lang in LANGUAGES},
    **{f"{lang}-build": _BUILD[lang] for lang in LANGUAGES},
    **{
        name: tuple(g.model_copy(update={"language": lang}) for lang in LANGUAGES for g in by_lang[lang])
        for name, by_lang in AUTO_PRESETS.items()
    },
}


def parse_gates_choice(value: str | None) -> tuple[str, ...] | None:
    """The languages :data:`GATES_ENV` names; ``None`` when it asks to detect them (empty or `auto`)."""
    text = (value or "").strip().lower()
    if text in ("", "auto"):
        return None
    if text == "none":
        return ()
    names = [part.strip() for part in text.split(",")]
    unknown = [name for name in names if name not in LANGUAGES]
    if unknown or not names:
        raise ProfileError(
            f"{GATES_ENV}={value!r}: unknown gate preset(s) {unknown}: use `auto` (or leave it empty) to "
            f"detect the language by the repository's files, `none` for no language gates, or a "
            f"comma-separated list of {', '.join(LANGUAGES)} (e.g. `python` or `rust,node`)"
        )
    return tuple(dict.fromkeys(names))


def detect_languages(exists: Callable[[str], bool]) -> tuple[str, ...]:
    """The languages whose marker files ``exists`` (a path relative to the working directory) finds."""
    return tuple(lang for lang, markers in LANGUAGES.items() if any(exists(m) for m in markers))


def select_gates(gates: Sequence[Gate], languages: Collection[str]) -> tuple[Gate, ...]:
    """The gates to run: every untagged gate, and the `auto` gates of ``languages``."""
    return tuple(g for g in gates if g.language is None or g.language in languages)


class Profile(BaseModel):
    """One agent profile (a value of ``agents`` in ``agents.yaml``)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    name: str = Field("", description="The profile's key (filled in from `agents.yaml`).")
    description: str = Field("", description="What this agent is for.")
    command: tuple[str, ...] = Field((), description="argv template of the agent CLI; empty = gates only.")
    prompt: Literal["stdin", "file", "argument"] = Field(
        "stdin", description="How the prompt reaches the CLI."
    )
    model: str | None = Field(None, description="Default model (`{model}`).")
    timeout: Duration = Field(timedelta(minutes=45), description="Timeout of one agent attempt.")
    attempts: int = Field(2, ge=1, le=10, description="How many times the agent may try.")
    env: dict[str, str] = Field(default_factory=dict, description="Extra environment of the agent CLI.")
    gates: tuple[Gate, ...] = Field((), description="Compliance gates run after the agent, in order.")
    require_changes: bool = Field(
        False, description="Fail the step when the agent changed nothing (e.g. for the author of a task)."
    )
    commit_message: str = Field(
        "pressplay: {step} for task {task_id}",
        description="First line of the commit; `{task_id}`, `{step}` and `{agent}` are filled in.",
    )
    system_prompt: str = Field("", description="Filled in from `<agent>_system-prompt.md`.")
    credentials: tuple[str, ...] = Field(
        (),
        description="Variables that carry the CLI's model-provider credentials, any one is enough (e.g. "
        "`ANTHROPIC_API_KEY`). With none of them set, a failed CLI run stops the step at once with the "
        "CLI's reason and which key to set in the Secret `pressplay-agent-credentials`.",
    )
    login_check: tuple[str, ...] = Field(
        (),
        description="argv that exits 0 when the CLI holds a login of its own (e.g. `[codex, login, status]`); "
        "run before the agent when none of `credentials` is set: a failure stops the step with its output "
        "and the fix, before the agent runs (for a CLI that would wait for the network instead of failing).",
    )

    @field_validator("gates", mode="before")
    @classmethod
    def _expand_presets(cls, value: Any) -> Any:
        if not isinstance(value, list | tuple):
            return value
        out: list[Any] = []
        for item in value:
            if isinstance(item, str):
                if item not in PRESETS:
                    raise ValueError(
                        f"unknown gate preset {item!r}: use one of {', '.join(PRESETS)} "
                        "or a mapping {name, run, timeout, ifExists}"
                    )
                out.extend(PRESETS[item])
            else:
                out.append(item)
        return out

    @model_validator(mode="after")
    def _placeholders(self) -> Profile:
        used = self.placeholders()
        unknown = used - PLACEHOLDERS
        if unknown:
            raise ValueError(
                f"command uses unknown placeholder(s) {sorted(unknown)}; known: {sorted(PLACEHOLDERS)}"
            )
        if self.command and self.prompt == "file" and "prompt_file" not in used:
            raise ValueError("prompt is 'file' but the command never uses {prompt_file}")
        if self.command and self.prompt == "argument" and "prompt" not in used:
            raise ValueError("prompt is 'argument' but the command never uses {prompt}")
        return self

    def placeholders(self) -> set[str]:
        found: set[str] = set()
        for element in self.command:
            for _, field_name, _, _ in string.Formatter().parse(element):
                if field_name is not None:
                    found.add(field_name)
        return found

    @property
    def separate_system_prompt(self) -> bool:
        """Whether the CLI takes the system prompt itself (else it is put before the user prompt)."""
        return bool(self.placeholders() & {"system_prompt", "system_prompt_file"})

    def argv(self, values: Mapping[str, str]) -> list[str]:
        """The command with its placeholders filled in; each element stays one argv element."""
        missing = (self.placeholders() & PLACEHOLDERS) - {k for k, v in values.items() if v}
        if missing:
            hint = " (set `model` in the profile or pass --model)" if "model" in missing else ""
            raise ProfileError(f"agent {self.name!r}: no value for {sorted(missing)}{hint}")
        return [element.format_map(dict(values)) for element in self.command]


def load_profiles(agents_dir: Path) -> dict[str, Profile]:
    """Every profile in ``agents_dir/agents.yaml``, with its system prompt file read in."""
    path = agents_dir / PROFILES_FILE
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ProfileError(
            f"{path} not found: mount the agents ConfigMap there or pass --agents-dir"
        ) from exc
    except yaml.YAMLError as exc:
        raise ProfileError(f"{path} is not valid YAML: {exc}") from exc
    if isinstance(document, dict) and "agents" in document:
        document = document["agents"]
    if not isinstance(document, dict):
        raise ProfileError(f"{path} must map agent names to profiles (under the key `agents`)")
    profiles: dict[str, Profile] = {}
    for name, raw in document.items():
        raw_map = dict(raw or {})
        prompt_file = agents_dir / f"{name}{SYSTEM_PROMPT_SUFFIX}"
        system_prompt = prompt_file.read_text(encoding="utf-8") if prompt_file.is_file() else ""
        try:
            profiles[str(name)] = Profile.model_validate(
                {**raw_map, "name": str(name), "systemPrompt": system_prompt}
            )
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(profile)'}: {err['msg']}" for err in exc.errors()
            )
            raise ProfileError(f"{path}: agent {name!r}: {problems}") from exc
    return profiles


def load_profile(agents_dir: Path, name: str) -> Profile:
    profiles = load_profiles(agents_dir)
    if name not in profiles:
        known = ", ".join(sorted(profiles)) or "none"
        raise ProfileError(f"no agent profile {name!r} in {agents_dir / PROFILES_FILE} (known: {known})")
    return profiles[name]
