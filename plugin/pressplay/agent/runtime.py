"""The agent phase of one agent step (``pressplay agent run``), and the three phases in one process.

``agent_phase`` is what the ``main`` container of ``agent-step`` runs, with no App key, no token and
no secret of pressplay's anywhere it can reach: the resume check, the prompt, the agent CLI, the
gates and one local commit with the step's trailers; then the output files. It never talks to the
remote: ``pressplay agent checkout`` (:mod:`.checkout`) made the workspace before it, and
``pressplay agent push`` (:mod:`.push`) pushes the commit after it, both in containers the agent
cannot see.

``run_step`` runs checkout, agent phase and push in this process, one after the other: for tests and
for embedding. It gives no isolation between them; the pod (and ``pressplay demo``) does.
"""

from __future__ import annotations

import base64
import json
import os
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO

from pydantic import ValidationError

from pressplay import telemetry
from pressplay.agent import provider
from pressplay.agent.gates import GateReport, run_gates
from pressplay.agent.git import STEP_TRAILER, TASK_TRAILER, Git, GitError
from pressplay.agent.options import AgentOptions
from pressplay.agent.process import ProcessResult, run_streaming
from pressplay.agent.profile import (
    GATES_ENV,
    LANGUAGES,
    Gate,
    Profile,
    ProfileError,
    detect_languages,
    load_profile,
    parse_gates_choice,
    select_gates,
)
from pressplay.agent.prompt import Prompt, PromptError, assemble
from pressplay.agent.state import read_regular_file, remove_unsafe_entries, write_file
from pressplay.config import Settings
from pressplay.redact import redact, register_environment
from pressplay.types import decode_b64_text

Status = Literal[
    "committed", "existing", "unchanged", "gates-failed", "agent-failed", "invalid", "git-failed", "error"
]

EXIT_CODES: Mapping[str, int] = {
    "committed": 0,
    "existing": 0,
    "unchanged": 0,
    "gates-failed": 1,
    "invalid": 2,
    "agent-failed": 3,
    "git-failed": 4,
    "error": 5,
}

#: Output parameter name -> file name in the outputs directory (the agent-step template reads these).
OUTPUT_FILES: Mapping[str, str] = {
    "commit": "commit-sha",
    "changedFiles": "changed-files",
    "gateReport": "gate-report.json",
    "report": "report.md",
    "status": "status",
    "summary": "summary",
    # The summary base64-encoded: what templates hand on to a step ({b64: ...}). An agent's text is
    # never a parameter value in clear: Argo would template it again (docs/architecture.md).
    "summaryB64": "summary-b64",
    "attempts": "attempts",
}
#: Files an agent itself writes (paths given to it as variables, in a scratch directory of its own);
#: the agent phase copies them into the outputs directory as regular files.
AGENT_OUTPUT_FILES: Mapping[str, str] = {
    "PRESSPLAY_VERDICT_FILE": "verdict.json",  # the acceptance agent's verdict
    "PRESSPLAY_TASK_FILE": "task.json",  # the triage agent's task
}

#: Variables the agent CLI never sees: the App's settings and any token someone left in the environment
#: (none of them is in the agent container's environment; this is a second line).
_HIDDEN_ENV_PREFIXES = (
    "PRESSPLAY_GITHUB_",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "GH_ENTERPRISE_TOKEN",
    "PRESSPLAY_TOKEN",
    "PRESSPLAY_STATE_DIR",
)


@dataclass
class StepResult:
    """The outcome of one agent step (also written to the output files)."""

    status: Status
    summary: str
    commit: str = ""
    changed_files: list[str] = field(default_factory=list)
    report: GateReport | None = None
    attempts: int = 0
    pushed: bool = False

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def outputs(self) -> dict[str, str]:
        report = (
            self.report.to_json()
            if self.report
            else {"passed": self.ok, "summary": "no gates ran", "gates": []}
        )
        markdown = self.report.markdown() if self.report and not self.report.passed else self.summary
        return {
            "commit": self.commit,
            "changedFiles": json.dumps(self.changed_files),
            "gateReport": json.dumps(report, separators=(",", ":")),
            "report": markdown,
            "status": self.status,
            "summary": self.summary,
            "attempts": str(self.attempts),
        }


def write_output_values(values: Mapping[str, str], outputs_dir: Path) -> None:
    """Write output files by parameter name (atomically each, redacted, never through a link)."""
    outputs_dir.mkdir(parents=True, exist_ok=True)
    for name, value in values.items():
        if name == "summaryB64":
            continue  # always derived from the (redacted) summary below
        clean = redact(value)
        write_file(outputs_dir / OUTPUT_FILES[name], clean)
        if name == "summary":
            encoded = base64.b64encode(clean.encode("utf-8")).decode("ascii")
            write_file(outputs_dir / OUTPUT_FILES["summaryB64"], encoded)


def write_outputs(result: StepResult, outputs_dir: Path) -> None:
    """Write every output file of ``result``."""
    write_output_values(result.outputs(), outputs_dir)


def agent_env(base: Mapping[str, str], profile: Profile, extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in base.items() if not k.startswith(_HIDDEN_ENV_PREFIXES)}
    env.update(profile.env)
    env.update(extra)
    return env


def safe_directory_env(root: Path) -> dict[str, str]:
    """Let git (ours and the agent's) work in a checkout another UID made (the checkout container's).

    ``safe.directory`` counts only from protected configuration; ``GIT_CONFIG_COUNT`` is that.
    """
    return {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "safe.directory", "GIT_CONFIG_VALUE_0": str(root)}


class Log:
    """``[pressplay] ...`` lines on the step's log, redacted."""

    def __init__(self, sink: TextIO) -> None:
        self.sink = sink

    def __call__(self, message: str) -> None:
        self.sink.write(f"[pressplay] {redact(message)}\n")
        self.sink.flush()


def effective_profile(profile: Profile, agent_command: str | None) -> Profile:
    """The profile with ``--agent-command`` in place of its command (prompt mode from its placeholders)."""
    if not agent_command:
        return profile
    try:
        argv = tuple(shlex.split(agent_command))
        probe = Profile(name=profile.name, command=argv)
        used = probe.placeholders()
        mode = "file" if "prompt_file" in used else "argument" if "prompt" in used else "stdin"
        return Profile.model_validate({**profile.model_dump(), "command": argv, "prompt": mode})
    except (ValueError, ValidationError) as exc:
        raise ProfileError(f"agent_command {agent_command!r}: {exc}") from exc


def _run_agent(
    profile: Profile,
    prompt: Prompt,
    *,
    options: AgentOptions,
    workdir: Path,
    attempt: int,
    timeout: float,
    env: dict[str, str],
    sink: TextIO,
    log: Log,
) -> ProcessResult:
    """Run the agent CLI once."""
    with tempfile.TemporaryDirectory(prefix="pressplay-prompt-") as scratch:
        prompt_file = Path(scratch) / "prompt.md"
        system_file = Path(scratch) / "system-prompt.md"
        user_text = prompt.user if profile.separate_system_prompt else prompt.combined()
        prompt_file.write_text(user_text, encoding="utf-8")
        system_file.write_text(prompt.system, encoding="utf-8")
        values = {
            "model": options.model or profile.model or "",
            "prompt": user_text,
            "prompt_file": str(prompt_file),
            "system_prompt": prompt.system,
            "system_prompt_file": str(system_file),
            "workdir": str(workdir),
            "task_id": options.task_id,
            "step": options.step_key,
            "attempt": str(attempt),
        }
        argv = profile.argv(values)
        run_env = {**env, "PRESSPLAY_PROMPT_FILE": str(prompt_file), "PRESSPLAY_ATTEMPT": str(attempt)}
        log(f"agent {profile.name} attempt {attempt}: {shlex.join(argv[:1])} … (timeout {timeout:.0f}s)")
        result = run_streaming(
            argv,
            cwd=workdir,
            env=run_env,
            timeout=timeout,
            sink=sink,
            stdin_text=user_text if profile.prompt == "stdin" else None,
            prefix="[agent] ",
        )
    return result


#: Seconds a profile's loginCheck may take.
LOGIN_CHECK_TIMEOUT = 60.0


def _credentials_problem(
    profile: Profile, env: Mapping[str, str], workdir: Path, sink: TextIO, log: Log
) -> str | None:
    """Before the agent: with none of the profile's credential variables set, run its loginCheck.

    Returns the failure (the CLI's own words and the fix), or ``None`` when the agent may run.
    """
    if not profile.credentials or provider.present(profile.credentials, env) or not profile.login_check:
        return None
    log(f"no {' / '.join(profile.credentials)} in the environment: {shlex.join(profile.login_check)}")
    check = run_streaming(
        profile.login_check, cwd=workdir, env=env, timeout=LOGIN_CHECK_TIMEOUT, sink=sink, prefix="[agent] "
    )
    if check.ok:
        return None
    said = provider.reason(check.tail) or check.describe()
    return f"{profile.command[0]} has no model credentials ({said}): {provider.fix(profile.credentials)}"


def _agent_failure(profile: Profile, result: ProcessResult, env: Mapping[str, str]) -> tuple[str, bool]:
    """What went wrong with one agent run, in the CLI's words plus the fix; and whether to stop now.

    A CLI that has no credentials, or whose credentials the provider refused, fails the same way on
    every attempt: the step stops at the first one.
    """
    described = result.describe()
    said = provider.reason(result.tail) if not result.not_found else ""
    text = f"{described}: {said}" if said else described
    fixes = provider.hints(result.tail)
    stop = result.not_found
    if result.not_found:
        fixes.append(
            f"install {profile.command[0]!r} in the agent image, or pick the image target that has it "
            "(docs/agent-image.md)"
        )
    elif not result.timed_out and profile.credentials:
        set_now = provider.present(profile.credentials, env)
        if not set_now:
            fixes.append(f"no model credentials reached the agent: {provider.fix(profile.credentials)}")
            stop = True
        elif provider.auth_failed(result.tail):
            fixes.append(
                f"the provider refused the credentials in {', '.join(set_now)}: check or rotate that key in "
                f"the Secret `{provider.CREDENTIALS_SECRET}`"
            )
            stop = True
    elif not result.timed_out and provider.auth_failed(result.tail):
        fixes.append(provider.fix(()))
        stop = True
    if fixes:
        text += "; fix: " + "; ".join(fixes)
    return text, stop or bool(provider.hints(result.tail))


@dataclass
class GateChoice:
    """Which languages' `auto` gates run: named by PRESSPLAY_GATES, or detected."""

    named: tuple[str, ...] | None
    at_base: tuple[str, ...] = ()

    def languages(self, workdir: Path) -> tuple[tuple[str, ...], str]:
        """The languages, and how they were chosen (for the log)."""
        if self.named is not None:
            return self.named, f"{GATES_ENV}={','.join(self.named) or 'none'}"
        # The base branch's files count as well as the work's: an agent cannot drop a gate by deleting
        # the file that selects it (Cargo.toml, ...); a new project's files add theirs.
        now = detect_languages(lambda marker: (workdir / marker).exists())
        found = tuple(lang for lang in LANGUAGES if lang in self.at_base or lang in now)
        return found, "detected: " + (", ".join(found) or f"none of {_markers()}")


def _markers() -> str:
    return ", ".join(marker for markers in LANGUAGES.values() for marker in markers)


def _gate_choice(options: AgentOptions, git: Git, env: Mapping[str, str]) -> GateChoice:
    """PRESSPLAY_GATES (validated; :class:`ProfileError` names the valid presets), and the languages of
    the base branch's working directory, read before the agent runs."""
    named = parse_gates_choice(env.get(GATES_ENV))
    if named is not None:
        return GateChoice(named)
    prefix = "" if options.working_directory == "." else options.working_directory.rstrip("/") + "/"
    base = f"origin/{options.base}"
    at_base = detect_languages(lambda marker: git.succeeds("cat-file", "-e", f"{base}:{prefix}{marker}"))
    return GateChoice(None, at_base)


def traced(
    name: str, options: AgentOptions, environ: Mapping[str, str], run: Callable[[], StepResult | None]
) -> StepResult | None:
    """Run one phase in a span with the step's correlation labels; an unexpected error is a result."""
    attrs = {
        "pressplay.repo": options.repo,
        "pressplay.task": options.task_id,
        "pressplay.agent": options.agent,
        "pressplay.step": options.step_key,
        # set by the agent-step template
        "argo.workflow": environ.get("ARGO_WORKFLOW", ""),
        "argo.node": environ.get("ARGO_NODE", ""),
    }
    with telemetry.tracer().start_as_current_span(name, attributes=attrs) as span:
        try:
            result = run()
        except Exception as exc:  # a bug or the environment (disk full, ...): still write the outputs
            span.record_exception(exc)
            result = StepResult("error", f"pressplay agent failed unexpectedly: {type(exc).__name__}: {exc}")
        span.set_attribute("pressplay.agent.status", result.status if result else "ok")
        span.set_attribute("pressplay.agent.attempts", result.attempts if result else 0)
    return result


def agent_phase(
    options: AgentOptions,
    *,
    sink: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> StepResult:
    """The agent phase (``pressplay agent run``) in the workspace checkout made; writes the outputs."""
    out = sink or sys.stdout
    log = Log(out)
    env = dict(os.environ if environ is None else environ)
    register_environment(env)
    result = traced("agent.step", options, env, lambda: _agent(options, out=out, log=log, base_env=env))
    assert result is not None
    write_outputs(result, options.outputs_dir)
    log(f"{result.status}: {result.summary}")
    return result


def run_step(
    options: AgentOptions,
    *,
    sink: TextIO | None = None,
    settings: Settings | None = None,
    environ: Mapping[str, str] | None = None,
) -> StepResult:
    """Checkout, agent phase and push (when ``options.push``) in this process, one after the other."""
    from pressplay.agent.checkout import checkout_phase
    from pressplay.agent.push import push_phase

    failed = checkout_phase(options, sink=sink, settings=settings, environ=environ)
    if failed is not None:
        return failed
    result = agent_phase(options, sink=sink, environ=environ)
    if not result.ok or not options.push:
        return result
    pushed = push_phase(options, sink=sink, settings=settings, environ=environ)
    pushed.attempts, pushed.report = result.attempts, pushed.report or result.report
    return pushed


def _collect_agent_files(scratch: Path, outputs_dir: Path) -> None:
    """Copy what the agent wrote for the flow (verdict, task) into the outputs, as regular files."""
    for name in AGENT_OUTPUT_FILES.values():
        text = read_regular_file(scratch / name)
        if text is not None:
            clean = redact(text)
            write_file(outputs_dir / name, clean)
            # and base64, for a step to take as {b64: ...}: the agent's text is never a parameter
            # value in clear (Argo would template it again; docs/architecture.md)
            encoded = base64.b64encode(clean.encode("utf-8")).decode("ascii")
            write_file(outputs_dir / f"{name}.b64", encoded)


def _agent(options: AgentOptions, *, out: TextIO, log: Log, base_env: dict[str, str]) -> StepResult:
    home = base_env.get("HOME")
    if home and not Path(home).exists():  # the template points HOME at an emptyDir path
        Path(home).mkdir(parents=True, exist_ok=True)
    options.outputs_dir.mkdir(parents=True, exist_ok=True)
    remove_unsafe_entries(options.outputs_dir)
    for stale in AGENT_OUTPUT_FILES.values():  # a verdict of an earlier run must not count for this one
        (options.outputs_dir / stale).unlink(missing_ok=True)
    try:
        profile = effective_profile(load_profile(options.agents_dir, options.agent), options.agent_command)
    except ProfileError as exc:
        return StepResult("invalid", str(exc))
    root = options.workspace
    if not (root / ".git").is_dir():
        return StepResult(
            "invalid", f"no checkout in {root}: `pressplay agent checkout` runs before `pressplay agent run`"
        )
    git = Git(root, env=base_env)
    git.env.update(safe_directory_env(root))
    try:
        if git.current_branch() != options.branch:
            return StepResult(
                "invalid",
                f"the checkout in {root} is not on {options.branch!r}: run `pressplay agent checkout`",
            )
        start = git.head()
        existing = git.find_step_commit(
            task=options.task_id, step=options.step_key, base=f"origin/{options.base}"
        )
    except GitError as exc:
        return StepResult("git-failed", str(exc))
    try:
        choice = _gate_choice(options, git, base_env)
    except ProfileError as exc:
        return StepResult("invalid", str(exc))
    if existing is not None:
        files = git.files_of(existing.sha)
        return StepResult(
            "existing",
            f"step {options.step_key} of task {options.task_id} is already done in {existing.sha[:12]} "
            f"({existing.subject}); nothing to do",
            commit=existing.sha,
            changed_files=files,
            pushed=True,
        )
    workdir = root / options.working_directory
    if any((root / Path(*Path(options.working_directory).parts[: i + 1])).is_symlink()
           for i in range(len(Path(options.working_directory).parts))) or not workdir.is_dir():  # fmt: skip
        return StepResult(
            "invalid",
            f"working directory {options.working_directory!r} does not exist on branch {options.branch} "
            "(or is a symbolic link)",
        )

    prompt_mod = options.prompt_mod
    if options.prompt_mod_file is not None:
        try:
            added = options.prompt_mod_file.read_text(encoding="utf-8")
            # A `.b64` file is base64 (the settings step's promptModB64: text in clear would be templated
            # again by Argo on its way here).
            if options.prompt_mod_file.suffix == ".b64" and added.strip():
                added = decode_b64_text(added, f"prompt_mod_file {options.prompt_mod_file.name}")
            prompt_mod = "\n\n".join(p for p in (prompt_mod, added) if p.strip())
        except OSError as exc:
            return StepResult("invalid", f"prompt_mod_file {str(options.prompt_mod_file)!r}: {exc.strerror}")
        except ValueError as exc:
            return StepResult("invalid", str(exc))
    attempts = options.attempts or profile.attempts
    timeout = (options.timeout or profile.timeout).total_seconds()
    scratch = Path(tempfile.mkdtemp(prefix="pressplay-agent-files-"))
    try:
        env = agent_env(
            base_env,
            profile,
            {
                "PRESSPLAY_TASK_ID": options.task_id,
                "PRESSPLAY_STEP": options.step_key,
                "PRESSPLAY_AGENT": options.agent,
                "PRESSPLAY_REPO_ROOT": str(root),
                **{name: str(scratch / file) for name, file in AGENT_OUTPUT_FILES.items()},
                "GIT_AUTHOR_NAME": options.git_author_name,
                "GIT_AUTHOR_EMAIL": options.git_author_email,
                "GIT_COMMITTER_NAME": options.git_author_name,
                "GIT_COMMITTER_EMAIL": options.git_author_email,
                **safe_directory_env(root),
            },
        )
        env.pop("PRESSPLAY_OUTPUTS_DIR", None)
        gate_env = agent_env(base_env, profile, safe_directory_env(root))
        result = _attempts(
            options, profile, git, start, out=out, log=log, env=env, gate_env=gate_env,
            root=root, workdir=workdir, prompt_mod=prompt_mod, attempts=attempts, timeout=timeout,
            choice=choice,
        )  # fmt: skip
        _collect_agent_files(scratch, options.outputs_dir)
        return result
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _attempts(
    options: AgentOptions,
    profile: Profile,
    git: Git,
    start: str,
    *,
    out: TextIO,
    log: Log,
    env: dict[str, str],
    gate_env: dict[str, str],
    root: Path,
    workdir: Path,
    prompt_mod: str,
    attempts: int,
    timeout: float,
    choice: GateChoice,
) -> StepResult:
    has_agent = bool(profile.command)
    report: GateReport | None = None
    failure: str | None = None
    attempt = 0
    agent_ok = not has_agent
    if has_agent:
        problem = _credentials_problem(profile, env, workdir, out, log)
        if problem is not None:
            return StepResult("agent-failed", f"agent {options.agent}: {problem}", attempts=0)
    for attempt in range(1, attempts + 1):
        if has_agent:
            try:
                prompt = assemble(
                    root=root,
                    task_id=options.task_id,
                    workdir=options.working_directory,
                    system_prompt=profile.system_prompt,
                    prompt_mod=prompt_mod,
                    prompt_path=options.prompt_path,
                    context_files=options.context_files,
                    previous_failure=failure,
                )
                run = _run_agent(
                    profile, prompt, options=options, workdir=workdir, attempt=attempt,
                    timeout=timeout, env=env, sink=out, log=log,
                )  # fmt: skip
                agent_ok = run.ok
            except (PromptError, ProfileError) as exc:
                return StepResult("invalid", str(exc), attempts=attempt)
            if git.current_branch() != options.branch:
                return StepResult(
                    "agent-failed",
                    f"the agent left branch {options.branch!r} (now on {git.current_branch() or 'a detached HEAD'}); "
                    "agents must not switch branches",
                    attempts=attempt,
                )
            if not agent_ok:
                description, stop = _agent_failure(profile, run, env)
                failure = f"The agent command failed: {description}."
                log(f"agent attempt {attempt} failed: {description}")
                if stop:
                    break
                continue
        started = time.monotonic()
        report = run_gates(_gates(profile, choice, workdir, log), cwd=workdir, env=gate_env, sink=out)
        log(f"{report.summary()} ({time.monotonic() - started:.1f}s)")
        if report.passed:
            break
        failure = report.markdown()
        if not has_agent:
            break
    if not agent_ok:
        return StepResult(
            "agent-failed",
            f"agent {options.agent} failed after {attempt} attempt(s): {failure}",
            attempts=attempt,
            report=report,
        )
    if report is not None and not report.passed:
        return StepResult(
            "gates-failed",
            f"{report.summary()} after {attempt} attempt(s); nothing was pushed",
            report=report,
            attempts=attempt,
        )
    return _commit(options, profile, git, start, report, attempt, log)


def _gates(profile: Profile, choice: GateChoice, workdir: Path, log: Log) -> tuple[Gate, ...]:
    """The profile's gates for this repository (its `auto` gates for the chosen languages)."""
    if not any(gate.language for gate in profile.gates):
        return profile.gates
    languages, how = choice.languages(workdir)
    gates = select_gates(profile.gates, languages)
    log(
        f"gates for {', '.join(languages) or 'no language'} ({how}): {', '.join(g.name for g in gates) or 'none'}"
    )
    return gates


def _commit(
    options: AgentOptions,
    profile: Profile,
    git: Git,
    start: str,
    report: GateReport | None,
    attempts: int,
    log: Log,
) -> StepResult:
    try:
        changed = git.stage_all_since(start)
        if not changed and profile.require_changes:
            return StepResult(
                "agent-failed",
                f"agent {options.agent} changed nothing for task {options.task_id}, but its profile sets "
                "requireChanges: check the task prompt and the agent log",
                report=report,
                attempts=attempts,
            )
        if not changed:
            return StepResult(
                "unchanged",
                f"step {options.step_key} of task {options.task_id} changed nothing; no commit",
                commit=start,
                report=report,
                attempts=attempts,
            )
        fields: dict[str, Any] = {
            "task_id": options.task_id,
            "step": options.step_key,
            "agent": options.agent,
        }
        try:
            subject = profile.commit_message.format_map(fields)
        except (KeyError, ValueError):
            subject = f"pressplay: {options.step_key} for task {options.task_id}"
        body = subject
        if report is not None and report.results:
            body += "\n\n" + report.summary()
        sha = git.commit(
            body,
            trailers=[(TASK_TRAILER, options.task_id), (STEP_TRAILER, options.step_key)],
            author=(options.git_author_name, options.git_author_email),
        )
        log(f"committed {sha[:12]}: {len(changed)} file(s)")
    except GitError as exc:
        return StepResult("git-failed", str(exc), report=report, attempts=attempts)
    return StepResult(
        "committed",
        f"{subject} ({len(changed)} file(s), {sha[:12]})",
        commit=sha,
        changed_files=changed,
        report=report,
        attempts=attempts,
    )


def read_outputs(outputs_dir: Path) -> dict[str, str]:
    """The output files the agent phase wrote, by parameter name (links and odd files read as absent)."""
    found: dict[str, str] = {}
    for name, file in OUTPUT_FILES.items():
        text = read_regular_file(outputs_dir / file)
        if text is not None:
            found[name] = text
    return found


def gate_report_of(values: Mapping[str, str]) -> dict[str, Any]:
    """The agent phase's gate report, if it is a JSON object; else an empty report."""
    try:
        report = json.loads(values.get("gateReport", ""))
    except ValueError:
        report = None
    return report if isinstance(report, dict) else {"passed": True, "summary": "no gates ran", "gates": []}
