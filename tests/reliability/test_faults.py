"""Fault injection: a 20-task run while 10% of GitHub calls fail transiently.

Faults (reproducible, seeded): 10% of all GitHub requests answer 500/502/503, reset the connection,
hit a secondary rate limit (403 + ``Retry-After``) or a 429 (+ ``Retry-After``); on top of that the
first writes of PRs and comments *time out*: the emulator sleeps past the client's timeout and then
performs the write anyway (the dangerous case: GitHub did it, the caller does not know).

Then: every task completes, exactly one PR per head, one sticky comment per key, and no node Failed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from pressplay.testing.agent import make_template
from pressplay.testing.sidecar import Sidecar
from tests.reliability._figures import add
from tests.reliability._run import audit, prepare, run_all
from tests.reliability._secrets import Planted

pytestmark = pytest.mark.reliability

TASKS = [str(n) for n in range(1, 21)]
REPO = "faults/api"
#: The agent's waits (requeues, Retry-After, backoff) run this many times faster than real time.
SPEEDUP = 20.0
#: The GitHub client gives up after this long (patched down from 10 s so a "timeout" costs < 1 s) ...
CLIENT_TIMEOUT = 0.8
#: ... and the emulator performs the timed-out write this long after it arrived. The step answers a
#: timeout with a 10 s requeue (0.5 s here), so the late write lands before the step looks again, as
#: on GitHub, where a request the client gave up on finishes within a few seconds, well inside 10 s.
TIMEOUT_DELAY = 0.9


@pytest.fixture
def short_github_timeout(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    import pressplay.github._client as client

    client.reset_clients()
    monkeypatch.setattr(client, "REQUEST_TIMEOUT", CLIENT_TIMEOUT)
    yield
    client.reset_clients()


def _faults_seen(gh: Any) -> int:
    return sum(1 for r in gh.requests if r.status in (0, 403, 429, 500, 502, 503))


@pytest.fixture
def gh(planted: Planted) -> Iterator[Any]:
    """An emulator of its own. The agent's waits run SPEEDUP times faster than real time here, so
    GitHub's burst window for writes (80 a minute) is widened by the same factor; secondary limits
    still come, as injected faults with ``Retry-After``."""
    from pressplay.testing.github_emulator import GitHubEmulator

    with GitHubEmulator(secondary_limit_per_minute=int(80 * SPEEDUP)) as emulator:
        planted.add_key(Path(emulator.private_key_file))
        yield emulator


def test_twenty_tasks_with_ten_percent_transient_faults(gh: Any, short_github_timeout: None) -> None:
    branches = prepare(gh, REPO, TASKS)
    gh.reset_requests()
    timeouts = [
        gh.inject_fault(
            r"^/repos/faults/api/pulls$", method="POST", kind="delay", delay=TIMEOUT_DELAY, times=3
        ),
        gh.inject_fault(r"/issues/\d+/comments$", method="POST", kind="delay", delay=TIMEOUT_DELAY, times=3),
        gh.inject_fault(r"/issues/comments/\d+$", method="PATCH", kind="delay", delay=TIMEOUT_DELAY, times=2),
        gh.inject_fault(r"/pulls/\d+/merge$", method="PUT", kind="delay", delay=TIMEOUT_DELAY, times=2),
    ]
    gh.random_failures(0.10, seed=20261125, kinds=("status", "reset", "secondary", "too_many"))
    try:
        with Sidecar(**gh.sidecar_settings(), speedup=SPEEDUP) as sidecar:
            runs = run_all(lambda: sidecar.agent(max_polls=400), REPO, branches)
    finally:
        gh.clear_faults()
    injected = _faults_seen(gh) + sum(f.hits for f in timeouts)
    add("faults_injected", injected)
    calls = len(gh.requests)

    errors = [f"task {r.task}: {r.error}" for r in runs if r.error]
    assert not errors, errors
    failed = [f"task {r.task} {key}: {res.message}" for r in runs for key, res in r.failed]
    add("failed_by_transient", len(failed))
    assert not failed, failed
    assert all(len(r.results) == 6 for r in runs)
    add("github_calls", calls)
    # Faults really happened, in every kind, at about the rate asked for.
    assert injected >= 0.05 * calls, f"only {injected} faults in {calls} GitHub calls"
    kinds = {r.status for r in gh.requests}
    assert {0, 403, 429} <= kinds and kinds & {500, 502, 503}, sorted(kinds)
    assert all(f.hits for f in timeouts), [(f.pattern.pattern, f.hits) for f in timeouts]
    found = audit(gh, REPO)
    assert not found.duplicates, found.duplicates
    assert sorted(found.prs_per_head) == sorted(branches.values())
    assert sorted(found.merged_per_head) == sorted(branches.values()), "every PR merged"
    assert len(found.comments_per_key) == len(TASKS)
    # The sticky comment ended with the verdict (updated in place, not a second comment).
    for task in TASKS:
        number = next(int(r.outputs["number"]) for r in [runs[TASKS.index(task)].results[0][1]])
        bodies = [c["body"] for c in gh.comments(REPO, number) if c["user"]["login"] == gh.bot.login]
        assert len(bodies) == 1 and bodies[0].startswith("checks: success"), bodies


DEPLOY_PATH = ".github/workflows/deploy.yml"
DEPLOY_WORKFLOW = """\
name: Deploy
on:
  workflow_dispatch:
    inputs:
      pressplay_id: {description: "Set by pressplay to find this run again", required: false}
run-name: "Deploy ${{ inputs.pressplay_id }}"
jobs:
  deploy: {runs-on: ubuntu-latest, steps: [{run: echo deploying}]}
"""


def test_deploy_dispatches_happen_once_per_key_under_faults(gh: Any, short_github_timeout: None) -> None:
    """Ten deploys (``dispatch``) while 10 % of calls fail and the first dispatches time out after
    GitHub started the run: exactly one workflow run per key, every node Succeeded."""
    repo = "faults/deploy"
    gh.create_repo(repo, files={"README.md": "# deploy\n", DEPLOY_PATH: DEPLOY_WORKFLOW})
    gh.add_workflow(repo, DEPLOY_PATH, name="Deploy")
    gh.on_dispatch(repo, DEPLOY_PATH, conclusion="success", after_polls=3)
    original = gh.run_workflow

    def run_workflow(name: str, workflow: str | int, **kwargs: Any) -> int:
        """GitHub shows a dispatched run under the title its ``run-name`` renders to."""
        run_id = original(name, workflow, **kwargs)
        with gh.lock:
            run = gh.repo_state(name).runs[run_id]
            run.display_title = f"Deploy {dict(run.inputs).get('pressplay_id', '')}"
        return run_id

    gh.run_workflow = run_workflow
    gh.reset_requests()
    late = gh.inject_fault(r"/dispatches$", method="POST", kind="delay", delay=TIMEOUT_DELAY, times=3)
    gh.random_failures(0.10, seed=7, kinds=("status", "reset", "secondary", "too_many"))
    keys = [f"deploy-task-{n}" for n in range(1, 11)]
    try:
        with Sidecar(**gh.sidecar_settings(), speedup=SPEEDUP) as sidecar:

            def deploy(key: str) -> Any:
                args = {"repo": repo, "workflow": "deploy.yml", "ref": "main", "key": key, "timeout": "30m"}
                with sidecar.agent(max_polls=400) as agent:
                    result = agent.run(make_template("dispatch", args, outputs=["runId", "conclusion"]))
                add("requests", result.calls)
                return result

            with ThreadPoolExecutor(max_workers=5) as pool:
                results = dict(zip(keys, pool.map(deploy, keys), strict=True))
    finally:
        gh.clear_faults()
    add("faults_injected", _faults_seen(gh) + late.hits)
    add("github_calls", len(gh.requests))
    add("runs")
    assert late.hits, "no dispatch timed out"
    failed = {k: r.message for k, r in results.items() if r.phase != "Succeeded"}
    add("failed_by_transient", len(failed))
    assert not failed, failed
    with gh.lock:
        titles = Counter(
            r.display_title for r in gh.repo_state(repo).runs.values() if r.event == "workflow_dispatch"
        )
    duplicates = sum(n - 1 for n in titles.values() if n > 1)
    add("duplicates", duplicates)
    assert len(titles) == len(keys) and not duplicates, titles
    assert {r.outputs["conclusion"] for r in results.values()} == {"success"}
