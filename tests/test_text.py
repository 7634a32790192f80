"""pressplay.types.Text: free text whose untrusted parts travel base64 (Argo templates values again)."""

from __future__ import annotations

import base64

import pytest
from pydantic import BaseModel, ValidationError

from pressplay.types import Text, decode_b64_text

# What GitHub users write and Argo must never template: braces, Actions expressions, expr/sprig.
HOSTILE = "Fix it {{ please }} ${{ secrets.X }} {{=sprig.upper('x')}} {{workflow.name}} \"q\" \\ é — 🚀\n"


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


class Args(BaseModel):
    body: Text = ""


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("plain", "plain"),
        ({"b64": b64(HOSTILE)}, HOSTILE),
        (["**Reply:** ", {"b64": b64(HOSTILE)}, "\n\nCommit: abc"], f"**Reply:** {HOSTILE}\n\nCommit: abc"),
        ({"b64": ""}, ""),
        ([], ""),
        ({"b64": b64("a") + "\n"}, "a"),  # a trailing newline (a raw artifact's) is whitespace
    ],
)
def test_text_joins_plain_and_base64_parts_byte_for_byte(raw: object, text: str) -> None:
    assert Args.model_validate({"body": raw}).body == text


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ({"b64": "not base64!"}, "`b64` is not valid base64"),
        ({"b64": base64.b64encode(b"\xff\xfe").decode()}, "does not decode to UTF-8"),
        (["ok", {"b64": "%%%"}], "`b64` of part 2 is not valid base64"),
        ({"text": "x"}, "must be text, {b64: <base64 of UTF-8 text>}, or a list"),
        (["ok", 3], "part 2 must be text"),
        (7, "the value must be text"),
    ],
)
def test_bad_text_names_the_field_and_the_fix(raw: object, words: str) -> None:
    with pytest.raises(ValidationError) as err:
        Args.model_validate({"body": raw})
    message = str(err.value)
    assert "body" in message and words in message, message


def test_decode_refuses_without_echoing_the_value() -> None:
    with pytest.raises(ValueError) as err:
        decode_b64_text("c2VjcmV0!!", "`feedbackB64`")
    assert "c2VjcmV0" not in str(err.value) and "feedbackB64" in str(err.value)


def test_json_schema_offers_each_form() -> None:
    schema = Args.model_json_schema()["properties"]["body"]
    kinds = [part.get("type") for part in schema["anyOf"]]
    assert kinds == ["string", "object", "array"]
