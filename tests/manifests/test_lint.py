"""``pressplay lint``: clean on the shipped manifests, and each kind of mistake is reported with the
file, the object and the path."""

from __future__ import annotations

import json
import textwrap
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from pressplay.lint import lint_documents
from pressplay.lint.cli import main
from pressplay.lint.core import Document, Finding, Severity
from pressplay.lint.load import parse_stream
from pressplay.lint.plugin_steps import validate_args
from pressplay.steps import registry
from pressplay.steps.registry import get_step

from .conftest import MANIFESTS


def lint_yaml(text: str) -> list[Finding]:
    return lint_documents(parse_stream(textwrap.dedent(text), "test.yaml"))


def messages(findings: list[Finding]) -> list[str]:
    return [f"{f.path}: {f.message}" for f in findings]


WORKFLOW_HEAD = """
apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata: {name: t}
spec:
  entrypoint: main
  arguments: {parameters: [{name: repo}]}
  templates:
"""


def template(body: str) -> str:
    return WORKFLOW_HEAD + textwrap.indent(textwrap.dedent(body), "    ")


#: Findings on the shipped manifests that wait for a fix in manifests/ (reported to the lead): the
#: press-play fan-out loops over whole backlog items (issue 13 items 2 and 7: slim items, ids only).
#: Delete an entry when its fix lands; anything else on the shipped manifests fails these tests.
PENDING_IN_SHIPPED: set[tuple[str, str]] = (
    set()
)  # the shipped press-play loops over ids since issue 13 item 7


def unexpected(findings: list[Finding]) -> list[str]:
    return [f.format() for f in findings if (f.obj, f.path) not in PENDING_IN_SHIPPED]


def test_shipped_manifests_are_clean(documents: list[Document]) -> None:
    findings = lint_documents(documents)
    assert unexpected(findings) == []
    assert all(f.severity is Severity.warning for f in findings)


def test_every_pressplay_step_in_the_manifests_is_available_and_was_checked(
    documents: list[Document],
) -> None:
    used = set()
    for doc in documents:
        if doc.kind != "WorkflowTemplate":
            continue
        for tmpl in doc.body["spec"]["templates"]:
            used.update((tmpl.get("plugin") or {}).get("pressplay", {}))
    assert used == set(registry.known_steps()) - {"status"}
    for key in used:
        get_step(key)  # raises if a step module is missing


def test_cli_on_the_manifests_directory(capsys: pytest.CaptureFixture[str], kubectl: str) -> None:
    assert main([str(MANIFESTS), "--kubectl", kubectl]) == 0
    err = capsys.readouterr().err
    assert f"0 errors, {len(PENDING_IN_SHIPPED) or 0} warning" in err


def test_cli_json_output_and_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(template("- name: main\n  dag: {tasks: [{name: a, template: nope}]}\n"), encoding="utf-8")
    assert main([str(bad), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["findings"] == [
        {
            "file": str(bad),
            "line": 10,
            "object": "WorkflowTemplate/t",
            "path": "spec.templates[main].dag.tasks[a].template",
            "severity": "error",
            "message": "no template named 'nope' in this object",
        }
    ]


def test_cli_reports_unreadable_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "missing.yaml")]) == 2
    assert "no such file or directory" in capsys.readouterr().err
    broken = tmp_path / "broken.yaml"
    broken.write_text("a: [", encoding="utf-8")
    assert main([str(broken)]) == 2
    assert "not valid YAML" in capsys.readouterr().err


def test_step_arguments_are_validated_against_the_model() -> None:
    findings = lint_yaml(
        template(
            """
            - name: main
              inputs: {parameters: [{name: repo}]}
              outputs: {parameters: [{name: number, valueFrom: {supplied: {}}}]}
              plugin:
                pressplay:
                  pullRequest:
                    repo: "{{inputs.parameters.repo}}"
                    head: pressplay/task-1
                    titel: Task 1
                    draft: maybe
                    node: "{{node.name}}"
            """
        )
    )
    text = messages(findings)
    path = "spec.templates[main].plugin.pressplay.pullRequest"
    assert (
        f"{path}.titel: argument titel: unknown argument; did you mean `title`? known arguments are "
        in " ".join(text)
    )
    assert f"{path}: argument title: required argument is missing" in text
    assert any(t.startswith(f"{path}.draft: argument draft:") for t in text)
    lines = {f.path.rsplit(".", 1)[-1]: f.line for f in findings}
    assert lines["titel"] == 18 and lines["draft"] == 19  # file lines of the offending values
    assert all(f.file == "test.yaml" and f.obj == "WorkflowTemplate/t" for f in findings)


def test_expressions_are_checked_as_the_strings_argo_delivers() -> None:
    pull_request = get_step("pullRequest").args_model
    ok = {"repo": "{{inputs.parameters.repo}}", "head": "{{inputs.parameters.branch}}", "title": "Task {{x}}"}
    assert validate_args(pull_request, ok) == []
    # A list argument given as one expression reaches the step as a string: rejected with the reason.
    problems = validate_args(pull_request, {**ok, "labels": "{{inputs.parameters.labels}}"})
    assert len(problems) == 1
    assert problems[0].startswith("labels: ")
    assert "Argo delivers it as a string" in problems[0]
    # The dependencies step accepts its list as JSON text, so the same shape is fine there.
    dependencies = get_step("dependencies").args_model
    assert (
        validate_args(dependencies, {"repo": "a/b", "task": "7", "dependsOn": "{{item.dependencies}}"}) == []
    )
    # Integers and durations arrive as strings and are accepted as such.
    checks = get_step("checks").args_model
    assert validate_args(checks, {"repo": "a/b", "number": "{{x}}", "timeout": "{{y}}"}) == []
    # Model-level rules still apply (checks needs exactly one of ref / number).
    assert validate_args(checks, {"repo": "a/b"}) != []


def test_unknown_and_unavailable_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = registry.StepEntry(
        "notYetWritten",
        "acme_steps.not_yet_written:not_yet_written",
        "acme-steps",
        _entry=EntryPoint("notYetWritten", "acme_steps.not_yet_written:not_yet_written", registry.GROUP),
    )
    with_broken = registry.Registry([*registry.installed().entries().values(), broken])
    monkeypatch.setattr(registry, "installed", lambda: with_broken)
    findings = lint_yaml(
        template(
            """
            - name: main
              plugin: {pressplay: {frobnicate: {repo: a/b}}}
            - name: later
              plugin: {pressplay: {notYetWritten: {repo: a/b}}}
            """
        )
    )
    by_path = {f.path: f for f in findings}
    unknown = by_path["spec.templates[main].plugin.pressplay.frobnicate"]
    assert unknown.severity is Severity.error
    assert "unknown step 'frobnicate'; known steps are acceptance, argocd" in unknown.message
    unavailable = by_path["spec.templates[later].plugin.pressplay.notYetWritten"]
    assert unavailable.severity is Severity.error
    assert "of package 'acme-steps' does not import" in unavailable.message
    assert "not checked" in unavailable.message


def test_plugin_outputs_must_be_supplied() -> None:
    findings = lint_yaml(
        template(
            """
            - name: main
              outputs: {parameters: [{name: url, valueFrom: {path: /tmp/x}}]}
              plugin: {pressplay: {comment: {repo: a/b, number: 1, key: k, body: hi, node: "{{node.name}}"}}}
            """
        )
    )
    assert messages(findings) == [
        "spec.templates[main].outputs.parameters[url]: a plugin step's outputs are supplied by the plugin: "
        "declare it with `valueFrom: {supplied: {}}`"
    ]


def test_task_and_step_references() -> None:
    findings = lint_yaml(
        template(
            """
            - name: main
              dag:
                tasks:
                  - {name: open, template: pr}
                  - name: use
                    depends: open
                    template: echo
                    arguments:
                      parameters:
                        - {name: v, value: "{{tasks.open.outputs.parameters.nmber}} {{tasks.gone.outputs.result}}"}
                  - name: fan
                    template: echo
                    withParam: "{{tasks.open.outputs.parameters.number}}"
                    arguments: {parameters: [{name: v, value: "{{item}}"}]}
                  - name: loose
                    template: echo
                    arguments: {parameters: [{name: v, value: "{{item}} {{=tasks.open.outputs.parameters.url}}"}]}
            - name: seq
              steps:
                - - {name: first, template: pr}
                - - name: second
                    template: echo
                    arguments: {parameters: [{name: v, value: "{{steps.first.outputs.parameters.number}}"}]}
                - - name: third
                    template: echo
                    arguments: {parameters: [{name: v, value: "{{tasks.first.outputs.result}}"}]}
            - name: pr
              outputs: {parameters: [{name: number, valueFrom: {supplied: {}}}]}
              plugin: {pressplay: {comment: {repo: a/b, number: 1, key: k, body: hi, node: "{{node.name}}"}}}
            - name: echo
              inputs: {parameters: [{name: v}]}
              container: {image: alpine, command: [echo], args: ["{{inputs.parameters.v}}"]}
            """
        )
    )
    text = messages(findings)
    use = "spec.templates[main].dag.tasks[use].arguments.parameters[0].value"
    assert (
        f"{use}: {{{{tasks.open.outputs.parameters.nmber}}}}: template 'pr' declares no output parameter "
        "'nmber' (declared: number)" in text
    )
    assert (
        f"{use}: {{{{tasks.gone.outputs.result}}}}: no task named 'gone' here (have: fan, loose, open, use)"
        in text
    )
    loose = "spec.templates[main].dag.tasks[loose].arguments.parameters[0].value"
    assert f"{loose}: {{{{item}}}} is used outside a task or step with withParam/withItems" in text
    assert any("declares no output parameter 'url'" in t and "loose" in t for t in text)
    third = "spec.templates[seq].steps[2][third].arguments.parameters[0].value"
    assert (
        f"{third}: {{{{tasks.first.outputs.result}}}}: `tasks.` references only work inside a DAG template"
        in text
    )
    assert not any(
        f.path.startswith(("spec.templates[main].dag.tasks[fan]", "spec.templates[seq].steps[1]"))
        for f in findings
    )


def test_template_references_and_arguments() -> None:
    findings = lint_yaml(
        template(
            """
            - name: main
              steps:
                - - {name: a, template: missing}
                - - {name: b, templateRef: {name: elsewhere, template: x}}
                - - name: c
                    template: echo
                    arguments: {parameters: [{name: value, value: "1"}]}
            - name: echo
              inputs: {parameters: [{name: v}]}
              container: {image: alpine, command: [echo], args: ["{{inputs.parameters.w}}", "{{workflow.parameters.nope}}"]}
            """
        )
    )
    text = messages(findings)
    assert "spec.templates[main].steps[0][a].template: no template named 'missing' in this object" in text
    assert (
        "spec.templates[main].steps[1][b].templateRef: no WorkflowTemplate named 'elsewhere' in the linted manifests"
        in text
    )
    assert "spec.templates[main].steps[2][c].arguments: template 'echo' needs the input parameter 'v'" in text
    assert any("has no input parameter 'value'; it declares v" in t for t in text)
    assert any("declares no input parameter 'w'" in t for t in text)
    assert any("'nope' is not among spec.arguments.parameters (repo)" in t for t in text)


def test_no_parameters_in_shell_source() -> None:
    findings = lint_yaml(
        template(
            """
            - name: main
              inputs: {parameters: [{name: branch}], artifacts: [{name: ctx, path: /tmp/ctx}]}
              container:
                image: alpine
                command: [/bin/bash, -euc]
                args: ["git checkout {{inputs.parameters.branch}} && cat {{inputs.artifacts.ctx.path}}"]
                env: [{name: BRANCH, value: "{{inputs.parameters.branch}}"}]
            - name: script
              inputs: {parameters: [{name: title}]}
              script: {image: python, command: [python], source: "print('{{inputs.parameters.title}}')"}
            - name: inline-python
              inputs: {parameters: [{name: title}]}
              container: {image: python, command: [python3.12, -c], args: ["print('{{inputs.parameters.title}}')"]}
            - name: safe
              inputs: {parameters: [{name: branch}]}
              container: {image: alpine, command: [sh, -c, 'git checkout "$BRANCH"'], env: [{name: BRANCH, value: "{{inputs.parameters.branch}}"}]}
            """
        )
    )
    shell = [f for f in findings if "shell source" in f.message]
    assert [f.path for f in shell] == [  # in file order
        "spec.templates[main].container.command/args[2]",
        "spec.templates[script].script.source",
        "spec.templates[inline-python].container.command/args[2]",
    ]
    assert "{{inputs.parameters.branch}} is substituted into shell source" in shell[0].message
    assert "env var" in shell[0].message


def test_synchronization_v4_syntax_and_lock_names() -> None:
    findings = lint_yaml(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: limits}\ndata: {agents: '4'}\n---\n"
        + template(
            """
            - name: main
              inputs: {parameters: [{name: repo}]}
              synchronization:
                semaphore: {configMapKeyRef: {name: limits, key: agents}}
                mutexes: [{name: "play-{{inputs.parameters.repo}}"}, {name: "a/b"}]
                semaphores:
                  - configMapKeyRef: {name: limits, key: agent}
                  - configMapKeyRef: {name: other, key: agents}
                  - configMapKeyRef: {name: limits, key: "{{inputs.parameters.repo}}"}
              container: {image: alpine}
            """
        )
    )
    text = messages(findings)
    sync = "spec.templates[main].synchronization"
    assert any(
        t.startswith(f"{sync}.semaphore: `synchronization.semaphore` was removed in Argo Workflows v4")
        for t in text
    )
    assert any(t.startswith(f"{sync}.mutexes[0].name: lock name") and "raw repository" in t for t in text)
    assert any(t.startswith(f"{sync}.mutexes[1].name: lock name 'a/b' contains '/'") for t in text)
    assert any(
        t.startswith(f"{sync}.semaphores[0].configMapKeyRef.key: ConfigMap 'limits' has no key 'agent'")
        for t in text
    )
    assert any(t.startswith(f"{sync}.semaphores[1].configMapKeyRef.name: no ConfigMap 'other'") for t in text)
    assert any(
        t.startswith(f"{sync}.semaphores[2].configMapKeyRef.key") and "raw repository" in t for t in text
    )


SENSOR = """
apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata: {name: s}
spec:
  dependencies:
    - name: a
      eventSourceName: github
      eventName: app
      filters:
        data:
          - {path: headers.X-GitHub-Event, type: string, value: ["^issues$"]}
          - {path: headers.X-Github-Event, type: string, value: ["^issues$"]}
          - {path: header.X-Github-Event.0, type: string, value: ["^issues$"]}
          - {path: body.action, type: string, value: ["opened", "^closed$|labeled"]}
          - {path: body.action, type: string, value: ["^(opened|closed)$", "^a$|^b$"]}
          - {path: body.number, type: int, value: ["1"]}
        exprs:
          - expr: a =~ "^x$" && b !~ 'bot'
            fields: [{name: a, path: body.a}, {name: b, path: body.b}]
    - {name: b, eventSourceName: github, eventName: app}
  triggers:
    - template:
        name: t
        argoWorkflow:
          operation: submit-from
          source:
            resource:
              apiVersion: argoproj.io/v1alpha1
              kind: Workflow
              metadata: {generateName: x-}
              spec: {workflowTemplateRef: {name: nowhere}, arguments: {parameters: [{name: p, value: ""}]}}
          parameters:
            - {src: {dependencyName: c, dataKey: body.x}, dest: spec.arguments.parameters.3.value}
      retryStrategy: {steps: 3}
"""


def test_sensor_rules() -> None:
    findings = lint_documents(
        parse_stream(textwrap.dedent(SENSOR), "s.yaml")
        + parse_stream(template("- {name: main, container: {image: a}}"), "t.yaml")
    )
    text = messages(findings)
    data = "spec.dependencies[a].filters.data"
    assert any(
        t.startswith(f"{data}[0]: 'headers.X-GitHub-Event': header names are Go-canonical") for t in text
    )
    assert any(t.startswith(f"{data}[1]: 'headers.X-Github-Event' is an array of values") for t in text)
    assert any(
        t.startswith(
            f"{data}[2]: 'header.X-Github-Event.0': the GitHub event source puts headers under `headers`"
        )
        for t in text
    )
    unanchored = [t for t in text if "unanchored regex" in t and ".filters.data" in t]
    assert len(unanchored) == 2
    assert (
        "'opened' is an unanchored regex" in unanchored[0]
        or "'opened' is an unanchored regex" in unanchored[1]
    )
    assert not any("^(opened|closed)$" in t or "^a$|^b$" in t for t in text)
    assert any(t.startswith(f"{data}[5].type: 'int': use `string`, `number` or `bool`") for t in text)
    exprs = [t for t in text if t.startswith("spec.dependencies[a].filters.exprs[0].expr")]
    assert len(exprs) == 1
    assert "'bot' after =~ / !~ is an unanchored regex" in exprs[0]
    trig = "spec.triggers[t]"
    assert any(
        t.startswith(f"{trig}.template.conditions: without `conditions` this trigger waits for ALL of a, b")
        for t in text
    )
    assert any(t.startswith(f"{trig}.template.argoWorkflow.operation: `submit-from`") for t in text)
    assert any(
        t.startswith(f"{trig}.retryStrategy: retryStrategy only takes effect with `atLeastOnce: true`")
        for t in text
    )
    assert any(
        t.startswith(
            f"{trig}.template.argoWorkflow.source.resource.spec.workflowTemplateRef: no WorkflowTemplate named 'nowhere'"
        )
        for t in text
    )
    assert any("the Workflow has only 1 argument parameters" in t for t in text)
    assert any("no dependency named 'c'" in t for t in text)


def test_event_source_needs_a_webhook_secret_and_no_pat() -> None:
    findings = lint_yaml(
        """
        apiVersion: argoproj.io/v1alpha1
        kind: EventSource
        metadata: {name: github}
        spec:
          github:
            app:
              repositories: [{owner: acme, names: [api]}]
              webhook: {endpoint: /github, port: "12000", method: POST, url: ""}
              apiToken: {name: pat, key: token}
        """
    )
    assert sorted(f.path for f in findings) == ["spec.github.app.apiToken", "spec.github.app.webhookSecret"]
    assert "unsigned deliveries" in next(f.message for f in findings if f.path.endswith("webhookSecret"))


def test_depends_on_a_conditional_task() -> None:
    findings = lint_yaml(
        template(
            """
            - name: main
              dag:
                tasks:
                  - {name: check, template: noop}
                  - {name: fix, depends: check, when: "{{tasks.check.status}} == Failed", template: noop}
                  - {name: again, depends: fix, template: noop}
                  - {name: fine, depends: fix.Succeeded, template: noop}
                  - {name: typo, depends: "fix.Succeded || gone", template: noop}
            - name: noop
              plugin: {pressplay: {comment: {repo: a/b, number: 1, key: k, body: hi, node: "{{node.name}}"}}}
            """
        )
    )
    by_path: dict[str, list[Finding]] = {}
    for f in findings:
        by_path.setdefault(f.path, []).append(f)
    again = by_path["spec.templates[main].dag.tasks[again].depends"]
    assert [f.severity for f in again] == [Severity.warning]
    assert "also runs when 'fix' is skipped" in again[0].message
    assert "spec.templates[main].dag.tasks[fine].depends" not in by_path
    typo = sorted(f.message for f in by_path["spec.templates[main].dag.tasks[typo].depends"])
    assert typo[0] == "no task named 'gone' in this DAG"
    assert typo[1].startswith("unknown result 'Succeded'")


def test_pressplay_lint_subcommand_and_stdin(rendered: str, tmp_path: Path) -> None:
    """`pressplay lint` through the real entry point, reading rendered YAML from standard input."""
    import subprocess
    import sys

    from pressplay.cli import main as pressplay_main

    bad = tmp_path / "bad.yaml"
    bad.write_text(template("- name: main\n  dag: {tasks: [{name: a, template: nope}]}\n"), encoding="utf-8")
    assert pressplay_main(["lint", str(bad)]) == 1
    done = subprocess.run(
        [sys.executable, "-m", "pressplay.lint.cli", "-", "--strict"],
        input=rendered,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert unexpected(lint_documents(parse_stream(rendered, "<stdin>"))) == []
    assert done.returncode == (1 if PENDING_IN_SHIPPED else 0), done.stdout + done.stderr
    assert "30 objects, 0 errors, " in done.stderr


def test_retries_must_be_bounded() -> None:
    findings = lint_yaml(
        template(
            """
            - name: main
              retryStrategy: {retryPolicy: Always}
              container: {image: alpine}
            - name: ok
              retryStrategy: {limit: "2", retryPolicy: OnError}
              container: {image: alpine}
            - name: capped
              retryStrategy: {limit: "2", backoff: {duration: 30s, maxDuration: 5m}}
              container: {image: alpine}
            """
        )
    )
    text = sorted(messages(findings), key=lambda t: "capped" in t)
    assert text[0] == (
        "spec.templates[main].retryStrategy: retryStrategy without `limit` retries without end: give a limit "
        '(e.g. limit: "2")'
    )
    assert len(text) == 2 and text[1].startswith("spec.templates[capped].retryStrategy.backoff.maxDuration:")
    assert "Max duration limit exceeded" in text[1] and "processNodeRetries" in text[1]


def test_envfrom_a_configmap_is_reported() -> None:
    """A whole ConfigMap in a container's environment: a PRESSPLAY_* key added to it later would
    reconfigure pressplay (issue 18). Named keys (configMapKeyRef) and a Secret of credentials pass."""
    findings = lint_yaml(
        template(
            """
            - name: main
              containerSet:
                containers:
                  - name: main
                    image: agent
                    envFrom:
                      - secretRef: {name: agent-credentials, optional: true}
                      - configMapRef: {name: pressplay-telemetry, optional: true}
            - name: named
              script:
                image: python
                source: print(1)
                env:
                  - name: OTEL_SERVICE_NAME
                    valueFrom: {configMapKeyRef: {name: pressplay-telemetry, key: OTEL_SERVICE_NAME, optional: true}}
              sidecars:
                - {name: side, image: x, envFrom: [{configMapRef: {name: anything}}]}
            """
        )
        + """
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: pressplay-executor-plugin
  labels: {workflows.argoproj.io/configmap-type: ExecutorPlugin}
data:
  sidecar.container: |
    name: pressplay-executor-plugin
    image: x
    envFrom:
    - configMapRef: {name: pressplay-telemetry, optional: true}
"""
    )
    env = [f for f in findings if "envFrom" in f.message]
    assert sorted((f.obj, f.path) for f in env) == [
        ("ConfigMap/pressplay-executor-plugin", "data.sidecar.container.envFrom[0].configMapRef"),
        ("WorkflowTemplate/t", "spec.templates[main].containerSet[main].envFrom[1].configMapRef"),
        ("WorkflowTemplate/t", "spec.templates[named].sidecars[side].envFrom[0].configMapRef"),
    ]
    assert all(f.severity is Severity.error for f in env)
    telemetry = [f for f in env if "'pressplay-telemetry'" in f.message]
    assert len(telemetry) == 2 and all("configMapKeyRef" in f.message for f in telemetry)


TEXT_SENSOR = """
apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata: {name: s}
spec:
  dependencies:
    - name: a
      eventSourceName: github
      eventName: app
      filters:
        data:
          - {path: body.X-GitHub-Event, type: string, value: ["^issue_comment$"]}
          - {path: body.pull_request.head.ref, type: string, value: ["^pressplay/task-[A-Za-z0-9._-]+$"]}
          - {path: body.pull_request.base.ref, type: string, value: ["^.+$"]}
  triggers:
    - template:
        name: t
        argoWorkflow:
          operation: submit
          source:
            resource:
              apiVersion: argoproj.io/v1alpha1
              kind: Workflow
              metadata: {name: x-}
              spec:
                workflowTemplateRef: {name: t}
                arguments:
                  parameters: [{name: p0, value: ""}, {name: p1, value: ""}, {name: p2, value: ""},
                               {name: p3, value: ""}, {name: p4, value: ""}]
          parameters:
            - {src: {dependencyName: a, dataKey: body.X-GitHub-Delivery}, dest: metadata.name, operation: append}
            - {src: {dependencyName: a, dataKey: body.comment.body}, dest: spec.arguments.parameters.0.value}
            - {src: {dependencyName: a, dataKey: body.issue.title}, dest: spec.arguments.parameters.1.value}
            - {src: {dependencyName: a, dataKey: body.pull_request.head.ref}, dest: spec.arguments.parameters.2.value}
            - {src: {dependencyName: a, dataKey: body.pull_request.base.ref}, dest: spec.arguments.parameters.3.value}
            - src: {dependencyName: a, dataTemplate: "{{ b64enc .Input.body.comment.body }}", value: ""}
              dest: spec.arguments.parameters.4.value
      atLeastOnce: true
      rateLimit: {unit: Minute, requestsPerUnit: 1}
"""


def test_event_text_in_clear_is_an_error_with_the_fix() -> None:
    """Argo templates parameter values again (common.SubstituteParams): a Sensor must hand on
    free text base64, or hold a name to brace-free characters with its own filter."""
    wt = template("- {name: main, container: {image: a}}")
    findings = lint_documents(
        parse_stream(textwrap.dedent(TEXT_SENSOR), "s.yaml") + parse_stream(wt, "t.yaml")
    )
    clear = [t for t in messages(findings) if "passed in clear" in t]
    flagged = sorted(t.split("'")[1] for t in clear)
    # the body and the title always; base.ref because its filter lets any character through;
    # head.ref is held to [A-Za-z0-9._-] by its filter; the dataTemplate is base64.
    assert flagged == ["body.comment.body", "body.issue.title", "body.pull_request.base.ref"]
    assert all("b64enc .Input." in t and "brace-free" in t for t in clear)


def test_failed_without_errored_in_depends_is_a_warning() -> None:
    text = messages(
        lint_yaml(
            template(
                """
                - name: main
                  dag:
                    tasks:
                      - {name: a, template: leaf}
                      - {name: report, depends: a.Failed, template: leaf}
                      - {name: both, depends: a.Failed || a.Errored, template: leaf}
                - {name: leaf, container: {image: x}}
                """
            )
        )
    )
    flagged = [t for t in text if "without `a.Errored`" in t]
    assert len(flagged) == 1 and flagged[0].startswith("spec.templates[main].dag.tasks[report].depends")
    assert "evaluateDependsLogic" in flagged[0]
