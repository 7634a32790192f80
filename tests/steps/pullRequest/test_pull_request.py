"""``pullRequest``: body section and argument rules (no server), then the step through real HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from pressplay.github import reset_clients
from pressplay.steps.pull_request import BEGIN, END, PullRequestArgs, label_colour, merge_body, section
from pressplay.testing.github_emulator import GitHubEmulator
from pressplay.testing.sidecar import Sidecar


def args(**extra: object) -> PullRequestArgs:
    return PullRequestArgs.model_validate(
        {"repo": "acme/api", "head": "pressplay/task-7", "title": "T", **extra}
    )


# -- the pressplay-marked body section ----------------------------------------------------------------


def test_section_is_replaced_and_human_text_around_it_kept() -> None:
    human = "Intro a person wrote\r\n\r\n" + section("old text") + "\r\n\r\nNotes below, also human"
    merged = merge_body(human, "new text")
    assert merged == "Intro a person wrote\n\n" + f"{BEGIN}\nnew text\n{END}" + "\n\nNotes below, also human"


def test_section_appended_when_a_person_removed_it() -> None:
    assert merge_body("only human words", "ours") == f"only human words\n\n{BEGIN}\nours\n{END}"
    assert merge_body(None, "ours") == f"{BEGIN}\nours\n{END}"
    assert merge_body("", "") == f"{BEGIN}\n\n{END}"


def test_merge_body_is_stable() -> None:
    once = merge_body("x\n" + section("a") + "\ny", "b")
    assert merge_body(once, "b") == once


def test_label_colours_are_stable_and_valid() -> None:
    assert label_colour("pressplay") == label_colour("PressPlay")
    assert label_colour("task-7") == label_colour("task-7")
    assert all(len(label_colour(n)) == 6 for n in ("a", "task-1", "bug"))


# -- arguments ----------------------------------------------------------------------------------------


def test_args_normalise_lists_and_branches() -> None:
    a = args(
        head="refs/heads/pressplay/task-7",
        labels=["pressplay", "PressPlay", " task-7 "],
        reviewers=["@octocat"],
    )
    assert a.head == "pressplay/task-7"
    assert a.label_names == ["pressplay", "task-7"]
    assert a.reviewers == ["octocat"]
    assert a.base is None


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("head", "fork-owner:branch", "forks are not supported"),
        ("head", "bad..name", "not a valid branch name"),
        ("head", "has space", "not a valid branch name"),
        ("base", "-main", "starts with '-', which git reads as an option"),
        ("labels", ["x" * 51], "1-50 characters"),
        ("reviewers", ["not a login"], "user login"),
        ("title", "", "at least 1 character"),
        ("draft", "maybe", "boolean"),
    ],
)
def test_bad_args_name_the_problem(field: str, value: object, words: str) -> None:
    with pytest.raises(ValidationError) as err:
        args(**{field: value})
    assert words in str(err.value)
    assert field in str(err.value)


def test_unknown_argument_is_rejected() -> None:
    with pytest.raises(ValidationError) as err:
        args(lables=["typo"])
    assert "lables" in str(err.value)


# -- through real HTTP: agent emulator → sidecar → GitHub emulator ------------------------------------

REPO = "acme/api"
HEAD = "pressplay/task-7"
OUTPUTS = ["number", "url", "headSha", "state", "created"]


@pytest.fixture
def gh(github_emulator: GitHubEmulator) -> GitHubEmulator:
    github_emulator.create_repo(REPO, files={"README.md": "# api\n"})
    github_emulator.push(REPO, HEAD, {"health.py": "def health():\n    return 'ok'\n"}, message="Task 7")
    return github_emulator


def pr_args(**extra: object) -> dict[str, object]:
    return {
        "repo": REPO,
        "head": HEAD,
        "base": "main",
        "title": "Task 7: add the /health endpoint",
        "body": "Opened by pressplay for task 7.",
        "labels": ["pressplay", "task-7"],
        "reviewers": ["octocat"],
        **extra,
    }


def pulls(gh: GitHubEmulator) -> list[Any]:
    return [i for i in gh.repo_state(REPO).issues.values() if i.pull is not None]


def writes(gh: GitHubEmulator) -> list[str]:
    return [f"{r.method} {r.path}" for r in gh.requests if r.method != "GET" and r.path != "/graphql"]


def test_three_calls_open_exactly_one_pr(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    results = [sidecar.run_step("pullRequest", pr_args(), outputs=OUTPUTS) for _ in range(3)]
    assert [r.phase for r in results] == ["Succeeded"] * 3, [r.message for r in results]
    assert len(pulls(gh)) == 1
    first, second, third = (r.outputs for r in results)
    assert first["created"] == "true"
    assert second["created"] == third["created"] == "false"
    assert first["number"] == second["number"] == third["number"] == "1"
    assert first["state"] == "open"
    assert first["headSha"] == gh.repo_state(REPO).branches[HEAD]
    assert first["url"].endswith(f"/{REPO}/pull/1")
    assert "opened" in first["summary"]
    assert "already up to date" in third["summary"]
    pr = gh.pull(REPO, 1)
    assert pr["title"] == "Task 7: add the /health endpoint"
    assert pr["body"] == f"{BEGIN}\nOpened by pressplay for task 7.\n{END}"
    assert sorted(label["name"] for label in pr["labels"]) == ["pressplay", "task-7"]
    assert [u["login"] for u in pr["requested_reviewers"]] == ["octocat"]
    # The labels were created with pressplay's colours; re-entry wrote nothing.
    labels = gh.repo_state(REPO).labels
    assert labels["pressplay"].color == label_colour("pressplay")
    gh.reset_requests()
    again = sidecar.run_step("pullRequest", pr_args(), outputs=OUTPUTS)
    assert again.phase == "Succeeded"
    assert writes(gh) == []


def test_reentry_syncs_ours_and_keeps_what_people_added(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    assert sidecar.run_step("pullRequest", pr_args()).phase == "Succeeded"
    issue = gh.repo_state(REPO).issues[1]
    with gh.lock:  # a person edits the description around our section and adds a label and a reviewer
        issue.body = "Context from a human.\r\n\r\n" + str(issue.body) + "\r\n\r\n- [ ] human checklist"
    gh.add_label(REPO, "needs-design")
    with gh.lock:
        issue.labels.append("needs-design")
        assert issue.pull is not None
        issue.pull.requested_reviewers.append(gh._user("hubot").login)
    result = sidecar.run_step(
        "pullRequest",
        pr_args(title="Task 7: /health endpoint v2", body="Second attempt.", labels=["pressplay", "ready"]),
        outputs=OUTPUTS,
    )
    assert result.phase == "Succeeded", result.message
    assert result.outputs["created"] == "false"
    assert "title set" in result.outputs["summary"]
    pr = gh.pull(REPO, 1)
    assert pr["title"] == "Task 7: /health endpoint v2"
    assert pr["body"] == f"Context from a human.\n\n{BEGIN}\nSecond attempt.\n{END}\n\n- [ ] human checklist"
    assert sorted(label["name"] for label in pr["labels"]) == ["needs-design", "pressplay", "ready", "task-7"]
    assert sorted(u["login"] for u in pr["requested_reviewers"]) == ["hubot", "octocat"]
    assert len(pulls(gh)) == 1


def test_someone_who_reviewed_is_not_asked_again(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    assert sidecar.run_step("pullRequest", pr_args()).phase == "Succeeded"
    gh.add_review(REPO, 1, user="octocat", state="COMMENTED")
    gh.reset_requests()
    assert sidecar.run_step("pullRequest", pr_args()).phase == "Succeeded"
    assert not gh.requests_to(r"/requested_reviewers$", "POST")
    assert gh.pull(REPO, 1)["requested_reviewers"] == []


def test_no_commits_ahead_opens_nothing(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    state = gh.repo_state(REPO)
    with gh.lock:
        state.branches["pressplay/empty"] = state.branches["main"]
    result = sidecar.run_step("pullRequest", pr_args(head="pressplay/empty"), outputs=OUTPUTS)
    assert result.phase == "Succeeded", result.message
    assert result.outputs["state"] == "no-changes"
    assert result.outputs["number"] == ""
    assert "no commits ahead of 'main'" in result.outputs["summary"]
    assert pulls(gh) == []


def test_already_merged_head_answers_merged(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    first = sidecar.run_step("pullRequest", pr_args(), outputs=OUTPUTS)
    gh.merge(REPO, 1)
    with gh.lock:  # the merge commit is now on main, so the head has nothing new
        state = gh.repo_state(REPO)
        state.branches[HEAD] = state.branches["main"]
    again = sidecar.run_step("pullRequest", pr_args(), outputs=OUTPUTS)
    assert again.phase == "Succeeded", again.message
    assert again.outputs["state"] == "merged"
    assert again.outputs["number"] == first.outputs["number"]
    assert len(pulls(gh)) == 1


def test_default_base_is_the_default_branch(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    args = pr_args()
    del args["base"]
    result = sidecar.run_step("pullRequest", args, outputs=OUTPUTS)
    assert result.phase == "Succeeded", result.message
    assert gh.pull(REPO, 1)["base"]["ref"] == "main"


def test_concurrent_create_is_answered_by_reading_again(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    # Another call opens the PR between our lookup and our create: GitHub answers 422 "already exists".
    gh.schedule(
        lambda: gh.open_pull(REPO, HEAD, "main", "opened elsewhere"), after_polls=1, path=r"/compare/"
    )
    result = sidecar.run_step("pullRequest", pr_args(), outputs=OUTPUTS)
    assert result.phase == "Succeeded", result.message
    assert [r.status for r in gh.requests_to(r"/pulls$", "POST")] == [422]
    assert result.outputs["created"] == "false"
    assert len(pulls(gh)) == 1
    assert gh.pull(REPO, 1)["title"] == "Task 7: add the /health endpoint"


def test_a_pr_closed_by_a_person_is_respected(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    assert sidecar.run_step("pullRequest", pr_args()).phase == "Succeeded"
    with gh.lock:
        issue = gh.repo_state(REPO).issues[1]
        issue.state = "closed"
    refused = sidecar.run_step("pullRequest", pr_args())
    assert refused.phase == "Failed"
    assert "closed without merging" in refused.message
    assert "reopen the PR" in refused.message
    assert len(pulls(gh)) == 1
    gh.push(REPO, HEAD, {"health.py": "def health():\n    return 'OK'\n"}, message="Task 7, again")
    fresh = sidecar.run_step("pullRequest", pr_args(), outputs=OUTPUTS)
    assert fresh.phase == "Succeeded", fresh.message
    assert fresh.outputs["number"] == "2"
    assert [i.state for i in pulls(gh)] == ["closed", "open"]


@pytest.mark.parametrize(
    ("path", "method", "kind"),
    [
        (r"/pulls$", "GET", "status"),
        (r"/pulls$", "POST", "status"),
        (r"/compare/", "GET", "secondary"),
        (r"/labels$", "POST", "too_many"),
        (r"/requested_reviewers$", "POST", "status"),
        (r"/pulls$", "POST", "reset"),
    ],
)
def test_transient_faults_run_then_succeed_with_one_pr(
    gh: GitHubEmulator, sidecar: Sidecar, path: str, method: str, kind: str
) -> None:
    gh.inject_fault(path, method=method, kind=kind, status=502, retry_after=1)
    result = sidecar.run_step("pullRequest", pr_args(), outputs=OUTPUTS)
    assert result.phase == "Succeeded", result.message
    assert result.replies[0].phase == "Running"
    assert len(pulls(gh)) == 1
    pr = gh.pull(REPO, 1)
    assert sorted(label["name"] for label in pr["labels"]) == ["pressplay", "task-7"]
    assert [u["login"] for u in pr["requested_reviewers"]] == ["octocat"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ({"repo": "acme/nope"}, "acme/nope"),
        ({"head": "pressplay/missing"}, "head branch 'pressplay/missing' does not exist in acme/api"),
        ({"base": "release"}, "base branch 'release' does not exist in acme/api"),
        ({"head": "main"}, "head and base are both 'main'"),
        ({"lables": ["x"]}, "pullRequest.lables: unknown argument"),
        ({"head": "bad..branch"}, "pullRequest.head"),
        ({"reviewers": ["acme/platform"]}, "reviewers: GitHub refused"),
    ],
)
def test_bad_input_fails_naming_the_problem(
    gh: GitHubEmulator, sidecar: Sidecar, args: dict[str, object], words: str
) -> None:
    result = sidecar.run_step("pullRequest", pr_args(**args))
    assert result.phase == "Failed"
    assert words in result.message


def test_draft_is_kept_in_sync(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    created = sidecar.run_step("pullRequest", pr_args(draft=True), outputs=OUTPUTS)
    assert created.phase == "Succeeded", created.message
    assert gh.pull(REPO, 1)["draft"] is True
    ready = sidecar.run_step("pullRequest", pr_args(draft=False), outputs=OUTPUTS)
    assert ready.phase == "Succeeded", ready.message
    assert "marked ready for review" in ready.outputs["summary"]
    assert gh.pull(REPO, 1)["draft"] is False
    back = sidecar.run_step("pullRequest", pr_args(draft=True), outputs=OUTPUTS)
    assert "marked draft" in back.outputs["summary"]
    assert gh.pull(REPO, 1)["draft"] is True
    assert len(pulls(gh)) == 1


def test_an_open_pr_for_the_head_is_retargeted_not_duplicated(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    gh.push(REPO, "develop", {"dev.txt": "d\n"}, parent=gh.repo_state(REPO).branches["main"])
    gh.open_pull(REPO, HEAD, "develop", "opened by a person against develop")
    result = sidecar.run_step("pullRequest", pr_args(), outputs=OUTPUTS)
    assert result.phase == "Succeeded", result.message
    assert "base retargeted to main" in result.outputs["summary"]
    assert len(pulls(gh)) == 1
    assert gh.pull(REPO, 1)["base"]["ref"] == "main"


def test_state_lives_in_github_not_in_the_sidecar(
    gh: GitHubEmulator, sidecar_factory: Callable[..., Sidecar]
) -> None:
    first = sidecar_factory(**gh.sidecar_settings())
    assert first.run_step("pullRequest", pr_args()).phase == "Succeeded"
    first.stop()
    reset_clients()  # a restarted sidecar: no token, installation or ETag caches
    second = sidecar_factory(**gh.sidecar_settings())
    again = second.run_step("pullRequest", pr_args(), outputs=OUTPUTS)
    assert again.phase == "Succeeded", again.message
    assert again.outputs["created"] == "false"
    assert len(pulls(gh)) == 1


def test_markers_inside_the_body_text_cannot_break_the_section() -> None:
    tricky = f"before {END} middle {BEGIN} after"
    once = merge_body("human", tricky)
    assert once.count(BEGIN) == once.count(END) == 1
    assert merge_body(once, tricky) == once


_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"), max_size=200)


@settings(max_examples=200, deadline=None)
@given(before=_text, after=_text, old=_text, new=_text)
def test_human_text_around_the_section_always_survives(before: str, after: str, old: str, new: str) -> None:
    assume(all(m not in x for x in (before, after) for m in (BEGIN, END)))
    merged = merge_body(before + section(old) + after, new)
    assert merged == before + section(new) + after
    assert merge_body(merged, new) == merged


def test_a_base64_title_is_the_tasks_title_exactly(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    """task.yaml hands the backlog's titleB64 on as a {b64: ...} part: quotes, backslashes, non-ASCII
    and braces arrive as written (Argo's withParam formatting and templating never see them)."""
    import base64

    title = 'Add "quotes", a \\ backslash, é — 🚀 and {{x}}'
    summary = "Wrote {{ it }} ${{ secrets.X }}"
    result = sidecar.run_step(
        "pullRequest",
        pr_args(
            title=["Task 7: ", {"b64": base64.b64encode(title.encode()).decode()}],
            body=[{"b64": base64.b64encode(summary.encode()).decode()}],
        ),
        outputs=OUTPUTS,
    )
    assert result.phase == "Succeeded", result.message
    (pr,) = pulls(gh)
    assert pr.title == f"Task 7: {title}"
    assert summary in (pr.body or "")
