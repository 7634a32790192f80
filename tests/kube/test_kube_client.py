"""``pressplay.kube``: configuration, lazy import, and Kubernetes errors → step errors (real client)."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from tests.kube.conftest import OLD

from pressplay import kube
from pressplay.config import Settings
from pressplay.kube import clients_for, map_api_error, reset_clients
from pressplay.steps.base import PermanentError, TemporaryError
from pressplay.testing.kube_emulator import KubeEmulator, app_status


@pytest.fixture(autouse=True)
def _fresh_clients() -> Iterator[None]:
    reset_clients()
    yield
    reset_clients()


@pytest.fixture
def clients(kube_emulator: KubeEmulator) -> kube.KubeClients:
    kube_emulator.add_application("api", status=app_status(OLD))
    return clients_for(Settings(kube_api_url=kube_emulator.url))


def test_importing_the_step_does_not_import_kubernetes() -> None:
    code = (
        "import sys, pressplay.server, pressplay.kube\n"
        "from pressplay.steps.registry import get_step\n"
        "get_step('argocd')\n"
        "assert 'kubernetes' not in sys.modules, 'kubernetes imported eagerly'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_override_url_reads_and_patches(clients: kube.KubeClients) -> None:
    assert clients.source == "override"
    app = clients.get_application("argocd", "api")
    assert app["status"]["sync"]["revision"] == OLD
    patched = clients.patch_application("argocd", "api", {"metadata": {"annotations": {"a": "b"}}})
    assert patched["metadata"]["annotations"]["a"] == "b"
    patched = clients.patch_application(
        "argocd", "api", [{"op": "remove", "path": "/metadata/annotations/a"}]
    )
    assert "a" not in patched["metadata"]["annotations"]


def test_clients_are_shared_per_endpoint(kube_emulator: KubeEmulator) -> None:
    settings = Settings(kube_api_url=kube_emulator.url)
    assert clients_for(settings) is clients_for(settings)


def test_kubeconfig_is_used_outside_a_cluster(
    kube_emulator: KubeEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kube_emulator.add_application("api", status=app_status(OLD))
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "local", "cluster": {"server": kube_emulator.url}}],
        "users": [{"name": "me", "user": {"token": "not-a-real-token"}}],
        "contexts": [{"name": "local", "context": {"cluster": "local", "user": "me"}}],
        "current-context": "local",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    monkeypatch.setenv("KUBECONFIG", str(path))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    clients = clients_for(Settings())
    assert clients.source == "kubeconfig"
    assert clients.get_application("argocd", "api")["metadata"]["name"] == "api"


def test_in_cluster_service_account_is_preferred(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kubernetes.config import incluster_config

    token, ca = tmp_path / "token", tmp_path / "ca.crt"
    token.write_text("sa-token")
    ca.write_text("not really a certificate")
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(token))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(ca))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    clients = clients_for(Settings())
    assert clients.source == "in-cluster"
    assert clients.host == "https://10.0.0.1:443"
    assert clients.api_client.configuration.api_key["BearerToken"] == "bearer sa-token"


def test_no_configuration_at_all_says_what_to_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(PermanentError, match=r"automountServiceAccountToken: true.*KUBECONFIG"):
        clients_for(Settings())


def test_unknown_application(clients: kube.KubeClients) -> None:
    with pytest.raises(PermanentError) as info:
        clients.get_application("argocd", "nope")
    message = str(info.value)
    assert "Application nope not found in namespace argocd" in message
    assert "check `app`/`namespace`" in message
    assert "manifests/plugin" in message


def test_forbidden_names_the_rbac(kube_emulator: KubeEmulator, clients: kube.KubeClients) -> None:
    kube_emulator.deny("patch")
    with pytest.raises(PermanentError) as info:
        clients.patch_application("argocd", "api", {"metadata": {"labels": {"a": "b"}}})
    message = str(info.value)
    assert "may not patch applications.argoproj.io in namespace argocd" in message
    assert 'cannot patch resource "applications"' in message
    assert "verbs [get, patch]" in message


def test_conflict_is_temporary(clients: kube.KubeClients) -> None:
    stale = clients.get_application("argocd", "api")["metadata"]["resourceVersion"]
    clients.patch_application("argocd", "api", {"metadata": {"labels": {"a": "b"}}})
    with pytest.raises(TemporaryError, match="changed while patching"):
        clients.patch_application(
            "argocd", "api", {"metadata": {"resourceVersion": stale, "labels": {"a": "c"}}}
        )


@pytest.mark.parametrize(("status", "retry_after", "expected"), [(500, None, 15), (503, 7, 7), (429, 3, 3)])
def test_server_trouble_is_temporary(
    kube_emulator: KubeEmulator,
    clients: kube.KubeClients,
    status: int,
    retry_after: int | None,
    expected: int,
) -> None:
    kube_emulator.fail_next(status, retry_after=retry_after)
    with pytest.raises(TemporaryError) as info:
        clients.get_application("argocd", "api")
    assert info.value.retry_after == timedelta(seconds=expected)


def test_invalid_patch_is_permanent(clients: kube.KubeClients, shared_dir: Path) -> None:
    with pytest.raises(PermanentError, match=r"refused to patch.*operation\.sync\.revision"):
        clients.patch_application("argocd", "api", {"operation": {"sync": {"revision": 7}}})


def test_unreachable_api_is_temporary() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    clients = clients_for(Settings(kube_api_url=f"http://127.0.0.1:{port}"))
    with pytest.raises(TemporaryError, match=f"cannot reach the Kubernetes API at http://127.0.0.1:{port}"):
        clients.get_application("argocd", "api")


def test_missing_crd_is_explained() -> None:
    error = map_api_error("get", "argocd", "api", 404, "404 page not found")
    assert isinstance(error, PermanentError)
    assert "does not serve applications.argoproj.io/v1alpha1" in str(error)
    assert "404 page not found" in str(error)


def test_unauthorized_explains_the_token() -> None:
    error = map_api_error(
        "get", "argocd", "api", 401, '{"kind":"Status","message":"Unauthorized","code":401}'
    )
    assert isinstance(error, PermanentError)
    assert "automountServiceAccountToken" in str(error)
