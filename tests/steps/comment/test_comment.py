"""``comment``: marker and body rules (no server), then the sticky comment through real HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from pressplay.github import clients_for
from pressplay.steps.comment import CommentArgs
from pressplay.steps.shared.sticky import BODY_LIMIT, marker, render, upsert_sticky
from pressplay.testing.agent import Result
from pressplay.testing.github_emulator import GitHubEmulator
from pressplay.testing.sidecar import Sidecar


def test_marker_and_render() -> None:
    assert marker("acceptance") == "<!-- pressplay:acceptance -->"
    assert render("k", "hello\n\n") == "hello\n\n<!-- pressplay:k -->"


def test_render_cuts_long_bodies_but_keeps_the_marker() -> None:
    text = render("k", "x" * (BODY_LIMIT + 10))
    assert len(text) <= BODY_LIMIT
    assert text.endswith(marker("k"))
    assert "cut" in text


def test_a_key_cannot_match_a_longer_key() -> None:
    assert marker("a") not in render("ab", "body")


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ({"key": "has space"}, "key"),
        ({"key": "x-->y"}, "key"),
        ({"number": 0}, "number"),
        ({"body": ""}, "body: required"),
        ({"mode": "append"}, "mode"),
    ],
)
def test_bad_args_name_the_problem(raw: dict[str, object], words: str) -> None:
    base = {"repo": "acme/api", "number": 1, "key": "k", "body": "b"}
    with pytest.raises(ValidationError) as err:
        CommentArgs.model_validate({**base, **raw})
    assert words in str(err.value)


def test_delete_needs_no_body() -> None:
    assert (
        CommentArgs.model_validate({"repo": "acme/api", "number": 1, "key": "k", "mode": "delete"}).body == ""
    )


# -- through real HTTP: agent emulator → sidecar → GitHub emulator ------------------------------------

REPO = "acme/api"
OUTPUTS = ["id", "url", "action"]


@pytest.fixture
def gh(github_emulator: GitHubEmulator) -> GitHubEmulator:
    github_emulator.create_repo(REPO)
    github_emulator.add_issue(REPO, "Task 7")  # #1
    return github_emulator


def ours(gh: GitHubEmulator, key: str = "acceptance", number: int = 1) -> list[dict[str, Any]]:
    return [
        c
        for c in gh.comments(REPO, number)
        if c["user"]["login"] == gh.bot.login and marker(key) in str(c["body"])
    ]


def call(sidecar: Sidecar, **args: object) -> Result:
    base: dict[str, object] = {"repo": REPO, "number": 1, "key": "acceptance", "body": "All criteria met."}
    return sidecar.run_step("comment", {**base, **args}, outputs=OUTPUTS)


def test_three_upserts_make_one_comment_and_one_write(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    results = [call(sidecar) for _ in range(3)]
    assert [r.phase for r in results] == ["Succeeded"] * 3
    assert [r.outputs["action"] for r in results] == ["created", "unchanged", "unchanged"]
    comments = ours(gh)
    assert len(comments) == 1
    assert comments[0]["body"] == "All criteria met.\n\n<!-- pressplay:acceptance -->"
    first = results[0].outputs
    assert first["id"] == str(comments[0]["id"])
    assert first["url"] == comments[0]["html_url"]
    assert len(gh.requests_to(r"/issues/\d+/comments$", "POST")) == 1
    assert not gh.requests_to(r"/issues/comments/", "PATCH")


def test_a_new_body_edits_the_same_comment(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    created = call(sidecar, body="2 of 3 criteria met.")
    updated = call(sidecar, body="3 of 3 criteria met.")
    assert updated.outputs["action"] == "updated"
    assert updated.outputs["id"] == created.outputs["id"]
    assert [c["body"].split("\n")[0] for c in ours(gh)] == ["3 of 3 criteria met."]


def test_keys_are_independent(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    call(sidecar, key="acceptance")
    call(sidecar, key="ci-report", body="CI is green.")
    assert len(ours(gh, "acceptance")) == len(ours(gh, "ci-report")) == 1


def test_a_marker_written_by_a_person_is_not_ours(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    hijack = gh.add_comment(REPO, 1, "I own this now <!-- pressplay:acceptance -->", user="mallory")
    result = call(sidecar)
    assert result.outputs["action"] == "created"
    human = next(c for c in gh.comments(REPO, 1) if c["id"] == hijack)
    assert human["body"] == "I own this now <!-- pressplay:acceptance -->"
    deleted = call(sidecar, mode="delete")
    assert deleted.outputs["action"] == "deleted"
    assert [c["id"] for c in gh.comments(REPO, 1)] == [hijack]


def test_our_comment_is_found_on_page_3(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    for i in range(230):
        gh.add_comment(REPO, 1, f"chatter {i}", user="octocat")
    mine = gh.add_comment(REPO, 1, "old report\n\n<!-- pressplay:acceptance -->", user=gh.bot.login)
    for i in range(5):
        gh.add_comment(REPO, 1, f"more chatter {i}", user="octocat")
    result = call(sidecar, body="new report")
    assert result.phase == "Succeeded", result.message
    assert result.outputs["action"] == "updated"
    assert result.outputs["id"] == str(mine)
    pages = {r.query.get("page", "1") for r in gh.requests_to(r"/issues/1/comments$", "GET")}
    assert {"1", "2", "3"} <= pages
    assert len(ours(gh)) == 1


def test_create_mode_posts_once_and_never_edits(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    first = call(sidecar, mode="create", body="first words")
    second = call(sidecar, mode="create", body="other words")
    assert (first.outputs["action"], second.outputs["action"]) == ("created", "unchanged")
    assert [c["body"].split("\n")[0] for c in ours(gh)] == ["first words"]


def test_delete_mode(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    call(sidecar)
    results = [call(sidecar, mode="delete", body="") for _ in range(3)]
    assert [r.outputs["action"] for r in results] == ["deleted", "absent", "absent"]
    assert results[0].outputs["id"] == ""
    assert ours(gh) == []


def test_duplicates_from_a_race_are_healed(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    keep = gh.add_comment(REPO, 1, "a\n\n<!-- pressplay:acceptance -->", user=gh.bot.login)
    gh.add_comment(REPO, 1, "b\n\n<!-- pressplay:acceptance -->", user=gh.bot.login)
    result = call(sidecar, body="c")
    assert result.outputs["id"] == str(keep)
    assert [c["id"] for c in ours(gh)] == [keep]


def test_works_on_pull_requests_and_from_python(gh: GitHubEmulator) -> None:
    gh.push(REPO, "pressplay/task-7", {"x.py": "x = 1\n"})
    number = gh.open_pull(REPO, "pressplay/task-7")
    repo = clients_for(gh.settings()).repo(REPO)
    created = upsert_sticky(repo, number, "report", "hello")
    again = upsert_sticky(repo, number, "report", "hello")
    assert (created.action, again.action, again.id) == ("created", "unchanged", created.id)
    assert len(ours(gh, "report", number)) == 1


@pytest.mark.parametrize(
    ("path", "method", "kind"),
    [
        (r"/issues/1/comments$", "GET", "status"),
        (r"/issues/1/comments$", "POST", "status"),
        (r"/issues/1/comments$", "POST", "secondary"),
        (r"^/app$", "GET", "status"),
        (r"/issues/1/comments$", "POST", "reset"),
        (r"/access_tokens$", "POST", "status"),
    ],
)
def test_transient_faults_run_then_succeed_with_one_comment(
    gh: GitHubEmulator, sidecar: Sidecar, path: str, method: str, kind: str
) -> None:
    gh.inject_fault(path, method=method, kind=kind, status=503, retry_after=1)
    result = call(sidecar)
    assert result.phase == "Succeeded", result.message
    assert result.replies[0].phase == "Running"
    assert len(ours(gh)) == 1


def test_a_failed_edit_is_retried_without_a_second_comment(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    call(sidecar, body="v1")
    gh.inject_fault(r"/issues/comments/\d+$", method="PATCH", status=502, times=2)
    result = call(sidecar, body="v2")
    assert result.phase == "Succeeded", result.message
    assert [r.phase for r in result.replies] == ["Running", "Running", "Succeeded"]
    assert [c["body"].split("\n")[0] for c in ours(gh)] == ["v2"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ({"repo": "acme/nope"}, "acme/nope"),
        ({"number": 99}, "issue or pull request #99 not found in acme/api"),
        ({"key": "two words"}, "comment.key"),
        ({"body": ""}, "body: required"),
        ({"mode": "append"}, "comment.mode"),
        ({"bdy": "typo"}, "comment.bdy: unknown argument"),
    ],
)
def test_bad_input_fails_naming_the_problem(
    gh: GitHubEmulator, sidecar: Sidecar, args: dict[str, object], words: str
) -> None:
    result = call(sidecar, **args)
    assert result.phase == "Failed"
    assert words in result.message


def test_a_body_quoting_another_keys_marker_does_not_count_for_it(
    gh: GitHubEmulator, sidecar: Sidecar
) -> None:
    call(sidecar, key="report", body="quoting <!-- pressplay:acceptance --> here")
    result = call(sidecar, key="acceptance", body="the real one")
    assert result.outputs["action"] == "created"
    assert len(ours(gh, "report")) == 1
    assert [c["body"] for c in ours(gh, "acceptance")][-1].startswith("the real one")


def test_base64_parts_reach_github_byte_for_byte(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    """An agent's or a person's text arrives as {b64: ...} (Argo would template it in clear)."""
    import base64

    text = "Fixed {{ x }} ${{ secrets.X }} {{=sprig.upper('x')}} \"é\" — 🚀"
    encoded = base64.b64encode(text.encode()).decode()
    result = call(sidecar, body=["**Reply:** ", {"b64": encoded}, "\n\nCommit: abc"])
    assert result.phase == "Succeeded", result.message
    assert ours(gh)[0]["body"] == f"**Reply:** {text}\n\nCommit: abc\n\n<!-- pressplay:acceptance -->"


def test_a_part_that_is_not_base64_is_a_failed_node_naming_it(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    result = call(sidecar, body=["ok", {"b64": "{{ not base64 }}"}])
    assert result.phase == "Failed"
    assert "body" in result.message and "`b64` of part 2 is not valid base64" in result.message
    assert "not base64 }}" not in result.message  # the input is not echoed back
    assert ours(gh) == []
