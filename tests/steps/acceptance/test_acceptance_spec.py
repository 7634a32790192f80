"""The acceptance spec: models, readable errors, and the committed JSON Schema (kept in sync)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from pressplay.acceptance_spec import (
    SCHEMA_FILE,
    AcceptanceSpec,
    SpecError,
    json_schema,
    parse_spec,
    parse_verdict,
    render_schema,
)

ROOT = Path(__file__).resolve().parents[3]
DOC_EXAMPLE = ROOT / "docs" / "acceptance-spec.md"

FULL = """
version: 1
description: Task 7 adds the /health endpoint.
criteria:
  - kind: checks
    required: [build, test]
  - kind: reviews
    minApprovals: 1
  - kind: deploy
    application: api-preview
  - kind: http
    id: health
    url: https://preview.example.com/health
    expectStatus: 200
    bodyPattern: '"status":\\s*"ok"'
    timeout: 5s
  - kind: agent
    items:
      - id: health-endpoint
        description: GET /health answers {"status":"ok"}
"""


def test_committed_schema_is_current() -> None:
    committed = (ROOT / SCHEMA_FILE).read_text(encoding="utf-8")
    assert committed == render_schema(), (
        f"{SCHEMA_FILE} is stale: regenerate it with `python -m pressplay.acceptance_spec {SCHEMA_FILE}`"
    )


def test_schema_is_valid_2020_12_and_accepts_the_full_example() -> None:
    schema = json_schema()
    Draft202012Validator.check_schema(schema)
    Draft202012Validator(schema).validate(yaml.safe_load(FULL))
    spec = parse_spec(FULL)
    assert [c.kind for c in spec.criteria] == ["checks", "reviews", "deploy", "http", "agent"]
    assert spec.criterion_ids() == ["checks-1", "reviews-1", "deploy-1", "health", "agent-1"]


def test_schema_and_models_agree_on_rejections() -> None:
    validator = Draft202012Validator(json_schema())
    for bad in (
        {"version": 1, "criteria": []},
        {"version": 1, "criteria": [{"kind": "checks", "requried": ["x"]}]},
        {"version": 1, "criteria": [{"kind": "deploy"}]},
        {"version": 2, "criteria": [{"kind": "checks"}]},
        {"version": 1, "criteria": [{"kind": "nope"}]},
    ):
        assert not validator.is_valid(bad), bad
        with pytest.raises(SpecError):
            parse_spec(bad)


def test_the_verdict_schema_is_published_under_defs() -> None:
    schema = json_schema()
    verdict = {"version": 1, "items": [{"id": "a", "passed": True, "evidence": "curl → 200"}]}
    sub = {"$ref": "#/$defs/AgentVerdict", "$defs": schema["$defs"]}
    Draft202012Validator(sub).validate(verdict)
    assert parse_verdict(json.dumps(verdict)).items[0].passed


def test_docs_example_is_valid() -> None:
    assert DOC_EXAMPLE.exists(), f"{DOC_EXAMPLE.relative_to(ROOT)} is tracked: restore it"
    text = DOC_EXAMPLE.read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in text.split("```yaml\n")[1:]]
    assert blocks, "docs/acceptance-spec.md must show a full example in a ```yaml block"
    for block in blocks:
        data = yaml.safe_load(block)
        if isinstance(data, dict) and "criteria" in data:
            parse_spec(data)
    verdicts = [b.split("```", 1)[0] for b in text.split("```json\n")[1:]]
    for block in verdicts:
        data = json.loads(block)
        if "items" in data and "criteria" not in data:
            parse_verdict(data)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("criteria: [{kind: checks}]", "add `version: 1`"),
        ("version: 3\ncriteria: [{kind: checks}]", "version 1 only"),
        ("version: 1\ncriteria: [{kind: checks}", "not valid YAML/JSON at line"),
        ("- just a list", "must be a mapping"),
        (
            "version: 1\ncriteria: [{kind: probe}]",
            "criteria[0] (kind probe): unknown kind; use one of checks",
        ),
        ("version: 1\ncriteria: [{required: [a]}]", "criteria[0]: each criterion needs a `kind`"),
        (
            "version: 1\ncriteria: [{kind: reviews, minApproval: 2}]",
            "criteria[0] (kind reviews).minApproval: unknown field",
        ),
        ("version: 1\ncriteria: [{kind: http, url: 'file:///etc/passwd'}]", "only http:// and https://"),
        ("version: 1\ncriteria: [{kind: http, url: 'http://169.254.169.254/latest'}]", "link-local"),
        ("version: 1\ncriteria: [{kind: http, url: 'https://u:p@x.example/'}]", "carries credentials"),
        (
            "version: 1\ncriteria: [{kind: http, url: 'https://x.example', bodyPattern: '(['}]",
            "criteria[0] (kind http).bodyPattern: bodyPattern is not a valid RE2 regular expression",
        ),
        ("version: 1\ncriteria: [{kind: http, url: 'https://x.example', timeout: 2m}]", "at most 20s"),
        (
            "version: 1\ncriteria: [{kind: http, url: 'https://x.example', expectStatus: 999}]",
            "between 100 and 599",
        ),
        (
            "version: 1\ncriteria: [{kind: deploy, application: Bad_Name}]",
            "criteria[0] (kind deploy).application",
        ),
        (
            "version: 1\ncriteria: [{kind: checks, id: a}, {kind: reviews, id: a}]",
            "ids must be unique; repeated: a",
        ),
        ("version: 1\ncriteria: []", "criteria: List should have at least 1 item"),
        (
            "version: 1\ncriteria: [{kind: http, url: 'https://x.example', method: HEAD, bodyPattern: ok}]",
            "bodyPattern needs method GET",
        ),
    ],
)
def test_bad_specs_say_where_and_what(text: str, words: str) -> None:
    with pytest.raises(SpecError) as err:
        parse_spec(text)
    assert words in str(err.value)


def test_expect_status_accepts_one_or_many() -> None:
    one = parse_spec("version: 1\ncriteria: [{kind: http, url: 'http://svc.local/x', expectStatus: 204}]")
    many = parse_spec(
        {"version": 1, "criteria": [{"kind": "http", "url": "http://a.b/", "expectStatus": [200, 301]}]}
    )
    assert one.criteria[0].expect_status == [204]  # type: ignore[union-attr]
    assert many.criteria[0].expect_status == [200, 301]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("doc", "words"),
    [
        ("{", "not valid YAML/JSON"),
        ('{"version": 1}', "items: required field is missing"),
        ('{"version": 1, "items": [{"id": "a", "passed": "maybe", "evidence": "x"}]}', "items[0].passed"),
        ('{"version": 1, "items": [{"id": "a", "passed": true}]}', "items[0].evidence: required"),
        ("[1, 2]", "must be a JSON object"),
    ],
)
def test_bad_verdicts_say_what_to_fix(doc: str, words: str) -> None:
    with pytest.raises(SpecError) as err:
        parse_verdict(doc)
    assert words in str(err.value)


def test_spec_models_are_strict_and_frozen() -> None:
    spec = AcceptanceSpec.model_validate({"version": 1, "criteria": [{"kind": "checks"}]})
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen error type varies by version
        spec.description = "x"  # type: ignore[misc]


def test_check_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pressplay.acceptance_spec import main

    good = tmp_path / "good.yaml"
    good.write_text(FULL, encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\ncriteria: [{kind: checks, requird: [x]}]\n", encoding="utf-8")
    assert main(["check", str(good)]) == 0
    assert main(["check", str(good), str(bad)]) == 1
    out = capsys.readouterr()
    assert f"{good}: ok" in out.out
    assert "criteria[0] (kind checks).requird: unknown field" in out.err
    assert main(["check"]) == 2
