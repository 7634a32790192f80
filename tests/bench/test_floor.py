"""bench.floor: the floors under issue 16's targets are measured, not assumed (docs/performance.md)."""

from __future__ import annotations

import pytest
from bench.floor import cpu_floor, import_costs, measure_round_trip

pytest.importorskip("pressplay.testing.github_emulator", reason="the GitHub emulator is part of [testing]")


def test_a_floor_is_flask_noop_plus_the_round_trips_as_a_multiple_of_flask_noop() -> None:
    assert cpu_floor(0.2, 100.0, 2) == 2.0
    assert cpu_floor(0.2, 100.0, 1) == 1.5
    assert cpu_floor(0.25, 0.0, 2) == 1.0


def test_the_round_trip_floor_times_the_polls_own_conditional_get_answered_304() -> None:
    from bench.economy import REPO, _round_trip_floor

    from pressplay.testing.github_emulator import GitHubEmulator

    with GitHubEmulator() as gh:
        gh.create_repo(REPO, files={"README.md": "# floor\n"})
        sha = gh.push(REPO, "pressplay/task-1", {"a.py": "# a\n"}, message="Task 1")
        gh.add_check_run(REPO, sha, "build", status="in_progress")
        token = gh.installation_token(REPO.split("/")[0])
        import urllib3

        first = urllib3.request(
            "GET",
            f"{gh.url}/repos/{REPO}/commits/{sha}/check-runs",
            headers={"Authorization": f"token {token}", "Accept": "application/vnd.github+json"},
            retries=False,
        )
        assert first.status == 200
        polled = [r for r in gh.requests if r.path.endswith("/check-runs")]
        trip = _round_trip_floor(gh, polled)
    assert trip["statuses"] == [304]
    assert trip["answer_bytes"] > 0
    # a raw socket does strictly less than urllib3 with the same bytes on the wire
    assert 0 < trip["socket_us"] < trip["urllib3_us"]


def test_measure_round_trip_reports_what_the_server_answered() -> None:
    from pressplay.testing.github_emulator import GitHubEmulator

    with GitHubEmulator() as gh:
        trip = measure_round_trip(f"{gh.url}/rate_limit", {"Accept": "application/json"}, n=20)
    assert trip["statuses"] == [401]


def test_the_memory_floor_is_what_pydantic_and_the_github_stack_add_to_a_bare_flask_worker() -> None:
    costs = import_costs()
    assert costs["flask_worker_mib"] > 10
    assert costs["pydantic_mib"] > 1
    assert costs["github_stack_mib"] > 1
