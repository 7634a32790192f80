"""Traces, metrics and JSON logs.

- One span per ``template.execute`` call (:func:`execute_span`) carrying ``argo.workflow``,
  ``argo.namespace``, ``argo.node``, ``pressplay.step`` and the correlation labels
  ``pressplay.repo|pr|task|agent``.
- Metrics: ``pressplay.step.duration`` (histogram, seconds) and ``pressplay.step.outcomes`` (counter),
  labelled by step and phase; GitHub call counters live in ``pressplay.github``.
- Logs are JSON lines with the same fields and the trace id.

Exporters follow the standard ``OTEL_*`` variables (``OTEL_TRACES_EXPORTER``, ``OTEL_METRICS_EXPORTER``:
``otlp``, ``console`` or ``none``; ``OTEL_EXPORTER_OTLP_ENDPOINT`` alone selects OTLP for both). With
none set nothing is exported and nothing is recorded: each span is the API's non-recording span
with fresh ids (children share their parent's trace id, so log lines carry a trace id) and the meter
is the API's no-op meter, so an unobserved sidecar pays nothing for either and never imports the
OTEL SDK (~2.5 MiB); the SDK is imported when an exporter is configured. Tests call
:func:`configure` with in-memory exporters.
"""

from __future__ import annotations

import json
import logging
import os
import random
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.util import types as otel_types

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics.export import MetricExporter, MetricReader
    from opentelemetry.sdk.trace.export import SpanExporter

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


class _IdsOnlyTracer(trace.NoOpTracer):
    """The tracer of a sidecar that exports no spans: every span is a non-recording span with valid
    ids (a new trace id at the root, the parent's below it), so log lines still carry a trace id."""

    def start_span(
        self,
        name: str,
        context: otel_context.Context | None = None,
        kind: trace.SpanKind = trace.SpanKind.INTERNAL,
        attributes: otel_types.Attributes = None,
        links: Sequence[trace.Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> trace.Span:
        parent = trace.get_current_span(context).get_span_context()
        trace_id = parent.trace_id if parent.is_valid else random.getrandbits(128) or 1
        span_id = random.getrandbits(64) or 1
        return trace.NonRecordingSpan(trace.SpanContext(trace_id, span_id, is_remote=False))

    @contextmanager
    def start_as_current_span(  # type: ignore[override]
        self,
        name: str,
        context: otel_context.Context | None = None,
        kind: trace.SpanKind = trace.SpanKind.INTERNAL,
        attributes: otel_types.Attributes = None,
        links: Sequence[trace.Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> Iterator[trace.Span]:
        span = self.start_span(name, context)
        with trace.use_span(span, end_on_exit=False) as current:
            yield current


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
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    return PeriodicExportingMetricReader(exporter)


def configure(
    span_exporter: SpanExporter | None = None,
    metric_reader: MetricReader | None = None,
    *,
    force: bool = False,
) -> None:
    """Set up the tracer and meter providers once per process (tests pass in-memory exporters)."""
    if _state.get("configured") and not force:  # the hot path: no lock once configured
        return
    with _lock:
        if _state.get("configured") and not force:
            return
        service = {"service.name": os.environ.get("OTEL_SERVICE_NAME", "pressplay")}
        exporter = span_exporter or _otel_exporter_from_env()
        provider: Any = None
        tracer: trace.Tracer
        if exporter is None:
            # Without an exporter nobody reads the spans: non-recording spans that still carry a
            # valid trace id for the log lines, and no SDK.
            tracer = _IdsOnlyTracer()
        else:
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

            provider = TracerProvider(resource=Resource.create(service))
            processor = SimpleSpanProcessor(exporter) if span_exporter else BatchSpanProcessor(exporter)
            provider.add_span_processor(processor)
            tracer = provider.get_tracer("pressplay")
        reader = metric_reader or _metric_reader_from_env()
        old = _state.get("meter_provider")
        if old is not None and hasattr(old, "shutdown"):
            old.shutdown()
        # Without a reader nobody reads the metrics: the API's no-op meter records nothing, for free.
        meter_provider: metrics.MeterProvider
        if reader is not None:
            from opentelemetry.sdk.metrics import MeterProvider
            from opentelemetry.sdk.resources import Resource

            meter_provider = MeterProvider(resource=Resource.create(service), metric_readers=[reader])
        else:
            meter_provider = metrics.NoOpMeterProvider()
        _state.update(
            tracer=tracer,
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
        _state["configured"] = True  # last: the lock-free readers above see a complete state


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
