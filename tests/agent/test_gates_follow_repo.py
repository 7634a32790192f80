"""Gates follow the repository: `auto` presets run the gates of the language its files show (on the base
branch and in the work), PRESSPLAY_GATES names the languages instead, and a bad value is refused with
the valid presets. A Python and a Rust sample each pass their gates with a scripted agent, and fail them
with a change the gates reject (nothing is pushed)."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from tests.agent.conftest import git

from pressplay.agent.options import AgentOptions
from pressplay.agent.profile import (
    LANGUAGES,
    PRESETS,
    Profile,
    ProfileError,
    detect_languages,
    parse_gates_choice,
    select_gates,
)
from pressplay.agent.runtime import StepResult, run_step

BIN = Path(sys.executable).parent

# The scripted agent: writes the files named in AGENT_FILES (JSON: path -> text; null deletes).
AGENT = textwrap.dedent(
    """
    import json, os, pathlib
    for path, text in json.loads(os.environ.get("AGENT_FILES", "{}")).items():
        target = pathlib.Path(path)
        if text is None:
            target.unlink()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
    """
)

PYTHON_SAMPLE = {
    "pyproject.toml": '[project]\nname = "greeter"\nversion = "0.1.0"\n\n[tool.pytest.ini_options]\n'
    'testpaths = ["tests"]\npythonpath = ["."]\n',
    "greeter/__init__.py": '"""The greeter package."""\n',
    "tests/test_package.py": '"""The package imports."""\n\nimport greeter\n\n\n'
    "def test_docstring() -> None:\n    assert greeter.__doc__\n",
}
PYTHON_GOOD = {
    "greeter/greeting.py": '"""Greetings."""\n\n\ndef greet(name: str) -> str:\n    """Say hello."""\n'
    '    return f"Hello, {name}!"\n',
    "tests/test_greeting.py": '"""greet."""\n\nfrom greeter.greeting import greet\n\n\n'
    'def test_greet() -> None:\n    assert greet("Ada") == "Hello, Ada!"\n',
}
PYTHON_BAD = {  # unused import (ruff F401) and a misformatted line
    "greeter/greeting.py": '"""Greetings."""\nimport os\n\ndef greet(name):\n    return "Hello, "+name+"!"\n',
}
RUST_SAMPLE = {
    "Cargo.toml": '[package]\nname = "greeter"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n',
    "src/lib.rs": "//! The greeter crate.\n",
    ".gitignore": "target/\nCargo.lock\n",
}
RUST_GOOD = {
    "src/lib.rs": "//! The greeter crate.\n\n/// Says hello.\n#[must_use]\npub fn greet(name: &str) -> String {\n"
    '    format!("Hello, {name}!")\n}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn greets() {\n'
    '        assert_eq!(super::greet("Ada"), "Hello, Ada!");\n    }\n}\n',
}
RUST_BAD = {  # clippy::pedantic must_use_candidate, denied by -D warnings
    "src/lib.rs": "//! The greeter crate.\n\n/// Says hello.\npub fn greet(name: &str) -> String {\n"
    '    format!("Hello, {name}!")\n}\n',
}


def _remote(tmp_path: Path, files: dict[str, str]) -> Path:
    seed = tmp_path / "seed"
    for rel, text in files.items():
        (seed / rel).parent.mkdir(parents=True, exist_ok=True)
        (seed / rel).write_text(text)
    (seed / ".taskmaster" / "docs" / "task-1").mkdir(parents=True)
    (seed / ".taskmaster" / "docs" / "task-1" / "prompt.md").write_text("Add greet(name).\n")
    git(seed, "init", "-q", "-b", "main")
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "sample")
    bare = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(seed), str(bare))
    return bare


def _agents(tmp_path: Path, gates: list[Any]) -> Path:
    d = tmp_path / "agents"
    d.mkdir(exist_ok=True)
    (d / "agent.py").write_text(AGENT)
    profile = {
        "command": [sys.executable, str(d / "agent.py")],
        "prompt": "stdin",
        "attempts": 1,
        "gates": gates,
    }
    (d / "agents.yaml").write_text(json.dumps({"agents": {"tests": profile}}))
    return d


def _step(
    tmp_path: Path, remote: Path, gates: list[Any], files: dict[str, str | None], **env: str
) -> tuple[StepResult, dict[str, Any], str]:
    name = f"run{len(list(tmp_path.glob('ws*')))}"
    options = AgentOptions(
        repo="acme/greeter", branch="pressplay/task-1", agent="tests", task_id="1",
        agents_dir=_agents(tmp_path, gates), workspace=tmp_path / f"ws-{name}",
        outputs_dir=tmp_path / f"out-{name}", state_dir=tmp_path / f"state-{name}", remote_url=str(remote),
    )  # fmt: skip
    environ = {
        **{k: v for k, v in os.environ.items() if k != "PRESSPLAY_GATES"},
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "AGENT_FILES": json.dumps(files),
        "CARGO_TARGET_DIR": str(tmp_path.parent / "cargo-target"),
        **env,
    }
    sink = io.StringIO()
    result = run_step(options, sink=sink, environ=environ)
    report = json.loads((options.outputs_dir / "gate-report.json").read_text())
    return result, report, sink.getvalue()


def _ran(report: dict[str, Any]) -> list[str]:
    return [g["name"] for g in report["gates"] if not g["skipped"]]


def _branches(remote: Path) -> str:
    return subprocess.run(
        ["git", f"--git-dir={remote}", "branch"], capture_output=True, text=True, check=True
    ).stdout


# --- the presets and PRESSPLAY_GATES, without a repository ---------------------------------------


def test_every_language_has_lint_full_and_build_presets_and_auto_tags_them() -> None:
    for lang in LANGUAGES:
        assert {lang, f"{lang}-lint", f"{lang}-build"} <= set(PRESETS)
        assert all(g.language is None for g in PRESETS[lang])
    assert [g.language for g in PRESETS["auto-lint"]] == [
        lang for lang in LANGUAGES for _ in PRESETS[f"{lang}-lint"]
    ]
    profile = Profile.model_validate({"gates": ["auto-lint", {"name": "mine", "run": ["true"]}]})
    assert [g.name for g in select_gates(profile.gates, ("python",))] == ["ruff-format", "ruff", "mine"]
    assert [g.name for g in select_gates(profile.gates, ())] == ["mine"]


def test_rust_keeps_the_mission_gates() -> None:
    assert [" ".join(g.run) for g in PRESETS["rust-lint"]] == [
        "cargo fmt --check",
        "cargo clippy --all-targets -- -D warnings -W clippy::pedantic",
    ]


@pytest.mark.parametrize(
    ("value", "languages"),
    [(None, None), ("", None), ("auto", None), (" AUTO ", None), ("none", ()), ("python", ("python",)),
     ("rust, node,rust", ("rust", "node")), ("go", ("go",))],
)  # fmt: skip
def test_gates_choice(value: str | None, languages: tuple[str, ...] | None) -> None:
    assert parse_gates_choice(value) == languages


@pytest.mark.parametrize("value", ["cobol", "python-lint", "rust,", "auto,python"])
def test_gates_choice_refuses_with_the_valid_presets(value: str) -> None:
    with pytest.raises(ProfileError) as err:
        parse_gates_choice(value)
    message = str(err.value)
    assert "PRESSPLAY_GATES" in message and "auto" in message and "none" in message
    assert "rust, python, node, go" in message


def test_detection_by_marker_files() -> None:
    assert detect_languages({"setup.py", "go.mod"}.__contains__) == ("python", "go")
    assert detect_languages({"package.json", "Cargo.toml"}.__contains__) == ("rust", "node")
    assert detect_languages(set().__contains__) == ()


# --- a Python sample through the runtime ----------------------------------------------------------


@pytest.fixture
def python_remote(tmp_path: Path) -> Path:
    if shutil.which("ruff", path=str(BIN)) is None:
        pytest.fail("ruff is a dev dependency: pip install -e '.[dev]'")
    return _remote(tmp_path, PYTHON_SAMPLE)


def test_python_sample_passes_its_gates_with_auto(tmp_path: Path, python_remote: Path) -> None:
    result, report, log = _step(tmp_path, python_remote, ["auto"], dict(PYTHON_GOOD))
    assert result.status == "committed", (result.summary, log[-3000:])
    assert _ran(report) == ["ruff-format", "ruff", "pytest"]
    assert "gates for python (detected: python)" in log
    assert "pressplay/task-1" in _branches(python_remote)


def test_python_sample_fails_ruff_and_nothing_is_pushed(tmp_path: Path, python_remote: Path) -> None:
    result, report, _ = _step(tmp_path, python_remote, ["auto-lint"], dict(PYTHON_BAD))
    assert result.status == "gates-failed" and result.exit_code == 1, result.summary
    failed = {g["name"]: g for g in report["gates"] if not g["passed"]}
    assert set(failed) == {"ruff-format", "ruff"}
    assert any("F401" in line for line in failed["ruff"]["findings"]), failed["ruff"]
    assert "pressplay/task-1" not in _branches(python_remote)


def test_deleting_the_marker_file_does_not_drop_the_gates(tmp_path: Path, python_remote: Path) -> None:
    # The base branch has pyproject.toml: an agent that deletes it still meets the Python gates.
    result, report, _ = _step(tmp_path, python_remote, ["auto-lint"], {**PYTHON_BAD, "pyproject.toml": None})
    assert result.status == "gates-failed", result.summary
    assert _ran(report) == ["ruff-format", "ruff"]


def test_a_new_projects_files_select_its_gates(tmp_path: Path) -> None:
    remote = _remote(tmp_path, {"README.md": "# empty\n"})
    result, report, _ = _step(tmp_path, remote, ["auto-lint"], {**PYTHON_SAMPLE, **PYTHON_BAD})
    assert result.status == "gates-failed", result.summary
    assert _ran(report) == ["ruff-format", "ruff"]


def test_no_language_found_runs_no_language_gates(tmp_path: Path) -> None:
    remote = _remote(tmp_path, {"README.md": "# docs only\n"})
    result, report, log = _step(tmp_path, remote, ["auto"], {"NOTES.md": "notes\n"})
    assert result.status == "committed", result.summary
    assert report["gates"] == []
    assert "none of Cargo.toml, pyproject.toml, setup.py, package.json, go.mod" in log


def test_pressplay_gates_names_the_languages(tmp_path: Path, python_remote: Path) -> None:
    # `none`: the settings say this repository has no language gates
    result, report, log = _step(
        tmp_path, python_remote, ["auto-lint"], dict(PYTHON_BAD), PRESSPLAY_GATES="none"
    )
    assert result.status == "committed", result.summary
    assert report["gates"] == [] and "PRESSPLAY_GATES=none" in log


def test_pressplay_gates_can_choose_another_language(tmp_path: Path, python_remote: Path) -> None:
    # `go` on a Python repository: Go's gates run (and fail here: no go.mod), Python's do not
    result, report, _ = _step(tmp_path, python_remote, ["auto-lint"], dict(PYTHON_GOOD), PRESSPLAY_GATES="go")
    assert [g["name"] for g in report["gates"]] == ["gofmt", "go-vet"]
    assert result.status in ("gates-failed", "committed")


def test_a_bad_pressplay_gates_is_invalid_before_the_agent_runs(tmp_path: Path, python_remote: Path) -> None:
    result, _, log = _step(tmp_path, python_remote, ["auto"], dict(PYTHON_GOOD), PRESSPLAY_GATES="pyhton")
    assert result.status == "invalid" and result.exit_code == 2
    assert "PRESSPLAY_GATES='pyhton'" in result.summary and "rust, python, node, go" in result.summary
    assert "[agent]" not in log, "the agent never ran"


# --- a Rust sample through the runtime ------------------------------------------------------------


def _cargo_ready() -> bool:
    if shutil.which("cargo") is None:
        return False
    return all(
        subprocess.run(["cargo", tool, "--version"], capture_output=True, check=False).returncode == 0
        for tool in ("clippy", "fmt")
    )


@pytest.mark.slow
@pytest.mark.skipif(not _cargo_ready(), reason="cargo with clippy and rustfmt is not installed here")
def test_rust_sample_passes_clippy_pedantic_and_fails_a_pedantic_warning(tmp_path: Path) -> None:
    remote = _remote(tmp_path, RUST_SAMPLE)
    result, report, log = _step(tmp_path, remote, ["auto"], dict(RUST_BAD))
    assert result.status == "gates-failed", result.summary
    clippy = next(g for g in report["gates"] if g["name"] == "clippy")
    assert not clippy["passed"] and any("must_use" in line for line in clippy["findings"] + clippy["tail"])
    assert "pressplay/task-1" not in _branches(remote)

    result, report, log = _step(tmp_path, remote, ["auto"], dict(RUST_GOOD))
    assert result.status == "committed", (result.summary, log[-3000:])
    assert _ran(report) == ["fmt", "clippy", "test"]
