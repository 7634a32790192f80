"""Scenario h: the Helm chart (charts/pressplay, docs/helm.md) installs pressplay on the real API server,
press-play runs on Argo's own controller through it, and ``helm upgrade`` changes a value in place.

The stack is the harness's (tests/engine/stack.py) with one difference: pressplay goes in with
``helm install -f values.yaml`` instead of ``kubectl apply -k``. The values carry what an admin sets
(installation, repository, its concurrency key) and the sample's agent profiles, each agent a key of
``agents`` with its ``systemPrompt``, where the kustomize install replaces the ConfigMap afterwards.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.engine.stack import NS, ROOT, Options, Stack

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

CHART = ROOT / "charts" / "pressplay"
RELEASE = "pressplay"


class HelmStack(Stack):
    """A stack whose pressplay is a Helm release."""

    def helm(self, *args: str) -> subprocess.CompletedProcess[str]:
        home = self.workdir / "helm-home"
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(home),
            "HELM_CACHE_HOME": str(home / "cache"),
            "HELM_CONFIG_HOME": str(home / "config"),
            "HELM_DATA_HOME": str(home / "data"),
        }
        argv = [str(self.bins["helm"]), f"--kubeconfig={self.cluster.admin_kubeconfig}", *args]
        done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"helm {' '.join(args)} failed:\n{done.stderr}{done.stdout}")
        return done

    def values(self) -> dict[str, Any]:
        gh = self.github
        agents_doc = yaml.safe_load((gh.agents_dir / "agents.yaml").read_text(encoding="utf-8"))
        agents: dict[str, Any] = {}
        for name, profile in (agents_doc.get("agents", agents_doc) or {}).items():
            prompt = gh.agents_dir / f"{name}_system-prompt.md"
            agents[name] = {
                **profile,
                "systemPrompt": prompt.read_text(encoding="utf-8") if prompt.is_file() else "",
            }
        # The chart's own agents give way to the sample's: Helm merges a profile into the default one
        # of the same name, and null removes a key (docs/helm.md, "Agents").
        default_agents = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))["agents"]
        for name, default in default_agents.items():
            if name not in agents:
                agents[name] = None
            else:
                agents[name] = {**dict.fromkeys(default), **agents[name]}
        return {
            "settings": {
                "installationId": gh.world.github.installation_id(gh.repo.split("/")[0]),
                "repositories": gh.repo,
                "repositoryRegex": "^" + re.escape(gh.repo).replace("\\/", "/") + "$",
                "kubernetesAPI": "127.0.0.1/32",
            },
            "concurrency": {"repositories": {gh.repo: 2}},  # docs/install.md step 5, as a value
            "agents": agents,
        }

    def install_pressplay(self) -> None:
        k = self.cluster.kubectl
        if self.options.argocd:
            k("create", "namespace", "argocd")
        values = self.workdir / "my-values.yaml"
        values.write_text(yaml.safe_dump(self.values()), encoding="utf-8")
        installed = self.helm(
            "install", RELEASE, str(CHART), "-n", NS, "--create-namespace", "-f", str(values)
        )
        self.apply_output = installed.stdout + installed.stderr
        gh = self.github
        keyfile = self.workdir / "private-key.pem"
        keyfile.write_text(gh.private_key_pem, encoding="utf-8")
        secret = ("-n", NS, "create", "secret", "generic")
        k(
            *secret,
            "pressplay-github-app",
            f"--from-literal=app-id={gh.app_id}",
            f"--from-file=private-key.pem={keyfile}",
        )
        self.webhook_secret = secrets.token_hex(20)
        k(*secret, "pressplay-github-webhook", f"--from-literal=webhook-secret={self.webhook_secret}")
        k(
            *secret,
            "pressplay-agent-credentials",
            *[f"--from-literal={key}={v}" for key, v in self.options.agent_env.items()],
        )


@pytest.fixture
def helm_stack(engine_binaries: dict[str, Path]) -> Any:
    with HelmStack(Options()) as stack:
        yield stack


def test_helm_install_presses_play_and_helm_upgrade_changes_a_limit(helm_stack: HelmStack) -> None:
    stack = helm_stack
    # What the chart installed is what `kubectl apply -k manifests/` installs (tests/helm compares
    # the renders object for object); here the API server took every object.
    templates = {t["metadata"]["name"] for t in stack.api.list("workflowtemplates", NS)}
    assert templates == {
        "press-play",
        "task",
        "agent-step",
        "pr-remediation",
        "ci-remediation",
        "issue-triage",
    }
    assert len(stack.api.list("sensors", NS)) == 4
    releases = json.loads(stack.helm("list", "-n", NS, "-o", "json").stdout)
    assert [(r["name"], r["status"]) for r in releases] == [(RELEASE, "deployed")]
    key = stack.github.repo.replace("/", ".")
    concurrency = stack.api.get("configmaps", NS, "pressplay-concurrency")
    assert concurrency is not None and concurrency["data"][key] == "2"

    name = stack.press_play()
    wf = stack.wait(name)
    assert wf["status"]["phase"] == "Succeeded", stack.get_tree(name)
    pulls = stack.github.pulls()
    assert pulls and all(p["merged"] for p in pulls), pulls

    stack.helm("upgrade", RELEASE, str(CHART), "-n", NS, "--reuse-values", "--set", "concurrency.agents=2")
    concurrency = stack.api.get("configmaps", NS, "pressplay-concurrency")
    assert (
        concurrency is not None and concurrency["data"]["agents"] == "2" and concurrency["data"][key] == "2"
    )
    releases = json.loads(stack.helm("list", "-n", NS, "-o", "json").stdout)
    assert releases[0]["revision"] == "2", releases
