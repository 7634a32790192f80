"""Reading what an in-memory OTEL metric reader collected (shared by the telemetry tests)."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.metrics.export import InMemoryMetricReader


def metric_points(reader: InMemoryMetricReader, name: str) -> list[tuple[dict[str, Any], float]]:
    """``(attributes, value)`` of every data point of metric ``name``; a histogram's value is its count."""
    data = reader.get_metrics_data()
    found: list[tuple[dict[str, Any], float]] = []
    for resource in data.resource_metrics if data else []:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == name:
                    for p in metric.data.data_points:
                        found.append((dict(p.attributes or {}), getattr(p, "value", getattr(p, "count", 0))))
    return found
