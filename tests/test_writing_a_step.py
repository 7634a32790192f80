"""docs/writing-a-step.md is executable: its step module and its test run here, as written."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _python_blocks() -> list[str]:
    text = (ROOT / "docs/writing-a-step.md").read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


NAMES = ("acme_steps", "acme_steps.not_before", "pressplay_doc_example_test")


def test_the_documented_step_and_its_test_run() -> None:
    """The page's step is module ``acme_steps.not_before`` (its own package), its test imports it."""
    step_code, test_code = _python_blocks()
    package = types.ModuleType("acme_steps")
    package.__path__ = []
    sys.modules["acme_steps"] = package
    try:
        modules = []
        for name, code in zip(NAMES[1:], (step_code, test_code), strict=True):
            module = types.ModuleType(name)
            sys.modules[name] = module
            # dont_inherit: run the page's code as written, not under this file's __future__ imports.
            exec(compile(code, f"docs/writing-a-step.md#{name}", "exec", dont_inherit=True), module.__dict__)
            modules.append(module)
        test_module = modules[1]
        tests = [getattr(test_module, name) for name in dir(test_module) if name.startswith("test_")]
        assert tests, "the page's test block defines no test"
        for test in tests:
            test()
    finally:
        for name in NAMES:
            sys.modules.pop(name, None)
