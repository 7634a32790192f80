"""Gates follow the repository, on Argo's engine: a Python and a Rust sample each pass their own gates.

The agent profiles are the shipped ones' gates (``manifests/agents/agents.yaml``: ``auto-build`` for the
author, ``auto-lint`` for lint, ``auto`` for tests) with the demo's scripted agent as the CLI, and the
settings name no gates for the repository, so the ``settings`` step hands every agent step
``PRESSPLAY_GATES=auto``: each step's container picks the presets from the repository's files
(``pyproject.toml`` → python, ``Cargo.toml`` → rust; docs/agent-image.md, "Gates follow the
repository"). The ``task`` template's ``main`` carries one task of each sample from author to merge:

1. the demo's Python sample plus a ``pyproject.toml`` (``samples/python``): ``python -m compileall``,
   ``ruff format --check``, ``ruff check``, ``python -m pytest`` run and pass, the PR is merged;
2. ``main`` replaced by the demo's Rust sample (no crates.io dependency; cargo runs offline):
   ``cargo build``, ``cargo fmt --check``, clippy pedantic with ``-D warnings``, ``cargo test`` run and
   pass, the PR is merged;
3. beside the Rust task, the ``agent-step`` template alone for task 2, whose scripted author leaves out
   a ``#[must_use]`` (``PRESSPLAY_DEMO_FAULTS=lint:2``): ``cargo build`` passes, then the lint step's
   clippy gate fails on ``clippy::must_use_candidate``; the pod node's message says ``gates-failed``
   and names clippy, its gate report has the finding.

The Rust toolchain reaches the agent containers as tests/engine/toolchains.py describes (the
toolchain's own ``bin`` first on the PATH of ``pressplay-agent-credentials``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from pressplay.demo.sample import Language, project_files, write_agents_dir
from tests.engine import build, toolchains
from tests.engine.stack import NS, ROOT, Options, Stack

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

SAMPLES = Path(__file__).resolve().parent / "samples"

#: The gates each agent step of a task runs, per language (names from pressplay.agent.profile).
EXPECTED = {
    "python": {
        "author": ["compile"],
        "lint": ["ruff-format", "ruff"],
        "tests": ["ruff-format", "ruff", "pytest"],
    },
    "rust": {"author": ["build"], "lint": ["fmt", "clippy"], "tests": ["fmt", "clippy", "test"]},
}
COMMANDS = {
    "python": ("ruff format --check .", "ruff check --output-format concise .", "python -m pytest -q"),
    "rust": (
        "cargo fmt --check",
        "cargo clippy --all-targets -- -D warnings -W clippy::pedantic",
        "cargo test",
        "cargo build --all-targets",
    ),
}


def sample_files(language: Language) -> dict[str, str]:
    """The demo's sample repository of ``language``, with this folder's ``samples/<language>`` on top."""
    files = project_files(language)
    overlay = SAMPLES / language
    if overlay.is_dir():
        for path in sorted(overlay.rglob("*")):
            if path.is_file():
                files[path.relative_to(overlay).as_posix()] = path.read_text(encoding="utf-8")
    return files


def _missing(err: build.ToolMissing) -> None:
    # As tests/engine/conftest.py: CI (PRESSPLAY_ENGINE_REQUIRED=1) fails where a tool is missing.
    message = f"the gates scenario needs {err.tool}: {err}"
    if os.environ.get("PRESSPLAY_ENGINE_REQUIRED") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def rust_toolchain() -> toolchains.Rust:
    try:
        return toolchains.rust()
    except build.ToolMissing as err:
        _missing(err)
        raise


@pytest.fixture
def gates_stack(
    engine_binaries: object, rust_toolchain: toolchains.Rust, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Stack]:
    # The sample's CI (`cargo test` on the pushed tree, in this process) uses the same toolchain.
    monkeypatch.setenv("PATH", rust_toolchain.path(os.environ.get("PATH", "")))
    monkeypatch.setenv("CARGO_NET_OFFLINE", "true")
    env = {**rust_toolchain.env(), "PRESSPLAY_DEMO_FAULTS": "lint:2"}
    with Stack(Options(agent_env=env)) as stack:
        install_shipped_gates(stack)
        # envFrom's PATH replaces the kubelet's: the toolchain in front of it (toolchains.py).
        stack.cluster.kubectl(
            "-n",
            NS,
            "patch",
            "secret",
            "pressplay-agent-credentials",
            "--type=merge",
            "-p",
            json.dumps({"stringData": {"PATH": rust_toolchain.path(stack.kubelet.path)}}),
        )
        yield stack


def install_shipped_gates(stack: Stack) -> None:
    """controller-agents: the scripted agent for every profile, each with the shipped profile's gates."""
    shipped = yaml.safe_load((ROOT / "manifests" / "agents" / "agents.yaml").read_text(encoding="utf-8"))
    shipped_gates = {name: p.get("gates", []) for name, p in shipped["agents"].items()}
    assert shipped_gates["author"] == ["auto-build"], shipped_gates
    assert shipped_gates["lint"] == ["auto-lint"], shipped_gates
    assert shipped_gates["tests"] == ["auto"], shipped_gates
    agents = stack.workdir / "agents-shipped-gates"
    write_agents_dir(agents, "python")
    profiles = yaml.safe_load((agents / "agents.yaml").read_text(encoding="utf-8"))
    for name, profile in profiles["agents"].items():
        profile["gates"] = shipped_gates.get(name, [])
    (agents / "agents.yaml").write_text(yaml.safe_dump(profiles, sort_keys=False), encoding="utf-8")
    rendered = stack.cluster.kubectl(
        "-n",
        NS,
        "create",
        "configmap",
        "controller-agents",
        f"--from-file={agents}",
        "--dry-run=client",
        "-o",
        "yaml",
    ).stdout
    stack.cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", input=rendered)


def replace_main(stack: Stack, files: dict[str, str], message: str) -> None:
    """One commit on ``main`` whose tree is exactly ``files`` (the repository becomes that sample)."""
    from pressplay.demo.world import git

    with tempfile.TemporaryDirectory(prefix="pressplay-engine-sample-") as tmp:
        work = Path(tmp)
        git("clone", "-q", str(stack.github.world.remote), str(work))
        git("rm", "-r", "-q", "--ignore-unmatch", ".", cwd=work)
        for rel, text in files.items():
            target = work / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        git("add", "-A", cwd=work)
        git("commit", "-q", "-m", message, cwd=work)
        git("push", "-q", "origin", "HEAD:refs/heads/main", cwd=work)
    stack.github.world.sync()


def wait_main_has(stack: Stack, path: str, timeout: float = 60) -> None:
    """The merge of the last PR is mirrored into the git remote (the GitHub side's watcher)."""
    deadline = time.monotonic() + timeout
    while True:
        proc = subprocess.run(
            ["git", f"--git-dir={stack.github.world.remote}", "cat-file", "-e", f"refs/heads/main:{path}"],
            capture_output=True,
            check=False,
        )
        if proc.returncode == 0:
            return
        assert time.monotonic() < deadline, f"main never got {path} (the merge was not mirrored)"
        time.sleep(0.2)


def submit(stack: Stack, template: str, **params: str) -> str:
    """``argo submit --from workflowtemplate/<template> -p k=v ...``; returns the Workflow's name."""
    args = ["submit", "--from", f"workflowtemplate/{template}"]
    for key, value in params.items():
        args += ["-p", f"{key}={value}"]
    return stack.argo(*args, "-o", "name").stdout.strip().rsplit("/", 1)[-1]


def submit_task(stack: Stack, task: str, title: str, branch: str) -> str:
    """The ``task`` template's ``main`` for one task (settings, dependencies, author ... merge)."""
    return submit(stack, "task", repo=stack.github.repo, taskId=task, title=title, branch=branch)


def wait_agent_pod(stack: Stack, workflow: str, timeout: float = 300) -> dict[str, Any]:
    """The Workflow's agent-step pod node once it has ended and Argo has its outputs (not the
    Workflow: a Failed agent-step pod is not retried, but Argo's processNodeRetries first waits out
    the template's backoff, a minute, before it fails the step)."""
    deadline = time.monotonic() + timeout
    while True:
        pods = agent_pods(stack.workflow(workflow))
        node = next(iter(pods.values()), None)
        if node and node.get("phase") in ("Succeeded", "Failed", "Error") and _param(node, "gate-report"):
            return node
        assert time.monotonic() < deadline, stack.get_tree(workflow)
        time.sleep(1)


def _nodes(wf: dict[str, Any]) -> list[dict[str, Any]]:
    nodes = (wf.get("status") or {}).get("nodes") or {}
    return sorted(nodes.values(), key=lambda n: n.get("startedAt") or "")


def _param(node: dict[str, Any], name: str) -> str:
    for p in (node.get("outputs") or {}).get("parameters") or []:
        if p.get("name") == name:
            return str(p.get("value", ""))
    return ""


def agent_pods(wf: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The last pod node of each agent step, by step name (``author(0)`` → ``author``)."""
    found: dict[str, dict[str, Any]] = {}
    for node in _nodes(wf):
        template = node.get("templateName") or (node.get("templateRef") or {}).get("template")
        if node.get("type") == "Pod" and template == "agent-step":
            found[re.sub(r"\(\d+\)$", "", node.get("displayName", ""))] = node
    return found


def gate_report(node: dict[str, Any]) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(_param(node, "gate-report") or "{}")
    return report


def ran(report: dict[str, Any]) -> list[str]:
    return [g["name"] for g in report.get("gates", []) if not g.get("skipped")]


def assert_own_preset_passed(stack: Stack, wf: dict[str, Any], language: str, branch: str) -> None:
    name = wf["metadata"]["name"]
    tree = stack.get_tree(name)
    assert wf["status"]["phase"] == "Succeeded", tree
    settings = next(n for n in _nodes(wf) if n.get("displayName") == "settings")
    # No gates in pressplay-settings: every agent step gets `auto` and its files decide.
    assert _param(settings, "gates") == "auto", settings.get("outputs")
    pods = agent_pods(wf)
    commands: list[str] = []
    for step, gates in EXPECTED[language].items():
        node = pods[step]
        assert node["phase"] == "Succeeded", (step, node.get("message"), tree)
        report = gate_report(node)
        assert report.get("passed") is True, (step, report)
        assert ran(report) == gates, (language, step, report)
        commands += [g["command"] for g in report["gates"] if not g.get("skipped")]
    for command in COMMANDS[language]:
        assert command in commands, (language, command, commands)
    other = "rust" if language == "python" else "python"
    assert not [c for c in commands if any(c == o for o in COMMANDS[other])], commands
    pulls = {p["head"]: p for p in stack.github.pulls()}
    assert pulls[branch]["merged"], pulls


def test_a_python_and_a_rust_repository_each_pass_their_own_gates(gates_stack: Stack) -> None:
    stack = gates_stack
    started = time.monotonic()
    world = stack.github.world
    # 1. Python: the demo's sample with a pyproject.toml; task 1 (greeting) from author to merge.
    replace_main(stack, sample_files("python"), "greeter: a Python project")
    wf = stack.wait(submit_task(stack, "1", "Greeting", "pressplay/python-task-1"), timeout=600)
    assert_own_preset_passed(stack, wf, "python", "pressplay/python-task-1")
    python_done = time.monotonic()

    # 2. Rust: main becomes the demo's Rust sample (its CI runs `cargo test`); the same task.
    wait_main_has(stack, "changes/task-1.md")
    rust_files = sample_files("rust")
    assert rust_files["Cargo.toml"].endswith("[dependencies]\n"), "the Rust sample must build offline"
    replace_main(stack, rust_files, "greeter: a Rust crate")
    world.language = "rust"
    rust = submit_task(stack, "1", "Greeting", "pressplay/rust-task-1")

    # 3. Meanwhile (agent-step pods need no plugin agent pod, so they run beside the task's), task 2
    # through the agent-step template alone: the author leaves out a #[must_use]
    # (PRESSPLAY_DEMO_FAULTS=lint:2), which builds; then clippy pedantic stops the lint step.
    branch = "pressplay/rust-task-2"
    common = {
        "repo": stack.github.repo,
        "repoKey": stack.github.repo.replace("/", ".").lower(),
        "branch": branch,
        "taskId": "2",
    }
    author = wait_agent_pod(stack, submit(stack, "agent-step", agent="author", **common))
    assert author["phase"] == "Succeeded", author.get("message")
    assert ran(gate_report(author)) == ["build"], gate_report(author)
    lint = wait_agent_pod(stack, submit(stack, "agent-step", agent="lint", **common))
    assert lint["phase"] == "Failed", lint.get("message")
    # inferFailedReason (workflow/controller/operator.go) appends the container's termination message.
    assert "gates-failed" in lint["message"] and "clippy" in lint["message"], lint["message"]
    # Its outputs too (the wait container reports them for a failed pod as well): clippy's finding.
    report = gate_report(lint)
    assert ran(report) == ["fmt", "clippy"], report
    clippy = report["gates"][1]
    assert not clippy["passed"] and any("must_use" in f for f in clippy["findings"]), clippy
    assert "must_use_candidate" in "\n".join(clippy["tail"] + clippy["findings"]), clippy
    negative_done = time.monotonic()

    wf = stack.wait(rust, timeout=600)
    assert_own_preset_passed(stack, wf, "rust", "pressplay/rust-task-1")
    assert branch not in {p["head"] for p in stack.github.pulls()}
    print(
        f"\n[gates] python {python_done - started:.0f}s, rust {time.monotonic() - python_done:.0f}s "
        f"(the clippy failure beside it: {negative_done - python_done:.0f}s); stack {stack.timings}",
        file=sys.stderr,
    )
