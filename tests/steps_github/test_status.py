"""``status``: argument rules (no server), then commit statuses through real HTTP."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from pressplay.steps.status import StatusArgs, shorten

SHA = "a" * 40


def test_shorten_flattens_and_cuts() -> None:
    assert shorten("two\nlines") == "two lines"
    cut = shorten("word " * 100)
    assert len(cut) == 140
    assert cut.endswith("…")


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ({"sha": "main"}, "full commit SHA"),
        ({"sha": "abc1234"}, "full commit SHA"),
        ({"state": "green"}, "state"),
        ({"target_url": "ftp://x"}, "http(s) URL"),
        ({"targetUrl": "javascript:alert(1)"}, "http(s) URL"),
        ({"context": "two\nlines"}, "one line"),
    ],
)
def test_bad_args_name_the_problem(raw: dict[str, object], words: str) -> None:
    base = {"repo": "acme/api", "sha": SHA, "state": "success"}
    with pytest.raises(ValidationError) as err:
        StatusArgs.model_validate({**base, **raw})
    assert words in str(err.value)


def test_sha_is_lowercased_and_defaults_apply() -> None:
    args = StatusArgs.model_validate({"repo": "acme/api", "sha": "A" * 40, "state": "pending"})
    assert args.sha == SHA
    assert args.context == "pressplay"
    assert args.target_url is None
