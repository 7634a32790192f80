"""The flows' design, asserted on the rendered WorkflowTemplates: light steps are plugin steps, agent
work is the one container, concurrency and locks as documented, bounded retries, exit handlers,
outputs, prompt_mod everywhere, deterministic idempotency keys (press play again = resume)."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from pressplay.agent.options import AgentOptions
from pressplay.agent.profile import GATES_ENV, load_profiles
from pressplay.config import DEFAULT_PORT

AGENTS = {"author", "lint", "tests", "deploy", "acceptance", "remediator", "ci-remediator", "triage"}
FLOWS = ("press-play", "task", "agent-step", "pr-remediation", "ci-remediation", "issue-triage")

Objects = Mapping[tuple[str, str], Mapping[str, Any]]


def templates(objects: Objects, name: str) -> dict[str, Mapping[str, Any]]:
    return {t["name"]: t for t in objects[("WorkflowTemplate", name)]["spec"]["templates"]}


def calls(objects: Objects) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """(WorkflowTemplate, calling template, task or step) for every task and step."""
    for flow in FLOWS:
        for name, tmpl in templates(objects, flow).items():
            for task in (tmpl.get("dag") or {}).get("tasks", []):
                yield flow, name, task
            for group in tmpl.get("steps") or []:
                for step_ in group:
                    yield flow, name, step_


def args(call: Mapping[str, Any]) -> dict[str, str]:
    return {p["name"]: p.get("value", "") for p in (call.get("arguments") or {}).get("parameters", [])}


def test_only_agent_work_runs_in_a_container(objects: Objects) -> None:
    for flow in FLOWS:
        for name, tmpl in templates(objects, flow).items():
            kinds = {
                k
                for k in (
                    "container",
                    "script",
                    "resource",
                    "http",
                    "containerSet",
                    "plugin",
                    "dag",
                    "steps",
                    "suspend",
                )
                if k in tmpl
            }
            assert len(kinds) == 1, (flow, name, kinds)
            if (flow, name) == ("agent-step", "agent-step"):
                assert kinds == {"containerSet"}
            elif (flow, name) == ("agent-step", "comment-pod"):
                # the stop report's pod, only when the plugin cannot answer (report-stopped errs)
                assert kinds == {"container"}
            else:
                assert kinds <= {"plugin", "dag", "steps"}, (flow, name, kinds)
            if "plugin" in tmpl:
                assert list(tmpl["plugin"]) == ["pressplay"]


def test_every_agent_call_gets_the_run_settings_and_a_known_profile(objects: Objects) -> None:
    """Image, model, prompt text (base64, never in clear) and gates reach every agent call, from the
    settings step's outputs or the caller's inputs of the same name; every flow keeps a `prompt_mod`
    and a `model` argument for `argo submit -p` and begins with the settings step."""
    agent_calls = [
        c
        for c in calls(objects)
        if c[2].get("templateRef") == {"name": "agent-step", "template": "agent-step"}
    ]
    assert {args(c[2])["agent"] for c in agent_calls} == AGENTS
    for flow, name, call in agent_calls:
        given = args(call)
        assert "prompt_mod" not in given, (flow, name, call["name"])
        for key in ("image", "model", "promptModB64", "gates"):
            assert re.fullmatch(
                r"\{\{(inputs|steps\.settings\.outputs|tasks\.settings\.outputs)\.parameters\."
                + key
                + r"\}\}",
                given.get(key, ""),
            ), (flow, name, call["name"], key)
    for flow in FLOWS:
        if flow != "agent-step":
            params = {
                p["name"] for p in objects[("WorkflowTemplate", flow)]["spec"]["arguments"]["parameters"]
            }
            assert {"prompt_mod", "model"} <= params, flow
            settings = templates(objects, flow)["settings"]["plugin"]["pressplay"]["settings"]
            assert settings["promptMod"] == "{{workflow.parameters.prompt_mod}}"
            assert settings["model"] == "{{workflow.parameters.model}}"


def test_press_play_fans_out_without_level_barriers(objects: Objects) -> None:
    play = templates(objects, "press-play")["play"]
    assert play["synchronization"] == {"mutexes": [{"name": "press-play-{{inputs.parameters.repoKey}}"}]}
    tasks = {t["name"]: t for t in play["dag"]["tasks"]}
    # Ids alone (generateNodeName writes the whole item into every node name below the loop).
    assert tasks["task"]["withParam"] == "{{tasks.backlog.outputs.parameters.ids}}"
    assert args(tasks["task"])["taskId"] == "{{item}}"
    assert args(tasks["task"])["fromTasksFile"] == "true"
    assert tasks["task"]["depends"] == "backlog"
    assert tasks["task"]["templateRef"] == {"name": "task", "template": "pipeline"}
    settings, play_call = (group[0] for group in templates(objects, "press-play")["main"]["steps"])
    assert settings["template"] == "settings"
    assert args(play_call)["repoKey"] == "{{steps.settings.outputs.parameters.repoKey}}"
    # Each task waits for its own dependencies first, in a plugin step (no pod).
    pipeline = {t["name"]: t for t in templates(objects, "task")["pipeline"]["dag"]["tasks"]}
    assert "depends" not in pipeline["dependencies"]
    assert pipeline["author"]["depends"] == "dependencies"
    assert "dependencies" in templates(objects, "task")["dependencies"]["plugin"]["pressplay"]


def test_task_pipeline_order(objects: Objects) -> None:
    pipeline = {t["name"]: t for t in templates(objects, "task")["pipeline"]["dag"]["tasks"]}
    order = ["dependencies", "author", "lint", "tests", "open-pr", "ci", "ready"]
    for before, after in itertools.pairwise(order):
        assert pipeline[after]["depends"] == before
    assert args(pipeline["lint"])["agent"] == "lint" and args(pipeline["tests"])["agent"] == "tests"
    assert "acceptance-agent" in pipeline["acceptance"]["depends"]
    assert "acceptance" in pipeline["merge"]["depends"]


def test_agent_pods_take_global_and_per_repo_semaphores(objects: Objects) -> None:
    step_ = templates(objects, "agent-step")["agent-step"]
    assert step_["synchronization"] == {
        "semaphores": [
            {"configMapKeyRef": {"name": "pressplay-concurrency", "key": "agents"}},
            {"configMapKeyRef": {"name": "pressplay-concurrency", "key": "{{inputs.parameters.repoKey}}"}},
        ]
    }
    limits = objects[("ConfigMap", "pressplay-concurrency")]["data"]
    assert int(limits["agents"]) >= 1


def test_one_agent_per_pull_request(objects: Objects) -> None:
    expected = {
        ("pr-remediation", "act"): "pr-{{inputs.parameters.repoKey}}-{{workflow.parameters.number}}",
        ("ci-remediation", "act"): "pr-{{inputs.parameters.repoKey}}-{{workflow.parameters.number}}",
        ("task", "ci-fix"): "pr-{{inputs.parameters.repoKey}}-{{inputs.parameters.number}}",
    }
    for (flow, name), lock in expected.items():
        assert templates(objects, flow)[name]["synchronization"] == {"mutexes": [{"name": lock}]}


def test_retries_are_bounded_everywhere(objects: Objects) -> None:
    for flow in FLOWS:
        for name, tmpl in templates(objects, flow).items():
            if "plugin" in tmpl or "container" in tmpl or "containerSet" in tmpl:
                retry = tmpl.get("retryStrategy")
                assert retry is not None, (flow, name)
                assert 1 <= int(retry["limit"]) <= 3, (flow, name)
                # Pods: OnError (a lost pod). Plugin steps: OnTransientError, since the agent turns a
                # failed plugin call into Failed (processTask), which OnError never retries.
                assert retry["retryPolicy"] == ("OnTransientError" if "plugin" in tmpl else "OnError"), (
                    flow,
                    name,
                )
                # No maxDuration: once it passed since the first attempt, Argo replaces the failed
                # attempt's message with "Max duration limit exceeded" (processNodeRetries).
                assert "maxDuration" not in retry["backoff"], (flow, name)
    ci_gate = {t["name"]: t for t in templates(objects, "task")["ci-gate"]["dag"]["tasks"]}
    assert "{{inputs.parameters.attempt}} <= {{inputs.parameters.maxAttempts}}" in ci_gate["fix"]["when"]
    assert "{{inputs.parameters.attempt}} > {{inputs.parameters.maxAttempts}}" in ci_gate["give-up"]["when"]
    assert args(ci_gate["give-up"])["onFailure"] == "fail"  # the final failed state names the failing checks
    assert args(ci_gate["again"])["attempt"] == "{{=asInt(inputs.parameters.attempt) + 1}}"


def test_every_flow_has_a_deadline_and_an_exit_handler(objects: Objects) -> None:
    for flow in FLOWS:
        spec = objects[("WorkflowTemplate", flow)]["spec"]
        assert spec["serviceAccountName"] == "pressplay-workflow"
        if flow == "agent-step":
            continue
        assert spec["onExit"] in templates(objects, flow), flow
        assert 0 < spec["activeDeadlineSeconds"] <= 7 * 24 * 3600


def test_outputs_are_surfaced_as_workflow_outputs(objects: Objects) -> None:
    global_names = {
        p["globalName"]
        for tmpl in templates(objects, "task").values()
        for p in (tmpl.get("outputs") or {}).get("parameters", [])
        if "globalName" in p
    }
    for suffix in (
        "pr-url",
        "pr-number",
        "checks",
        "deploy-status",
        "deploy-url",
        "argocd-health",
        "verdict",
        "merge-sha",
    ):
        assert f"task-{{{{inputs.parameters.taskId}}}}-{suffix}" in global_names


def test_idempotency_keys_are_deterministic(objects: Objects) -> None:
    """A resumed or retried run computes the same keys: nothing random or run-specific in them."""
    run_specific = re.compile(
        r"workflow\.(name|uid|creationTimestamp)|pod\.name|node\.name|retries|sprig\.(rand|uuid)"
    )
    for flow in FLOWS:
        for name, tmpl in templates(objects, flow).items():
            body = (tmpl.get("plugin") or {}).get("pressplay", {})
            for step_key, step_args in body.items():
                for field in ("key", "head", "task", "number", "repo"):
                    value = str(step_args.get(field, ""))
                    assert not run_specific.search(value), (flow, name, step_key, field)
    for flow, name, call in calls(objects):
        for field in ("step", "branch", "taskId"):
            value = args(call).get(field, "")
            assert not run_specific.search(value), (flow, name, call["name"], field)


def test_agent_step_matches_the_agent_runtime(objects: Objects) -> None:
    step_ = templates(objects, "agent-step")["agent-step"]
    containers = {c["name"]: c for c in step_["containerSet"]["containers"]}
    assert list(containers) == ["checkout", "main", "push"]
    assert [c.get("dependencies", []) for c in containers.values()] == [[], ["checkout"], ["main"]]
    fields = set(AgentOptions.model_fields)
    volumes = {v["name"]: v for v in step_["volumes"]}
    for phase, container in zip(("checkout", "run", "push"), containers.values(), strict=True):
        assert container["command"] == ["pressplay", "agent", phase]
        assert all("{{" not in part for part in container["command"]) and "args" not in container
        for name in (e["name"] for e in container["env"]):
            if name.startswith("PRESSPLAY_") and not name.startswith("PRESSPLAY_GITHUB_"):
                # an option of the phase, or (checkout, push) the settings' allow-list the helper reads
                known = fields | (
                    {"repositories"} if phase != "run" else {GATES_ENV.removeprefix("PRESSPLAY_").lower()}
                )
                assert name.removeprefix("PRESSPLAY_").lower() in known, name
        security = container["securityContext"]
        assert security["allowPrivilegeEscalation"] is False and security["readOnlyRootFilesystem"] is True
        assert security["capabilities"] == {"drop": ["ALL"]}
    main = containers["main"]
    env = {e["name"]: e for e in main["env"]}
    mounts = {m["mountPath"]: m["name"] for m in main["volumeMounts"]}
    assert volumes[mounts["/etc/pressplay/agents"]]["configMap"]["name"] == "controller-agents"
    assert env["PRESSPLAY_AGENTS_DIR"]["value"] == "/etc/pressplay/agents"
    outputs = {p["name"]: p["valueFrom"]["path"] for p in step_["outputs"]["parameters"]}
    assert outputs == {
        "commit-sha": "/tmp/outputs/commit-sha",
        "changed-files": "/tmp/outputs/changed-files",
        "gate-report": "/tmp/outputs/gate-report.json",
        "summary": "/tmp/outputs/summary",
        "summary-b64": "/tmp/outputs/summary-b64",
        "verdict": "/tmp/outputs/verdict.json",
        "verdict-b64": "/tmp/outputs/verdict.json.b64",
        "task": "/tmp/outputs/task.json",
        "task-b64": "/tmp/outputs/task.json.b64",
    }
    # Outputs on a containerSet-level volume: Argo reads them after every container ended
    # (common.FindOverlappingVolume sees containerSet.volumeMounts only), so push's rewrite counts.
    assert step_["containerSet"]["volumeMounts"] == [{"name": "outputs", "mountPath": "/tmp/outputs"}]
    # Event text reaches the agent as a file, never in the command line.
    # (the template's own text in event.md; event text base64 in event.b64, decoded by the runtime)
    # The run settings' prompt text (base64) is a file too: PRESSPLAY_PROMPT_MOD_FILE.
    paths = [a["path"] for a in step_["inputs"]["artifacts"]]
    assert ":".join(paths[:2]) == env["PRESSPLAY_CONTEXT_FILES"]["value"]
    assert paths == [
        "/var/run/pressplay/context/event.md",
        "/var/run/pressplay/context/event.b64",
        "/var/run/pressplay/context/prompt-mod.b64",
    ]
    assert env["PRESSPLAY_PROMPT_MOD_FILE"]["value"] == paths[2]
    # No Kubernetes token for any of them; Argo's own containers use the executor's.
    assert step_["automountServiceAccountToken"] is False
    assert step_["executor"] == {"serviceAccountName": "pressplay-workflow"}


def test_only_checkout_and_push_meet_the_app_key(objects: Objects) -> None:
    """Issue 18: the agent's container has no path to the key, no App setting, no state; other UIDs."""
    step_ = templates(objects, "agent-step")["agent-step"]
    containers = {c["name"]: c for c in step_["containerSet"]["containers"]}
    volumes = {v["name"]: v for v in step_["volumes"]}
    secret_volumes = {n for n, v in volumes.items() if "secret" in v}
    assert secret_volumes == {"github"}
    assert volumes["github"]["secret"]["defaultMode"] == 0o400
    assert "shareProcessNamespace" not in step_ and "shareProcessNamespace" not in (
        step_.get("podSpecPatch") or ""
    )
    for name, container in containers.items():
        mounted = {m["name"] for m in container["volumeMounts"]}
        env = {e["name"]: e for e in container["env"]}
        holds_key = name in {"checkout", "push"}
        assert ("github" in mounted) is holds_key, name
        assert ("state" in mounted) is holds_key, name
        assert any(k.startswith("PRESSPLAY_GITHUB_") for k in env) is holds_key, name
        assert all("secretKeyRef" not in (e.get("valueFrom") or {}) for e in env.values()) or holds_key, name
        assert [m["mountPath"] for m in container["volumeMounts"] if m["name"].startswith("tmp-")] == ["/tmp"]
    uids = {n: c["securityContext"]["runAsUser"] for n, c in containers.items()}
    assert uids["checkout"] == uids["push"] != uids["main"]
    # push reads the workspace, never writes it
    push_mounts = {m["name"]: m for m in containers["push"]["volumeMounts"]}
    assert push_mounts["workspace"].get("readOnly") is True and push_mounts["state"].get("readOnly") is True
    # only the agent's own model credentials reach `main` in bulk; OTEL_* come one by one
    assert containers["main"]["envFrom"] == [
        {"secretRef": {"name": "pressplay-agent-credentials", "optional": True}}
    ]
    assert "envFrom" not in containers["checkout"] and "envFrom" not in containers["push"]


def test_agents_configmap_holds_every_profile_and_prompt(objects: Objects, tmp_path: Path) -> None:
    data = objects[("ConfigMap", "controller-agents")]["data"]
    profiles = yaml.safe_load(data["agents.yaml"])["agents"]
    assert set(profiles) == AGENTS
    assert {k.removesuffix("_system-prompt.md") for k in data if k.endswith("_system-prompt.md")} == AGENTS
    for key, text in data.items():
        (tmp_path / key).write_text(text, encoding="utf-8")
    loaded = load_profiles(tmp_path)
    assert set(loaded) == AGENTS
    for name, profile in loaded.items():
        assert len(profile.system_prompt) > 800, name
        assert "never ask" in " ".join(profile.system_prompt.lower().split()), name
        assert profile.attempts >= 1 and profile.command
    lint_gates = [" ".join(g.run) for g in loaded["lint"].gates if g.language in (None, "rust")]
    assert lint_gates == [
        "cargo fmt --check",
        "cargo clippy --all-targets -- -D warnings -W clippy::pedantic",
    ]
    assert "PRESSPLAY_VERDICT_FILE" in loaded["acceptance"].system_prompt
    assert "PRESSPLAY_TASK_FILE" in loaded["triage"].system_prompt


def test_plugin_install_objects(objects: Objects) -> None:
    plugin = objects[("ConfigMap", "pressplay-executor-plugin")]
    assert plugin["metadata"]["labels"]["workflows.argoproj.io/configmap-type"] == "ExecutorPlugin"
    container = yaml.safe_load(plugin["data"]["sidecar.container"])
    assert container["ports"][0]["containerPort"] == DEFAULT_PORT
    for account in ("pressplay-workflow", "pressplay-executor-plugin"):
        secret = objects[("Secret", f"{account}.service-account-token")]
        assert secret["type"] == "kubernetes.io/service-account-token"
        assert secret["metadata"]["annotations"]["kubernetes.io/service-account.name"] == account
    rules = objects[("Role", "pressplay-workflow")]["rules"]
    assert {
        "apiGroups": ["argoproj.io"],
        "resources": ["workflowtasksets"],
        "verbs": ["list", "watch"],
    } in rules
    assert {
        "apiGroups": ["argoproj.io"],
        "resources": ["workflowtasksets/status"],
        "verbs": ["patch"],
    } in rules


def test_sensors_submit_workflow_template_refs_named_by_delivery(
    sensors: Mapping[str, Mapping[str, Any]],
) -> None:
    assert set(sensors) == {"pr-feedback", "ci-failure", "issue-triage", "pr-merged"}
    for name, sensor in sensors.items():
        assert sensor["spec"]["template"]["serviceAccountName"] == "pressplay-sensor"
        for trigger in sensor["spec"]["triggers"]:
            workflow = trigger["template"]["argoWorkflow"]
            assert workflow["operation"] == "submit"
            assert set(workflow["source"]["resource"]["spec"]) == {"workflowTemplateRef", "arguments"}
            naming = [p for p in workflow["parameters"] if p["dest"] == "metadata.name"]
            assert naming and naming[0]["src"]["dataKey"] == "body.X-GitHub-Delivery"
            assert naming[0]["operation"] == "append"
            assert trigger["atLeastOnce"] is True and trigger["retryStrategy"]["steps"] <= 5
            assert trigger["rateLimit"]["requestsPerUnit"] > 0
            assert trigger["template"]["conditions"], name


def test_event_source_verifies_signatures_with_app_credentials(objects: Objects) -> None:
    github = objects[("EventSource", "github")]["spec"]["github"]["app"]
    assert github["webhookSecret"] == {"name": "pressplay-github-webhook", "key": "webhook-secret"}
    assert "apiToken" not in github
    assert github["githubApp"]["privateKey"] == {"name": "pressplay-github-app", "key": "private-key.pem"}


@pytest.mark.parametrize("flow", ["pr-remediation", "ci-remediation", "issue-triage"])
def test_event_flows_report_failures_where_the_event_happened(objects: Objects, flow: str) -> None:
    spec = objects[("WorkflowTemplate", flow)]["spec"]
    handler = templates(objects, flow)[spec["onExit"]]
    step_ = handler["steps"][0][0]
    assert step_["when"] == "'{{workflow.status}}' != 'Succeeded'"
    target = templates(objects, flow)[step_["template"]]
    comment = target["plugin"]["pressplay"]["comment"]
    assert comment["number"] == "{{workflow.parameters.number}}"


def test_steps_after_a_conditional_step_wait_for_it_to_run(objects: Objects) -> None:
    """`depends: X` also fires when X was skipped by its `when`: the CI loop must not recurse then."""
    ci_gate = {t["name"]: t for t in templates(objects, "task")["ci-gate"]["dag"]["tasks"]}
    assert ci_gate["again"]["depends"] == "fix.Succeeded"


def test_remediation_debounces_outside_the_lock(objects: Objects) -> None:
    """A burst of triggers debounces in parallel; only the newest takes the PR's mutex and acts."""
    for flow, agent in (("pr-remediation", "remediator"), ("ci-remediation", "ci-remediator")):
        remediate = templates(objects, flow)["remediate"]
        assert "synchronization" not in remediate
        act = {t["name"]: t for t in remediate["dag"]["tasks"]}["act"]
        assert act["when"] == "'{{tasks.debounce.outputs.parameters.proceed}}' == 'true'"
        # A dag (its comment-posting task's globalName output reaches the Workflow: executeDAG).
        tasks = templates(objects, flow)["act"]["dag"]["tasks"]
        assert tasks[0]["name"] == agent and len(tasks) == 2
        assert tasks[1]["depends"] == agent


def test_exit_handlers_never_change_the_result(objects: Objects) -> None:
    for flow in FLOWS:
        spec = objects[("WorkflowTemplate", flow)]["spec"]
        if "onExit" not in spec:
            continue
        handler = templates(objects, flow)[spec["onExit"]]
        children = (
            handler["dag"]["tasks"] if "dag" in handler else [s for group in handler["steps"] for s in group]
        )
        for step_ in children:
            assert step_["continueOn"] == {"failed": True, "error": True}, (flow, step_["name"])


def test_press_plays_outcome_is_exported_from_a_dag(objects: Objects) -> None:
    """A plugin step's globalName reaches the Workflow's outputs from a DAG task (executeDAG), never
    from a steps child (executeStepGroup exports only the group node's outputs)."""
    spec = objects[("WorkflowTemplate", "press-play")]["spec"]
    handler = templates(objects, "press-play")[spec["onExit"]]
    assert [t["template"] for t in handler["dag"]["tasks"]] == ["outcome"]
    outputs = {
        p.get("globalName") for p in templates(objects, "press-play")["outcome"]["outputs"]["parameters"]
    }
    assert {"outcome", "outcome-counts"} <= outputs


def _code_blocks(text: str, language: str) -> list[str]:
    return [
        "\n".join(line.removeprefix("   ") for line in block.splitlines())
        for block in re.findall(rf"```{language}\n(.*?)```", text, re.DOTALL)
    ]


def test_prompt_examples_are_valid_documents(objects: Objects) -> None:
    """The verdict the acceptance agent is shown and the spec the triage agent is shown both parse."""
    from pressplay.acceptance_spec import parse_spec, parse_verdict

    data = objects[("ConfigMap", "controller-agents")]["data"]
    verdicts = _code_blocks(data["acceptance_system-prompt.md"], "json")
    assert len(verdicts) == 1
    verdict = parse_verdict(verdicts[0])
    assert verdict.items[0].passed is True
    specs = _code_blocks(data["triage_system-prompt.md"], "yaml")
    assert len(specs) == 1
    spec = parse_spec(specs[0])
    assert [c.kind for c in spec.criteria] == ["checks", "agent"]


def test_the_author_must_change_something(objects: Objects, tmp_path: Path) -> None:
    data = objects[("ConfigMap", "controller-agents")]["data"]
    for key, text in data.items():
        (tmp_path / key).write_text(text, encoding="utf-8")
    profiles = load_profiles(tmp_path)
    assert profiles["author"].require_changes is True
    # Lint and the remediators may legitimately find nothing to change.
    assert not profiles["lint"].require_changes


def _documented_outputs(key: str) -> set[str]:
    page = Path(__file__).resolve().parents[2] / "docs" / "steps" / f"{key}.md"
    assert page.is_file(), f"{page} is tracked: restore it"
    section = page.read_text(encoding="utf-8").split("## Outputs", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([A-Za-z0-9]+)` \|", section, re.MULTILINE))


def test_plugin_templates_declare_only_outputs_their_step_gives(objects: Objects) -> None:
    """A declared output the step never returns breaks every `{{tasks.X.outputs.parameters.Y}}` to it."""
    checked = 0
    for flow in FLOWS:
        for name, tmpl in templates(objects, flow).items():
            for key in (tmpl.get("plugin") or {}).get("pressplay", {}):
                declared = {p["name"] for p in (tmpl.get("outputs") or {}).get("parameters", [])}
                documented = _documented_outputs(key)
                assert declared <= documented, (flow, name, key, declared - documented)
                checked += 1
    assert checked >= 15


def test_every_flow_takes_the_repository_key_from_the_settings_step(objects: Objects) -> None:
    """Argo compares semaphore keys and mutex names exactly (prepAcquire); GitHub names are
    case-insensitive: `Acme/Widgets` and `acme/widgets` must take the same locks. The key is computed in
    one place (the settings step's `repoKey`, tests/steps/settings) and no flow computes its own."""
    found = {}
    for (kind, name), obj in objects.items():
        if kind != "WorkflowTemplate" or name == "agent-step":
            continue
        text = json.dumps(obj)
        assert "sprig.replace('/'" not in text, name
        found[name] = text.count("{{steps.settings.outputs.parameters.repoKey}}")
    assert found == {"press-play": 1, "task": 1, "pr-remediation": 1, "ci-remediation": 1, "issue-triage": 1}
