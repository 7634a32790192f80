"""One registry of steps, from the ``pressplay.steps`` entry-point group: pressplay's own steps, and a
step shipped by another installed package, served by ``pressplay serve``, checked by ``pressplay lint``
and documented by ``pressplay docs`` with no edit to pressplay."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import tomllib
from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import httpx
import pytest

from pressplay.steps import registry
from pressplay.steps.registry import GROUP, Registry, RegistryError, StepEntry, UnknownStep
from pressplay.testing.agent import make_template
from pressplay.testing.sidecar import SidecarProcess
from tests import support_steps

ROOT = Path(__file__).resolve().parents[1]


def entry(key: str, value: str, package: str = "acme-steps") -> StepEntry:
    return StepEntry(key, value, package, _entry=EntryPoint(key, value, GROUP))


def test_the_installed_steps_are_the_ones_pyproject_declares() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"][GROUP]
    assert registry.known_steps() == sorted(declared)
    for key, spec in registry.installed().load_all().items():
        assert spec.key == key
        module = declared[key].split(":")[0]
        assert spec.func.__module__.startswith(module), "a step's code lives where its entry points"


def test_docs_and_step_modules_are_found_by_the_key_alone() -> None:
    """A newcomer finds a step's code, docs and tests by its key."""
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"][GROUP]
    for key, value in declared.items():
        module = value.split(":")[0]
        assert (ROOT / "plugin" / (module.replace(".", "/") + ".py")).exists() or (
            ROOT / "plugin" / module.replace(".", "/") / "__init__.py"
        ).exists(), key
        assert (ROOT / "docs" / "steps" / f"{key}.md").is_file(), key
        assert any((ROOT / "tests" / "steps" / key).glob("test_*.py")), key


def test_a_key_declared_by_two_packages_is_an_error_naming_both() -> None:
    with pytest.raises(RegistryError) as err:
        Registry(
            [
                entry("checks", "acme.checks:checks"),
                entry("checks", "pressplay.steps.checks:checks", "pressplay"),
            ]
        )
    assert "'checks' is declared by two packages: 'acme-steps'" in str(err.value)
    assert "'pressplay'" in str(err.value) and "uninstall one or rename" in str(err.value)


def test_in_process_steps_cannot_shadow_an_installed_one() -> None:
    shadow = support_steps.echo.__class__(
        key="checks", args_model=support_steps.EchoArgs, func=support_steps.echo.func
    )
    with pytest.raises(RegistryError, match="'checks' is declared by two packages"):
        registry.installed().with_steps(shadow)


def test_a_module_that_does_not_import_names_its_package() -> None:
    steps = Registry([entry("frob", "acme_missing.frob:frob")])
    with pytest.raises(RegistryError) as err:
        steps.load_all()
    assert "step 'frob' of package 'acme-steps' does not import (acme_missing.frob:frob)" in str(err.value)
    assert "ModuleNotFoundError" in str(err.value)


def test_a_decorator_key_that_differs_from_the_entry_name_is_an_error() -> None:
    steps = Registry([entry("echo", "tests.support_steps:echo")])
    with pytest.raises(RegistryError) as err:
        steps.get("echo")
    assert "declares step 'echo' as tests.support_steps:echo, but its @step decorator says 'testEcho'" in str(
        err.value
    )


def test_an_entry_that_is_not_a_step_is_an_error() -> None:
    with pytest.raises(RegistryError, match="not a step"):
        Registry([entry("echo", "tests.support_steps:EchoArgs")]).get("echo")


def test_unknown_key() -> None:
    with pytest.raises(UnknownStep):
        registry.installed().get("frobnicate")


def test_serve_refuses_to_start_with_a_duplicate_key(acme: dict[str, str]) -> None:
    path = os.pathsep.join([acme["PYTHONPATH"], acme["ACME_DUP"]])
    env = {**os.environ, "PYTHONPATH": path, "PRESSPLAY_TOKEN": "t" * 24}
    done = subprocess.run(
        [sys.executable, "-m", "pressplay", "serve", "--port", "1"], env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 2
    assert b"'checks' is declared by two packages" in done.stderr and b"'acme-dup'" in done.stderr


# -- a step shipped by another package ----------------------------------------------------------------

ACME_PYPROJECT = """
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "acme-steps"
version = "1.0.0"

[project.entry-points."pressplay.steps"]
notBefore = "acme_steps.not_before:not_before"
"""

ACME_STEP = '''
"""A third party's step: hold a workflow until a point in time."""
from pydantic import AwareDatetime, Field

from pressplay import Outcome, Running, StepArgs, StepContext, Succeeded, step


class NotBeforeArgs(StepArgs):
    at: AwareDatetime = Field(description="Earliest time to go on, RFC 3339.")
    reason: str = Field("", description="Shown on the node while it waits.")


@step("notBefore", NotBeforeArgs)
def not_before(args: NotBeforeArgs, ctx: StepContext) -> Outcome:
    """Wait until a point in time, without a pod."""
    if ctx.now() >= args.at:
        return Succeeded({"reason": args.reason}, summary="went on")
    return Running(f"waiting until {args.at.isoformat()}")
'''


@pytest.fixture(scope="module")
def acme(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """``acme-steps`` built and installed with pip into its own site directory; the environment that
    puts it on a pressplay process's path (as an installed package: metadata, entry points and all)."""
    root = tmp_path_factory.mktemp("acme")
    source = root / "src"
    (source / "acme_steps").mkdir(parents=True)
    (source / "pyproject.toml").write_text(ACME_PYPROJECT)
    (source / "acme_steps" / "__init__.py").write_text("")
    (source / "acme_steps" / "not_before.py").write_text(ACME_STEP)
    site = root / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
         "--target", str(site), str(source)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    # a second package that declares a key pressplay already has, switched on per test
    dup = root / "dup"
    (dup / "acme_dup-1.0.0.dist-info").mkdir(parents=True)
    (dup / "acme_dup-1.0.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: acme-dup\nVersion: 1.0.0\n"
    )
    (dup / "acme_dup-1.0.0.dist-info" / "entry_points.txt").write_text(
        f"[{GROUP}]\nchecks = acme_dup:checks\n"
    )
    return {"PYTHONPATH": os.pathsep.join([str(site), str(ROOT)]), "ACME_DUP": str(dup)}


@pytest.fixture
def acme_env(acme: dict[str, str]) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": acme["PYTHONPATH"]}


@pytest.fixture
def acme_sidecar(acme: dict[str, str]) -> Iterator[SidecarProcess]:
    sidecar = SidecarProcess(env={"PYTHONPATH": acme["PYTHONPATH"]}).start(timeout=60)
    try:
        yield sidecar
    finally:
        sidecar.stop()


def execute(sidecar: SidecarProcess, key: str, args: dict[str, Any]) -> dict[str, Any]:
    body = {
        "workflow": {"metadata": {"name": "wf", "namespace": "argo", "uid": "u"}},
        "template": make_template(key, args),
    }
    reply = httpx.post(
        sidecar.url + "/api/v1/template.execute",
        json=body,
        headers={"Authorization": f"Bearer {sidecar.token}"},
        timeout=30,
    )
    assert reply.status_code == 200
    node: dict[str, Any] = reply.json()["node"]
    return node


def test_pressplay_serve_serves_a_step_from_another_package(acme_sidecar: SidecarProcess) -> None:
    done = execute(acme_sidecar, "notBefore", {"at": "2020-01-01T00:00:00Z", "reason": "window"})
    assert done["phase"] == "Succeeded", done
    assert {"name": "reason", "value": "window"} in done["outputs"]["parameters"]
    bad = execute(acme_sidecar, "notBefore", {"at": "tomorrow"})
    assert bad["phase"] == "Failed" and "notBefore.at" in bad["message"]
    unknown = execute(acme_sidecar, "frobnicate", {})
    assert "notBefore" in unknown["message"] and "checks" in unknown["message"]


def test_pressplay_lint_checks_a_step_from_another_package(acme_env: dict[str, str], tmp_path: Path) -> None:
    template = textwrap.dedent(
        """
        apiVersion: argoproj.io/v1alpha1
        kind: WorkflowTemplate
        metadata: {name: window}
        spec:
          templates:
            - name: good
              plugin: {pressplay: {notBefore: {at: "2030-01-01T00:00:00Z", node: "{{node.name}}"}}}
            - name: typo
              plugin: {pressplay: {notBefore: {at: "2030-01-01T00:00:00Z", reasn: x, node: "{{node.name}}"}}}
        """
    )
    path = tmp_path / "window.yaml"
    path.write_text(template)
    done = subprocess.run(
        [sys.executable, "-m", "pressplay", "lint", "--format", "json", str(path)],
        env=acme_env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    findings = json.loads(done.stdout)
    findings = findings.get("findings", findings) if isinstance(findings, dict) else findings
    paths = {f["path"] for f in findings}
    assert "spec.templates[typo].plugin.pressplay.notBefore.reasn" in paths, findings
    assert not any("templates[good]" in p for p in paths), findings
    assert all("unknown step" not in f["message"] for f in findings)


def test_pressplay_docs_documents_a_step_from_another_package(
    acme_env: dict[str, str], tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    check = [
        sys.executable,
        "-m",
        "pressplay",
        "docs",
        "--docs-dir",
        str(docs),
        "--step",
        "notBefore",
        "--check",
    ]
    missing = subprocess.run(check, env=acme_env, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1 and "notBefore.md: missing" in missing.stdout
    wrote = subprocess.run(check[:-1], env=acme_env, capture_output=True, text=True, timeout=60)
    assert wrote.returncode == 0, wrote.stderr
    page = (docs / "steps" / "notBefore.md").read_text()
    assert "Wait until a point in time, without a pod." in page and "`acme-steps`" in page
    assert "| `at` | RFC 3339 time | **required** | Earliest time to go on, RFC 3339. |" in page
    assert subprocess.run(check, env=acme_env, capture_output=True, timeout=60).returncode == 0


def test_docs_check_fails_for_a_page_without_markers(tmp_path: Path) -> None:
    from pressplay.docgen import update_docs

    (tmp_path / "steps").mkdir()
    (tmp_path / "steps" / "status.md").write_text("# status\n\nno table here\n")
    problems = update_docs(tmp_path, check=True, only=["status", "comment"])
    assert any("status.md: lacks the lines" in p for p in problems)
    assert any("comment.md: missing" in p for p in problems)
    with pytest.raises(ValueError, match="lacks the lines"):
        update_docs(tmp_path, only=["status"])


# -- a step that breaks its contract fails loudly, naming the step and the fix -------------------------


def _call(steps: Registry, key: str, args: dict[str, Any] | None = None) -> Any:
    from pressplay.config import Settings
    from pressplay.steps.base import WorkflowMeta
    from pressplay.steps.execute import Call, execute

    return execute(Call({key: args or {}}, WorkflowMeta("wf", "argo")), Settings(token="t" * 24), steps=steps)


def test_a_step_returning_none_fails_the_node_naming_the_step_and_the_fix() -> None:
    from pressplay.steps.base import Failed, StepArgs, step

    @step("testNothing", StepArgs)
    def nothing(args: StepArgs, ctx: Any) -> Any:
        return None

    outcome = _call(Registry([]).with_steps(nothing), "testNothing")
    assert isinstance(outcome, Failed)
    assert "step 'testNothing'" in outcome.message and "returned NoneType, not an outcome" in outcome.message
    assert "return Succeeded(...), Failed(...) or Running(...) on every path" in outcome.message


def test_an_output_argo_cannot_carry_is_refused_naming_the_key() -> None:
    from pressplay.steps.base import Failed, OutputError, StepArgs, Succeeded, step

    with pytest.raises(
        OutputError, match="output 'when' is of type object: Argo output parameters are strings"
    ):
        Succeeded({"when": object()})
    with pytest.raises(OutputError, match="output 'at'"):
        Failed("no", outputs={"at": {1, 2}})

    @step("testObject", StepArgs)
    def obj(args: StepArgs, ctx: Any) -> Any:
        return Succeeded({"when": object()})

    outcome = _call(Registry([]).with_steps(obj), "testObject")
    assert isinstance(outcome, Failed) and "step 'testObject' is broken" in outcome.message
    assert "'when'" in outcome.message


def test_an_undeclared_output_is_refused_and_summary_is_always_declared() -> None:
    from pressplay.steps.base import Failed, StepArgs, Succeeded, step

    @step("testDeclared", StepArgs, outputs=["url"])
    def declared(args: StepArgs, ctx: Any) -> Any:
        return Succeeded({"url": "u", "prUrl": "p"}, summary="s")

    assert declared.produces() == ("summary", "url")
    outcome = _call(Registry([]).with_steps(declared), "testDeclared")
    assert isinstance(outcome, Failed)
    assert "produced output(s) prUrl that its @step(outputs=...) does not declare" in outcome.message
    with pytest.raises(TypeError, match="takes a list of names"):
        step("testBad", StepArgs, outputs="url")


def test_a_module_that_does_not_import_fails_its_node_with_the_reason() -> None:
    from pressplay.steps.base import Failed

    outcome = _call(Registry([entry("frob", "acme_missing.frob:frob")]), "frob")
    assert isinstance(outcome, Failed)
    assert "step 'frob' of package 'acme-steps' does not import" in outcome.message
    assert "fix or uninstall acme-steps" in outcome.message


def test_the_sidecar_of_the_kit_refuses_to_start_with_a_broken_step() -> None:
    """At registration: the test kit loads every step it serves, so a bad one stops the test at once."""
    from pressplay.testing.sidecar import Sidecar

    sidecar = Sidecar(steps=[])
    sidecar.steps = Registry([entry("echo", "tests.support_steps:echo")])
    with pytest.raises(RegistryError, match="but its @step decorator says 'testEcho'"):
        sidecar.start()
    sidecar.stop()


def test_every_step_declares_the_outputs_its_page_lists() -> None:
    """`@step(outputs=...)` (what lint checks templates against) and the Outputs table of the step's page."""
    for key, spec in registry.installed().load_all().items():
        assert spec.outputs is not None, f"{key}: declare @step(outputs=...)"
        page = (ROOT / "docs" / "steps" / f"{key}.md").read_text()
        section = page.split("## Outputs", 1)[1].split("\n## ", 1)[0]
        listed = {
            name
            for line in section.splitlines()
            if line.startswith("| `")
            for name in re.findall(r"`([^`]+)`", line.split("|")[1])
        }
        assert set(spec.produces() or ()) <= listed | {"summary"}, f"{key}: document every output"
        assert listed <= set(spec.produces() or ()), f"{key}: the page lists outputs the step never produces"
