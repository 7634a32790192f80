"""``pullRequest``: body section and argument rules (no server), then the step through real HTTP."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from pressplay.steps.pull_request import BEGIN, END, PullRequestArgs, label_colour, merge_body, section


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
        ("base", "-main", "not a valid branch name"),
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
