"""The settings step's prompt text reaches the agent through a `.b64` prompt_mod_file (agent-step's
`promptModB64` input): decoded byte for byte, braces and all; bad base64 is an `invalid` step naming it."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

from tests.agent.test_runtime import run

from pressplay.agent.options import AgentOptions

TEXT = "Follow CONTRIBUTING.md — {{workflow.name}} ${{ secrets.X }} é 🚀"


def test_b64_prompt_mod_file_is_decoded_in_front_of_the_task(
    make_options: Callable[..., AgentOptions], tmp_path: Path
) -> None:
    mod = tmp_path / "prompt-mod.b64"
    mod.write_text(base64.b64encode(TEXT.encode()).decode() + "\n")
    options = make_options(prompt_mod_file=mod, push=False)
    result, log = run(options, mode="record")
    assert result.status == "committed", log
    seen = (options.workspace / "seen-prompt.txt").read_text()
    assert TEXT in seen
    assert seen.index(TEXT) < seen.index("Add a greeting module.")


def test_bad_b64_prompt_mod_file_is_invalid_naming_it(
    make_options: Callable[..., AgentOptions], tmp_path: Path
) -> None:
    mod = tmp_path / "prompt-mod.b64"
    mod.write_text("not base64 {{x}}")
    result, _log = run(make_options(prompt_mod_file=mod, push=False), mode="record")
    assert result.status == "invalid"
    assert "prompt_mod_file prompt-mod.b64 is not valid base64" in result.summary
