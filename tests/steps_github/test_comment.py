"""``comment``: marker and body rules (no server), then the sticky comment through real HTTP."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from pressplay.steps.comment import BODY_LIMIT, CommentArgs, marker, render


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
