"""Issue 18, agent side: each attack of the security review, reproduced with ``../shared/tools/hostile-agent``
(a prompt-injected agent stand-in that reports what it reached) as the agent CLI of a real agent step.

The step runs as the ``agent-step`` pod runs it (:class:`pressplay.demo.pod.AgentPod`): ``pressplay agent
checkout`` and ``push`` as processes holding the App settings, ``pressplay agent run`` without them, in
new mount and PID namespaces with the key's directory, the state directory and the bare remote covered
and no capabilities (standing in for its own container; these tests run as root here, where a
non-root interpreter under /root is out of reach, so the sandbox drops capabilities instead of the
UID). The git host is the demo's (``git http-backend`` behind a server that checks installation tokens
with the GitHub emulator and records every request).

Each test names what the old code (one ``pressplay agent run`` holding the key, pushing ``origin`` as the
checkout configured it, ``python -m`` helper, line-by-line redaction, a prompt reader that followed
links) did instead.
"""

from __future__ import annotations

import io
import json
import os
import shlex
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pressplay.agent.credential import helper_command
from pressplay.agent.git import Git
from pressplay.agent.options import AgentOptions
from pressplay.agent.prompt import PromptError, find_task_prompt
from pressplay.agent.push import push_phase
from pressplay.agent.runtime import OUTPUT_FILES, StepResult, run_step
from pressplay.demo import git_http
from pressplay.demo.pod import AgentPod
from pressplay.redact import MASK
from pressplay.testing.github_emulator import GitHubEmulator

from .conftest import git

REPO = "acme/demo"
OTHER = "acme/secret"
BRANCH = "pressplay/task-1"
needs_git_http = pytest.mark.skipif(
    not git_http.available(), reason="git has no http-backend on this machine"
)


@dataclass
class Host:
    """The emulated GitHub: REST emulator, git host for acme/demo, the bare remote behind it."""

    emulator: GitHubEmulator
    server: git_http.GitHttpServer
    remote: Path
    root: Path

    @property
    def key_file(self) -> Path:
        assert self.emulator.private_key_file is not None
        return Path(self.emulator.private_key_file)

    def key_env(self) -> dict[str, str]:
        return {
            "PRESSPLAY_GITHUB_APP_ID": str(self.emulator.app_id),
            "PRESSPLAY_GITHUB_PRIVATE_KEY_FILE": str(self.key_file),
            "PRESSPLAY_GITHUB_API_URL": self.server.url,
        }

    def pod(self) -> AgentPod:
        return AgentPod(key_env=self.key_env(), hidden=[self.key_file.parent, self.remote])

    def foreign_requests(self) -> list[tuple[str, str, bool]]:
        """Requests for anything but the task repository's git endpoints and the REST API."""
        return [r for r in self.server.requests if ".git/" in r[1] and not r[1].startswith(f"/{REPO}.git/")]


def _seed(root: Path, files: dict[str, str], links: dict[str, str]) -> Path:
    seed = root / "seed"
    seed.mkdir()
    for rel, text in files.items():
        (seed / rel).parent.mkdir(parents=True, exist_ok=True)
        (seed / rel).write_text(text)
    for rel, target in links.items():
        (seed / rel).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, seed / rel)
    git(seed, "init", "-q", "-b", "main")
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "initial")
    bare = root / "remote.git"
    git(root, "clone", "-q", "--bare", str(seed), str(bare))
    return bare


@pytest.fixture
def make_host(tmp_path: Path) -> Iterator[Callable[..., Host]]:
    if not git_http.available():
        pytest.skip("git has no http-backend on this machine")
    started: list[tuple[GitHubEmulator, git_http.GitHttpServer]] = []

    def make(links: dict[str, str] | None = None) -> Host:
        emulator = GitHubEmulator().start()
        emulator.create_repo(REPO)
        emulator.create_repo(OTHER)  # another repository of the same installation
        assert emulator.private_key_file is not None
        links = {k: v.replace("{key}", str(emulator.private_key_file)) for k, v in (links or {}).items()}
        remote = _seed(
            tmp_path,
            {"app.py": '"""App."""\n', ".taskmaster/docs/task-1/prompt.md": "Add a greeting module.\n"},
            links,
        )
        server = git_http.GitHttpServer(remote, REPO, emulator.url).start()
        started.append((emulator, server))
        return Host(emulator, server, remote, tmp_path)

    yield make
    for emulator, server in started:
        server.stop()
        emulator.stop()


@pytest.fixture
def hostile_agent(shared_dir: Path) -> Path:
    path = shared_dir / "tools" / "hostile-agent"
    assert path.is_file(), path
    return path


def _agents(root: Path, command: list[str], gates: str = "[]") -> Path:
    agents = root / "agents"
    agents.mkdir(exist_ok=True)
    (agents / "agents.yaml").write_text(
        textwrap.dedent(
            f"""\
            agents:
              author:
                command: {json.dumps(command)}
                prompt: stdin
                attempts: 1
                timeout: 60s
                gates: {gates}
            """
        )
    )
    return agents


def _options(host: Host, agents: Path, name: str = "step", **overrides: Any) -> AgentOptions:
    values: dict[str, Any] = {
        "repo": REPO,
        "branch": BRANCH,
        "agent": "author",
        "task_id": "1",
        "agents_dir": agents,
        "workspace": host.root / name / "workspace",
        "outputs_dir": host.root / name / "outputs",
        "state_dir": host.root / name / "state",
    }
    values.update(overrides)
    return AgentOptions(**values)


@dataclass
class HostileRun:
    result: StepResult
    log: str
    reports: list[dict[str, Any]]
    marker: Path
    outputs: dict[str, str]


def _run_hostile(host: Host, hostile_agent: Path, name: str = "step", **overrides: Any) -> HostileRun:
    pod = host.pod()
    if pod.isolation.startswith("none"):
        pytest.skip(f"the agent phase cannot be isolated on this machine: {pod.isolation}")
    report = host.root / f"{name}-report.jsonl"
    marker = host.root / f"{name}-pwned"
    options = _options(host, _agents(host.root, [str(hostile_agent)]), name, **overrides)
    environ = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(host.root / "agent-home"),
        "HOSTILE_AGENT_REPORT": str(report),
        "HOSTILE_AGENT_MARKER": str(marker),
        # a push URL on the GitHub host, for another repository of the same installation
        "HOSTILE_AGENT_DECOY": f"{host.server.url}/{OTHER}.git",
        # the key's path, as if the agent had guessed it: it must still not be able to read it
        "KEY_PATH_HINT": str(host.key_file),
    }
    log = io.StringIO()
    log_file = host.root / f"{name}.log"
    with log_file.open("w") as sink:
        result = pod.run(options, log=sink, environ=environ)
    text = log_file.read_text()
    log.write(text)
    reports = [json.loads(line) for line in report.read_text().splitlines()] if report.exists() else []
    outputs = {
        f: (options.outputs_dir / f).read_text()
        for f in os.listdir(options.outputs_dir)
        if not f.startswith(".")
    }
    return HostileRun(result, text, reports, marker, outputs)


# ------------------------------------------------------------------ 1: the key and the parent's environment


def test_hostile_agent_finds_no_secret_in_its_parents_environment_or_any_file(
    make_host: Callable[..., Host], hostile_agent: Path
) -> None:
    """The agent reads its parent's ``/proc/<pid>/environ`` (the agent phase) and every key path it can
    name, including the real key file's path handed to it: nothing. Old code: the parent was
    ``pressplay agent run`` with ``PRESSPLAY_GITHUB_PRIVATE_KEY_FILE`` (and the App id) in its
    environment, the key file mounted and readable (0440, the agent's group)."""
    host = make_host()
    run = _run_hostile(host, hostile_agent)
    assert run.result.status == "committed", run.log
    (report,) = run.reports
    assert report["own_env_secret_names"] == []
    parent = report["ancestors"][0]
    assert "unreadable" not in parent, "the agent must be able to read its parent: the test needs it"
    assert parent["secret_names"] == []
    assert all(a.get("secret_names", []) == [] for a in report["ancestors"])
    assert report["readable_secret_files"] == []
    assert report["key_in_prompt"] is False and report["token_in_prompt"] is False
    assert host.key_file.read_text().startswith("-----BEGIN")  # the key is there; the agent could not see it


# ------------------------------------------------------------------ 2: the symlinked prompt


def test_a_prompt_that_links_to_the_key_is_refused(tmp_path: Path) -> None:
    """Old code: ``task/prompt.md`` → the key file put the key into the model prompt."""
    key = tmp_path / "private-key.pem"
    key.write_text("-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAK\n-----END RSA PRIVATE KEY-----\n")
    root = tmp_path / "ws"
    (root / "task").mkdir(parents=True)
    os.symlink(key, root / "task" / "prompt.md")
    with pytest.raises(PromptError, match=r"'task/prompt\.md' is a symbolic link") as refused:
        find_task_prompt(root, "1", ".", None)
    assert "BEGIN" not in str(refused.value)
    with pytest.raises(PromptError, match="symbolic link"):
        find_task_prompt(root, "1", ".", "task/prompt.md")
    # a linked directory on the way, and a link that leaves the workspace through a parent
    (root / "task" / "prompt.md").unlink()
    (root / "task").rmdir()
    os.symlink(tmp_path, root / "task")
    (tmp_path / "prompt.md").write_text("outside the workspace")
    with pytest.raises(PromptError, match="goes through 'task', which is a symbolic link"):
        find_task_prompt(root, "1", ".", None)
    with pytest.raises(PromptError, match="inside the repository"):
        find_task_prompt(root, "1", ".", "../prompt.md")


def test_a_committed_prompt_link_to_the_key_stops_the_step_before_the_agent(
    make_host: Callable[..., Host], hostile_agent: Path
) -> None:
    """End to end: the repository carries ``task/prompt.md`` → the App key file's path. The step fails
    ``invalid`` naming the link, the agent never runs, no output holds the key. Old code: the agent got
    the PEM in its prompt (``key_in_prompt`` true) and the step went on."""
    host = make_host(links={"task/prompt.md": "{key}"})
    run = _run_hostile(host, hostile_agent)
    assert run.result.status == "invalid", run.log
    assert "task/prompt.md" in run.result.summary and "symbolic link" in run.result.summary
    assert run.reports == []  # the agent never started
    pem_lines = [line for line in host.key_file.read_text().splitlines() if "-----" not in line]
    for text in [run.log, *run.outputs.values()]:
        assert not any(line in text for line in pem_lines[:5])
    assert git(host.remote, "branch", "--list", BRANCH) == ""


# ------------------------------------------------------------------ 3: the push goes only to the task repository


def test_planted_pushurl_proxy_and_hooks_do_nothing(
    make_host: Callable[..., Host], hostile_agent: Path
) -> None:
    """The agent sets ``remote.origin.pushurl`` to another repository of the installation on the same
    host, ``http.proxy``, ``http.sslVerify=false`` and ``core.hooksPath`` with a ``pre-push`` hook. The
    commit still lands on the task branch of the task repository, no request (let alone credentials)
    goes to the other repository, the hook never runs. Old code: ``git push origin`` followed the
    pushurl, and the helper minted a ``contents: write`` token for the other repository."""
    host = make_host()
    run = _run_hostile(host, hostile_agent)
    (report,) = run.reports
    assert report["planted"]["remote.origin.pushurl"] is True  # the attack was really made
    assert run.result.status == "committed", run.log
    assert git(host.remote, "rev-parse", BRANCH) == run.result.commit
    assert "hostile-agent-was-here.txt" in run.result.changed_files
    assert host.foreign_requests() == []
    pushes = [r for r in host.server.requests if r[1].endswith("git-receive-pack")]
    assert pushes and all(r[1].startswith(f"/{REPO}.git/") for r in pushes)
    assert host.server.pushes_authenticated >= 1
    assert not Path(str(run.marker) + ".hook").exists()
    assert not run.marker.exists()


# ------------------------------------------------------------------ 4: a rogue pressplay package in the repository


def test_a_rogue_pressplay_package_does_not_run_in_the_credential_helper(
    make_host: Callable[..., Host], tmp_path: Path
) -> None:
    """git runs the helper from the repository root. A committed top-level ``pressplay/__init__.py``
    must not be imported: the helper is this interpreter with ``-I``. The push through that checkout
    still authenticates. Old code: ``python -m pressplay.agent.credential`` put the repository root
    first on ``sys.path`` and ran the planted package inside pressplay's push."""
    host = make_host()
    marker = tmp_path / "helper-shadowed"
    checkout = tmp_path / "rogue"
    checkout.mkdir()
    git(checkout, "init", "-q", "-b", "work")
    (checkout / "pressplay").mkdir()
    (checkout / "pressplay" / "__init__.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    git(checkout, "add", "-A")
    git(checkout, "commit", "-q", "-m", "rogue")
    helper = helper_command(REPO, "write")
    # as git runs it: a shell command with the action appended, in the repository root
    proc = subprocess.run(
        helper.removeprefix("!") + " get",
        shell=True,
        cwd=checkout,
        input=f"protocol=http\nhost={host.server.url.removeprefix('http://')}\npath={REPO}.git\n\n",
        env={**os.environ, **host.key_env()},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "password=" in proc.stdout
    assert not marker.exists()
    # and through git, pushing from that checkout
    repo = Git(checkout, env={**os.environ, **host.key_env()}, helper=helper)
    repo.run("push", "--quiet", host.server.remote_url, "HEAD:refs/heads/rogue", remote=True)
    assert git(host.remote, "rev-parse", "rogue") == git(checkout, "rev-parse", "HEAD")
    assert not marker.exists()
    assert "-I -m pressplay.agent.credential" in helper and helper.startswith(
        f"!{shlex.quote(sys.executable)}"
    )


def test_the_helper_answers_only_for_the_task_repository_through_git(
    make_host: Callable[..., Host], tmp_path: Path
) -> None:
    """A push to another repository of the installation on the same host, with pressplay's helper for
    the task repository configured: git gets no credentials and the server sees none. Old code: the
    helper minted a token for whatever path git asked about."""
    host = make_host()
    checkout = tmp_path / "other"
    checkout.mkdir()
    git(checkout, "init", "-q", "-b", "work")
    (checkout / "x.txt").write_text("x\n")
    git(checkout, "add", "-A")
    git(checkout, "commit", "-q", "-m", "x")
    repo = Git(checkout, env={**os.environ, **host.key_env()}, helper=helper_command(REPO, "write"))
    out = repo.run("push", f"{host.server.url}/{OTHER}.git", "HEAD:refs/heads/x", remote=True, check=False)
    del out
    foreign = host.foreign_requests()
    assert foreign and not any(with_credentials for _, _, with_credentials in foreign)
    issued_before = len(host.emulator.issued_tokens)
    repo.run("push", "--quiet", host.server.remote_url, "HEAD:refs/heads/x", remote=True)
    assert len(host.emulator.issued_tokens) == issued_before + 1


# ------------------------------------------------------------------ push verifies what it sends


@needs_git_http
def test_push_refuses_a_commit_that_does_not_descend_from_the_recorded_start(
    make_host: Callable[..., Host], tmp_path: Path
) -> None:
    """The agent phase's ``commit-sha`` is only a claim: push checks it against the start checkout
    recorded where the agent cannot write. Old code pushed whatever HEAD the checkout had."""
    host = make_host()
    script = tmp_path / "agent.py"
    script.write_text('import pathlib\npathlib.Path(\'g.py\').write_text(\'"""G."""\\n\')\n')
    options = _options(host, _agents(tmp_path, [sys.executable, str(script)]), push=False)
    env = {**os.environ, **host.key_env()}
    first = run_step(options, sink=io.StringIO(), environ=env)
    assert first.status == "committed", first.summary
    ws = options.workspace
    # an orphan commit with the right trailers, made in the workspace as an agent could
    orphan = git(
        ws, "commit-tree", "-m", "x\n\nPressplay-Task: 1\nPressplay-Step: author", git(ws, "write-tree")
    )
    for sha, why in (
        (orphan, "does not descend from"),
        (git(ws, "rev-parse", "HEAD~1"), "is the start of"),
        ("../../etc/passwd", "is not a commit id"),
    ):
        (options.outputs_dir / OUTPUT_FILES["commit"]).write_text(sha)
        (options.outputs_dir / OUTPUT_FILES["status"]).write_text("committed")
        result = push_phase(options, sink=io.StringIO(), environ=env)
        assert result.status == "invalid" and why in result.summary, result.summary
    unsigned = git(ws, "commit-tree", "-p", "HEAD~1", "-m", "no trailers", git(ws, "write-tree"))
    (options.outputs_dir / OUTPUT_FILES["commit"]).write_text(unsigned)
    (options.outputs_dir / OUTPUT_FILES["status"]).write_text("committed")
    result = push_phase(options, sink=io.StringIO(), environ=env)
    assert result.status == "invalid" and "trailers" in result.summary
    assert git(host.remote, "branch", "--list", BRANCH) == ""
    # the real commit goes through, and pushing it again is success (it is already there)
    (options.outputs_dir / OUTPUT_FILES["commit"]).write_text(first.commit)
    (options.outputs_dir / OUTPUT_FILES["status"]).write_text("committed")
    assert push_phase(options, sink=io.StringIO(), environ=env).status == "committed"
    again = push_phase(options, sink=io.StringIO(), environ=env)
    assert again.status == "committed" and "already had it" in again.summary
    assert git(host.remote, "rev-parse", BRANCH) == first.commit


# ------------------------------------------------------------------ 5: redaction over the whole stream

PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    + "\n".join("MIIEowIBAAKCAQEA" + c * 48 for c in "ABCDEFGHIJ")
    + "\n-----END RSA PRIVATE KEY-----\n"
)


def test_a_multi_line_pem_is_masked_in_logs_and_every_output(
    make_options: Callable[..., AgentOptions], agents_dir: Path, tmp_path: Path
) -> None:
    """The agent prints a private key over many lines, a gate prints it and fails, and a secret of an
    unusual shape sits in the environment: the log, ``gate-report.json``, ``report.md`` and the summary
    show none of it. Old code: redaction ran line by line, so only the ``BEGIN`` line was masked and
    the body reached the pod log and ``gate-report.json``; an environment secret not shaped like a
    token was never masked."""
    pem_file = tmp_path / "leak.pem"
    pem_file.write_text(PEM)
    script = agents_dir / "leaky.py"
    script.write_text(
        "import os, pathlib, sys\n"
        f"print(pathlib.Path({str(pem_file)!r}).read_text())\n"
        "print('the password is', os.environ['SERVICE_PASSWORD'])\n"
        'pathlib.Path(\'g.py\').write_text(\'"""G."""\\n\')\n'
    )
    gate = agents_dir / "leaky_gate.py"
    gate.write_text(f"import pathlib, sys\nprint(pathlib.Path({str(pem_file)!r}).read_text())\nsys.exit(1)\n")
    text = (agents_dir / "agents.yaml").read_text()
    leaky = (
        f'  leaky:\n    command: ["{sys.executable}", "{script}"]\n    attempts: 1\n'
        f'    gates:\n      - name: leaky\n        run: ["{sys.executable}", "{gate}"]\n'
    )
    (agents_dir / "agents.yaml").write_text(text.replace("  checker:\n", leaky + "  checker:\n"))
    options = make_options(agent="leaky", push=False)
    sink = io.StringIO()
    result = run_step(options, sink=sink, environ={**os.environ, "SERVICE_PASSWORD": "correct-horse-battery"})
    assert result.status == "gates-failed", sink.getvalue()
    body = [line for line in PEM.splitlines() if "-----" not in line]
    texts = {"log": sink.getvalue()}
    texts |= {f: (options.outputs_dir / f).read_text() for f in OUTPUT_FILES.values()}
    assert MASK in texts["log"] and MASK in texts["gate-report.json"]
    for name, text in texts.items():
        for line in body:
            assert line not in text, f"{name} shows a key line"
        assert "correct-horse-battery" not in text, name
    report = json.loads(texts["gate-report.json"])
    assert report["gates"][0]["tail"].count(MASK) >= len(body)


# ------------------------------------------------------------------ what the agent leaves running


DAEMON = textwrap.dedent(
    """\
    import os, pathlib, sys, time
    pid_file, plant = os.environ["DAEMON_PID_FILE"], os.environ["PLANT_DIR"]
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:  # a daemon in a session of its own, still holding the output pipe
            pathlib.Path(pid_file).write_text(str(os.getpid()))
            time.sleep(2)
            os.symlink("/etc/hostname", os.path.join(plant, "verdict.json"))  # for Argo's wait to follow
            time.sleep(20)
        os._exit(0)
    time.sleep(0.5)
    print("agent: done, leaving a friend behind")
    sys.exit(1)
    """
)


def test_what_the_agent_leaves_running_is_stopped_before_the_outputs_are_written(
    make_host: Callable[..., Host], tmp_path: Path
) -> None:
    """The agent double-forks a daemon into a session of its own that keeps the output pipe open and,
    once pressplay is done, plants ``verdict.json`` → a file of the container for Argo's ``wait`` to
    read into an output. The agent phase (a child subreaper) stops it as soon as the agent exits: the
    step ends at once and no link appears. No sandbox here: this is pressplay's own doing. Old code:
    the daemon was reparented to init and lived on; the step hung on the open pipe until the timeout
    and the link appeared after pressplay had written the outputs."""
    host = make_host()
    script = tmp_path / "daemonizer.py"
    script.write_text(DAEMON)
    pid_file = tmp_path / "daemon.pid"
    options = _options(host, _agents(tmp_path, [sys.executable, str(script)]), "leftover")
    options.outputs_dir.mkdir(parents=True)
    pod = AgentPod(key_env=host.key_env(), sandbox=False)
    environ = {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(tmp_path / "home"),
        "DAEMON_PID_FILE": str(pid_file),
        "PLANT_DIR": str(options.outputs_dir),
    }
    started = time.monotonic()
    with (tmp_path / "leftover.log").open("w") as log:
        result = pod.run(options, log=log, environ=environ)
    assert result.status == "agent-failed", (tmp_path / "leftover.log").read_text()
    assert time.monotonic() - started < 30
    daemon = int(pid_file.read_text())
    time.sleep(3)  # past the moment the daemon would have planted its link
    with pytest.raises(ProcessLookupError):
        os.kill(daemon, 0)
    assert not (options.outputs_dir / "verdict.json").is_symlink()
    assert sorted(p.name for p in options.outputs_dir.iterdir() if p.is_symlink()) == []
