"""Restart: the sidecar (a real ``pressplay serve``) is SIGKILLed mid-run and started again.

Six tasks run through their steps while a seventh waits on checks that never finish (timeout 20 s).
The kill lands while a pull request creation is in flight: GitHub (the emulator) completes it while
the sidecar is dead, and the agent's retries reach the restarted sidecar. Then:

- every task completes, with exactly one PR per head and one sticky comment per key;
- the stuck wait fails at its *durable* deadline (check suite creation + 20 s), not 20 s after the
  restart: the deadline survived the restart.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from pressplay.testing.agent import make_template
from tests.reliability._figures import add
from tests.reliability._run import audit, prepare, run_all
from tests.reliability._secrets import emitted

pytestmark = pytest.mark.reliability

REPO = "restart/api"
TASKS = [str(n) for n in range(1, 7)]
#: Agent waits run 5x faster: its 5 connection attempts then span ~3 s, long enough for a restart.
SPEEDUP = 5.0
TIMEOUT_S = 20


def test_sigkill_and_restart_mid_run(github: Any, serve: Any) -> None:
    gh = github
    # CI passes only after 8 reads, so a task spends seconds in `checks` before it merges: a PR
    # creation the kill left in flight lands long before, as on GitHub, where it lands within seconds
    # and CI takes minutes. (Compressed further, a late creation could land after a squash merge and
    # open a second PR: an ordering that real timing does not produce.)
    branches = prepare(gh, REPO, TASKS, polls=8)
    stuck_sha = gh.push(REPO, "stuck/deadline", {"stuck.py": "# never green\n"}, message="Stuck")
    anchor = time.time()
    gh.add_check_run(REPO, stuck_sha, "build", status="in_progress")
    in_flight = gh.inject_fault(rf"^/repos/{REPO}/pulls$", method="POST", kind="delay", delay=0.5, times=2)

    sidecar = serve(speedup=SPEEDUP)
    port = sidecar.port
    stuck: dict[str, Any] = {}
    runs: list[Any] = []

    def wait_stuck() -> None:
        with sidecar.agent(max_sleep=1.0) as agent:
            template = make_template(
                "checks", {"repo": REPO, "ref": stuck_sha, "required": ["build"], "timeout": f"{TIMEOUT_S}s"}
            )
            stuck["result"] = agent.run(template)
            stuck["ended"] = time.time()

    def run_tasks() -> None:
        runs.extend(run_all(lambda: sidecar.agent(max_sleep=1.0), REPO, branches, workers=6))

    threads = [threading.Thread(target=wait_stuck), threading.Thread(target=run_tasks)]
    for thread in threads:
        thread.start()
    try:
        deadline = time.monotonic() + 20
        while not in_flight.hits and time.monotonic() < deadline:
            time.sleep(0.01)
        assert in_flight.hits, "no pull request creation started within 20 s"
        killed_at = time.time()
        sidecar.kill()  # SIGKILL master and workers while the PR creation is in flight
        add("restarts")
        sidecar.start()
        assert sidecar.port == port
        restarted_at = time.time()
    finally:
        for thread in threads:
            thread.join(timeout=90)
        gh.clear_faults()
    assert not any(t.is_alive() for t in threads), "the run did not finish within 90 s"

    errors = [f"task {r.task}: {r.error}" for r in runs if r.error]
    assert not errors, errors
    failed = [f"task {r.task} {key}: {res.message}" for r in runs for key, res in r.failed]
    assert not failed, failed
    assert len(runs) == len(TASKS) and all(len(r.results) == 6 for r in runs)
    retried = [res for r in runs for _, res in r.results if any(reply.attempts > 1 for reply in res.replies)]
    assert retried, "no call needed a retry: the kill did not land mid-run"

    found = audit(gh, REPO)
    assert not found.duplicates, found.duplicates
    assert sorted(found.prs_per_head) == sorted(branches.values())
    assert sorted(found.merged_per_head) == sorted(branches.values()), "every PR merged"

    result = stuck["result"]
    emitted("stuck checks", result.message)
    assert result.phase == "Failed" and "timed out" in result.message, result.message
    waited = stuck["ended"] - int(anchor)
    # The deadline is anchor + 20 s; a deadline reset by the restart would end >= restart + 20 s.
    assert waited < TIMEOUT_S + 4, (
        f"failed {waited:.1f} s after the anchor (restart at +{restarted_at - anchor:.1f} s)"
    )
    assert stuck["ended"] < restarted_at + TIMEOUT_S, "the wait restarted its clock"
    print(
        f"killed at +{killed_at - anchor:.1f} s, restarted at +{restarted_at - anchor:.1f} s, failed at +{waited:.1f} s"
    )
    assert killed_at - anchor < TIMEOUT_S, (
        "the kill must come before the deadline for this test to mean anything"
    )
