"""A CLIENT span per GitHub call; call counters by route template/method/status (304s separately);
the rate-limit remaining gauge per installation."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from pressplay import telemetry
from pressplay.github import GitHubClients, GitHubPermanentError
from pressplay.testing.github_emulator import GitHubEmulator
from tests.github.conftest import REPO
from tests.otel_support import metric_points


@pytest.fixture
def otel() -> Iterator[tuple[InMemorySpanExporter, InMemoryMetricReader]]:
    spans, reader = InMemorySpanExporter(), InMemoryMetricReader()
    telemetry.configure(span_exporter=spans, metric_reader=reader, force=True)
    yield spans, reader
    telemetry.configure(force=True)


def test_spans_and_metrics_per_call(
    emu: GitHubEmulator, otel: tuple[InMemorySpanExporter, InMemoryMetricReader]
) -> None:
    spans, reader = otel
    clients = GitHubClients(emu.settings())
    repo = clients.repo(REPO)
    repo.get("pulls")
    repo.get("pulls")  # 304
    with pytest.raises(GitHubPermanentError):
        repo.get("pulls/404")
    clients.close()

    names = [s.name for s in spans.get_finished_spans()]
    assert names.count("GitHub GET /repos/{owner}/{repo}/pulls") == 2
    assert "GitHub GET /repos/{owner}/{repo}/installation" in names
    failed = next(s for s in spans.get_finished_spans() if s.name.endswith("/pulls/{number}"))
    attrs = dict(failed.attributes or {})
    assert attrs["http.response.status_code"] == 404 and attrs["pressplay.repo"] == REPO
    assert attrs["url.template"] == "/repos/{owner}/{repo}/pulls/{number}"

    calls = {
        (a["url.template"], a["http.request.method"], a["http.response.status_code"]): v
        for a, v in metric_points(reader, "pressplay.github.calls")
    }
    assert calls[("/repos/{owner}/{repo}/pulls", "GET", 200)] == 1
    assert calls[("/repos/{owner}/{repo}/pulls", "GET", 304)] == 1
    assert calls[("/repos/{owner}/{repo}/pulls/{number}", "GET", 404)] == 1
    not_modified = metric_points(reader, "pressplay.github.not_modified")
    assert [(a["url.template"], v) for a, v in not_modified] == [("/repos/{owner}/{repo}/pulls", 1)]
    remaining = [
        v
        for a, v in metric_points(reader, "pressplay.github.rate_limit.remaining")
        if a["github.installation"].endswith(f"/{emu.installation_id('acme')}")
    ]
    assert remaining and remaining[-1] == 5000 - emu.rate_limit_used()
