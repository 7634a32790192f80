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


def test_the_documented_step_and_its_test_run() -> None:
    step_code, test_code = _python_blocks()
    modules = []
    for name, code in (("pressplay_doc_example_step", step_code), ("pressplay_doc_example_test", test_code)):
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
