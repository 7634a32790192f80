"""Each plugin step the demo calls gets the argument names the `task` WorkflowTemplate passes it, so the
demo's Python cannot drift from manifests/workflows/task.yaml; and ``--faults`` takes only what the
scripted agent knows."""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from pressplay.demo import cli
from pressplay.demo.runner import Demo, TaskReport, _TaskState
from pressplay.demo.sample import TASKS
from pressplay.demo.scripted_agent import FAULT_KINDS, parse_faults

ROOT = Path(__file__).resolve().parents[2]
TASK_YAML = ROOT / "manifests" / "workflows" / "task.yaml"

#: the demo's call -> the task.yaml template that makes the same plugin call
TEMPLATE_OF = {
    "dependencies": "dependencies",
    "open-pr": "open-pr",
    "ci": "checks",
    "ready": "checks-final",
    "argocd": "argocd",
    "acceptance": "acceptance",
    "merge": "merge",
    "report-merged": "report",
    "report-stopped": "report",
}


def _template_calls() -> dict[str, tuple[str, set[str]]]:
    doc = yaml.safe_load(TASK_YAML.read_text())
    calls = {}
    for tmpl in doc["spec"]["templates"]:
        body = (tmpl.get("plugin") or {}).get("pressplay")
        if body:
            ((key, args),) = body.items()
            calls[tmpl["name"]] = (key, set(args) - {"node"})  # node is Argo's; the demo has none
    return calls


class _Recorder:
    """Stands in for the sidecar: records each call and answers like the step would."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, set[str]]] = []
        self.current = ""

    def __call__(self, key: str, args: Any, outputs: list[str], **_: Any) -> dict[str, str]:
        self.calls.append((self.current, key, set(args)))
        return {"number": "7", "url": "https://github.com/acme/pr/7", "created": "true", "state": "success",
                "sha": "a" * 40, "passed": "true", "summary": "ok", "syncStatus": "Synced", "health": "Healthy"}  # fmt: skip


def _demo() -> tuple[Demo, _Recorder]:
    demo = Demo.__new__(Demo)
    demo.out = io.StringIO()
    demo.world = SimpleNamespace(mirror_merge=lambda *a: "b" * 40)  # type: ignore[assignment]
    recorder = _Recorder()
    demo.plugin = recorder  # type: ignore[method-assign]
    return demo, recorder


def test_each_plugin_call_of_the_demo_passes_the_templates_argument_names() -> None:
    demo, recorder = _demo()
    state = _TaskState(item=dict(TASKS[0]), report=TaskReport(id="1", title="t"), number=7, head_sha="a" * 40)
    for call in TEMPLATE_OF:
        recorder.current = call
        if call == "report-stopped":
            demo.report_stopped(state, "merge", "it broke")
        else:
            getattr(demo, "step_" + call.replace("-", "_"))(state)
    templates = _template_calls()
    made = {call for call, _, _ in recorder.calls}
    assert made == set(TEMPLATE_OF), "every mapped demo call made a plugin call"
    for call, key, names in recorder.calls:
        template_key, template_names = templates[TEMPLATE_OF[call]]
        assert key == template_key, (
            f"demo {call} calls {key}, task.yaml's {TEMPLATE_OF[call]} calls {template_key}"
        )
        assert names == template_names, (
            f"demo {call} passes {sorted(names)}, task.yaml's {TEMPLATE_OF[call]} passes {sorted(template_names)}"
        )


def test_every_plugin_template_of_the_task_is_covered() -> None:
    """A plugin template added to task.yaml is either mapped above or a step the demo skips."""
    skipped = {"settings", "deploy", "acceptance-default", "outcome"}  # the demo prints these as skipped
    assert set(_template_calls()) - skipped == set(TEMPLATE_OF.values())


def test_faults_take_only_the_valid_forms() -> None:
    ids = [str(t["id"]) for t in TASKS]
    assert parse_faults("lint:1, ci-unfixable:2", ids) == {("lint", "1"), ("ci-unfixable", "2")}
    assert parse_faults("", ids) == set()
    for bad, expected in (
        ("bogus:1", "write KIND:TASK with KIND one of lint:N, lint-once:N, ci:N, ci-unfixable:N"),
        ("lint=1", "write KIND:TASK"),
        ("lint", "write KIND:TASK"),
        ("lint:9", "the sample has no task '9'; its tasks are 1, 2, 3"),
    ):
        with pytest.raises(ValueError, match=expected):
            parse_faults(bad, ids)
    assert set(FAULT_KINDS) == {"lint", "lint-once", "ci", "ci-unfixable"}


def test_bad_faults_stop_the_demo_before_it_starts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for bad in ("bogus:1", "lint=1", "lint:9"):
        assert cli.main(["--state-dir", str(tmp_path), "--faults", bad]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"pressplay demo: --faults {bad!r}:") and "lint-once:N" in err + "lint-once:N"
    assert not (tmp_path / "remote.git").exists()


def test_report_comments_are_shown_and_links_printed_once() -> None:
    demo, _ = _demo()
    state = _TaskState(item=dict(TASKS[0]), report=TaskReport(id="1", title="t"), number=7, head_sha="a" * 40)
    demo.plugin = lambda key, args, outputs, **_: {  # type: ignore[method-assign]
        "summary": "Synced and Healthy at aaaaaaa: http://argocd.example/applications/x",
        "url": "http://argocd.example/applications/x",
    }
    _, detail, link = demo.step_argocd(state)
    assert link == "" and detail.count("http://argocd.example") == 1
    demo.report_stopped(state, "merge", "the merge was refused\nsecond line\nthird\nfourth\nfifth")
    text = demo.out.getvalue()  # type: ignore[attr-defined]
    assert "> **pressplay stopped task 1** at `merge`:" in text
    assert "> the merge was refused" in text and "more line(s) on the PR" in text


def test_a_failed_gate_prints_its_whole_report_path(tmp_path: Path) -> None:
    demo, _ = _demo()
    demo.runs_dir = tmp_path / ("deep" * 60)  # a path far longer than a detail line
    demo.agent = lambda state, agent, **_: SimpleNamespace(  # type: ignore[method-assign]
        ok=False, status="failed", summary="lint gate failed", attempts=2
    )
    state = _TaskState(item=dict(TASKS[0]), report=TaskReport(id="1", title="t"), number=None)
    demo.until = None
    demo.run_task(state)
    out = demo.out.getvalue()  # type: ignore[attr-defined]
    assert str(demo.runs_dir / "task-1" / "author" / "outputs" / "report.md") in out
