"""`pressplay agent run` end to end against a local bare remote: commit, resume, gates, retries."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from pressplay.agent.options import AgentOptions
from pressplay.agent.runtime import OUTPUT_FILES, run_step

from .conftest import git


def run(options: AgentOptions, mode: str = "good", **env: str) -> tuple[object, str]:
    sink = io.StringIO()
    result = run_step(options, sink=sink, environ={**os.environ, "DEMO_MODE": mode, **env})
    return result, sink.getvalue()


def remote_log(remote: Path, branch: str = "pressplay/task-1") -> list[str]:
    return git(remote, "log", "--format=%H", branch).splitlines()


def outputs(options: AgentOptions) -> dict[str, str]:
    return {name: (options.outputs_dir / f).read_text() for name, f in OUTPUT_FILES.items()}


def test_commits_with_trailers_pushes_and_writes_outputs(
    make_options: Callable[..., AgentOptions], remote: Path
) -> None:
    options = make_options()
    result, log = run(options)
    assert result.status == "committed", log
    assert result.exit_code == 0
    assert result.changed_files == ["greeting.py"]
    head = git(remote, "rev-parse", "pressplay/task-1")
    assert result.commit == head
    message = git(remote, "log", "-1", "--format=%B", head)
    assert "Pressplay-Task: 1" in message
    assert "Pressplay-Step: author" in message
    assert (
        git(remote, "log", "-1", "--format=%an <%ae>", head)
        == "pressplay[bot] <pressplay[bot]@users.noreply.github.com>"
    )
    files = outputs(options)
    assert files["commit"] == head
    assert json.loads(files["changedFiles"]) == ["greeting.py"]
    report = json.loads(files["gateReport"])
    assert report["passed"] is True
    assert [g["name"] for g in report["gates"]] == ["docstrings"]
    assert files["status"] == "committed"
    assert "task 1" in files["summary"]


def test_rerun_reports_existing_commit_and_does_no_work(
    make_options: Callable[..., AgentOptions], remote: Path
) -> None:
    first, _ = run(make_options())
    before = remote_log(remote)
    second, log = run(make_options(), mode="fail")  # the agent would fail if it ran at all
    assert second.status == "existing", log
    assert second.commit == first.commit
    assert second.changed_files == ["greeting.py"]
    assert remote_log(remote) == before
    assert "[agent]" not in log


def test_a_different_step_on_the_same_branch_adds_its_own_commit(
    make_options: Callable[..., AgentOptions], remote: Path, agents_dir: Path
) -> None:
    run(make_options())
    (agents_dir / "agent2.py").write_text(
        'import pathlib\npathlib.Path(\'more.py\').write_text(\'"""More."""\\n\')\n'
    )
    result, log = run(
        make_options(step="remediation-c42", agent_command=f"python3 {agents_dir / 'agent2.py'}")
    )
    assert result.status == "committed", log
    assert result.changed_files == ["more.py"]
    assert len(remote_log(remote)) == 3
    assert "Pressplay-Step: remediation-c42" in git(remote, "log", "-1", "--format=%B", "pressplay/task-1")


def test_failing_gates_push_nothing_and_report(
    make_options: Callable[..., AgentOptions], remote: Path
) -> None:
    options = make_options()
    result, log = run(options, mode="bad")
    assert result.status == "gates-failed", log
    assert result.exit_code == 1
    assert result.attempts == 2
    assert git(remote, "branch", "--list", "pressplay/task-1") == ""
    files = outputs(options)
    report = json.loads(files["gateReport"])
    assert report["passed"] is False
    assert report["gates"][0]["findings"] == ["greeting.py:1:1: D100 missing module docstring"]
    assert "D100" in files["report"]
    assert files["status"] == "gates-failed"


def test_second_attempt_gets_the_gate_report_and_fixes_it(
    make_options: Callable[..., AgentOptions], remote: Path
) -> None:
    result, log = run(make_options(), mode="fix-on-retry")
    assert result.status == "committed", log
    assert result.attempts == 2
    assert "agent: attempt 2" in log
    assert len(remote_log(remote)) == 2


def test_prompt_contains_system_prompt_mod_task_and_context(
    make_options: Callable[..., AgentOptions], tmp_path: Path
) -> None:
    comment = tmp_path / "comment.md"
    comment.write_text("Please rename greet to hello. ~~~~~ $(rm -rf /)")
    options = make_options(prompt_mod="Be brief.", context_files=(comment,), push=False)
    result, log = run(options, mode="record")
    assert result.status == "committed", log
    seen = (options.workspace / "seen-prompt.txt").read_text()
    assert seen.index("You are the author") < seen.index("Be brief.") < seen.index("Add a greeting module.")
    assert "## Context: comment.md" in seen
    assert "~~~~~~text\nPlease rename greet to hello. ~~~~~ $(rm -rf /)\n~~~~~~" in seen


def test_agent_failure_and_timeout(make_options: Callable[..., AgentOptions], remote: Path) -> None:
    result, log = run(make_options(attempts=1), mode="fail")
    assert result.status == "agent-failed", log
    assert result.exit_code == 3
    assert "exit 7" in result.summary
    result, log = run(make_options(attempts=1, timeout="1s"), mode="sleep")
    assert result.status == "agent-failed"
    assert "timed out" in result.summary
    assert git(remote, "branch", "--list", "pressplay/task-1") == ""


def test_agent_output_is_redacted_and_secrets_hidden_from_agent(
    make_options: Callable[..., AgentOptions], tmp_path: Path
) -> None:
    options = make_options(push=False)
    result, log = run(options, mode="env", PRESSPLAY_GITHUB_APP_ID="1", GITHUB_TOKEN="ghp_" + "x" * 36)
    assert result.status == "committed", log
    assert "ghs_" + "a" * 36 not in log
    assert "ghs_[redacted]" not in log and "[redacted]" in log
    names = (options.workspace / "env.txt").read_text().split()
    assert "PRESSPLAY_GITHUB_APP_ID" not in names
    assert "GITHUB_TOKEN" not in names
    assert {"PRESSPLAY_TASK_ID", "PRESSPLAY_PROMPT_FILE", "PRESSPLAY_ATTEMPT"} <= set(names)


def test_agent_may_not_switch_branches(make_options: Callable[..., AgentOptions]) -> None:
    result, _ = run(make_options(), mode="leave-branch")
    assert result.status == "agent-failed"
    assert "must not switch branches" in result.summary


def test_gates_only_profile_and_unchanged(make_options: Callable[..., AgentOptions]) -> None:
    result, log = run(make_options(agent="checker"))
    assert result.status == "unchanged", log
    assert result.exit_code == 0


def test_invalid_inputs_are_named(make_options: Callable[..., AgentOptions], remote: Path) -> None:
    result, _ = run(make_options(agent="nobody"))
    assert result.status == "invalid"
    assert "no agent profile 'nobody'" in result.summary and "author" in result.summary
    result, _ = run(make_options(base="trunk"))
    assert result.status == "git-failed"
    assert "base branch 'trunk' does not exist" in result.summary
    result, _ = run(make_options(working_directory="services/api"))
    assert result.status == "invalid"
    result, _ = run(make_options(task_id="99"))
    assert result.status == "invalid"
    assert "no prompt for task '99'" in result.summary


def test_existing_branch_is_continued(
    make_options: Callable[..., AgentOptions], remote: Path, agents_dir: Path
) -> None:
    run(make_options())
    (agents_dir / "agent3.py").write_text(
        "import pathlib\nassert pathlib.Path('greeting.py').exists()\npathlib.Path('x.py').write_text('\"\"\"X.\"\"\"\\n')\n"
    )
    result, log = run(make_options(step="lint", agent_command=f"python3 {agents_dir / 'agent3.py'}"))
    assert result.status == "committed", log


@pytest.mark.parametrize("mode", ["good"])
def test_workspace_reuse(make_options: Callable[..., AgentOptions], tmp_path: Path, mode: str) -> None:
    ws = tmp_path / "shared-ws"
    first, _ = run(make_options(workspace=ws), mode=mode)
    second, log = run(make_options(workspace=ws), mode=mode)
    assert second.status == "existing", log
    assert second.commit == first.commit


def test_blank_context_file_from_the_template_is_left_out(
    make_options: Callable[..., AgentOptions], tmp_path: Path
) -> None:
    blank = tmp_path / "event.md"
    blank.write_text("\n")
    options = make_options(context_files=(blank,), push=False)
    result, log = run(options, mode="record")
    assert result.status == "committed", log
    assert "## Context" not in (options.workspace / "seen-prompt.txt").read_text()


def test_agent_command_override_and_its_prompt_mode(
    make_options: Callable[..., AgentOptions], agents_dir: Path
) -> None:
    script = agents_dir / "from_file.py"
    script.write_text(
        "import pathlib, sys\n"
        "text = pathlib.Path(sys.argv[1]).read_text()\n"
        "assert 'Add a greeting module.' in text and 'You are the author' in text\n"
        'pathlib.Path(\'f.py\').write_text(\'"""F."""\\n\')\n'
    )
    result, log = run(make_options(agent_command=f"python3 {script} {{prompt_file}}", push=False))
    assert result.status == "committed", log
    result, _ = run(make_options(agent_command="python3 {nope}"))
    assert result.status == "invalid"
    assert "unknown placeholder" in result.summary


def test_unexpected_errors_still_write_outputs(
    make_options: Callable[..., AgentOptions], monkeypatch: pytest.MonkeyPatch
) -> None:
    import pressplay.agent.runtime as runtime

    def boom(*_args: object, **_kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(runtime, "run_gates", boom)
    options = make_options()
    result, _ = run(options)
    assert result.status == "error"
    assert result.exit_code == 5
    assert "No space left on device" in outputs(options)["summary"]


def test_a_stale_verdict_does_not_survive_a_new_run(make_options: Callable[..., AgentOptions]) -> None:
    options = make_options(push=False)
    options.outputs_dir.mkdir(parents=True)
    (options.outputs_dir / "verdict.json").write_text('{"version": 1, "items": []}')
    run(options)
    assert not (options.outputs_dir / "verdict.json").exists()


def test_one_span_per_agent_step_with_the_correlation_labels(
    make_options: Callable[..., AgentOptions],
) -> None:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from pressplay import telemetry

    exporter = InMemorySpanExporter()
    telemetry.configure(span_exporter=exporter, force=True)
    try:
        run(make_options(push=False), ARGO_WORKFLOW="press-play-x1", ARGO_NODE="press-play-x1-123")
    finally:
        telemetry.configure(force=True)
    spans = [s for s in exporter.get_finished_spans() if s.name == "agent.step"]
    assert len(spans) == 1
    attrs = dict(spans[0].attributes or {})
    assert attrs["pressplay.repo"] == "acme/demo"
    assert attrs["pressplay.task"] == "1"
    assert attrs["pressplay.agent"] == "author"
    assert attrs["argo.workflow"] == "press-play-x1"
    assert attrs["pressplay.agent.status"] == "committed"


def test_hooks_the_agent_plants_never_run(
    make_options: Callable[..., AgentOptions], agents_dir: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "hook-ran"
    script = agents_dir / "planter.py"
    script.write_text(
        "import os, pathlib, stat\n"
        "for hook in ('pre-commit', 'post-commit', 'pre-push', 'reference-transaction'):\n"
        "    path = pathlib.Path('.git/hooks') / hook\n"
        "    path.parent.mkdir(exist_ok=True)\n"
        f"    path.write_text('#!/bin/sh\\necho ran >> {marker}\\n')\n"
        "    path.chmod(0o755)\n"
        'pathlib.Path(\'h.py\').write_text(\'"""H."""\\n\')\n'
    )
    result, log = run(make_options(agent_command=f"python3 {script}"))
    assert result.status == "committed", log
    assert not marker.exists()


def test_require_changes_fails_an_agent_that_did_nothing(
    make_options: Callable[..., AgentOptions], agents_dir: Path
) -> None:
    text = (agents_dir / "agents.yaml").read_text()
    (agents_dir / "agents.yaml").write_text(
        text.replace("    attempts: 2\n", "    attempts: 2\n    requireChanges: true\n", 1)
    )
    result, log = run(make_options(attempts=1), mode="noop")
    assert result.status == "agent-failed", log
    assert "changed nothing" in result.summary


def test_checkout_empties_only_an_earlier_checkout(
    make_options: Callable[..., AgentOptions], tmp_path: Path
) -> None:
    """The checkout starts from an empty workspace (nothing an agent wrote there survives), but never
    empties a directory that is not an earlier checkout."""
    ws = tmp_path / "reused"
    first, _ = run(make_options(workspace=ws, push=False))
    assert first.status == "committed"
    (ws / "planted.txt").write_text("left by an agent")
    (ws / ".git" / "hooks").mkdir(exist_ok=True)
    (ws / ".git" / "hooks" / "post-checkout").write_text("#!/bin/sh\nexit 1\n")
    second, log = run(make_options(workspace=ws, push=False))
    assert second.status == "committed", log
    assert not (ws / "planted.txt").exists() and not (ws / ".git" / "hooks" / "post-checkout").exists()
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("mine")
    refused, _ = run(make_options(workspace=precious))
    assert refused.status == "git-failed" and "refusing to empty it" in refused.summary
    assert (precious / "notes.txt").read_text() == "mine"
