"""One span per execute call with the workflow/node/step/correlation attributes; JSON logs carry the trace id."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from pressplay import telemetry
from pressplay.testing.sidecar import Sidecar

# Registers the test steps used below.
from tests import support_steps
from tests.otel_support import metric_points


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    telemetry.configure(span_exporter=exporter, force=True)
    yield exporter
    telemetry.configure(force=True)


def test_one_span_per_execute_with_attributes_and_log_trace_id(spans: InMemorySpanExporter) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(telemetry.JsonFormatter())
    logger = logging.getLogger("pressplay")
    with Sidecar(
        workflow={"name": "press-play-x1", "namespace": "ci", "uid": "u-1"}, steps=support_steps.STEPS
    ) as sidecar:
        logger.addHandler(handler)
        try:
            result = sidecar.run_step(
                "testEcho", {"repo": "acme/api", "number": 42, "node": "press-play-x1.task(0).open-pr"}
            )
            sidecar.run_step("testEcho", {"repo": "acme/api"})
        finally:
            logger.removeHandler(handler)
    assert result.phase == "Succeeded"
    finished = [s for s in spans.get_finished_spans() if s.name == "template.execute"]
    assert len(finished) == 2
    attrs = dict(finished[0].attributes or {})
    assert attrs["argo.workflow"] == "press-play-x1"
    assert attrs["argo.namespace"] == "ci"
    assert attrs["argo.node"] == "press-play-x1.task(0).open-pr"
    assert attrs["pressplay.step"] == "testEcho"
    assert attrs["pressplay.repo"] == "acme/api"
    assert attrs["pressplay.pr"] == "42"
    assert attrs["pressplay.phase"] == "Succeeded"
    assert dict(finished[1].attributes or {})["pressplay.phase"] == "Failed"

    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    step_lines = [line for line in lines if line.get("step") == "testEcho"]
    assert len(step_lines) == 2
    trace_id = format(finished[0].context.trace_id, "032x")
    first = step_lines[0]
    assert first["trace_id"] == trace_id
    assert first["repo"] == "acme/api" and first["pr"] == "42" and first["phase"] == "Succeeded"
    assert first["node"] == "press-play-x1.task(0).open-pr" and first["workflow"] == "press-play-x1"


def test_without_an_exporter_spans_are_not_recorded_but_logs_keep_a_trace_id() -> None:
    telemetry.configure(force=True)  # no OTEL_* variables: nothing is exported
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(telemetry.JsonFormatter())
    log = logging.getLogger("pressplay.test-no-exporter")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        with telemetry.execute_span("wf", "ns", "tpl") as span:
            assert not span.is_recording()
            log.info("inside")
    finally:
        log.removeHandler(handler)
    line = json.loads(stream.getvalue().strip())
    assert len(line["trace_id"]) == 32
    assert line["trace_id"] != "0" * 32


def test_step_outcomes_and_durations_are_recorded_with_labels() -> None:
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    reader = InMemoryMetricReader()
    telemetry.configure(metric_reader=reader, force=True)
    try:
        with Sidecar(steps=support_steps.STEPS) as sidecar:
            sidecar.run_step("testEcho", {"repo": "acme/api", "number": 42})
            sidecar.run_step("testEcho", {"repo": "acme/api", "number": 42})
        outcomes = metric_points(reader, "pressplay.step.outcomes")
        durations = metric_points(reader, "pressplay.step.duration")
    finally:
        telemetry.configure(force=True)
    ok = [(a, v) for a, v in outcomes if a.get("phase") == "Succeeded"]
    assert ok == [
        (
            {
                "pressplay.step": "testEcho",
                "phase": "Succeeded",
                "pressplay.repo": "acme/api",
                "pressplay.pr": "42",
            },
            2,
        )
    ]
    assert [v for a, v in durations if a.get("phase") == "Succeeded"] == [2]


def test_without_a_metrics_exporter_the_meter_records_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    from opentelemetry import metrics

    for name in (
        "OTEL_METRICS_EXPORTER",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
    ):
        monkeypatch.delenv(name, raising=False)
    telemetry.configure(force=True)
    assert isinstance(telemetry.meter(), metrics.NoOpMeter)
    telemetry.record_outcome("testEcho", "Succeeded", 0.01, {"repo": "acme/api"})  # a no-op, not an error


def test_metrics_exporter_comes_from_the_standard_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    from opentelemetry.sdk.metrics import MeterProvider

    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "console")
    monkeypatch.setenv("OTEL_METRIC_EXPORT_INTERVAL", "3600000")
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    telemetry.configure(force=True)
    try:
        assert isinstance(telemetry._state["meter_provider"], MeterProvider)
    finally:
        monkeypatch.setenv("OTEL_METRICS_EXPORTER", "none")
        telemetry.configure(force=True)
    assert not isinstance(telemetry._state["meter_provider"], MeterProvider)


def test_without_exporters_the_sdk_is_never_imported_and_spans_still_carry_ids() -> None:
    import subprocess
    import sys

    code = (
        "import os, sys;"
        "[os.environ.pop(k, None) for k in list(os.environ) if k.startswith('OTEL_')];"
        "from pressplay import telemetry; telemetry.configure();"
        "cm = telemetry.execute_span('wf', 'argo', 't'); cm.__enter__();"
        "outer = telemetry.current_trace_id();"
        "child = telemetry.tracer().start_as_current_span('child'); child.__enter__();"
        "print(bool(outer), outer == telemetry.current_trace_id(), any(m.startswith('opentelemetry.sdk') for m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split() == ["True", "True", "False"]
