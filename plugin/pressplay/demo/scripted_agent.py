"""A deterministic coding agent for the demo and the tests: no model, no network.

``pressplay agent run`` starts it like any agent CLI (prompt on stdin, the working directory is the
checkout) with ``PRESSPLAY_AGENT``, ``PRESSPLAY_TASK_ID``, ``PRESSPLAY_ATTEMPT`` and friends set. What it
does depends on the agent profile:

- ``author`` writes the task's module, its unit test and a change note (``changes/task-<id>.md``);
- ``lint``, ``tests``, ``deploy`` find nothing to do (the author's work passes their gates);
- ``ci-remediator`` adds the change note the ``changelog`` check asks for;
- ``remediator`` records how it addressed the review comment found in its context;
- ``triage`` quotes the issue it was given into ``docs/issues/<task>.md`` and writes no task;
- ``acceptance`` runs the task's test and writes a verdict to ``$PRESSPLAY_VERDICT_FILE``.

``PRESSPLAY_DEMO_FAULTS`` (``kind:task`` pairs, comma-separated) makes it misbehave on purpose:
``lint:N`` (the author's change fails the lint gate, every attempt), ``lint-once:N`` (only the first
attempt), ``ci:N`` (the author forgets the change note; CI fails, the ci-remediator fixes it),
``ci-unfixable:N`` (the same, and the ci-remediator cannot fix it).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from pressplay.demo.sample import TASKS

_TITLES = {str(t["id"]): str(t["title"]) for t in TASKS}
MODULES = {"1": "greeting", "2": "farewell", "3": "banner"}

_PY = {
    "greeting": ('"""Greetings."""\n\n\ndef greet(name):\n    """Return a greeting for ``name``."""\n'
                 '    return f"Hello, {name}!"\n'),
    "farewell": ('"""Farewells."""\n\n\ndef farewell(name):\n    """Return a farewell for ``name``."""\n'
                 '    return f"Goodbye, {name}."\n'),
    "banner": ('"""Banners for the command line."""\n\nfrom greeter.greeting import greet\n\n\n'
               'def banner(name):\n    """Frame the greeting for ``name``."""\n    return f"** {greet(name)} **"\n'),
}  # fmt: skip
# Double-quoted, as `ruff format` writes them: the `python` gate preset passes on this code too
# (tests/engine/test_gates.py).
_PY_TESTS = {
    "greeting": ("from greeter.greeting import greet", 'greet("Ada")', "Hello, Ada!"),
    "farewell": ("from greeter.farewell import farewell", 'farewell("Ada")', "Goodbye, Ada."),
    "banner": ("from greeter.banner import banner", 'banner("Ada")', "** Hello, Ada! **"),
}
_RS = {
    "greeting": ("greet", 'format!("Hello, {name}!")', "Hello, Ada!", ""),
    "farewell": ("farewell", 'format!("Goodbye, {name}.")', "Goodbye, Ada.", ""),
    "banner": ("banner", 'let greeting = greet(name);\n    format!("** {greeting} **")', "** Hello, Ada! **",
               "use crate::greeting::greet;\n\n"),
}  # fmt: skip


#: what ``--faults`` / ``PRESSPLAY_DEMO_FAULTS`` can make the scripted agent do, per task
FAULT_KINDS = {
    "lint": "the author's change fails the lint gate on every attempt",
    "lint-once": "the author's first attempt fails the lint gate, the retry passes",
    "ci": "CI fails once on the PR; the ci-remediator fixes it",
    "ci-unfixable": "CI fails and the ci-remediator cannot fix it",
}


def parse_faults(raw: str, task_ids: Iterable[str]) -> set[tuple[str, str]]:
    """``kind:TASK`` items, comma-separated; raises ValueError naming the valid forms."""
    tasks = [str(t) for t in task_ids]
    forms = ", ".join(f"{kind}:N" for kind in FAULT_KINDS)
    found = set()
    for item in raw.split(","):
        item = item.strip()
        if not item:
            continue
        kind, sep, task = item.partition(":")
        if not sep or kind not in FAULT_KINDS:
            raise ValueError(
                f"--faults {item!r}: write KIND:TASK with KIND one of {forms} (N a task id: "
                f"{', '.join(tasks)}), comma-separated"
            )
        if task not in tasks:
            raise ValueError(
                f"--faults {item!r}: the sample has no task {task!r}; its tasks are {', '.join(tasks)}"
            )
        found.add((kind, task))
    return found


def faults() -> set[tuple[str, str]]:
    raw = os.environ.get("PRESSPLAY_DEMO_FAULTS", "")
    found = set()
    for item in raw.split(","):
        kind, _, task = item.strip().partition(":")
        if kind and task:
            found.add((kind, task))
    return found


def _python_files(module: str, *, bad: bool) -> dict[str, str]:
    code = _PY[module]
    if bad:  # an unused import: the lint gate's F401
        code = code.replace('"""\n\n', '"""\n\nimport os\n', 1)
    imp, call, expected = _PY_TESTS[module]
    test = (
        f'"""Tests of greeter.{module}."""\n\nimport unittest\n\n{imp}\n\n\n'
        f"class {module.title()}Test(unittest.TestCase):\n"
        f'    """{module} works."""\n\n'
        f"    def test_{module}(self):\n"
        f'        """The documented example."""\n'
        f'        self.assertEqual({call}, "{expected}")\n'
    )
    return {f"greeter/{module}.py": code, f"tests/test_{module}.py": test}


def _rust_files(root: Path, module: str, *, bad: bool) -> dict[str, str]:
    func, body, expected, uses = _RS[module]
    must_use = "" if bad else "#[must_use]\n"  # without it: clippy::must_use_candidate (pedantic)
    code = (
        f"//! The {module} module.\n\n{uses}/// Returns the {module} for `name`.\n{must_use}"
        f"pub fn {func}(name: &str) -> String {{\n    {body}\n}}\n\n"
        f"#[cfg(test)]\nmod tests {{\n    use super::{func};\n\n    #[test]\n    fn {func}_ada() {{\n"
        f'        assert_eq!({func}("Ada"), "{expected}");\n    }}\n}}\n'
    )
    lib = (root / "src" / "lib.rs").read_text(encoding="utf-8")
    mods = set(re.findall(r"^pub mod (\w+);$", lib, re.M)) | {module}
    header = lib.split("\n\n", 1)[0].rstrip("\n")
    lib = header + "\n\n" + "".join(f"pub mod {m};\n" for m in sorted(mods))
    return {f"src/{module}.rs": code, "src/lib.rs": lib}


def _changelog(root: Path, task: str) -> None:
    path = root / "changes" / f"task-{task}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"Task {task}: {_TITLES.get(task, task)}\n", encoding="utf-8")


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def _context(prompt: str) -> str:
    """The first context block of the prompt (a review comment, failing checks)."""
    match = re.search(r"## Context: .*?\n(~{5,})text\n(.*?)\n\1", prompt, re.S)
    return match.group(2) if match else ""


def main() -> int:
    agent = os.environ.get("PRESSPLAY_AGENT", "author")
    task = os.environ.get("PRESSPLAY_TASK_ID", "")
    attempt = int(os.environ.get("PRESSPLAY_ATTEMPT", "1"))
    prompt = sys.stdin.read()
    root = Path.cwd()
    rust = (root / "Cargo.toml").exists()
    broken = faults()
    module = MODULES.get(task)
    print(f"scripted agent: {agent}, task {task}, attempt {attempt}, {len(prompt)} prompt characters")
    if agent == "triage":
        # Records the issue it was given (its first context block), quoted, on its branch: what it
        # received is checked byte for byte (tests/engine/test_events.py). Writes no task.
        issue = _context(prompt).strip() or "(empty issue)"
        path = root / "docs" / "issues" / f"{task}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(f"> {line}" for line in issue.splitlines()) + "\n", encoding="utf-8")
        print(f"scripted agent: read the issue into {path.relative_to(root)}")
        return 0
    if module is None:
        print(f"scripted agent: no script for task {task!r}; nothing to do")
        return 0
    if agent == "author":
        bad = ("lint", task) in broken or (("lint-once", task) in broken and attempt == 1)
        files = _rust_files(root, module, bad=bad) if rust else _python_files(module, bad=bad)
        _write(root, files)
        if not ({("ci", task), ("ci-unfixable", task)} & broken):
            _changelog(root, task)
        print(f"scripted agent: wrote {', '.join(sorted(files))}")
    elif agent == "ci-remediator":
        context = _context(prompt) or prompt
        if "change note" in context.lower() and ("ci-unfixable", task) not in broken:
            _changelog(root, task)
            print("scripted agent: added the change note the changelog check asks for")
        else:
            print("scripted agent: cannot tell how to fix the failing checks from the context")
    elif agent == "remediator":
        comment = _context(prompt).strip() or "(empty comment)"
        quoted = "\n".join(f"> {line}" for line in comment.splitlines())
        path = root / "docs" / "reviews" / f"task-{task}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        previous = path.read_text(encoding="utf-8") if path.exists() else f"# Review notes for task {task}\n"
        path.write_text(previous + f"\nAddressed:\n\n{quoted}\n", encoding="utf-8")
        print(f"scripted agent: addressed the review comment in {path.relative_to(root)}")
    elif agent == "acceptance":
        verdict_file = os.environ.get("PRESSPLAY_VERDICT_FILE")
        if rust:
            passed, evidence = (root / "src" / f"{module}.rs").exists(), f"src/{module}.rs has the unit test"
        else:
            proc = subprocess.run(
                [sys.executable, "-m", "unittest", f"tests.test_{module}", "-q"],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            passed = proc.returncode == 0
            evidence = f"python -m unittest tests.test_{module}: {'OK' if passed else 'FAILED'}"
        verdict = {
            "version": 1,
            "summary": f"Task {task}: the documented example {'works' if passed else 'fails'}.",
            "items": [{"id": "behaviour", "passed": passed, "evidence": evidence}],
        }
        if verdict_file:
            Path(verdict_file).write_text(json.dumps(verdict), encoding="utf-8")
        print(f"scripted agent: verdict {'passed' if passed else 'failed'}")
    else:
        print(f"scripted agent: {agent} finds nothing to change")
    return 0


if __name__ == "__main__":
    sys.exit(main())
