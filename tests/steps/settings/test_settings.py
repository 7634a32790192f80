"""``settings``: a repository's run settings from the pressplay-settings ConfigMap, through the real
HTTP sidecar and the real ``kubernetes`` client, against the Kubernetes emulator (ConfigMaps in the
API server's shapes). The flows' first step: a run started by a Sensor gets the same settings as one
started by hand, and a missing semaphore key fails here instead of at the first agent pod."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest

from pressplay.steps.settings import OUTPUTS as STEP_OUTPUTS
from pressplay.steps.settings import repo_key
from pressplay.testing.kube_emulator import KubeEmulator
from pressplay.testing.sidecar import Sidecar

NS = "argo"  # the agent emulator's Workflow namespace
IMAGE = "ghcr.io/pressplay-dev/pressplay-agent:0.1.0"
OUTPUTS = list(STEP_OUTPUTS)
RUNS = """\
defaults:
  model: claude-sonnet-4-5
  promptMod: "Follow CONTRIBUTING.md. {{workflow.name}} ${{ secrets.X }}"
repositories:
  acme/*:
    deployWorkflow: deploy.yml
  Acme/Widgets:
    image: registry.example.com/agents/python:3
    model: gpt-5-codex
    argocdApp: widgets-staging
    gates: python
"""


@pytest.fixture
def sidecar(sidecar_factory: Callable[..., Sidecar], kube_emulator: KubeEmulator) -> Sidecar:
    return sidecar_factory(kube_api_url=kube_emulator.url)


def install(kube: KubeEmulator, runs: str | None = RUNS, keys: dict[str, str] | None = None) -> None:
    data = {"repositories": "", "agentImage": IMAGE}
    if runs is not None:
        data["runs.yaml"] = runs
    kube.add_config_map("pressplay-settings", data, namespace=NS)
    concurrency = {"agents": "6", "acme.widgets": "2", "acme.gadgets": "1"} if keys is None else keys
    kube.add_config_map("pressplay-concurrency", concurrency, namespace=NS)


def run(sidecar: Sidecar, **args: object) -> tuple[str, dict[str, str], str]:
    result = sidecar.run_step("settings", {"repo": "acme/widgets", **args}, outputs=OUTPUTS)
    return result.phase, result.outputs, result.message


def test_repository_entry_beats_owner_entry_beats_defaults(
    kube_emulator: KubeEmulator, sidecar: Sidecar
) -> None:
    install(kube_emulator)
    phase, out, message = run(sidecar, repo="ACME/widgets")
    assert phase == "Succeeded", message
    assert out["image"] == "registry.example.com/agents/python:3"
    assert out["model"] == "gpt-5-codex"
    assert out["deployWorkflow"] == "deploy.yml"  # from acme/*
    assert out["argocdApp"] == "widgets-staging"
    assert out["argocdNamespace"] == "argocd" and out["mergeMethod"] == "squash"  # built in
    assert out["gates"] == "python"
    assert out["repoKey"] == "acme.widgets"  # case-insensitive, one key for every spelling
    assert out["source"] == "defaults < acme/* < Acme/Widgets"
    # The prompt text leaves base64-encoded: Argo never templates it again.
    assert (
        base64.b64decode(out["promptModB64"]).decode()
        == "Follow CONTRIBUTING.md. {{workflow.name}} ${{ secrets.X }}"
    )


def test_run_arguments_override_for_one_run(kube_emulator: KubeEmulator, sidecar: Sidecar) -> None:
    install(kube_emulator)
    phase, out, message = run(sidecar, model="claude-opus-4-1", mergeMethod="rebase", argocdApp="")
    assert phase == "Succeeded", message
    assert out["model"] == "claude-opus-4-1" and out["mergeMethod"] == "rebase"
    assert out["argocdApp"] == "widgets-staging"  # empty argument = from the settings
    assert out["source"].endswith("run arguments (mergeMethod, model)")


def test_another_repository_gets_the_defaults_and_the_shipped_image(
    kube_emulator: KubeEmulator, sidecar: Sidecar
) -> None:
    install(kube_emulator, keys={"agents": "6", "other.repo": "1"})
    phase, out, message = run(sidecar, repo="other/repo")
    assert phase == "Succeeded", message
    assert out["image"] == IMAGE and out["model"] == "claude-sonnet-4-5"
    assert out["deployWorkflow"] == "" and out["gates"] == "auto"


def test_no_runs_key_is_all_defaults(kube_emulator: KubeEmulator, sidecar: Sidecar) -> None:
    install(kube_emulator, runs=None)
    phase, out, message = run(sidecar)
    assert phase == "Succeeded", message
    assert out["image"] == IMAGE and out["model"] == "" and out["promptModB64"] == ""


def test_missing_concurrency_key_fails_first_naming_the_key_and_the_fix(
    kube_emulator: KubeEmulator, sidecar: Sidecar
) -> None:
    """Issue 13 item 6: without it, Argo's prepAcquire fails the first agent node hours into a run."""
    install(kube_emulator, keys={"agents": "6"})
    phase, _out, message = run(sidecar, repo="Acme/Widgets")
    assert phase == "Failed"
    assert "has no key acme.widgets" in message
    assert "manifests/concurrency/pressplay-concurrency.yaml" in message
    assert "kubectl -n argo patch configmap pressplay-concurrency" in message


def test_concurrency_check_can_be_turned_off(kube_emulator: KubeEmulator, sidecar: Sidecar) -> None:
    install(kube_emulator, keys={})
    phase, _out, message = run(sidecar, concurrencyConfigMap="")
    assert phase == "Succeeded", message


@pytest.mark.parametrize(
    ("runs", "expected"),
    [
        ("defaults: {modle: x}\n", "`defaults.modle`: unknown key (valid: image, model, promptMod"),
        ("repositories: {widgets: {model: x}}\n", "is not a repository: write `owner/name`"),
        ("defaults: {image: 'not an image'}\n", "`defaults.image`"),
        ("defaults: [1, 2\n", "is not YAML at line"),
        ("- a\n", "must be a mapping"),
    ],
)
def test_bad_runs_yaml_names_the_key(
    kube_emulator: KubeEmulator, sidecar: Sidecar, runs: str, expected: str
) -> None:
    install(kube_emulator, runs=runs)
    phase, _out, message = run(sidecar)
    assert phase == "Failed"
    assert f"ConfigMap {NS}/pressplay-settings key runs.yaml" in message
    assert expected in message


def test_no_settings_config_map_names_the_install(kube_emulator: KubeEmulator, sidecar: Sidecar) -> None:
    phase, _out, message = run(sidecar)
    assert phase == "Failed"
    assert "ConfigMap pressplay-settings not found in namespace argo" in message
    assert "kubectl apply -k manifests/core" in message


def test_forbidden_names_the_role(kube_emulator: KubeEmulator, sidecar: Sidecar) -> None:
    install(kube_emulator)
    kube_emulator.deny("get", namespace=NS)
    phase, _out, message = run(sidecar)
    assert phase == "Failed"
    assert "may not get ConfigMap pressplay-settings" in message
    assert "pressplay-executor-plugin-settings" in message


def test_bad_argument_is_a_failed_node_naming_it(kube_emulator: KubeEmulator, sidecar: Sidecar) -> None:
    install(kube_emulator)
    phase, _out, message = run(sidecar, mergeMethod="fast-forward")
    assert phase == "Failed"
    assert "mergeMethod" in message


def test_repo_key() -> None:
    assert repo_key("Acme/My.Repo") == "acme.my.repo"
