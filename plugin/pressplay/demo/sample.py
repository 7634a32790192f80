"""The demo's sample project (Python, or Rust when ``cargo`` is there), its backlog and agent profiles.

Three tasks; task 3 depends on task 1. Each task has a Taskmaster prompt and an acceptance spec. The
Python sample's "configured gates" are its own lint script (module docstrings, unused imports) and its
unit tests; the Rust sample uses the ``rust`` gate preset (``cargo fmt --check``, clippy pedantic with
``-D warnings``, ``cargo test``).
"""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml

Language = Literal["python", "rust"]
REPO = "acme/greeter"

TASKS: tuple[dict[str, Any], ...] = (
    {
        "id": 1,
        "title": "Greeting",
        "description": "Add greet(name) returning 'Hello, <name>!'.",
        "details": "New module `greeting` with one public function `greet`; unit tests for it.",
        "testStrategy": "A unit test calls greet('Ada') and expects 'Hello, Ada!'.",
        "status": "pending",
        "dependencies": [],
        "priority": "high",
    },
    {
        "id": 2,
        "title": "Farewell",
        "description": "Add farewell(name) returning 'Goodbye, <name>.'.",
        "details": "New module `farewell` with one public function `farewell`; unit tests for it.",
        "testStrategy": "A unit test calls farewell('Ada') and expects 'Goodbye, Ada.'.",
        "status": "pending",
        "dependencies": [],
        "priority": "medium",
    },
    {
        "id": 3,
        "title": "Banner",
        "description": "Add banner(name) that frames greet(name) for the command line.",
        "details": "New module `banner` using `greeting.greet`; unit tests for it.",
        "testStrategy": "A unit test expects banner('Ada') == '** Hello, Ada! **'.",
        "status": "pending",
        "dependencies": [1],
        "priority": "medium",
    },
)

LINT_SCRIPT = '''\
"""The sample's lint gate: every module has a docstring and uses what it imports."""

import ast
import pathlib
import sys


def problems(path):
    """The lint findings of one file, as path:line:col: code message."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    if ast.get_docstring(tree) is None:
        found.append(f"{path}:1:1: D100 module has no docstring")
    imported = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                imported[(alias.asname or alias.name).split(".")[0]] = node.lineno
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    for name, line in sorted(imported.items()):
        if name not in used and name != "*":
            found.append(f"{path}:{line}:1: F401 {name!r} imported but unused")
    return found


def main():
    """Lint every Python file below the current directory."""
    found = []
    for path in sorted(pathlib.Path(".").rglob("*.py")):
        if not any(part.startswith(".") for part in path.parts):
            found += problems(path)
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
'''


def _common(language: Language) -> dict[str, str]:
    files: dict[str, str] = {
        "changes/README.md": "# Change notes\n\nOne file per task, `changes/task-<id>.md`, so parallel PRs never conflict.\n",
        ".gitignore": "__pycache__/\n*.pyc\ntarget/\nCargo.lock\n",
        ".taskmaster/tasks/tasks.json": json.dumps({"master": {"tasks": list(TASKS)}}, indent=2) + "\n",
    }
    for task in TASKS:
        tid = task["id"]
        files[f".taskmaster/docs/task-{tid}/prompt.md"] = (
            f"# Task {tid}: {task['title']}\n\n{task['description']}\n\n{task['details']}\n\n"
            f"Test strategy: {task['testStrategy']}\n\nAdd a change note `changes/task-{tid}.md`.\n"
        )
        spec = {
            "version": 1,
            "description": f"Task {tid} is accepted when CI is green and the agent verified the behaviour.",
            "criteria": [
                {"kind": "checks", "id": "ci"},
                {
                    "kind": "agent",
                    "id": "verified",
                    "items": [{"id": "behaviour", "description": task["testStrategy"]}],
                },
            ],
        }
        files[f".taskmaster/docs/task-{tid}/acceptance.yaml"] = yaml.safe_dump(spec, sort_keys=False)
    if language == "python":
        files.update(
            {
                "README.md": "# greeter\n\nA tiny Python package the pressplay demo builds, task by task.\n",
                "greeter/__init__.py": '"""The greeter package."""\n',
                "tests/__init__.py": '"""Tests of the greeter package."""\n',
                "tests/test_package.py": textwrap.dedent(
                    '''\
                    """The package imports."""

                    import unittest

                    import greeter


                    class PackageTest(unittest.TestCase):
                        """The package is there."""

                        def test_docstring(self):
                            """It has a docstring."""
                            self.assertTrue(greeter.__doc__)
                    '''
                ),
                "scripts/lint.py": LINT_SCRIPT,
            }
        )
    else:
        files.update(
            {
                "README.md": "# greeter\n\nA tiny Rust crate the pressplay demo builds, task by task.\n",
                "Cargo.toml": '[package]\nname = "greeter"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n',
                "src/lib.rs": "//! The greeter crate.\n",
            }
        )
    return files


def project_files(language: Language) -> dict[str, str]:
    """Every file of the sample repository's first commit."""
    return _common(language)


def gates(language: Language, kind: Literal["all", "lint", "tests"]) -> list[Any]:
    """The gates of an agent profile for the sample."""
    choices: dict[str, list[Any]]
    if language == "rust":
        cargo_test = {"name": "test", "run": ["cargo", "test"]}
        choices = {"all": ["rust"], "lint": ["rust-lint"], "tests": [cargo_test]}
    else:
        py = sys.executable
        lint = {"name": "lint", "run": [py, "scripts/lint.py"]}
        test = {"name": "unittest", "run": [py, "-m", "unittest", "discover", "-s", "tests", "-t", ".", "-q"]}
        choices = {"all": [lint, test], "lint": [lint], "tests": [test]}
    return choices[kind]


SYSTEM_PROMPTS: Mapping[str, str] = {
    "author": "You implement one task of the backlog. Change only what the task needs; keep every gate green.",
    "lint": "You fix lint and formatting findings only. Never change behaviour.",
    "tests": "You write and fix tests for the task's change. Never change production behaviour.",
    "acceptance": "You verify the task's acceptance criteria and write your verdict as JSON to $PRESSPLAY_VERDICT_FILE.",
    "deploy": "You prepare the deployment of the change.",
    "remediator": "You address the review comment in the context. Keep every gate green.",
    "ci-remediator": "You fix the failing CI checks described in the context. Keep every gate green.",
    "triage": "You read the issue in the context and answer it; write a task to $PRESSPLAY_TASK_FILE if it is one.",
}


def write_agents_dir(target: Path, language: Language, agent_command: list[str] | None = None) -> Path:
    """The agents directory (``agents.yaml`` + ``<agent>_system-prompt.md``) for the sample."""
    target.mkdir(parents=True, exist_ok=True)
    command = agent_command or [sys.executable, "-I", "-m", "pressplay.demo.scripted_agent"]
    kinds: dict[str, str | None] = {
        "author": "all",
        "lint": "lint",
        "tests": "tests",
        "acceptance": None,
        "deploy": None,
        "remediator": "all",
        "ci-remediator": "all",
        "triage": None,
    }
    agents: dict[str, Any] = {}
    for name, kind in kinds.items():
        agents[name] = {
            "description": SYSTEM_PROMPTS[name],
            "command": command,
            "prompt": "stdin",
            "timeout": "5m",
            "attempts": 2 if name == "author" else 1,
            "gates": gates(language, kind) if kind else [],  # type: ignore[arg-type]
            "requireChanges": name == "author",
            "commitMessage": "{agent}: task {task_id}" if name != "author" else "task {task_id}: implement",
        }
        (target / f"{name}_system-prompt.md").write_text(SYSTEM_PROMPTS[name] + "\n", encoding="utf-8")
    (target / "agents.yaml").write_text(yaml.safe_dump({"agents": agents}, sort_keys=False), encoding="utf-8")
    return target
