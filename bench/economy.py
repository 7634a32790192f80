"""GitHub economy of a simulated press-play, and the ``poll-304`` path of the overhead benchmark.

**Economy.** N tasks in one repository (one App installation), in *virtual time*: one clock drives
the GitHub emulator (rate-limit windows, secondary-limit window, scheduled CI) and the steps'
``ctx.now()`` (deadlines, adaptive requeue), so an hour of press-play runs in a minute or two. Each
task, like the ``task`` flow's plugin steps:

1. the agent authors for U(5, 40) min (a container step: no GitHub traffic from pressplay);
2. ``pullRequest`` opens the PR (CI starts: check run ``build``, done after U(8, 25) min);
3. ``checks`` waits for ``build`` (requeued with the default policy: the answer's ``requeue``);
4. ``checks`` waits for the deploy (commit status ``deploy/production``, done U(3, 10) min after CI);
5. ``comment`` posts the sticky result comment.

Every call goes through the real sidecar (Flask app, real HTTP) and the real GitHub client (ETags,
conditional requests) to the emulator, which counts rate-limit points the way GitHub does (304 free).

**Naive poller.** The same schedule, but each wait re-lists the commit's check runs (or statuses)
every 10 s without conditional requests, as the popular wait-for-check GitHub Actions do.
"""

from __future__ import annotations

import heapq
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from bench.common import Server, free_port
from bench.sidecar import WORKFLOW, Serve, pressplay_argv, request_body

REPO = "econ/api"
OWNER = "econ"


class VirtualClock:
    def __init__(self) -> None:
        self.t = datetime.now(UTC).replace(microsecond=0)

    def now(self) -> datetime:
        return self.t

    def advance_to(self, t: datetime) -> None:
        if t > self.t:
            self.t = t


@contextmanager
def virtual_time(clock: VirtualClock) -> Iterator[None]:
    """Make the steps' default clock (``StepContext.clock``) read ``clock``."""
    import pressplay.steps.base as base

    real = base.datetime

    class _Virtual(real):  # type: ignore[misc, valid-type]
        @classmethod
        def now(cls, tz: Any = None) -> datetime:
            return clock.now() if tz is not None else clock.now().replace(tzinfo=None)

    base.datetime = _Virtual  # type: ignore[misc]
    try:
        yield
    finally:
        base.datetime = real  # type: ignore[misc]


@dataclass
class Task:
    n: int
    branch: str
    author_min: float
    ci_min: float
    deploy_min: float
    stage: int = 0
    number: int = 0
    sha: str = ""
    calls: int = 0
    polls: int = 0
    done_at: datetime | None = None
    failed: str = ""
    outputs: dict[str, str] = field(default_factory=dict)


def _tasks(count: int, seed: int) -> list[Task]:
    rng = random.Random(seed)  # noqa: S311 - a reproducible schedule, not a secret
    return [
        Task(
            n=i,
            branch=f"pressplay/task-{i}",
            author_min=rng.uniform(5, 40),
            ci_min=rng.uniform(8, 25),
            deploy_min=rng.uniform(3, 10),
        )
        for i in range(1, count + 1)
    ]


def _steps(task: Task, lean: bool = False) -> list[tuple[str, dict[str, Any], list[str]]]:
    if lean:  # wait on the head SHA the PR step returned, anchored on the PR's opening: no PR,
        # check-suite or (for the CI wait) combined-status reads, whose bodies embed the repository
        # and so change with every push anywhere in it
        since = task.outputs.get("openedAt", "")
        sha = task.outputs.get("headSha", "")
        ci = {
            "repo": REPO,
            "ref": sha,
            "required": ["build"],
            "timeout": "2h",
            "since": since,
            "statuses": False,
        }
        deploy = {
            "repo": REPO,
            "ref": sha,
            "required": ["deploy/production"],
            "timeout": "2h",
            "since": since,
        }
    else:  # as manifests/workflows/task.yaml calls it: the PR branch's head, default anchor
        ci = {"repo": REPO, "ref": task.branch, "required": ["build"], "timeout": "2h"}
        deploy = {"repo": REPO, "ref": task.branch, "required": ["deploy/production"], "timeout": "2h"}
    return [
        (
            "pullRequest",
            {
                "repo": REPO,
                "head": task.branch,
                "base": "main",
                "title": f"Task {task.n}",
                "labels": ["pressplay"],
            },
            ["number", "headSha"],
        ),
        ("checks", ci, ["state"]),
        ("checks", deploy, ["state"]),
        ("comment", {"repo": REPO, "number": task.number, "key": f"task-{task.n}", "body": "done"}, ["url"]),
    ]


def _summarise(
    gh: Any, marks: list[tuple[int, datetime]], tasks: list[Task], started: datetime
) -> dict[str, Any]:
    """Figures from the emulator's request log; ``marks`` = (request index, virtual time) boundaries."""
    reqs = list(gh.requests)
    times: list[datetime] = []
    mark_i = 0
    current = started
    for i in range(len(reqs)):
        while mark_i < len(marks) and marks[mark_i][0] <= i:
            current = marks[mark_i][1]
            mark_i += 1
        times.append(current)
    installation_reqs = [(r, t) for r, t in zip(reqs, times, strict=True) if r.installation is not None]
    points = sum(r.cost for r, _ in installation_reqs)
    gets = [r for r, _ in installation_reqs if r.method == "GET"]
    not_modified = sum(1 for r in gets if r.status == 304)
    rate_limited = sum(1 for r, _ in installation_reqs if r.status == 403 and r.method == "GET")
    secondary = sum(
        1 for r, _ in installation_reqs if r.status in (403, 429) and r.cost == 0 and r.method != "GET"
    )
    limited = sum(1 for r, _ in installation_reqs if r.status == 403)
    # Peak points in any rolling 60-minute window of virtual time.
    stamps = sorted(t.timestamp() for r, t in installation_reqs if r.cost)
    peak = 0
    lo = 0
    for hi, stamp in enumerate(stamps):
        while stamps[lo] <= stamp - 3600:
            lo += 1
        peak = max(peak, hi - lo + 1)
    by_route: Counter[str] = Counter()
    for r, _ in installation_reqs:
        if r.cost:
            by_route[f"{r.method} {r.route or r.path} {r.status}"] += r.cost
    ends = [t.done_at for t in tasks if t.done_at]
    span_h = ((max(ends) - started).total_seconds() / 3600) if ends else 0.0
    return {
        "tasks": len(tasks),
        "tasks_done": sum(1 for t in tasks if t.done_at and not t.failed),
        "tasks_failed": [f"task {t.n}: {t.failed[:200]}" for t in tasks if t.failed],
        "virtual_hours": round(span_h, 2),
        "github_requests": len(installation_reqs),
        "rate_limit_points": points,
        "points_demanded": points + rate_limited,
        "requests_refused_by_rate_limit": rate_limited,
        "points_per_task": round(points / max(1, len(tasks)), 1),
        "peak_points_in_any_hour": peak,
        "share_304": round(not_modified / max(1, len(gets)), 3),
        "secondary_limit_hits": secondary,
        "responses_403": limited,
        "points_by_route": dict(by_route.most_common(12)),
    }


def simulate_pressplay(
    count: int, seed: int = 7, lean: bool = False, log: Callable[[str], None] = print
) -> dict[str, Any]:
    from pressplay.testing.agent import AgentEmulator, make_template
    from pressplay.testing.github_emulator import GitHubEmulator
    from pressplay.testing.sidecar import Sidecar
    from pressplay.types import parse_duration

    clock = VirtualClock()
    started = clock.now()
    tasks = _tasks(count, seed)
    # Installation tokens are cached by githubkit on the *real* clock; make them outlive the simulation.
    with GitHubEmulator(clock=clock.now, token_ttl=timedelta(days=2)) as gh, virtual_time(clock):
        gh.create_repo(REPO, files={"README.md": "# econ\n"})
        with Sidecar(**gh.sidecar_settings(log_level="WARNING")) as sidecar:
            import logging

            logging.getLogger("pressplay").setLevel(logging.WARNING)
            agent = AgentEmulator(sidecar.url, sidecar.token, workflow=WORKFLOW["metadata"])
            # githubkit signs App JWTs with the real clock: mint the installation token and learn the
            # bot's login now, while the virtual clock still equals the real one (not counted below).
            issue = gh.add_issue(REPO, "warm-up")
            warm = agent.call(
                make_template("comment", {"repo": REPO, "number": issue, "key": "w", "body": "w"})
            )
            assert warm.phase == "Succeeded", warm.message
            gh.reset_requests()
            queue: list[tuple[datetime, int, int]] = []
            for i, task in enumerate(tasks):
                heapq.heappush(queue, (started + timedelta(minutes=task.author_min), i, i))
            seq = len(tasks)
            marks: list[tuple[int, datetime]] = [(0, started)]
            poll_requests: list[int] = []
            wall = time.perf_counter()
            while queue:
                at, _, i = heapq.heappop(queue)
                clock.advance_to(at)
                task = tasks[i]
                marks.append((len(gh.requests), clock.now()))
                if task.stage == 0 and not task.sha:
                    _push_with_ci(gh, task, clock)
                key, args, outputs = _steps(task, lean)[task.stage]
                before = len(gh.requests)
                reply = agent.call(make_template(key, args, outputs=outputs))
                task.calls += 1
                if key == "checks":
                    task.polls += 1
                    poll_requests.append(len(gh.requests) - before)
                if reply.phase == "Succeeded":
                    params = ((reply.body or {}).get("node") or {}).get("outputs", {}).get("parameters", [])
                    task.outputs.update({p["name"]: p.get("value", "") for p in params})
                    if key == "pullRequest":
                        task.number = int(task.outputs["number"])
                        task.outputs["openedAt"] = clock.now().isoformat()
                    task.stage += 1
                    if task.stage == len(_steps(task, lean)):
                        task.done_at = clock.now()
                        continue
                    seq += 1
                    heapq.heappush(queue, (clock.now(), seq, i))
                elif reply.phase in ("Running", "Pending") and reply.requeue:
                    seq += 1
                    delay = parse_duration(reply.requeue)
                    heapq.heappush(queue, (clock.now() + delay, seq, i))
                else:
                    task.failed = f"{key}: {reply.phase} {reply.message}"
                    task.done_at = clock.now()
            agent.close()
            result = _summarise(gh, marks, tasks, started)
    polls = sum(t.polls for t in tasks)
    result.update(
        {
            "sidecar_calls": sum(t.calls for t in tasks),
            "polls": polls,
            "polls_per_task": round(polls / max(1, len(tasks)), 1),
            "github_requests_per_poll": round(sum(poll_requests) / max(1, len(poll_requests)), 2),
            "wall_seconds": round(time.perf_counter() - wall, 1),
        }
    )
    result["variant"] = (
        "lean: ref=headSha, since=PR opened, statuses only where needed" if lean else "as task.yaml"
    )
    log(
        f"  pressplay ({result['variant']}): {result['tasks_done']}/{count} done in {result['virtual_hours']} h "
        f"(virtual); {result['rate_limit_points']} points ({result['points_per_task']}/task), peak "
        f"{result['peak_points_in_any_hour']}/h; {result['github_requests_per_poll']} requests/poll, "
        f"{result['share_304']:.0%} of GETs 304; refused {result['requests_refused_by_rate_limit']}; "
        f"secondary-limit hits {result['secondary_limit_hits']}; {result['wall_seconds']} s wall"
    )
    return result


def _push_with_ci(gh: Any, task: Task, clock: VirtualClock) -> None:
    """The agent's push: the branch, a CI check run that finishes later, then a deploy status."""
    task.sha = gh.push(REPO, task.branch, {f"task_{task.n}.py": f"# {task.n}\n"}, message=f"Task {task.n}")
    run_id = gh.add_check_run(REPO, task.sha, "build", status="in_progress")
    ci_done = clock.now() + timedelta(minutes=task.ci_min)
    deploy_done = ci_done + timedelta(minutes=task.deploy_min)

    def finish_ci() -> None:
        gh.complete_check_run(REPO, run_id, "success")
        gh.add_status(REPO, task.sha, "deploy/production", "pending")
        gh.schedule(lambda: gh.add_status(REPO, task.sha, "deploy/production", "success"), at=deploy_done)

    gh.schedule(finish_ci, at=ci_done)


def simulate_naive(
    count: int, seed: int = 7, interval_s: float = 10.0, log: Callable[[str], None] = print
) -> dict[str, Any]:
    """The same schedule; each wait lists check runs (or statuses) every ``interval_s``, unconditionally."""
    import httpx

    from pressplay.testing.github_emulator import GitHubEmulator

    clock = VirtualClock()
    started = clock.now()
    tasks = _tasks(count, seed)
    with GitHubEmulator(clock=clock.now, token_ttl=timedelta(days=2)) as gh:
        gh.create_repo(REPO, files={"README.md": "# econ\n"})
        token = gh.installation_token(OWNER)
        headers = {"Authorization": f"token {token}", "Accept": "application/vnd.github+json"}
        client = httpx.Client(base_url=gh.url, headers=headers, timeout=30)
        queue: list[tuple[datetime, int, int]] = []
        for i, task in enumerate(tasks):
            heapq.heappush(queue, (started + timedelta(minutes=task.author_min), i, i))
        seq = len(tasks)
        marks: list[tuple[int, datetime]] = [(0, started)]
        wall = time.perf_counter()
        while queue:
            at, _, i = heapq.heappop(queue)
            clock.advance_to(at)
            task = tasks[i]
            marks.append((len(gh.requests), clock.now()))
            if not task.sha:
                _push_with_ci(gh, task, clock)
            if task.stage == 0:  # wait for CI: list the commit's check runs
                data = client.get(f"/repos/{REPO}/commits/{task.sha}/check-runs").json()
                runs = data.get("check_runs", []) if isinstance(data, dict) else []
                finished = any(r["name"] == "build" and r["status"] == "completed" for r in runs)
            else:  # wait for the deploy: list the commit's statuses
                data = client.get(f"/repos/{REPO}/commits/{task.sha}/statuses").json()
                states = (
                    [s["state"] for s in data if s.get("context") == "deploy/production"]
                    if isinstance(data, list)
                    else []
                )
                finished = bool(states) and states[0] == "success"
            task.polls += 1
            if finished:
                task.stage += 1
                if task.stage == 2:
                    task.done_at = clock.now()
                    continue
            seq += 1
            heapq.heappush(queue, (clock.now() + timedelta(seconds=interval_s), seq, i))
        client.close()
        result = _summarise(gh, marks, tasks, started)
    polls = sum(t.polls for t in tasks)
    result.update(
        {
            "polls": polls,
            "polls_per_task": round(polls / max(1, len(tasks)), 1),
            "github_requests_per_poll": 1.0,
            "wall_seconds": round(time.perf_counter() - wall, 1),
        }
    )
    log(
        f"  naive 10 s poller: {result['points_demanded']} points demanded, {result['rate_limit_points']} granted, "
        f"peak {result['peak_points_in_any_hour']}/h; {result['responses_403']} answers 403 (rate limited); "
        f"{result['wall_seconds']} s wall"
    )
    return result


def economy(count: int = 200, log: Callable[[str], None] = print) -> dict[str, Any]:
    mine = simulate_pressplay(count, log=log)
    lean = simulate_pressplay(count, lean=True, log=log)
    naive = simulate_naive(count, log=log)
    return {
        "tasks": count,
        "pressplay": mine,
        "pressplay_lean": lean,
        "naive_10s_poller": naive,
        "demand_ratio_naive_over_pressplay": round(
            naive["points_demanded"] / max(1, mine["points_demanded"]), 1
        ),
        "demand_ratio_naive_over_lean": round(naive["points_demanded"] / max(1, lean["points_demanded"]), 1),
        "limit_per_hour": 5000,
        "target": "peak points in any hour <= 5000 and no secondary-limit hit",
    }


# -- the poll-304 path of the overhead benchmark ----------------------------------------------------


def poll_304_server(serve: Serve, lean: bool = False) -> Callable[[str], Any]:
    """A factory for the overhead benchmark: a ``pressplay serve`` pointed at a GitHub emulator, and
    the body of a ``checks`` poll on a commit whose check run never finishes (every poll: 304s).
    ``lean``: with ``since`` and ``statuses: false`` (1 GitHub request per poll instead of 2: the
    check runs only; the commit, named by its SHA, is read once per process)."""
    from pressplay.testing.github_emulator import GitHubEmulator  # ImportError → the path is skipped

    @contextmanager
    def start(token: str) -> Iterator[tuple[Server, bytes, Callable[[], dict[str, Any]]]]:
        with GitHubEmulator(rate_limit=10**9, secondary_limit_per_minute=10**9) as gh:
            gh.create_repo(REPO, files={"README.md": "# econ\n"})
            sha = gh.push(REPO, "pressplay/task-1", {"a.py": "# a\n"}, message="Task 1")
            gh.add_check_run(REPO, sha, "build", status="in_progress")
            port = free_port()
            env = {
                "PRESSPLAY_TOKEN": token,
                "PRESSPLAY_LOG_LEVEL": "WARNING",
                "OTEL_TRACES_EXPORTER": "none",
                "PRESSPLAY_GITHUB_APP_ID": str(gh.app_id),
                "PRESSPLAY_GITHUB_PRIVATE_KEY_FILE": str(gh.private_key_file),
                "PRESSPLAY_GITHUB_API_URL": gh.url,
            }
            args: dict[str, Any] = {"repo": REPO, "ref": sha, "required": ["build"], "timeout": "6h"}
            if lean:
                args.update(since=gh.now().isoformat(), statuses=False)
            body = request_body({"pressplay": {"checks": args}}, ["state"])
            with Server("pressplay", pressplay_argv(port, serve), port, env=env) as srv:
                # Warm every worker's ETag cache: the first poll of each worker is a full read.
                from bench.sidecar import check_answer

                for _ in range(4 * (serve.resolved().workers or 2)):
                    check_answer(
                        srv.port,
                        body,
                        token,
                        lambda s, d: s == 200 and d.get("node", {}).get("phase") == "Running",
                        "poll-304",
                    )
                gh.reset_requests()

                def counters() -> dict[str, Any]:
                    reqs = list(gh.requests)
                    gets = [r for r in reqs if r.method == "GET"]
                    return {
                        "github_requests": len(reqs),
                        "share_304": round(sum(1 for r in gets if r.status == 304) / max(1, len(gets)), 3),
                        "rate_limit_points": sum(r.cost for r in reqs),
                    }

                def floor() -> dict[str, Any]:
                    """The client CPU of one of this poll's round trips alone (bench.floor), and how many
                    GitHub requests one poll makes."""
                    # polls the load left in flight still call GitHub for a moment: let them end, and
                    # count the least of three polls (a straggler can only add requests)
                    time.sleep(1.0)
                    counted = []
                    for _ in range(3):
                        gh.reset_requests()
                        check_answer(srv.port, body, token, lambda s, _d: s == 200, "poll-304")
                        counted.append(list(gh.requests))
                    alone = min(counted, key=len)
                    polled = [r for r in alone if r.status == 304]
                    return {**_round_trip_floor(gh, polled), "requests_per_poll": len(alone)}

                yield srv, body, counters, floor

    return start


def _round_trip_floor(gh: Any, polled: list[Any]) -> dict[str, Any]:
    """:func:`bench.floor.round_trip` on the first URL the poll asked (answered 304), with the
    headers the sidecar sends, a token of the repository's installation and the URL's current ETag."""
    import urllib3

    from bench.floor import round_trip
    from pressplay.github._client import INSTALLATION_HEADERS

    if not polled:
        raise RuntimeError("the poll made no conditional request: nothing to measure a floor on")
    first = polled[0]
    url = gh.url + first.path + (f"?{urlencode(first.query)}" if first.query else "")
    headers = {**INSTALLATION_HEADERS, "Authorization": f"token {gh.installation_token(REPO.split('/')[0])}"}
    fresh = urllib3.request("GET", url, headers=headers, retries=False)
    etag = fresh.headers.get("ETag")
    if fresh.status != 200 or not etag:
        raise RuntimeError(f"GET {first.path} answered {fresh.status} without an ETag")
    measured = round_trip(url, {**headers, "If-None-Match": etag})
    if measured["statuses"] != [304]:
        raise RuntimeError(f"the floor's requests were answered {measured['statuses']}, not 304")
    return measured


__all__ = ["economy", "poll_304_server", "simulate_naive", "simulate_pressplay"]
