"""Traces, metrics and JSON logs.

- One span per ``template.execute`` call (:func:`execute_span`) carrying ``argo.workflow``,
  ``argo.namespace``, ``argo.node``, ``pressplay.step`` and the correlation labels
  ``pressplay.repo|pr|task|agent``.
- Metrics: ``pressplay.step.duration`` (histogram, seconds) and ``pressplay.step.outcomes`` (counter),
  labelled by step and phase; GitHub call counters live in ``pressplay.github``.
- Logs are JSON lines with the same fields and the trace id.

Exporters follow the standard ``OTEL_*`` variables (``OTEL_TRACES_EXPORTER``, ``OTEL_METRICS_EXPORTER``:
``otlp``, ``console`` or ``none``; ``OTEL_EXPORTER_OTLP_ENDPOINT`` alone selects OTLP for both). With
none set nothing is exported and nothing is recorded: spans are sampled out (they still get ids, so
log lines carry a trace id) and the meter is the API's no-op meter, so an unobserved sidecar pays
nothing for either. Tests call :func:`configure` with in-memory exporters.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricExporter, MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

LOGGER_NAME = "pressplay"
_lock = threading.Lock()
_state: dict[str, Any] = {}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, trace/span ids and any ``extra`` fields."""

    _skip = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        span_ctx = trace.get_current_span().get_span_context()
        if span_ctx.is_valid:
            entry["trace_id"] = format(span_ctx.trace_id, "032x")
            entry["span_id"] = format(span_ctx.span_id, "016x")
        for key, value in record.__dict__.items():
            if key not in self._skip and not key.startswith("_"):
                entry[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            entry["error_type"] = record.exc_info[0].__name__
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, separators=(",", ":"))


def setup_logging(level: str = "INFO", stream: Any = None) -> None:
    """Route the ``pressplay`` logger to JSON lines on stderr (idempotent)."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(level.upper())
    if not any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        handler = logging.StreamHandler(stream or sys.stderr)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
    logger.propagate = False


def _wanted(signal: str) -> str:
    """``otlp``, ``console`` or ``""`` (export nothing) for ``traces`` or ``metrics``, from the standard
    variables: ``OTEL_<SIGNAL>_EXPORTER`` if set, else OTLP when an OTLP endpoint is configured."""
    wanted = os.environ.get(f"OTEL_{signal.upper()}_EXPORTER", "").strip().lower()
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get(
        f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT"
    )
    if wanted == "none" or (not wanted and not endpoint):
        return ""
    return wanted or "otlp"


def _otlp_missing() -> None:
    logging.getLogger(LOGGER_NAME).warning(
        "OTEL exporter requested but not installed: pip install 'pressplay[otlp]'"
    )


def _otel_exporter_from_env() -> SpanExporter | None:
    wanted = _wanted("traces")
    if not wanted:
        return None
    if wanted == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[import-not-found]
            OTLPSpanExporter,
        )
    except ImportError:
        _otlp_missing()
        return None
    exporter: SpanExporter = OTLPSpanExporter()
    return exporter


def _metric_reader_from_env() -> MetricReader | None:
    """A periodic reader (``OTEL_METRIC_EXPORT_INTERVAL``, default 60 s) for the configured exporter."""
    wanted = _wanted("metrics")
    if not wanted:
        return None
    exporter: MetricExporter
    if wanted == "console":
        from opentelemetry.sdk.metrics.export import ConsoleMetricExporter

        exporter = ConsoleMetricExporter()
    else:
        try:
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import (  # type: ignore[import-not-found]
                OTLPMetricExporter,
            )
        except ImportError:
            _otlp_missing()
            return None
        exporter = OTLPMetricExporter()
    return PeriodicExportingMetricReader(exporter)


def configure(
    span_exporter: SpanExporter | None = None,
    metric_reader: MetricReader | None = None,
    *,
    force: bool = False,
) -> None:
    """Set up the tracer and meter providers once per process (tests pass in-memory exporters)."""
    with _lock:
        if _state.get("configured") and not force:
            return
        resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "pressplay")})
        exporter = span_exporter or _otel_exporter_from_env()
        # Without an exporter nobody reads the spans: sample none, so each call gets a cheap
        # non-recording span that still carries a valid trace id for the log lines.
        sampler = None if exporter is not None else ALWAYS_OFF
        provider = TracerProvider(resource=resource, sampler=sampler)
        if exporter is not None:
            processor = SimpleSpanProcessor(exporter) if span_exporter else BatchSpanProcessor(exporter)
            provider.add_span_processor(processor)
        reader = metric_reader or _metric_reader_from_env()
        old = _state.get("meter_provider")
        if isinstance(old, MeterProvider):
            old.shutdown()
        # Without a reader nobody reads the metrics: the API's no-op meter records nothing, for free.
        meter_provider: metrics.MeterProvider = (
            MeterProvider(resource=resource, metric_readers=[reader])
            if reader is not None
            else metrics.NoOpMeterProvider()
        )
        _state.update(
            configured=True,
            tracer=provider.get_tracer("pressplay"),
            tracer_provider=provider,
            meter_provider=meter_provider,
            meter=meter_provider.get_meter("pressplay"),
        )
        meter = _state["meter"]
        _state["duration"] = meter.create_histogram(
            "pressplay.step.duration", unit="s", description="template.execute duration by step and phase"
        )
        _state["outcomes"] = meter.create_counter(
            "pressplay.step.outcomes", description="template.execute replies by step and phase"
        )


def tracer() -> trace.Tracer:
    configure()
    return _state["tracer"]  # type: ignore[no-any-return]


def meter() -> metrics.Meter:
    configure()
    return _state["meter"]  # type: ignore[no-any-return]


def record_outcome(step: str, phase: str, seconds: float, labels: Mapping[str, str]) -> None:
    configure()
    attrs = {"pressplay.step": step, "phase": phase, **{f"pressplay.{k}": v for k, v in labels.items()}}
    _state["duration"].record(seconds, attrs)
    _state["outcomes"].add(1, attrs)


@contextmanager
def execute_span(workflow: str, namespace: str, template: str) -> Iterator[trace.Span]:
    """The span around one ``template.execute`` call."""
    with tracer().start_as_current_span(
        "template.execute",
        kind=trace.SpanKind.SERVER,
        attributes={"argo.workflow": workflow, "argo.namespace": namespace, "argo.template": template},
    ) as span:
        yield span


def current_trace_id() -> str:
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else ""
