"""The install as docs/install.md tells an admin, against a real API server and Argo's controller."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.engine.stack import NS, ROOT, Options, Stack, kubectl_binary

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def test_apply_k_manifests_installs_everything_and_the_controller_takes_a_workflow(engine: Stack) -> None:
    templates = {t["metadata"]["name"] for t in engine.api.list("workflowtemplates", NS)}
    assert templates == {
        "press-play",
        "task",
        "agent-step",
        "pr-remediation",
        "ci-remediation",
        "issue-triage",
    }
    assert {s["metadata"]["name"] for s in engine.api.list("sensors", NS)} == {
        "pr-feedback",
        "ci-failure",
        "issue-triage",
        "pr-merged",
    }
    # The token Secrets the agent pod mounts were filled (our stand-in for the token controller).
    assert engine.secret_value("pressplay-workflow.service-account-token", "namespace") == NS
    # The real argo CLI lists the templates through the API server.
    listed = engine.argo("template", "list").stdout
    assert "press-play" in listed, listed

    # Issue 13 item 6: a repository without its pressplay-concurrency key fails the first step with
    # the fix, before any agent pod asks for the semaphore (Argo's prepAcquire would fail that node
    # only when its pod is about to start, possibly hours in).
    key = engine.github.repo.replace("/", ".").lower()
    subprocess.run(
        [kubectl_binary(), "--kubeconfig", str(engine.cluster.admin_kubeconfig), "-n", NS, "patch",
         "configmap", "pressplay-concurrency", "--type", "json", "-p",
         json.dumps([{"op": "remove", "path": f"/data/{key}"}])],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    name = engine.press_play()
    wf = engine.wait(name, timeout=300)
    assert wf["status"]["phase"] == "Failed", engine.get_tree(name)
    nodes = engine.summary(wf)["nodes"]
    settings = next(n for n in nodes if n["name"] == "settings")
    assert settings["phase"] == "Failed", nodes
    assert f"has no key {key}" in settings["message"], settings["message"]
    assert "kubectl -n pressplay patch configmap pressplay-concurrency" in settings["message"]
    assert not [n for n in nodes if n["template"] == "agent-step"], nodes
    assert not engine.github.pulls()


# Scenario e: the optional parts (docs/install.md, "Optional parts"), each on a cluster that has only
# what it needs. (argocd, events): whether Argo CD (its namespace and CRD) and Argo Events (its CRDs)
# are there; parts: the components of manifests/components installed on manifests/core.
@pytest.mark.parametrize(
    ("argocd", "events", "parts"),
    [(False, False, ()), (False, True, ("events",)), (True, False, ("argocd",))],
    ids=["core-alone", "core+events", "core+argocd"],
)
def test_the_core_installs_alone_and_with_each_component(
    engine_binaries: dict[str, Path], argocd: bool, events: bool, parts: tuple[str, ...]
) -> None:
    with Stack(Options(argocd=argocd, events=events, parts=parts)) as stack:
        templates = {t["metadata"]["name"] for t in stack.api.list("workflowtemplates", NS)}
        assert {"press-play", "task", "agent-step"} <= templates
        if events:
            assert len(stack.api.list("sensors", NS)) == 4
        roles = stack.cluster.kubectl("get", "roles", "-A", "-o", "name").stdout
        assert ("pressplay-argocd-applications" in roles) == argocd, roles
        # What the docs say `kubectl apply -k manifests/` does on this cluster: the whole install
        # stops at the first missing part (checked by the API server, not applied).
        full = stack.settings_overlay(None, name="full")
        dry = stack.cluster.kubectl("apply", "--dry-run=server", "-k", str(full), check=False)
        said = dry.stdout + dry.stderr
        if not argocd:
            assert dry.returncode != 0 and 'namespaces "argocd" not found' in said, said
        if not events:
            assert dry.returncode != 0 and 'no matches for kind "EventBus"' in said, said


# docs/install.md "Another namespace": the page's overlay (its two patches, next to this
# installation's settings patch) applied for real into namespace `agents`; the Argo CD Role and
# RoleBinding stay in `argocd` and bind the ServiceAccount in `agents`.
def test_the_another_namespace_recipe_installs(engine: Stack) -> None:
    text = (ROOT / "docs" / "install.md").read_text(encoding="utf-8")
    match = re.search(
        r"<!-- tests/manifests/test_namespace\.py renders this overlay -->\n```yaml\n(.*?)```", text, re.S
    )
    assert match, "docs/install.md lost the 'Another namespace' overlay"
    recipe = yaml.safe_load(match.group(1))
    overlay = engine.settings_overlay(None, name="agents-overlay")
    kustomization = json.loads((overlay / "kustomization.yaml").read_text(encoding="utf-8"))
    kustomization["patches"] = [*kustomization.get("patches", []), *recipe["patches"]]
    (overlay / "kustomization.yaml").write_text(json.dumps(kustomization), encoding="utf-8")
    k = engine.cluster.kubectl
    k("create", "namespace", "agents")
    applied = k("apply", "-k", str(overlay), check=False)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    # Every object of the overlay, read back from the API server where it now lives.
    items = json.loads(k("get", "-k", str(overlay), "-o", "json").stdout)["items"]
    where = {(o["kind"], o["metadata"]["name"]): o["metadata"]["namespace"] for o in items}
    argocd = {("Role", "pressplay-argocd-applications"), ("RoleBinding", "pressplay-argocd-applications")}
    assert {key for key, ns in where.items() if ns == "argocd"} == argocd, where
    assert {ns for key, ns in where.items() if key not in argocd} == {"agents"}, where
    assert len(where) == len(items) > 20
    (binding,) = [o for o in items if (o["kind"], o["metadata"]["namespace"]) == ("RoleBinding", "argocd")]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "pressplay-executor-plugin", "namespace": "agents"}
    ]
    templates = {t["metadata"]["name"] for t in engine.api.list("workflowtemplates", "agents")}
    assert {"press-play", "task", "agent-step"} <= templates
    assert len(engine.api.list("sensors", "agents")) == 4


# docs/release.md: the release folder as an admin downloads it (`pressplay release`), settings set,
# the components this cluster has uncommented (no External Secrets Operator here), `kubectl apply -k`.
def test_the_release_bundle_installs(engine: Stack) -> None:
    from pressplay.release import AGENT_IMAGE, SIDECAR_IMAGE, build, write

    bundle = build(ROOT / "manifests")
    folder = engine.workdir / "release"
    write(bundle, folder)
    kustomization = (folder / "kustomization.yaml").read_text(encoding="utf-8")
    for part in ("events", "argocd"):
        kustomization = kustomization.replace(f"  # - install-{part}.yaml", f"  - install-{part}.yaml")
    (folder / "kustomization.yaml").write_text(kustomization, encoding="utf-8")
    settings = yaml.safe_load((folder / "settings.yaml").read_text(encoding="utf-8"))
    overlay = engine.settings_overlay(None, name="release-settings")
    mine = json.loads((overlay / "settings.yaml").read_text(encoding="utf-8"))
    settings.update({k: v for k, v in mine.items() if k not in ("apiVersion", "kind", "metadata")})
    (folder / "settings.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    applied = engine.cluster.kubectl("apply", "-k", str(folder), check=False)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    plugin = engine.api.get("configmaps", NS, "pressplay-executor-plugin")
    assert plugin is not None
    assert plugin["data"]["sidecar.image"] == f"{SIDECAR_IMAGE}:{bundle.version}"
    settings_cm = engine.api.get("configmaps", NS, "pressplay-settings")
    assert settings_cm is not None
    assert settings_cm["data"]["agentImage"] == f"{AGENT_IMAGE}:{bundle.version}"
    assert settings_cm["data"]["repositories"] == engine.github.repo
    assert len(engine.api.list("sensors", NS)) == 4
