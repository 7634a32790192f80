"""``dispatch``: the correlation id, the workflow pre-check and the arguments on plain data, then the
whole step through real HTTP (agent emulator → sidecar → GitHub emulator)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from pressplay.github import GitHubPermanentError, reset_clients
from pressplay.steps import dispatch as dispatch_module
from pressplay.steps.dispatch import DispatchArgs, carries, correlation_id, dispatch_error, setup_problem
from pressplay.testing.github_emulator import GitHubEmulator
from pressplay.testing.sidecar import Sidecar, SidecarProcess
from pressplay.types import parse_duration

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


@pytest.mark.parametrize(
    ("status", "message", "hint"),
    [
        (422, "No ref found for: nope", "check `ref` ('main')"),
        (422, 'Unexpected inputs provided: ["colour"]', "may only name inputs the workflow declares"),
        (422, "Required input 'environment' not provided", "add the missing input"),
        (422, "Workflow does not have 'workflow_dispatch' trigger", "add `workflow_dispatch:`"),
        (404, "Not Found", "check `workflow` ('deploy.yml')"),
    ],
)
def test_dispatch_refusals_name_the_argument(status: int, message: str, hint: str) -> None:
    err = dispatch_error(args(), GitHubPermanentError("x", status=status, github_message=message))
    assert f"({status}: {message})" in str(err)
    assert hint in str(err)


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


# == through real HTTP: agent emulator → sidecar → GitHub emulator ====================================

REPO = "acme/api"
WORKFLOW_PATH = ".github/workflows/deploy.yml"
OUTPUTS = ["runId", "url", "conclusion", "status", "correlationId", "summary"]


class Clock:
    """The GitHub emulator's clock: real time, or ``behind`` seconds in the past."""

    def __init__(self) -> None:
        self.behind = 0.0

    def __call__(self) -> datetime:
        return datetime.now(UTC) - timedelta(seconds=self.behind)

    @contextmanager
    def ago(self, seconds: float) -> Iterator[None]:
        self.behind = seconds
        try:
            yield
        finally:
            self.behind = 0.0


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def gh(clock: Clock) -> Iterator[GitHubEmulator]:
    with GitHubEmulator(clock=clock) as emulator:
        emulator.create_repo(REPO, files={"README.md": "# api\n", WORKFLOW_PATH: GOOD_WORKFLOW})
        emulator.add_workflow(REPO, WORKFLOW_PATH, name="Deploy")
        yield emulator
    reset_clients()


def dispatched(gh: GitHubEmulator) -> list[Any]:
    with gh.lock:
        return [r for r in gh.repo_state(REPO).runs.values() if r.event == "workflow_dispatch"]


def deploy_args(**overrides: Any) -> dict[str, Any]:
    return {
        "repo": REPO,
        "workflow": "deploy.yml",
        "ref": "main",
        "inputs": {"environment": "staging"},
        "key": "deploy-task-7",
        **overrides,
    }


def test_http_dispatch_three_times_starts_one_run(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    gh.on_dispatch(REPO, "deploy.yml", conclusion="success", after_polls=3)
    results = [sidecar.run_step("dispatch", deploy_args(), outputs=OUTPUTS) for _ in range(3)]
    assert [r.phase for r in results] == ["Succeeded"] * 3, [r.message for r in results]
    (run,) = dispatched(gh)
    assert {r.outputs["runId"] for r in results} == {str(run.id)}
    first = results[0]
    assert first.replies[0].phase == "Running"
    assert first.outputs["conclusion"] == "success"
    assert first.outputs["url"] == f"https://github.com/{REPO}/actions/runs/{run.id}"
    assert first.outputs["summary"] == "Deploy #1 succeeded"
    corr = correlation_id("deploy-task-7")
    assert first.outputs["correlationId"] == corr
    assert run.inputs == {"environment": "staging", "pressplay_id": corr}
    assert run.display_title == f"Deploy {corr}"
    assert len(gh.requests_to(r"/dispatches$", "POST")) == 1


def test_http_calls_while_running_never_dispatch_again(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    gh.on_dispatch(REPO, "deploy.yml", after_polls=1000)
    replies = [sidecar.call_step("dispatch", deploy_args()) for _ in range(3)]
    assert [r.phase for r in replies] == ["Running"] * 3
    assert "Deploy #1 is in progress" in replies[-1].message
    assert len(dispatched(gh)) == 1
    # a different key is a different deploy
    sidecar.call_step("dispatch", deploy_args(key="deploy-task-8"))
    assert len(dispatched(gh)) == 2


def test_http_unchanged_poll_is_conditional_and_free(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    gh.on_dispatch(REPO, "deploy.yml", after_polls=1000)
    assert sidecar.call_step("dispatch", deploy_args()).phase == "Running"  # dispatches
    assert sidecar.call_step("dispatch", deploy_args()).phase == "Running"  # first look at the run
    used = gh.rate_limit_used()
    gh.reset_requests()
    assert sidecar.call_step("dispatch", deploy_args()).phase == "Running"
    polls = [
        r
        for r in gh.requests
        if r.path.startswith(f"/repos/{REPO}/") and not r.path.endswith("/installation")
    ]
    assert polls
    assert all(r.method == "GET" and r.conditional and r.status == 304 for r in polls), polls
    assert gh.rate_limit_used() == used


def test_http_concurrent_calls_start_one_run(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    """An agent retry racing the first call (same key, same sidecar) does not start a second run."""
    gh.on_dispatch(REPO, "deploy.yml", after_polls=1000)
    with ThreadPoolExecutor(max_workers=3) as pool:
        replies = list(pool.map(lambda _: sidecar.call_step("dispatch", deploy_args()), range(3)))
    assert [r.phase for r in replies] == ["Running"] * 3, [r.message for r in replies]
    assert len(dispatched(gh)) == 1
    assert len(gh.requests_to(r"/dispatches$", "POST")) == 1


def test_http_lookup_fallback_without_run_details(
    gh: GitHubEmulator, sidecar: Sidecar, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An older server answers 204 without the run id: the run is found by its correlation id."""
    monkeypatch.setattr(dispatch_module, "RETURN_RUN_DETAILS", False)
    gh.on_dispatch(REPO, "deploy.yml", after_polls=2)
    results = [sidecar.run_step("dispatch", deploy_args(), outputs=OUTPUTS) for _ in range(2)]
    assert [r.phase for r in results] == ["Succeeded", "Succeeded"], [r.message for r in results]
    assert len(dispatched(gh)) == 1
    (post,) = gh.requests_to(r"/dispatches$", "POST")
    assert post.status == 204


def test_http_failed_run_fails_or_continues(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    gh.on_dispatch(REPO, "deploy.yml", conclusion="failure", after_polls=1)
    failed = sidecar.run_step("dispatch", deploy_args(), outputs=OUTPUTS)
    assert failed.phase == "Failed"
    (run,) = dispatched(gh)
    assert failed.message == f"Deploy #1 concluded failure: https://github.com/{REPO}/actions/runs/{run.id}"
    assert failed.outputs["conclusion"] == "failure"
    routed = sidecar.run_step("dispatch", deploy_args(onFailure="continue"), outputs=OUTPUTS)
    assert routed.phase == "Succeeded"
    assert routed.outputs["conclusion"] == "failure"
    assert len(dispatched(gh)) == 1


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (deploy_args(repo="acme/missing"), "not installed on acme/missing"),
        (deploy_args(workflow="nope.yml"), "workflow 'nope.yml' not found in acme/api"),
        (deploy_args(ref="no-such-branch"), "ref 'no-such-branch' not found"),
        (deploy_args(workflow="deploy"), "workflow file name"),
        (deploy_args(key=""), "key"),
        (deploy_args(inputs={"pressplay_id": "x"}), "must not set 'pressplay_id'"),
        (deploy_args(timeout="later"), "timeout"),
        (deploy_args(input={"a": "b"}), "input"),
    ],
)
def test_http_bad_input_fails_naming_the_problem(
    gh: GitHubEmulator, sidecar: Sidecar, args: dict[str, Any], needle: str
) -> None:
    result = sidecar.run_step("dispatch", args)
    assert result.phase == "Failed"
    assert needle in result.message
    assert len(result.replies) == 1
    assert dispatched(gh) == []


def test_http_workflow_without_run_name_is_not_dispatched(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    bare = GOOD_WORKFLOW.replace('run-name: "${{ github.workflow }} ${{ inputs.pressplay_id }}"\n', "")
    gh.push(REPO, "main", {WORKFLOW_PATH: bare}, message="drop run-name")
    result = sidecar.run_step("dispatch", deploy_args())
    assert result.phase == "Failed"
    assert "its `run-name` does not contain `${{ inputs.pressplay_id }}`" in result.message
    assert 'run-name: "${{ github.workflow }} ${{ inputs.pressplay_id }}"' in result.message
    assert dispatched(gh) == []


def test_http_run_without_correlation_id_fails_loudly(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    """The workflow file could not be checked (not in the tree): the run GitHub reports must carry the id."""
    gh.add_workflow(REPO, ".github/workflows/other.yml", name="Other")
    result = sidecar.run_step("dispatch", deploy_args(workflow="other.yml"))
    assert result.phase == "Failed"
    (run,) = dispatched(gh)
    assert f"dispatched run {run.id}" in result.message
    assert "does not carry the correlation id" in result.message
    assert "(the run keeps going)" in result.message


@pytest.mark.reliability
@pytest.mark.parametrize(
    ("route", "method", "fault"),
    [
        (r"/dispatches$", "POST", {"kind": "status", "status": 502}),
        (r"/dispatches$", "POST", {"kind": "secondary", "retry_after": 5}),
        (r"/dispatches$", "POST", {"kind": "reset"}),
        (r"/workflows/deploy\.yml/runs$", "GET", {"kind": "status", "status": 503}),
        (r"/workflows/deploy\.yml/runs$", "GET", {"kind": "too_many", "retry_after": 5}),
        (r"/actions/runs/\d+$", "GET", {"kind": "status", "status": 500}),  # after the dispatch went through
        (r"/actions/workflows/deploy\.yml$", "GET", {"kind": "reset"}),
        (r"/contents/", "GET", {"kind": "status", "status": 502}),
    ],
    ids=lambda v: v if isinstance(v, str) else v.get("kind") if isinstance(v, dict) else str(v),
)
def test_http_transient_faults_run_then_succeed_with_one_run(
    gh: GitHubEmulator, sidecar: Sidecar, route: str, method: str, fault: dict[str, Any]
) -> None:
    gh.on_dispatch(REPO, "deploy.yml", after_polls=2)
    gh.inject_fault(route, method=method, times=2, **fault)
    result = sidecar.run_step("dispatch", deploy_args(), outputs=OUTPUTS)
    assert result.phase == "Succeeded", result.message
    assert result.replies[0].phase == "Running"
    assert len(dispatched(gh)) == 1


@pytest.mark.slow
@pytest.mark.reliability
def test_http_timeout_survives_a_sidecar_restart(
    gh: GitHubEmulator, sidecar: Sidecar, clock: Clock, tmp_path: Path
) -> None:
    gh.on_dispatch(REPO, "deploy.yml", after_polls=10**6)  # never finishes
    args = deploy_args(timeout="60s")
    with clock.ago(56):  # GitHub records the run as created 56 s ago; the timeout is 60 s
        first = sidecar.call_step("dispatch", args)
    assert first.phase == "Running"
    assert parse_duration(first.requeue or "0") <= timedelta(seconds=6)
    (run,) = dispatched(gh)
    deadline = run.created_at + timedelta(seconds=60)
    sidecar.stop()
    reset_clients()  # nothing of the first sidecar's memory survives

    env = {f"PRESSPLAY_{k.upper()}": str(v) for k, v in gh.sidecar_settings().items()}
    with SidecarProcess(env=env, log_path=tmp_path / "sidecar.log") as second:  # a new process
        while datetime.now(UTC) < deadline:
            time.sleep(0.5)
        result = second.run_step("dispatch", args, outputs=OUTPUTS)
    assert result.phase == "Failed"
    assert result.message.startswith("timed out after 1m waiting for Deploy #1 (in_progress)")
    assert f"(started {run.created_at.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ})" in result.message
    assert "the run keeps going on GitHub" in result.message
    assert "raise `timeout`" in result.message
    assert result.outputs["conclusion"] == "timed_out"
    assert len(dispatched(gh)) == 1


def test_inputs_may_come_as_json_text_from_a_template_parameter() -> None:
    from pressplay.steps.dispatch import DispatchArgs

    base = {"repo": "acme/api", "workflow": "deploy.yml", "ref": "main", "key": "deploy-1"}
    assert DispatchArgs.model_validate({**base, "inputs": '{"env": "prod"}'}).inputs == {"env": "prod"}
    assert DispatchArgs.model_validate({**base, "inputs": ""}).inputs == {}
    with pytest.raises(ValueError, match="must be an object"):
        DispatchArgs.model_validate({**base, "inputs": "[1, 2]"})
