"""``pressplay lint`` for template authors (issue 15): outputs a step never produces, the sidecar's
wording with "did you mean", findings in file order, Workflows against installed WorkflowTemplates
(``--installed``, ``--cluster``), the install's ServiceAccount, and slim ``withParam`` items."""

from __future__ import annotations

import os
import stat
import textwrap
from pathlib import Path

import pytest

from pressplay.lint import lint_documents
from pressplay.lint.cli import main
from pressplay.lint.core import Finding, Severity
from pressplay.lint.load import parse_stream

HEAD = """
apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata: {name: t}
spec:
  entrypoint: main
  templates:
"""


def lint(text: str) -> list[Finding]:
    return lint_documents(parse_stream(textwrap.dedent(text), "test.yaml"))


def template(body: str) -> str:
    return HEAD + textwrap.indent(textwrap.dedent(body), "    ")


def by_path(findings: list[Finding]) -> dict[str, Finding]:
    return {f.path: f for f in findings}


def test_an_output_the_step_never_produces_is_an_error() -> None:
    findings = lint(
        template(
            """
            - name: main
              outputs:
                parameters:
                  - {name: url, valueFrom: {supplied: {}}}
                  - {name: prUrl, valueFrom: {supplied: {}}}
                  - {name: verdict, valueFrom: {supplied: {}, default: ""}}
              plugin:
                pressplay:
                  pullRequest: {repo: a/b, head: x, title: T, node: "{{node.name}}"}
            """
        )
    )
    found = by_path(findings)
    pr_url = found["spec.templates[main].outputs.parameters[prUrl]"]
    assert pr_url.severity is Severity.error
    assert pr_url.message.startswith(
        "step 'pullRequest' never produces the output 'prUrl'; did you mean `url`?"
    )
    assert "it produces created, headSha, number, state, summary, url" in pr_url.message
    assert "the node would fail" in pr_url.message
    # with a default Argo does not fail the node, but the value is always the default: a warning
    assert found["spec.templates[main].outputs.parameters[verdict]"].severity is Severity.warning
    assert "spec.templates[main].outputs.parameters[url]" not in found


def test_checks_has_no_verdict_output() -> None:
    findings = lint(
        template(
            """
            - name: main
              outputs: {parameters: [{name: verdict, valueFrom: {supplied: {}}}]}
              plugin: {pressplay: {checks: {repo: a/b, ref: main, node: "{{node.name}}"}}}
            """
        )
    )
    assert [f.message.split(";")[0] for f in findings] == [
        "step 'checks' never produces the output 'verdict'"
    ]


def test_the_sidecars_wording_and_did_you_mean() -> None:
    findings = lint(
        template(
            """
            - name: main
              plugin: {pressplay: {chekcs: {repo: a/b}}}
            - name: other
              plugin:
                pressplay:
                  comment: {repo: a/b, numbr: 1, key: k, body: hi, node: "{{node.name}}"}
            """
        )
    )
    found = by_path(findings)
    step = found["spec.templates[main].plugin.pressplay.chekcs"].message
    assert step.startswith("unknown step 'chekcs'; did you mean `checks`? known steps are acceptance, ")
    arg = found["spec.templates[other].plugin.pressplay.comment.numbr"].message
    assert arg.startswith("argument numbr: unknown argument; did you mean `number`? known arguments are ")
    missing = found["spec.templates[other].plugin.pressplay.comment"].message
    assert missing == "argument number: required argument is missing"
    for finding in findings:  # never pydantic's raw wording
        assert "Field required" not in finding.message and "Extra inputs" not in finding.message


def test_findings_are_in_file_and_line_order(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    b = tmp_path / "b.yaml"
    b.write_text(
        template(
            """
            - name: main
              dag:
                tasks:
                  - {name: z, template: nope}
                  - {name: a, template: gone}
            - name: zz
              plugin: {pressplay: {frob: {}}}
            """
        )
    )
    a = tmp_path / "a.yaml"
    a.write_text(template("- {name: main, steps: [[{name: s, template: missing}]]}\n"))
    assert main([str(tmp_path)]) == 1
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert [line.split(": ")[0] for line in lines] == [f"{a}:8", f"{b}:12", f"{b}:13", f"{b}:15"]
    assert "tasks[z]" in lines[1] and "tasks[a]" in lines[2]
    assert err.strip() == "pressplay lint: 2 objects, 4 errors, 0 warnings"


def test_the_summary_is_pluralised(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    one = tmp_path / "one.yaml"
    one.write_text(template("- {name: main, steps: [[{name: s, template: missing}]]}\n"))
    assert main([str(one)]) == 1
    assert capsys.readouterr().err.strip() == "pressplay lint: 1 object, 1 error, 0 warnings"


INSTALLED = """
apiVersion: v1
kind: ServiceAccount
metadata: {name: pressplay-workflow}
---
apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata: {name: press-play}
spec:
  entrypoint: main
  serviceAccountName: pressplay-workflow
  arguments:
    parameters:
      - {name: repo}
      - {name: base, value: main}
  templates:
    - {name: main, container: {image: alpine}}
"""

WORKFLOW = """
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: play-}
spec:
  workflowTemplateRef: {name: press-play}
  arguments:
    parameters:
      - {name: bsae, value: dev}
"""


def test_a_workflow_of_an_installed_template_needs_the_templates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wf = tmp_path / "wf.yaml"
    wf.write_text(WORKFLOW)
    assert main([str(wf)]) == 1
    out = capsys.readouterr().out
    assert "no WorkflowTemplate named 'press-play' in the linted manifests" in out
    assert "`--installed DIR`" in out and "`--cluster`" in out

    installed = tmp_path / "installed"
    installed.mkdir()
    (installed / "all.yaml").write_text(INSTALLED)
    assert main([str(wf), "--installed", str(installed)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2, out
    assert out[0].endswith(
        "spec.arguments: error: WorkflowTemplate 'press-play' needs the parameter 'repo' (it has no value "
        "there): pass it under spec.arguments.parameters"
    )
    assert (
        "spec.arguments.parameters[bsae]: error: WorkflowTemplate 'press-play' has no parameter 'bsae'; "
        in (out[1])
    )
    assert "did you mean `base`?" in out[1]

    good = tmp_path / "good.yaml"
    good.write_text(WORKFLOW.replace("bsae, value: dev", "repo, value: acme/api"))
    assert main([str(good), "--installed", str(installed), "--strict"]) == 0


def test_a_template_without_the_installs_service_account_is_a_warning(tmp_path: Path) -> None:
    installed = parse_stream(INSTALLED, "installed.yaml")
    mine = parse_stream(
        textwrap.dedent(
            """
            apiVersion: argoproj.io/v1alpha1
            kind: WorkflowTemplate
            metadata: {name: mine}
            spec:
              entrypoint: main
              templates: [{name: main, container: {image: alpine}}]
            ---
            apiVersion: argoproj.io/v1alpha1
            kind: WorkflowTemplate
            metadata: {name: other}
            spec:
              entrypoint: main
              serviceAccountName: builder
              templates: [{name: main, container: {image: alpine}}]
            """
        ),
        "mine.yaml",
    )
    findings = lint_documents(mine, installed)
    assert [(f.obj, f.path, f.severity) for f in findings] == [
        ("WorkflowTemplate/mine", "spec", Severity.warning),
        ("WorkflowTemplate/other", "spec.serviceAccountName", Severity.warning),
    ]
    assert "namespace's `default` ServiceAccount" in findings[0].message
    assert "`serviceAccountName: pressplay-workflow`" in findings[0].message
    assert "no ServiceAccount named 'builder'" in findings[1].message
    # a Workflow inherits its template's account (Argo merges the specs)
    workflow = parse_stream(WORKFLOW.replace("bsae, value: dev", "repo, value: a/b"), "wf.yaml")
    assert lint_documents(workflow, installed) == []
    # without the install in view there is nothing to compare with
    assert lint_documents(mine) == []


def test_installed_templates_can_come_from_the_cluster(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--cluster` reads with kubectl and the user's kubeconfig (here a stand-in kubectl)."""
    listing = tmp_path / "listing.yaml"
    listing.write_text(
        "apiVersion: v1\nkind: List\nitems:\n"
        + textwrap.indent(
            "\n".join("- " + textwrap.indent(doc.strip(), "  ")[2:] for doc in INSTALLED.split("---")), ""
        )
    )
    calls = tmp_path / "calls"
    kubectl = tmp_path / "kubectl"
    kubectl.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> {calls}\n'
        'case "$2" in clusterworkflowtemplates*) echo "forbidden" >&2; exit 1;; esac\n'
        f"cat {listing}\n"
    )
    kubectl.chmod(kubectl.stat().st_mode | stat.S_IEXEC)
    wf = tmp_path / "wf.yaml"
    wf.write_text(WORKFLOW)
    code = main([str(wf), "--cluster", "--namespace", "argo", "--kubectl", str(kubectl)])
    out, err = capsys.readouterr()
    assert code == 1
    assert "did you mean `base`?" in out and "needs the parameter 'repo'" in out
    assert "ClusterWorkflowTemplates not read" in err and "forbidden" in err
    made = calls.read_text().splitlines()
    assert made[0] == "get workflowtemplates.argoproj.io,serviceaccounts --namespace argo --output yaml"
    assert all(line.split()[0] == "get" for line in made)  # read only
    assert os.access(kubectl, os.X_OK)


def test_rich_withparam_items_are_a_warning() -> None:
    findings = lint(
        HEAD
        + """    - name: main
      serviceAccountName: x
      dag:
        tasks:
          - {name: list, template: list}
          - name: each
            depends: list
            template: one
            withParam: "{{tasks.list.outputs.result}}"
            arguments:
              parameters:
                - {name: id, value: "{{item.id}}"}
                - {name: title, value: "{{item.title}}"}
          - name: slim
            depends: list
            template: one
            withParam: "{{tasks.list.outputs.result}}"
            arguments: {parameters: [{name: id, value: "{{item}}"}, {name: title, value: "-"}]}
    - {name: list, script: {image: python, command: [python], source: "print(1)"}}
    - name: one
      inputs: {parameters: [{name: id}, {name: title}]}
      container: {image: alpine}
"""
    )
    loops = [f for f in findings if f.path.endswith(".withParam")]
    assert [(f.path, f.severity) for f in loops] == [
        ("spec.templates[main].dag.tasks[each].withParam", Severity.warning)
    ]
    assert "read as item.id, item.title" in loops[0].message
    assert "generateNodeName" in loops[0].message and "ids only" in loops[0].message
