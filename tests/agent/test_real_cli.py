"""The shipped profiles with the real agent CLIs, installed from npm at the versions the Dockerfile pins.

Every shipped profile (manifests/agents for Claude Code, manifests/agents/codex for Codex) runs through
``pressplay agent run`` with its own argv and no model credentials, as the agent-step pod's ``main``
container would (a non-root UID: 8738 when the tests run as root). The step must fail at once, with the
CLI's own words (both say "Not logged in") and the fix (the key to set in the Secret
``pressplay-agent-credentials``), never hang: the headless flags of each argv are checked against the
real CLI's ``--help``, and every run has a timeout.

The packages go to a cache outside the work tree, reused when present (seconds on a second run):
``$PRESSPLAY_TEST_NPM_CACHE``, else ``~/.cache/pressplay-test-npm``, or ``/var/cache/pressplay-test-npm``
for root (the agent UID cannot enter root's home). Without npm the tests skip naming it; with
``PRESSPLAY_ENGINE_REQUIRED=1`` (CI) they fail instead, as the engine tests do.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from pressplay.agent.checkout import checkout_phase
from pressplay.agent.options import AgentOptions
from pressplay.agent.profile import PROFILES_FILE, load_profiles

ROOT = Path(__file__).resolve().parents[2]
AGENTS = ROOT / "manifests" / "agents"
AGENT_UID = 8738  # the agent-step template's runAsUser of the agent's container
RUN_TIMEOUT = 120  # seconds for one `pressplay agent run`: a CLI waiting for approval would hit it
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def _pinned(name: str) -> str:
    found = re.search(rf"^ARG {name}=(\S+)$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert found, f"the Dockerfile pins {name} (ARG {name}=...)"
    return found.group(1)


PACKAGES = {
    "claude": f"@anthropic-ai/claude-code@{_pinned('CLAUDE_CODE_VERSION')}",
    "codex": f"@openai/codex@{_pinned('CODEX_VERSION')}",
}
PROFILE_DIRS = {"claude": AGENTS, "codex": AGENTS / "codex"}


def _unavailable(reason: str) -> None:
    if os.environ.get("PRESSPLAY_ENGINE_REQUIRED") == "1":
        pytest.fail(f"the real-CLI tests need {reason}")
    pytest.skip(f"the real-CLI tests need {reason}")


def _cache_root() -> Path:
    if os.environ.get("PRESSPLAY_TEST_NPM_CACHE"):
        return Path(os.environ["PRESSPLAY_TEST_NPM_CACHE"])
    if os.geteuid() == 0:
        return Path("/var/cache/pressplay-test-npm")
    return Path.home() / ".cache" / "pressplay-test-npm"


@pytest.fixture(scope="module")
def cli_bin() -> Path:
    """The npm ``.bin`` directory with both CLIs at the pinned versions (installed once, then reused)."""
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        _unavailable("node and npm (Node.js 20 or later)")
    assert npm is not None
    prefix = _cache_root() / "-".join(p.replace("/", "+") for p in PACKAGES.values())
    prefix.mkdir(parents=True, exist_ok=True)
    for parent in (prefix, *prefix.parents):
        if parent == Path("/") or parent.stat().st_mode & 0o001:
            break
        if os.geteuid() == 0 and parent in (prefix, prefix.parent):
            parent.chmod(0o755)  # the agent UID runs the CLIs from here
    bin_dir = prefix / "node_modules" / ".bin"
    with open(prefix / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not all((bin_dir / name).exists() for name in PACKAGES):
            result = subprocess.run(
                [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--no-save",
                 *PACKAGES.values()],
                capture_output=True, text=True, timeout=600, check=False,
            )  # fmt: skip
            if result.returncode != 0:
                _unavailable(
                    f"`npm install {' '.join(PACKAGES.values())}` to succeed: {result.stderr[-2000:]}"
                )
    return bin_dir


@dataclass
class Sandbox:
    """A directory tree the agent UID can use, with the sample repository checked out on the task branch."""

    root: Path
    remote: Path
    home: Path

    def run_as_agent(self) -> list[str]:
        """The prefix that runs a command as the agent's UID (as the pod does), when the tests are root."""
        if os.geteuid() != 0:
            return []
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            _unavailable("setpriv (util-linux) to run the CLI as a non-root UID")
        return [str(setpriv), f"--reuid={AGENT_UID}", f"--regid={AGENT_UID}", "--clear-groups"]


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV}, check=True, capture_output=True)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    root = Path(tempfile.mkdtemp(prefix="pressplay-real-cli-"))
    root.chmod(0o755)
    try:
        seed = root / "seed"
        (seed / ".taskmaster" / "docs" / "task-1").mkdir(parents=True)
        (seed / "app.py").write_text('"""App."""\n\nVALUE = 1\n')
        (seed / ".taskmaster" / "docs" / "task-1" / "prompt.md").write_text("Add a greeting module.\n")
        _git(seed, "init", "-q", "-b", "main")
        _git(seed, "add", "-A")
        _git(seed, "commit", "-q", "-m", "initial")
        remote = root / "remote.git"
        _git(root, "clone", "-q", "--bare", str(seed), str(remote))
        home = root / "home"
        home.mkdir()
        yield Sandbox(root, remote, home)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _agents_dir(target: Path, cli: str) -> Path:
    """The agents ConfigMap as kustomize builds it: agents.yaml plus every `<agent>_system-prompt.md`."""
    target.mkdir(parents=True, exist_ok=True)
    kustomization = yaml.safe_load((AGENTS / "kustomization.yaml").read_text())
    for entry in kustomization["configMapGenerator"][0]["files"]:
        key, _, source = entry.partition("=")
        shutil.copyfile(AGENTS / (source or key), target / key)
    shutil.copyfile(PROFILE_DIRS[cli] / PROFILES_FILE, target / PROFILES_FILE)
    return target


def _own(path: Path) -> None:
    if os.geteuid() == 0:
        for dirpath, _dirs, files in os.walk(path):
            os.chown(dirpath, AGENT_UID, AGENT_UID)
            for name in files:
                os.chown(os.path.join(dirpath, name), AGENT_UID, AGENT_UID, follow_symlinks=False)


def _closed_to_others(path: Path) -> Path | None:
    """The first directory above ``path`` that other users cannot search (no o+x), or None."""
    for parent in reversed(path.absolute().parents):
        if not parent.stat().st_mode & 0o001:
            return parent
    return None


def _run_profile(
    sandbox: Sandbox, cli_bin: Path, cli: str, agent: str, *, as_root: bool = False
) -> dict[str, str]:
    """``pressplay agent run`` of one shipped profile, with no credentials; returns the output files."""
    if not as_root and os.geteuid() == 0:
        closed = _closed_to_others(Path(sys.executable))
        if closed is not None:
            pytest.skip(
                f"UID {AGENT_UID} cannot reach this venv's python: {closed} is not searchable by other "
                "users (e.g. a mktemp -d checkout, mode 0700); clone where other users can read"
            )
    work = sandbox.root / f"{cli}-{agent}{'-root' if as_root else ''}"
    agents_dir = _agents_dir(work / "agents", cli)
    options = AgentOptions(
        repo="acme/demo", branch="pressplay/task-1", agent=agent, task_id="1", agents_dir=agents_dir,
        workspace=work / "ws", outputs_dir=work / "out", state_dir=work / "state",
        remote_url=str(sandbox.remote),
    )  # fmt: skip
    assert checkout_phase(options, environ={**os.environ, **GIT_ENV}) is None
    home = work / "home"
    home.mkdir()
    if not as_root:
        _own(work)
    env = {
        # the agent container's environment, less the Secret pressplay-agent-credentials: no model key
        "PATH": os.pathsep.join(
            [str(cli_bin), str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]
        ),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "PRESSPLAY_REPO": options.repo,
        "PRESSPLAY_BRANCH": options.branch,
        "PRESSPLAY_AGENT": agent,
        "PRESSPLAY_TASK_ID": "1",
        "PRESSPLAY_AGENTS_DIR": str(agents_dir),
        "PRESSPLAY_WORKSPACE": str(options.workspace),
        "PRESSPLAY_OUTPUTS_DIR": str(options.outputs_dir),
        "PRESSPLAY_TIMEOUT": "90s",
    }
    prefix = [] if as_root else sandbox.run_as_agent()
    command = [*prefix, sys.executable, "-m", "pressplay", "agent", "run"]
    try:
        result = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{cli} profile {agent!r} hung for {RUN_TIMEOUT}s with no credentials: {exc.stdout!r}")
    outputs = {p.name: p.read_text() for p in options.outputs_dir.iterdir() if p.is_file()}
    outputs["exit"] = str(result.returncode)
    outputs["log"] = result.stdout + result.stderr
    return outputs


def _names(cli: str) -> list[str]:
    return sorted(yaml.safe_load((PROFILE_DIRS[cli] / PROFILES_FILE).read_text())["agents"])


def _shipped(cli: str, tmp: Path) -> dict[str, list[str]]:
    return {name: list(p.command) for name, p in load_profiles(_agents_dir(tmp / cli, cli)).items()}


def _help(cli_bin: Path, home: Path, *argv: str) -> str:
    result = subprocess.run(
        [str(cli_bin / argv[0]), *argv[1:], "--help"],
        env={"PATH": f"{cli_bin}:/usr/local/bin:/usr/bin:/bin", "HOME": str(home)},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def _flags(argv: list[str]) -> list[str]:
    return [a for a in argv if a.startswith("-") and a != "-"]


def test_claude_profiles_use_headless_flags_the_real_cli_has(cli_bin: Path, tmp_path: Path) -> None:
    text = _help(cli_bin, tmp_path, "claude")
    for name, argv in _shipped("claude", tmp_path).items():
        assert argv[0] == "claude", name
        for flag in _flags(argv):
            assert re.search(rf"(^|[\s,]){re.escape(flag)}([\s,=<]|$)", text, re.MULTILINE), (name, flag)
        # -p/--print: answer and exit, never an interactive session
        assert "-p" in argv and re.search(r"-p, --print\s+Print response and exit", text), name
        mode = argv[argv.index("--permission-mode") + 1]
        choices = re.search(r"--permission-mode <mode>.*?\(choices: ([^)]*)\)", text, re.DOTALL)
        assert choices and f'"{mode}"' in choices.group(1), (mode, choices)
        # no tool call waits for an approval nobody can give
        assert mode == "bypassPermissions", name


def test_codex_profiles_use_headless_flags_the_real_cli_has(cli_bin: Path, tmp_path: Path) -> None:
    top = _help(cli_bin, tmp_path, "codex")
    assert re.search(r"^\s+exec\s+Run Codex non-interactively", top, re.MULTILINE)
    text = _help(cli_bin, tmp_path, "codex", "exec")
    assert set(_names("codex")) == set(_names("claude")), "the Codex profiles are the same agents"
    for name, argv in _shipped("codex", tmp_path).items():
        assert argv[:2] == ["codex", "exec"], name
        for flag in _flags(argv):
            assert re.search(rf"(^|[\s,]){re.escape(flag)}([\s,=<]|$)", text, re.MULTILINE), (name, flag)
        # no command waits for an approval: exec's flag that skips every confirmation
        assert "--dangerously-bypass-approvals-and-sandbox" in argv, name
        # "-": the prompt comes on stdin (the profiles' `prompt: stdin`), and the runtime closes it
        assert argv[-1] == "-" and "(or if `-` is used), instructions are read from stdin" in " ".join(
            text.split()
        )


@pytest.mark.parametrize("agent", _names("claude"))
def test_claude_profile_without_credentials_fails_with_claudes_reason_and_the_fix(
    cli_bin: Path, sandbox: Sandbox, agent: str
) -> None:
    out = _run_profile(sandbox, cli_bin, "claude", agent)
    assert out["exit"] == "3" and out["status"] == "agent-failed", out["log"][-3000:]
    summary = out["summary"]
    assert "Not logged in" in summary, summary  # Claude Code's own words
    assert "ANTHROPIC_API_KEY" in summary and "pressplay-agent-credentials" in summary, summary
    assert out["attempts"] == "1", "a run without credentials is not retried"
    assert json.loads(out["gate-report.json"])["gates"] == []


@pytest.mark.parametrize("agent", _names("codex"))
def test_codex_profile_without_credentials_fails_with_codexs_reason_and_the_fix(
    cli_bin: Path, sandbox: Sandbox, agent: str
) -> None:
    out = _run_profile(sandbox, cli_bin, "codex", agent)
    assert out["exit"] == "3" and out["status"] == "agent-failed", out["log"][-3000:]
    summary = out["summary"]
    assert "Not logged in" in summary, (
        summary
    )  # `codex login status`, before `codex exec` waits on the network
    assert "CODEX_API_KEY" in summary and "pressplay-agent-credentials" in summary, summary
    assert out["attempts"] == "0", "the agent never ran"


def test_claude_as_root_fails_with_claudes_reason_and_the_uid_fix(cli_bin: Path, sandbox: Sandbox) -> None:
    if os.geteuid() != 0:
        pytest.skip("Claude Code refuses bypassPermissions only as root")
    out = _run_profile(sandbox, cli_bin, "claude", "lint", as_root=True)
    assert out["exit"] == "3", out["log"][-3000:]
    assert "cannot be used with root" in out["summary"] and "8738" in out["summary"], out["summary"]


def test_the_dockerfile_installs_the_pinned_packages_this_test_runs() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert 'npm install --global --no-audit "@anthropic-ai/claude-code@${CLAUDE_CODE_VERSION}"' in text
    assert 'npm install --global --no-audit "@openai/codex@${CODEX_VERSION}"' in text
    sidecar = text[text.index("AS sidecar") :]
    assert "node" not in sidecar.lower(), "the sidecar image stays without Node"
    assert re.match(r"^\d+\.\d+\.\d+$", _pinned("CLAUDE_CODE_VERSION")), "an exact version"
    assert re.match(r"^\d+\.\d+\.\d+$", _pinned("CODEX_VERSION")), "an exact version"
