"""Issue 18, the manifest side: who can start a flow, what the Sensors let in, where agent pods may
connect, what reaches a container's environment, what the sidecar may do in Argo CD. Rendered with
the real ``kubectl kustomize``: the shipped defaults, and an overlay configured as docs/install.md
says (conftest.SETTINGS_PATCH)."""

from __future__ import annotations

import copy
import ipaddress
import re
from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import re2
import yaml

from pressplay.lint import lint_documents
from pressplay.lint.load import parse_stream

from .argo_dag import Simulator
from .argo_events import argument, fire, github_event
from .conftest import INSTALLATION, REPO, SETTINGS_OVERLAY, SETTINGS_PATCH, load_webhook, render_overlay

Objects = Mapping[tuple[str, str], Mapping[str, Any]]
DELIVERY = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
PERSON_FLOWS = ("pr-remediation", "issue-triage")
OTEL_KEYS = {
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_TRACES_EXPORTER",
    "OTEL_METRICS_EXPORTER",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
}


def _sensors(objects: Objects) -> dict[str, Mapping[str, Any]]:
    return {name: body for (kind, name), body in objects.items() if kind == "Sensor"}


def _app_delivery(payload: Mapping[str, Any], installation: int = INSTALLATION) -> dict[str, Any]:
    body = copy.deepcopy(dict(payload))
    body["installation"] = {"id": installation, "node_id": "x"}
    return body


def _labelled(payload: dict[str, Any], where: str, *names: str) -> dict[str, Any]:
    payload[where]["labels"] = [{"id": i, "name": n} for i, n in enumerate(names)]
    return payload


def _firing_events(webhooks: Path) -> list[tuple[str, dict[str, Any]]]:
    """One payload per trigger of every Sensor, each of which fires with the fixtures' settings."""
    comment = _labelled(
        load_webhook(webhooks, "issue_comment.created-on-pull-request.json"), "issue", "pressplay", "task-7"
    )
    review_comment = load_webhook(webhooks, "pull_request_review_comment.created.json")
    review_comment["pull_request"]["head"]["ref"] = "pressplay/task-3"
    review = load_webhook(webhooks, "pull_request_review.submitted.json")
    review["review"]["state"] = "changes_requested"
    review["pull_request"]["head"]["ref"] = "pressplay/task-3"
    opened = load_webhook(webhooks, "issues.opened.json")
    labeled = load_webhook(webhooks, "issues.labeled.json")
    labeled["label"] = {"name": "pressplay"}
    merged = _labelled(load_webhook(webhooks, "pull_request.closed-merged.json"), "pull_request", "pressplay")
    merged["pull_request"]["head"]["ref"] = "pressplay/task-4"
    run = load_webhook(webhooks, "workflow_run.completed-failure.json")
    run["workflow_run"]["head_branch"] = "pressplay/task-5"
    run["workflow_run"]["pull_requests"] = [{"number": 9, "base": {"ref": "main"}}]
    check = load_webhook(webhooks, "check_run.completed-failure.json")
    check["check_run"]["check_suite"]["head_branch"] = "pressplay/task-6"
    check["check_run"]["app"]["slug"] = "circleci"
    repo_id = check["repository"]["id"]
    check["check_run"]["pull_requests"] = [
        {"number": 9, "head": {"repo": {"id": repo_id}}, "base": {"ref": "main", "repo": {"id": repo_id}}}
    ]
    return [
        ("issue_comment", comment),
        ("pull_request_review_comment", review_comment),
        ("pull_request_review", review),
        ("issues", opened),
        ("issues", labeled),
        ("pull_request", merged),
        ("workflow_run", run),
        ("check_run", check),
    ]


def _fired(sensors: Mapping[str, Mapping[str, Any]], event: str, body: Mapping[str, Any]) -> list[str]:
    data = github_event(event, body, DELIVERY)
    return [f"{name}/{f.trigger}" for name, sensor in sorted(sensors.items()) for f in fire(sensor, data)]


# ------------------------------------------------ Sensors: the installation and the repositories


def test_every_sensor_dependency_filters_installation_and_repository(
    sensors: Mapping[str, Mapping[str, Any]],
) -> None:
    for name, sensor in sensors.items():
        for dep in sensor["spec"]["dependencies"]:
            data = {f["path"]: f for f in dep["filters"]["data"]}
            installation = data["body.installation.id"]
            # A number compared exactly (nothing to anchor), the admin's value.
            assert installation["type"] == "number" and installation.get("comparator", "=") == "="
            assert installation["value"] == [str(INSTALLATION)], (name, dep["name"])
            repository = data["body.repository.full_name"]
            assert repository["type"] == "string" and "comparator" not in repository
            assert repository["value"] == ["^(Codertocat/Hello-World|octo-org/octo-repo)$"]
            # The filters that were there stay (humans, trusted associations, pressplay branches).
            assert "body.X-GitHub-Event" in data


def test_each_trigger_fires_for_the_configured_installation_and_repository(
    sensors: Mapping[str, Mapping[str, Any]], webhooks: Path
) -> None:
    seen = set()
    for event, payload in _firing_events(webhooks):
        result = _fired(sensors, event, _app_delivery(payload))
        assert len(result) == 1, (event, result)
        seen.update(result)
    assert len(seen) == 8  # every trigger of every Sensor


def test_another_installation_or_repository_matches_no_trigger(
    sensors: Mapping[str, Mapping[str, Any]], webhooks: Path
) -> None:
    for event, payload in _firing_events(webhooks):
        assert _fired(sensors, event, _app_delivery(payload, installation=INSTALLATION + 1)) == [], event
        assert _fired(sensors, event, _app_delivery(payload, installation=10 + INSTALLATION)) == [], event
        without = _app_delivery(payload)
        del without["installation"]
        assert _fired(sensors, event, without) == [], event  # a repository webhook, not the App's
        for other in ("Codertocat/Hello-World-fork", "xCodertocat/Hello-World", "codertocat/hello-world.x"):
            moved = _app_delivery(payload)
            moved["repository"]["full_name"] = other
            # (the fork checks compare head and base repositories: move both)
            for key in ("pull_request",):
                if isinstance(moved.get(key), dict):
                    moved[key]["head"]["repo"]["full_name"] = other
            if isinstance(moved.get("workflow_run"), dict):
                moved["workflow_run"]["head_repository"]["full_name"] = other
            assert _fired(sensors, event, moved) == [], (event, other)


def test_the_shipped_defaults_let_no_event_in(objects: Objects, webhooks: Path) -> None:
    """Until an admin sets the installation and the repositories, no event starts anything."""
    shipped = _sensors(objects)
    for event, payload in _firing_events(webhooks):
        for installation in (0, 1, 12345678):
            assert _fired(shipped, event, _app_delivery(payload, installation)) == [], event


def test_repository_patterns_are_anchored_re2(sensors: Mapping[str, Mapping[str, Any]]) -> None:
    pattern = next(iter(sensors.values()))["spec"]["dependencies"][0]["filters"]["data"]
    regex = next(f for f in pattern if f["path"] == "body.repository.full_name")["value"][0]
    assert re2.search(regex, "Codertocat/Hello-World") and re2.search(regex, "octo-org/octo-repo")
    for other in ("Codertocat/Hello-World2", "aCodertocat/Hello-World", "octo-org/octo-repo/x", ""):
        assert not re2.search(regex, other), other


# ------------------------------------------------ authorize: only people with write access


def test_person_started_flows_pass_the_senders_login(
    sensors: Mapping[str, Mapping[str, Any]], webhooks: Path
) -> None:
    """pr-feedback and issue-triage pass `sender.login` (a login: [A-Za-z0-9-]) as the `sender`
    argument, read by the authorize step; no other event value is added."""
    for sensor_name in ("pr-feedback", "issue-triage"):
        for trigger in sensors[sensor_name]["spec"]["triggers"]:
            params = trigger["template"]["argoWorkflow"]["parameters"]
            senders = [p for p in params if p["src"].get("dataKey") == "body.sender.login"]
            assert len(senders) == 1, trigger["template"]["name"]
            resource = trigger["template"]["argoWorkflow"]["source"]["resource"]
            names = [p["name"] for p in resource["spec"]["arguments"]["parameters"]]
            index = int(senders[0]["dest"].rsplit(".", 2)[-2])
            assert names[index] == "sender"
    for event, payload in _firing_events(webhooks)[:5]:
        data = github_event(event, _app_delivery(payload), DELIVERY)
        for sensor in sensors.values():
            for result in fire(sensor, data):
                assert argument(result.workflow, "sender") == payload["sender"]["login"] == "Codertocat"


def test_a_read_only_collaborator_passes_the_sensor_and_stops_at_authorize(
    sensors: Mapping[str, Mapping[str, Any]], objects: Objects, webhooks: Path
) -> None:
    """GitHub calls a read-only collaborator COLLABORATOR: the Sensor lets the comment through (it
    cannot know the permission), and the flow ends at its first step, Succeeded, with no agent run,
    no comment and no failure report."""
    payload = _labelled(
        load_webhook(webhooks, "issue_comment.created-on-pull-request.json"), "issue", "pressplay", "task-7"
    )
    payload["comment"]["author_association"] = "COLLABORATOR"
    payload["sender"]["login"] = "read-only-rita"
    (result,) = fire(sensors["pr-feedback"], github_event("issue_comment", _app_delivery(payload), DELIVERY))
    params = {p["name"]: p["value"] for p in result.workflow["spec"]["arguments"]["parameters"]}
    assert params["sender"] == "read-only-rita"

    asked: list[dict[str, str]] = []

    def world(name: str, args: dict[str, str]) -> tuple[str, dict[str, str]]:
        if name == "authorize":
            asked.append(args)
            return "Succeeded", {"allowed": "false", "permission": "read", "reason": "read access"}
        return "Succeeded", {"proceed": "true", "summary": "x", "commit-sha": "f" * 40}

    simulator = _simulator(objects, "pr-remediation", world, params)
    node = simulator.call("main", {})
    assert node.phase == "Succeeded"
    assert [name for name, _ in simulator.calls] == ["authorize"]
    # The exit handler reports only a run that did not succeed: nothing is posted.
    exit_sim = _simulator(objects, "pr-remediation", world, params, status="Succeeded")
    exit_sim.call("exit-handler", {})
    assert exit_sim.calls == []


class _SprigSimulator(Simulator):
    """argo_dag's model plus the sprig functions the flows' entry steps use."""

    def _scope(self, inputs: Mapping[str, str], done: Mapping[str, Any], kind: str) -> dict[str, Any]:
        scope = super()._scope(inputs, done, kind)
        scope["sprig"] = SimpleNamespace(
            replace=lambda old, new, text: text.replace(old, new),
            trimPrefix=lambda prefix, text: text.removeprefix(prefix),
            lower=str.lower,
        )
        return scope


def _simulator(
    objects: Objects, flow: str, world: Any, params: Mapping[str, str], status: str = "Running"
) -> Simulator:
    workflow = {"name": f"{flow}-x", "namespace": "pressplay", "status": status, "parameters": dict(params)}
    return _SprigSimulator(objects[("WorkflowTemplate", flow)], world, workflow)


SETTINGS_OUTPUTS = {
    "image": "ghcr.io/pressplay-dev/pressplay-agent:0.1.0",
    "model": "",
    "promptModB64": "",
    "gates": "auto",
    "repoKey": "acme.widgets",
    "deployWorkflow": "",
    "argocdApp": "",
    "argocdNamespace": "argocd",
    "mergeMethod": "squash",
}


@pytest.mark.parametrize("flow", PERSON_FLOWS)
@pytest.mark.parametrize("allowed", ["true", "false"])
def test_person_started_flows_begin_with_authorize(objects: Objects, flow: str, allowed: str) -> None:
    params = {
        "repo": "acme/widgets",
        "number": "12",
        "branch": "pressplay/task-7",
        "delivery": "d-1",
        "eventTime": "2026-12-02T10:00:00Z",
        "title": "t",
        "sender": "alice",
    }

    def world(name: str, args: dict[str, str]) -> tuple[str, dict[str, str]]:
        if name == "authorize":
            return "Succeeded", {"allowed": allowed, "permission": "write", "reason": "r"}
        if name == "debounce":
            return "Succeeded", {"proceed": "true"}
        if name == "settings":
            return "Succeeded", SETTINGS_OUTPUTS
        return "Succeeded", {"summary": "done", "commit-sha": "f" * 40, "task": ""}

    simulator = _simulator(objects, flow, world, params)
    node = simulator.call("main", {})
    names = [name for name, _ in simulator.calls]
    assert node.phase == "Succeeded"
    assert names[0] == "authorize"
    if allowed == "true":
        assert "agent-step/agent-step" in names
    else:
        assert names == ["authorize"]


@pytest.mark.parametrize("flow", PERSON_FLOWS)
def test_the_authorize_step_checks_the_sender_for_write(objects: Objects, flow: str) -> None:
    spec = objects[("WorkflowTemplate", flow)]["spec"]
    templates = {t["name"]: t for t in spec["templates"]}
    authorize = templates["authorize"]["plugin"]["pressplay"]["authorize"]
    assert authorize["repo"] == "{{workflow.parameters.repo}}"
    assert authorize["user"] == "{{workflow.parameters.sender}}"
    assert authorize.get("minimum", "write") == "write"
    # `sender` has no default: a run submitted without one fails validation instead of passing.
    sender = next(p for p in spec["arguments"]["parameters"] if p["name"] == "sender")
    assert "value" not in sender
    # main: authorize alone first, everything else gated on allowed == true.
    steps = templates[spec["entrypoint"]]["steps"]
    assert [s["name"] for s in steps[0]] == ["authorize"]
    for group in steps[1:]:
        for step in group:
            assert step["when"] == "'{{steps.authorize.outputs.parameters.allowed}}' == 'true'"


def test_flows_not_started_by_a_person_have_no_authorize(objects: Objects) -> None:
    """ci-remediation (the actor is CI, on a pressplay branch of the same repository) and press-play
    (a merge, which needs write access; or `argo submit` by a cluster user) are documented choices."""
    for flow in ("ci-remediation", "press-play", "task"):
        templates = objects[("WorkflowTemplate", flow)]["spec"]["templates"]
        assert not any("authorize" in (t.get("plugin") or {}).get("pressplay", {}) for t in templates)


# ------------------------------------------------ the agents' egress


def _policy(objects: Objects) -> Mapping[str, Any]:
    return objects[("NetworkPolicy", "pressplay-agent-egress")]


def _allowed(policy: Mapping[str, Any], address: str, port: int, protocol: str = "TCP") -> bool:
    """Whether an egress connection to a *non-pod* address is allowed (ipBlock rules only)."""
    ip = ipaddress.ip_address(address)
    for rule in policy["spec"]["egress"]:
        ports = rule.get("ports") or []
        if ports and not any(p["port"] == port and p.get("protocol", "TCP") == protocol for p in ports):
            continue
        for peer in rule.get("to") or []:
            block = peer.get("ipBlock")
            if block is None:
                continue
            cidr = ipaddress.ip_network(block["cidr"])
            if ip.version != cidr.version or ip not in cidr:
                continue
            excluded = [ipaddress.ip_network(e) for e in block.get("except", [])]
            if not any(ip.version == e.version and ip in e for e in excluded):
                return True
    return False


def test_agent_egress_selects_the_agent_step_pods(objects: Objects) -> None:
    policy = _policy(objects)
    assert policy["spec"]["policyTypes"] == ["Egress"]
    assert "ingress" not in policy["spec"]
    selector = policy["spec"]["podSelector"]
    assert selector == {"matchExpressions": [{"key": "pressplay.dev/agent", "operator": "Exists"}]}
    agent_step = objects[("WorkflowTemplate", "agent-step")]["spec"]["templates"][0]
    assert "pressplay.dev/agent" in agent_step["metadata"]["labels"]
    assert policy["metadata"]["namespace"] == "pressplay"


def test_agent_egress_allows_dns_and_public_https_only(objects: Objects) -> None:
    policy = _policy(objects)
    dns, https, api = policy["spec"]["egress"]
    assert dns["to"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
    ]
    assert dns["ports"] == [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
    assert https["ports"] == [{"protocol": "TCP", "port": 443}]
    v4, v6 = (peer["ipBlock"] for peer in https["to"])
    assert v4["cidr"] == "0.0.0.0/0" and v6["cidr"] == "::/0"
    for private in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16"):
        assert private in v4["except"]
    assert {"127.0.0.0/8", "10.96.0.0/12", "10.244.0.0/16"} <= set(v4["except"])
    assert {"fc00::/7", "fe80::/10", "::1/128"} <= set(v6["except"])
    assert [p["port"] for p in api["ports"]] == [443, 6443]
    # Public HTTPS yes (GitHub, a model API), anything inside the cluster or the VPC no.
    for address in ("140.82.112.3", "160.79.104.10", "2606:50c0:8000::154"):
        assert _allowed(policy, address, 443), address
    for address in (
        "169.254.169.254",  # cloud metadata
        "169.254.170.2",
        "10.96.0.1",  # the kubernetes Service
        "10.0.0.10",
        "172.20.0.5",
        "192.168.1.1",
        "100.100.100.200",  # Alibaba metadata (CGNAT range)
        "127.0.0.1",
        "fd00:ec2::254",  # AWS IPv6 metadata
        "fe80::1",
        "::1",
    ):
        assert not _allowed(policy, address, 443), address
    for port in (80, 22, 2379, 6443, 8080, 12000, 17820):
        assert not _allowed(policy, "140.82.112.3", port), port


def test_agent_egress_takes_the_admins_cidrs(kubectl: str, tmp_path: Path) -> None:
    settings = SETTINGS_PATCH + (
        "serviceCIDR: 34.118.224.0/20\npodCIDR: 34.64.0.0/14\n"
        "serviceCIDRv6: 2600:1900:4000::/108\npodCIDRv6: 2600:1900:4001::/64\n"
    )
    text = render_overlay(tmp_path, kubectl, SETTINGS_OVERLAY, {"settings.yaml": settings})
    objects = {(d.kind, d.name): d.body for d in parse_stream(text, "overlay")}
    policy = _policy(objects)
    # Public-looking cluster ranges (GKE can use them) are never "the internet".
    for address in ("34.118.224.10", "34.64.3.4", "2600:1900:4000::1", "2600:1900:4001::9"):
        assert not _allowed(policy, address, 443), address
    assert _allowed(policy, "34.120.0.1", 443)
    # The API server's endpoints (settings: kubernetesAPI), for Argo's wait container.
    assert _allowed(policy, "172.18.0.3", 6443) and _allowed(policy, "172.18.0.3", 443)
    assert not _allowed(policy, "172.18.1.3", 6443)


def test_no_other_policy_weakens_the_agents_egress(objects: Objects) -> None:
    policies = [key for key in objects if key[0] == "NetworkPolicy"]
    assert policies == [("NetworkPolicy", "pressplay-agent-egress")]


# ------------------------------------------------ only OTEL_* keys from the telemetry ConfigMap


def _plugin_container(objects: Objects) -> dict[str, Any]:
    container: dict[str, Any] = yaml.safe_load(
        objects[("ConfigMap", "pressplay-executor-plugin")]["data"]["sidecar.container"]
    )
    return container


def _telemetry_refs(container: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    refs = {}
    for entry in container.get("env") or []:
        ref = (entry.get("valueFrom") or {}).get("configMapKeyRef")
        if ref and ref["name"] == "pressplay-telemetry":
            refs[entry["name"]] = ref
    return refs


def test_the_sidecar_gets_only_named_otel_variables(objects: Objects) -> None:
    container = _plugin_container(objects)
    assert "envFrom" not in container
    refs = _telemetry_refs(container)
    assert set(refs) >= OTEL_KEYS
    for name, ref in refs.items():
        assert name.startswith("OTEL_") and ref["key"] == name and ref["optional"] is True
    # The allow-list of repositories comes from the settings.
    (repositories,) = [e for e in container["env"] if e["name"] == "PRESSPLAY_REPOSITORIES"]
    assert repositories["valueFrom"]["configMapKeyRef"] == {
        "name": "pressplay-settings",
        "key": "repositories",
        "optional": True,
    }


def _containers(template: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = [template[k] for k in ("container", "script") if k in template]
    found += (template.get("containerSet") or {}).get("containers") or []
    found += (template.get("initContainers") or []) + (template.get("sidecars") or [])
    return found


def test_no_container_loads_a_configmap_whole(objects: Objects) -> None:
    pending = []
    for (kind, name), body in objects.items():
        if kind != "WorkflowTemplate":
            continue
        for template in body["spec"]["templates"]:
            for container in _containers(template):
                for source in container.get("envFrom") or []:
                    if "configMapRef" in source:
                        pending.append((name, container["name"], source["configMapRef"]["name"]))
    assert pending == []
    # agent-step's agent container names the same OTEL_* keys the sidecar does.
    agent_step = objects[("WorkflowTemplate", "agent-step")]["spec"]["templates"][0]
    (main,) = [c for c in agent_step["containerSet"]["containers"] if c["name"] == "main"]
    assert set(_telemetry_refs(main)) >= OTEL_KEYS
    assert all(name.startswith("OTEL_") for name in _telemetry_refs(main))


def test_a_pressplay_key_in_the_telemetry_configmap_reaches_no_container(objects: Objects) -> None:
    """What an `envFrom` would have done: every key, PRESSPLAY_* included, as a variable."""
    container = _plugin_container(objects)
    keys = {"PRESSPLAY_GITHUB_API_URL", "PRESSPLAY_AGENT_COMMAND", "OTEL_SERVICE_NAME"}
    reached = {name for name, ref in _telemetry_refs(container).items() if ref["key"] in keys}
    assert reached == {"OTEL_SERVICE_NAME"}


# ------------------------------------------------ Argo CD and ServiceAccount tokens


def test_argocd_role_names_only_the_settings_applications(configured: Objects, objects: Objects) -> None:
    (rule,) = configured[("Role", "pressplay-argocd-applications")]["rules"]
    assert rule["resourceNames"] == ["hello-world-preview", "octo-repo-preview"]
    assert rule["verbs"] == ["get", "patch"]  # no list/watch: resourceNames cannot limit them
    (default,) = objects[("Role", "pressplay-argocd-applications")]["rules"]
    # An empty resourceNames would mean every Application: the default names none that can exist.
    assert default["resourceNames"] == ["-"]


def test_an_empty_application_list_is_refused_by_kustomize(kubectl: str, tmp_path: Path) -> None:
    settings = SETTINGS_PATCH.replace(
        "argocdApplications: [hello-world-preview, octo-repo-preview]", "argocdApplications: []"
    )
    assert "argocdApplications: []" in settings
    with pytest.raises(Exception, match="argocdApplications"):
        render_overlay(tmp_path, kubectl, SETTINGS_OVERLAY, {"settings.yaml": settings})


def test_token_secrets_only_where_argo_mounts_them(objects: Objects) -> None:
    """Argo mounts Secret-backed tokens in two places, and only there: the per-workflow agent pod
    (the workflow's ServiceAccount, `<sa>.service-account-token`) and a plugin sidecar with
    automountServiceAccountToken (`<plugin>-executor-plugin`). Nothing else has one."""
    tokens = {
        name: body["metadata"]["annotations"]["kubernetes.io/service-account.name"]
        for (kind, name), body in objects.items()
        if kind == "Secret" and body.get("type") == "kubernetes.io/service-account-token"
    }
    assert tokens == {
        "pressplay-workflow.service-account-token": "pressplay-workflow",
        "pressplay-executor-plugin.service-account-token": "pressplay-executor-plugin",
    }
    for (kind, _name), body in objects.items():
        if kind == "ServiceAccount":
            assert "secrets" not in body


def test_the_settings_object_is_never_applied(rendered: str) -> None:
    assert "PressplaySettings" not in rendered
    assert "pressplay.dev/v1alpha1" not in rendered


def test_lint_reports_a_repository_the_sensors_would_drop(kubectl: str, tmp_path: Path) -> None:
    settings = SETTINGS_PATCH.replace(
        "repositories: Codertocat/Hello-World,octo-org/octo-repo",
        "repositories: Codertocat/Hello-World,octo-org/octo-repo,acme/*,acme/widgets",
    )
    text = render_overlay(tmp_path, kubectl, SETTINGS_OVERLAY, {"settings.yaml": settings})
    findings = [f for f in lint_documents(parse_stream(text, "overlay")) if "repositories" in f.message]
    # acme/widgets is in the sidecar's list, but the Sensors' regex drops its events (acme/* is
    # not probed).
    assert findings
    assert all("'acme/widgets'" in f.message and "repositoryRegex" in f.message for f in findings)
    assert {f.obj for f in findings} == {
        "Sensor/pr-feedback",
        "Sensor/ci-failure",
        "Sensor/issue-triage",
        "Sensor/pr-merged",
    }


def test_install_md_settings_overlay_renders(kubectl: str, tmp_path: Path) -> None:
    """The overlay docs/install.md shows, rendered as written."""
    text = (REPO / "docs" / "install.md").read_text(encoding="utf-8")
    blocks = re.findall(
        r"<!-- tests/manifests/test_security.py renders this (\S+) -->\n```yaml\n(.*?)```", text, re.S
    )
    files = {name: body for name, body in blocks}
    assert set(files) == {"kustomization.yaml", "settings.yaml"}
    rendered = render_overlay(
        tmp_path, kubectl, files["kustomization.yaml"], {"settings.yaml": files["settings.yaml"]}
    )
    objects = {(d.kind, d.name): d.body for d in parse_stream(rendered, "overlay")}
    sensor = objects[("Sensor", "pr-merged")]
    data = {f["path"]: f for f in sensor["spec"]["dependencies"][0]["filters"]["data"]}
    assert data["body.installation.id"]["value"] == ["12345678"]
    assert data["body.repository.full_name"]["value"] == ["^(acme/widgets|acme/gadgets)$"]
    assert objects[("ConfigMap", "pressplay-settings")]["data"]["repositories"] == "acme/widgets,acme/gadgets"
    assert objects[("Role", "pressplay-argocd-applications")]["rules"][0]["resourceNames"] == [
        "widgets-preview",
        "gadgets-preview",
    ]
    assert [f for f in lint_documents(parse_stream(rendered, "overlay")) if "envFrom" not in f.message] == []


def test_lint_warns_about_a_github_sensor_without_installation_or_repository_filter() -> None:
    sensor = """
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
          - {path: body.X-GitHub-Event, type: string, value: ["^issues$"]}
          - {path: body.installation.id, type: number, value: ["7"]}
    - name: b
      eventSourceName: github
      eventName: app
      filters:
        data:
          - {path: body.X-GitHub-Event, type: string, value: ["^issues$"]}
          - {path: body.installation.id, type: number, value: ["7"]}
          - {path: body.repository.full_name, type: string, value: ["^acme/widgets$"]}
  triggers: []
"""
    findings = lint_documents(parse_stream(sensor, "s.yaml"))
    scope = [f for f in findings if "no filter on" in f.message]
    assert [(f.path, f.severity.value) for f in scope] == [("spec.dependencies[a].filters.data", "warning")]
    assert "body.repository.full_name" in scope[0].message
