"""End to end on the demo: PRs, order, gates, CI fixes, remediation, resume, and no secret anywhere."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pressplay.demo import git_http
from pressplay.demo.runner import Demo, render_table
from pressplay.demo.sample import REPO
from pressplay.demo.world import World

from .conftest import DemoRun, run_demo, snapshot

pytestmark = pytest.mark.slow


def test_every_task_gets_exactly_one_pr_merged_in_dependency_order(happy_run: DemoRun) -> None:
    assert [r.outcome for r in happy_run.reports] == ["merged", "merged", "merged"], happy_run.output
    for task in ("1", "2", "3"):
        labelled = [p for p in happy_run.pulls if f"task-{task}" in {lb["name"] for lb in p["labels"]}]
        assert len(labelled) == 1, f"task {task}: {len(labelled)} PRs"
        assert labelled[0]["merged"] is True
    subjects = happy_run.remote_git("log", "--reverse", "--format=%s", "main").splitlines()
    merged = [int(m.group(1)) for s in subjects if (m := re.match(r"Task (\d+):", s))]
    assert sorted(merged) == [1, 2, 3]
    assert merged.index(1) < merged.index(3), "task 3 depends on task 1"
    table = render_table(happy_run.reports)
    assert table.splitlines()[0].split() == [
        "task",
        "title",
        "PR",
        "checks",
        "deploy",
        "acceptance",
        "merged",
        "outcome",
    ]
    assert "Greeting  #1  passed  Synced/Healthy  met" in table


def test_progress_shows_every_step_with_links(happy_run: DemoRun) -> None:
    for step in (
        "backlog",
        "dependencies",
        "author",
        "lint",
        "tests",
        "open-pr",
        "ci",
        "argocd",
        "acceptance",
        "merge",
    ):
        assert f" {step} " in happy_run.output
    assert "https://github.com/acme/greeter/pull/1" in happy_run.output
    assert "https://argocd.example.com/applications/argocd/greeter-preview-task-1" in happy_run.output


def test_author_commits_carry_trailers(happy_run: DemoRun) -> None:
    log = happy_run.remote_git("log", "--format=%B%x00", "pressplay/task-1")
    assert "Pressplay-Task: 1\nPressplay-Step: author" in log


def test_rerun_does_nothing_new(happy_run: DemoRun) -> None:
    refs_before = happy_run.remote_git("for-each-ref")
    again = run_demo(happy_run.state_dir)
    assert "Nothing to do" in again.output
    assert again.reports == []
    assert [p["number"] for p in again.pulls] == [p["number"] for p in happy_run.pulls]

    def bodies(run: DemoRun) -> dict[int, list[tuple[int, str]]]:
        return {n: [(c["id"], c["body"]) for c in found] for n, found in run.comments.items()}

    assert bodies(again) == bodies(happy_run)
    assert again.branches == happy_run.branches
    assert happy_run.remote_git("for-each-ref") == refs_before


def test_agent_steps_push_over_https_with_the_credential_helper(happy_run: DemoRun) -> None:
    if not git_http.available():
        pytest.skip("git has no http-backend here: the demo pushes to the bare repository's path")
    assert happy_run.authenticated_pushes >= 3  # at least one commit per task, each pushed with a token
    config = (happy_run.state_dir / "work" / "task-1" / ".git" / "config").read_text()
    assert "http://127.0.0.1:" in config
    for secret in happy_run.secrets:
        assert secret not in config


def test_no_token_or_key_in_any_log_or_output(happy_run: DemoRun) -> None:
    assert happy_run.secrets, "the run minted no installation token: nothing was checked"
    texts = {"stdout": happy_run.output}
    for path in happy_run.state_dir.rglob("*"):
        if path.is_file() and "remote.git" not in path.parts and ".git" not in path.parts:
            texts[str(path)] = path.read_text(errors="replace")
    for name, text in texts.items():
        for secret in happy_run.secrets:
            assert secret not in text, f"a secret appears in {name}"
        assert "PRIVATE KEY" not in text, name


def test_lint_gate_blocks_the_push_and_ci_failure_gets_a_fix_commit(tmp_path: Path) -> None:
    run = run_demo(tmp_path, faults="lint:2,ci:3")
    assert run.report("2").outcome == "failed at author", run.output
    assert "pressplay/task-2" not in run.remote_git("branch", "--list")
    report = json.loads(
        (tmp_path / "runs" / "task-2" / "author" / "outputs" / "gate-report.json").read_text()
    )
    assert report["passed"] is False
    assert any("F401" in f for gate in report["gates"] for f in gate["findings"])
    assert not [p for p in run.pulls if "task-2" in {lb["name"] for lb in p["labels"]}]
    # CI failed on task 3 (no change note); the ci-remediator's commit fixed it and the task merged
    assert run.report("3").outcome == "merged", run.output
    assert run.report("3").checks == "passed after 1 fix(es)"
    assert "Pressplay-Step: ci-fix-1" in run.remote_git("log", "--format=%B", "pressplay/task-3")
    assert run.report("1").outcome == "merged"


def test_unfixable_ci_failure_gets_an_actionable_report_comment(tmp_path: Path) -> None:
    run = run_demo(tmp_path, faults="ci-unfixable:2")
    assert run.report("2").outcome == "failed at ci", run.output
    number = int(run.report("2").pr.lstrip("#"))
    bodies = [c["body"] for c in run.comments[number]]
    assert any("stopped task 2" in b and "change note" in b for b in bodies), bodies
    assert run.report("1").outcome == "merged" and run.report("3").outcome == "merged"


def test_trusted_pr_comment_remediation_adds_a_commit_once(tmp_path: Path) -> None:
    results = []

    def remediate(world: World, demo: Demo) -> None:
        pull = next(p for p in world.pulls() if p["head"]["ref"] == "pressplay/task-1")
        number = int(pull["number"])
        older = world.comment_as_member(number, "Please add review notes.")
        newer = world.comment_as_member(number, "Please mention the greeting in the review notes.")
        superseded = demo.remediate("1", number, older, "Please add review notes.")
        first = demo.remediate("1", number, newer, "Please mention the greeting in the review notes.")
        second = demo.remediate("1", number, newer, "Please mention the greeting in the review notes.")
        results.append(
            (
                pull["head"]["sha"],
                superseded,
                first,
                second,
                world.pulls(),
                world.github.comments(REPO, number),
            )
        )

    run = run_demo(tmp_path, until="merge", then=remediate)
    assert [r.outcome for r in run.reports] == ["stopped before merge"] * 2 + ["blocked"], run.output
    head_before, superseded, first, second, pulls_after, comments = results[0]
    assert superseded is None, "the older comment must give way to the newer one"
    assert first is not None and second is not None
    assert first.status == "committed" and second.status == "existing"
    assert second.commit == first.commit
    pr = next(p for p in pulls_after if p["head"]["ref"] == "pressplay/task-1")
    assert pr["head"]["sha"] == first.commit != head_before
    assert re.search(
        r"Pressplay-Step: remediation-c\d+", run.remote_git("log", "-1", "--format=%B", "pressplay/task-1")
    )
    replies = [c for c in comments if "pressplay addressed the feedback" in c["body"]]
    assert len(replies) == 1, "the reply is sticky: one comment, updated in place"
    assert first.commit in replies[0]["body"]
    # pressing play again resumes: the same PRs are merged, none is opened twice
    resumed = run_demo(tmp_path)
    assert [r.outcome for r in resumed.reports] == ["merged"] * 3, resumed.output
    assert len(resumed.pulls) == 3


def test_state_survives_between_runs(tmp_path: Path) -> None:
    run = run_demo(tmp_path, until="open-pr")
    assert not run.pulls
    with World(tmp_path) as world:
        _, _, branches = snapshot(world)
        assert world.resumed
        assert {"pressplay/task-1", "pressplay/task-2"} <= set(branches)
        assert "pressplay/task-3" not in branches  # blocked: task 1 is not merged yet
