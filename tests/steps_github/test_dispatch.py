"""``dispatch``: the correlation id, the workflow pre-check and the arguments on plain data, then the
whole step through real HTTP (agent emulator → sidecar → GitHub emulator)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from pressplay.steps.dispatch import DispatchArgs, carries, correlation_id, setup_problem

GOOD_WORKFLOW = """\
name: Deploy
on:
  workflow_dispatch:
    inputs:
      environment: {required: true, type: string}
      pressplay_id: {description: "Set by pressplay", required: false}
run-name: "${{ github.workflow }} ${{ inputs.pressplay_id }}"
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - run: echo deploying
"""


def args(**overrides: Any) -> DispatchArgs:
    base: dict[str, Any] = {
        "repo": "acme/api",
        "workflow": "deploy.yml",
        "ref": "main",
        "key": "deploy-task-7",
    }
    return DispatchArgs.model_validate({**base, **overrides})


# -- correlation id ------------------------------------------------------------------------------------


def test_correlation_id_is_stable_and_distinct() -> None:
    assert correlation_id("deploy-task-7") == correlation_id("deploy-task-7")
    assert correlation_id("deploy-task-7") != correlation_id("deploy-task-70")
    assert correlation_id("k").startswith("pressplay-")
    assert len(correlation_id("k")) == len("pressplay-") + 16


def test_carries_matches_whole_token_only() -> None:
    corr = correlation_id("a")
    assert carries(f"Deploy {corr}", corr)
    assert carries(f"{corr}", corr)
    assert carries(f"Deploy ({corr})", corr)
    assert not carries(f"Deploy {corr}0", corr)
    assert not carries("Deploy", corr)


# -- the workflow pre-check ------------------------------------------------------------------------


def test_good_workflow_passes() -> None:
    assert setup_problem(GOOD_WORKFLOW, "pressplay_id") is None


def test_github_event_inputs_form_passes() -> None:
    text = GOOD_WORKFLOW.replace("${{ inputs.pressplay_id }}", "${{ github.event.inputs.pressplay_id }}")
    assert setup_problem(text, "pressplay_id") is None


def test_missing_run_name_is_named() -> None:
    text = GOOD_WORKFLOW.replace('run-name: "${{ github.workflow }} ${{ inputs.pressplay_id }}"\n', "")
    problem = setup_problem(text, "pressplay_id")
    assert problem is not None
    assert "run-name" in problem


def test_missing_input_is_named() -> None:
    text = GOOD_WORKFLOW.replace(
        '      pressplay_id: {description: "Set by pressplay", required: false}\n', ""
    )
    problem = setup_problem(text, "pressplay_id")
    assert problem is not None
    assert "does not declare the input `pressplay_id`" in problem


def test_no_dispatch_trigger_is_named() -> None:
    text = "name: CI\non: [push]\nrun-name: x\njobs: {}\n"
    assert setup_problem(text, "pressplay_id") == "it has no `workflow_dispatch` trigger"


def test_custom_correlation_input() -> None:
    text = GOOD_WORKFLOW.replace("pressplay_id", "run_key")
    assert setup_problem(text, "run_key") is None
    assert setup_problem(text, "pressplay_id") is not None


# -- arguments ---------------------------------------------------------------------------------------


def test_args_defaults_and_normalisation() -> None:
    a = args(workflow=".github/workflows/deploy.yaml", ref="refs/heads/release", timeout="20m")
    assert a.workflow == "deploy.yaml"
    assert a.ref == "release"
    assert a.correlation_input == "pressplay_id"
    assert a.on_failure.value == "fail"
    assert args(workflow="1234").workflow == "1234"


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ({"workflow": "deploy"}, "workflow file name"),
        ({"ref": "my branch"}, "branch or tag"),
        ({"key": ""}, "key"),
        ({"inputs": {"pressplay_id": "x"}}, "must not set 'pressplay_id'"),
        ({"inputs": {f"i{n}": "x" for n in range(25)}}, "at most 24"),
        ({"inputs": {"bad name": "x"}}, "not valid workflow input names"),
        ({"correlationInput": "bad name"}, "workflow input name"),
        ({"inputz": {}}, "inputz"),
    ],
)
def test_bad_args_name_the_problem(override: dict[str, Any], needle: str) -> None:
    with pytest.raises(ValidationError, match=needle):
        args(**override)
