"""press-play and task flows of the demo, step by step in the order of the WorkflowTemplates.

Agent steps run as the ``agent-step`` pod runs them (:class:`pressplay.demo.pod.AgentPod`): the real
``pressplay agent checkout``, ``run`` and ``push`` as three processes; checkout and push hold the App
key, the agent phase has no key in its environment and, where the machine allows, runs sandboxed so
the key file and the trusted start state are out of its reach. Plugin steps run in the real sidecar
over HTTP through the agent emulator. Each step prints one line: task, step, outcome, detail and a
link.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from pressplay.agent.options import AgentOptions
from pressplay.agent.runtime import StepResult
from pressplay.demo.pipeline import AGENT_OF, ON_FAILURE_STEP, TASK_STEPS
from pressplay.demo.pod import AgentPod
from pressplay.demo.sample import REPO
from pressplay.demo.world import ARGOCD_NAMESPACE, World, app_for
from pressplay.types import decode_b64_text

BASE = "main"
#: the sample's backlog file (press-play's tasksPath)
TASKS_PATH = ".taskmaster/tasks/tasks.json"
MERGE_METHOD = "squash"
CI_FIX_ATTEMPTS = 2
#: A wait that has not settled after this many calls is reported as stuck (the demo's waits settle in a few).
MAX_POLLS = 150
#: The debounce step waits real seconds (``quiet``); at the demo's speed-up that is many short polls.
DEBOUNCE_MAX_POLLS = 5000


class StepFailed(Exception):
    """A step of a task failed; the task stops (and reports on its PR). ``link``: where to read more
    (a gate report), printed whole after the first line of the message."""

    def __init__(self, message: str, link: str = "") -> None:
        super().__init__(message)
        self.link = link


@dataclass
class TaskReport:
    """One row of the final table."""

    id: str
    title: str
    pr: str = "-"
    pr_url: str = ""
    checks: str = "-"
    deploy: str = "-"
    acceptance: str = "-"
    merged: str = "-"
    outcome: str = "pending"
    message: str = ""
    commits: list[str] = field(default_factory=list)


@dataclass
class _TaskState:
    item: Mapping[str, Any]
    report: TaskReport
    number: int | None = None
    head_sha: str = ""
    verdict: str = ""
    #: a comment the current step posted on the PR (shown after the step's line)
    posted: str = ""

    @property
    def task_id(self) -> str:
        return str(self.item["id"])

    @property
    def branch(self) -> str:
        return str(self.item.get("branch") or f"pressplay/task-{self.task_id}")


class Demo:
    """Runs press-play for the sample repository against a :class:`World`."""

    def __init__(
        self,
        world: World,
        out: TextIO,
        *,
        faults: str = "",
        until: str | None = None,
        prompt_mod: str = "",
    ) -> None:
        if until is not None and until not in TASK_STEPS:
            raise ValueError(
                f"--until {until!r} is not a step of the task pipeline: use one of {', '.join(TASK_STEPS)}"
            )
        self.world = world
        self.out = out
        self.faults = faults
        self.until = until
        self.prompt_mod = prompt_mod
        self.reports: list[TaskReport] = []
        self.runs_dir = world.state_dir / "runs"
        self.log_path = world.state_dir / "agent.log"
        self.pod = AgentPod(key_env=world.agent_git_env(), hidden=world.agent_hidden_paths())

    # -- output ---------------------------------------------------------------------------------
    def line(self, task: str, step: str, outcome: str, detail: str = "", link: str = "") -> None:
        mark = {"ok": "✓", "skipped": "·", "failed": "✗", "waiting": "…", "existing": "="}.get(outcome, " ")
        text = f"  {task:<7} {step:<17} {mark} {detail}"
        if link:
            text += f"  {link}"
        self.out.write(text.rstrip() + "\n")
        self.out.flush()

    # -- step runners ----------------------------------------------------------------------------
    def plugin(
        self, key: str, args: Mapping[str, Any], outputs: list[str], *, max_polls: int = MAX_POLLS
    ) -> dict[str, str]:
        """Run a plugin step in the sidecar over HTTP to its end; raise :class:`StepFailed` on failure."""
        result = self.world.sidecar.run_step(
            key, dict(args), outputs=[*outputs, "summary"], max_polls=max_polls
        )
        if result.hung:
            last = next((r.message for r in reversed(result.replies) if r.message), "no message")
            raise StepFailed(f"{key} was still waiting after {max_polls} polls: {last}")
        if result.phase != "Succeeded":
            raise StepFailed(result.message or f"{key} ended {result.phase}")
        return dict(result.outputs)

    def agent(
        self,
        state: _TaskState,
        agent: str,
        *,
        step: str | None = None,
        context: str | None = None,
    ) -> StepResult:
        """One agent step as the pod runs it (checkout, agent, push); then mirror the remote (CI and deploy react)."""
        key = step or agent
        run_dir = self.runs_dir / f"task-{state.task_id}" / key
        run_dir.mkdir(parents=True, exist_ok=True)
        context_files: list[Path] = []
        if context is not None:
            ctx_file = run_dir / "context.md"
            ctx_file.write_text(context, encoding="utf-8")
            context_files.append(ctx_file)
        flags: dict[str, Any] = {
            "repo": REPO,
            "base": BASE,
            "branch": state.branch,
            "agent": agent,
            "task_id": state.task_id,
            "step": step,
            "prompt_path": state.item.get("promptPath") or None,
            "prompt_mod": self.prompt_mod,
            "context_files": context_files,
            "agents_dir": self.world.agents_dir,
            "workspace": self.world.state_dir / "work" / f"task-{state.task_id}",
            "outputs_dir": run_dir / "outputs",
            "state_dir": run_dir / "state",
            # over HTTP the URL comes from the settings, as in the pod; else the bare remote's path
            "remote_url": None if self.world.git_http is not None else self.world.remote_url,
        }
        options = AgentOptions.from_sources(flags, environ={})
        env = {**os.environ, "PRESSPLAY_DEMO_FAULTS": self.faults}
        with self.log_path.open("a", encoding="utf-8") as sink:
            sink.write(f"\n===== task {state.task_id} {key} ({agent}) =====\n")
            sink.flush()
            result = self.pod.run(options, log=sink, environ=env)
        self.world.sync()
        if result.status == "committed":
            state.report.commits.append(result.commit)
        return result

    # -- press-play --------------------------------------------------------------------------------
    def press_play(self) -> list[TaskReport]:
        started = time.monotonic()
        self.out.write(f"press-play {REPO} (base {BASE})\n")
        backlog = self.plugin("backlog", {"repo": REPO, "base": BASE}, ["tasks", "counts"])
        tasks: list[dict[str, Any]] = json.loads(backlog["tasks"] or "[]")
        self.line("-", "backlog", "ok", backlog.get("summary", ""))
        if not tasks:
            self.out.write(
                "Nothing to do: every task of the backlog is merged. (This run changed nothing.)\n"
            )
            return []
        failed: set[str] = set()
        for item in tasks:
            state = _TaskState(item=item, report=TaskReport(id=str(item["id"]), title=_title(item)))
            self.reports.append(state.report)
            blockers = sorted({str(d) for d in _deps(item)} & failed)
            if blockers:
                state.report.outcome = "blocked"
                state.report.message = f"depends on unmerged task(s) {', '.join(blockers)}"
                self.line(f"task {state.task_id}", "dependencies", "skipped", state.report.message)
                failed.add(state.task_id)
                continue
            self.run_task(state)
            if state.report.outcome != "merged":
                failed.add(state.task_id)
        self.out.write(f"finished in {time.monotonic() - started:.1f}s\n")
        return self.reports

    # -- the task pipeline ---------------------------------------------------------------------------
    def run_task(self, state: _TaskState) -> None:
        tag = f"task {state.task_id}"
        for step in TASK_STEPS:
            if step == self.until:
                state.report.outcome = f"stopped before {step}"
                self.line(tag, step, "skipped", "stopped here (--until)")
                return
            try:
                outcome, detail, link = getattr(self, "step_" + step.replace("-", "_"))(state)
            except StepFailed as exc:
                state.report.outcome = f"failed at {step}"
                state.report.message = str(exc)
                self.line(tag, step, "failed", _first_line(str(exc)), exc.link)
                if state.number is not None:
                    self.report_stopped(state, step, str(exc))
                return
            self.line(tag, step, outcome, detail, link)
            if state.posted:  # a comment this step posted on the PR: show its first lines
                self.quote(state.posted)
                state.posted = ""

    def _agent_step(self, state: _TaskState, step: str) -> tuple[str, str, str]:
        result = self.agent(state, AGENT_OF[step])
        if not result.ok:
            report = self.runs_dir / f"task-{state.task_id}" / AGENT_OF[step] / "outputs" / "report.md"
            raise StepFailed(
                f"{result.status}: {_first_line(result.summary)}\nreport: {report}", link=str(report)
            )
        outcome = "existing" if result.status == "existing" else "ok"
        retried = f" (attempt {result.attempts}: the gates failed before)" if result.attempts > 1 else ""
        return outcome, f"{result.status}: {_first_line(result.summary)}{retried}", ""

    def step_dependencies(self, state: _TaskState) -> tuple[str, str, str]:
        # As press-play: the task id alone, and the step reads the task from the tasks file
        # (fromTasksFile); its outputs are what the rest of the task's DAG uses.
        out = self.plugin(
            "dependencies",
            {
                "repo": REPO,
                "task": state.task_id,
                "dependsOn": "[]",
                "fromTasksFile": "true",
                "branch": "",
                "titleB64": "",
                "promptPath": "",
                "base": BASE,
                "tasksPath": TASKS_PATH,
                "timeout": "2m",
            },
            ["merged", "branch", "titleB64", "promptPath", "dependsOn"],
        )
        if "branch" in out:
            state.item = {
                **state.item,
                "branch": out["branch"],
                "titleB64": out["titleB64"],
                "promptPath": out["promptPath"],
                "dependencies": json.loads(out["dependsOn"] or "[]"),
            }
        return "ok", out.get("summary", ""), ""

    def step_author(self, state: _TaskState) -> tuple[str, str, str]:
        return self._agent_step(state, "author")

    def step_lint(self, state: _TaskState) -> tuple[str, str, str]:
        return self._agent_step(state, "lint")

    def step_tests(self, state: _TaskState) -> tuple[str, str, str]:
        return self._agent_step(state, "tests")

    def step_open_pr(self, state: _TaskState) -> tuple[str, str, str]:
        out = self.plugin(
            "pullRequest",
            {
                "repo": REPO,
                "head": state.branch,
                "base": BASE,
                # As task.yaml's open-pr: the backlog's titleB64 goes in as a {b64: ...} part.
                "title": [f"Task {state.task_id}: ", {"b64": str(state.item.get("titleB64", ""))}],
                "body": f"Task {state.task_id} of the backlog, carried by pressplay.",
                "labels": ["pressplay", f"task-{state.task_id}"],
                "draft": False,
            },
            ["number", "url", "headSha", "created"],
        )
        state.number = int(out["number"])
        state.report.pr = f"#{state.number}"
        state.report.pr_url = out.get("url", "")
        verb = "opened" if out.get("created") == "true" else "found"
        return "ok", f"{verb} PR #{state.number}", state.report.pr_url

    def _checks(self, state: _TaskState, on_failure: str) -> dict[str, str]:
        return self.plugin(
            "checks",
            # as task.yaml's `checks`: the PR branch's head (a CI fix is followed), not the PR number
            {"repo": REPO, "ref": state.branch, "timeout": "5m", "onFailure": on_failure},
            ["state", "failing", "checks", "sha"],
        )

    def step_ci(self, state: _TaskState) -> tuple[str, str, str]:
        for attempt in range(1, CI_FIX_ATTEMPTS + 2):
            out = self._checks(state, "continue")
            if out.get("state") == "success":
                state.report.checks = "passed" if attempt == 1 else f"passed after {attempt - 1} fix(es)"
                return "ok", out.get("summary", ""), ""
            if attempt > CI_FIX_ATTEMPTS:
                break
            failing = out.get("failing", "[]")
            self.line(
                f"task {state.task_id}", "ci", "waiting", _first_line(out.get("summary", "checks failed"))
            )
            result = self.agent(
                state, "ci-remediator", step=f"ci-fix-{attempt}", context=_failing_text(failing)
            )
            if not result.ok:
                raise StepFailed(f"ci-remediator: {result.summary}")
            self.line(
                f"task {state.task_id}",
                f"ci-fix-{attempt}",
                "ok",
                f"{result.status}: {_first_line(result.summary)}",
            )
        state.report.checks = "failed"
        try:
            self._checks(state, "fail")  # the last word: fails with the failing checks named
        except StepFailed as exc:
            details = _failing_text(out.get("failing", "[]"))
            raise StepFailed(
                f"{exc}\n\nThe ci-remediator could not fix this in {CI_FIX_ATTEMPTS} attempt(s).\n\n{details}"
            ) from exc
        raise StepFailed(out.get("summary", "checks failed"))

    def step_ready(self, state: _TaskState) -> tuple[str, str, str]:
        out = self.plugin(
            "checks", {"repo": REPO, "number": state.number, "timeout": "30m"}, ["sha", "state"]
        )
        state.head_sha = out.get("sha", "")
        return "ok", f"head {state.head_sha[:12]} is green", ""

    def step_deploy_agent(self, state: _TaskState) -> tuple[str, str, str]:
        return "skipped", "deployAgent is false", ""

    def step_deploy(self, state: _TaskState) -> tuple[str, str, str]:
        return "skipped", "no deployWorkflow configured", ""

    def step_argocd(self, state: _TaskState) -> tuple[str, str, str]:
        out = self.plugin(
            "argocd",
            {
                "app": app_for(state.branch),
                "namespace": ARGOCD_NAMESPACE,
                "revision": state.head_sha,
                "sync": False,
                "timeout": "5m",
            },
            ["health", "syncStatus", "url"],
        )
        state.report.deploy = f"{out.get('syncStatus', '?')}/{out.get('health', '?')}"
        summary, url = out.get("summary", ""), out.get("url", "")
        return "ok", summary, "" if url and url in summary else url  # the summary may end with the link

    def step_acceptance_agent(self, state: _TaskState) -> tuple[str, str, str]:
        result = self.agent(state, "acceptance")
        if not result.ok:
            raise StepFailed(f"{result.status}: {result.summary}")
        verdict_file = self.runs_dir / f"task-{state.task_id}" / "acceptance" / "outputs" / "verdict.json"
        state.verdict = verdict_file.read_text(encoding="utf-8") if verdict_file.exists() else ""
        return "ok", "verdict written" if state.verdict else "no verdict", ""

    def step_acceptance(self, state: _TaskState) -> tuple[str, str, str]:
        try:
            out = self.plugin(
                "acceptance",
                {
                    "repo": REPO,
                    "number": state.number,
                    "specPath": f".taskmaster/docs/task-{state.task_id}/acceptance.yaml",
                    "verdict": state.verdict,
                    "timeout": "5m",
                },
                ["passed", "verdict"],
            )
        except StepFailed:
            state.report.acceptance = "not met"
            raise
        state.report.acceptance = "met" if out.get("passed", "true") == "true" else "not met"
        return "ok", out.get("summary", ""), ""

    def step_acceptance_default(self, state: _TaskState) -> tuple[str, str, str]:
        return "skipped", "acceptancePath is set (the task's acceptance.yaml)", ""

    def step_merge(self, state: _TaskState) -> tuple[str, str, str]:
        out = self.plugin(
            "merge",
            # as task.yaml's merge: only the head that passed the gates (ready's sha) is merged
            {
                "repo": REPO,
                "number": state.number,
                "method": MERGE_METHOD,
                "sha": state.head_sha,
                "timeout": "5m",
            },
            ["sha"],
        )
        assert state.number is not None
        main = self.world.mirror_merge(
            state.number, state.branch, f"Task {state.task_id}: {_title(state.item)}"
        )
        state.report.merged = main[:12]
        state.report.outcome = "merged"
        return "ok", f"{out.get('summary', 'merged')}; main is now {main[:12]}", state.report.pr_url

    def step_report_merged(self, state: _TaskState) -> tuple[str, str, str]:
        body = (
            f"**pressplay finished task {state.task_id}**: checks {state.report.checks}, deploy "
            f"{state.report.deploy}, acceptance {state.report.acceptance}, merged as {state.report.merged}."
        )
        out = self.plugin(
            "comment",
            {"repo": REPO, "number": state.number, "key": f"task-{state.task_id}/report", "body": body},
            ["url"],
        )
        state.posted = body
        return "ok", "report comment on the PR", out.get("url", "")

    def quote(self, text: str, lines: int = 4) -> None:
        """The first ``lines`` lines of a comment posted on the PR, indented under its line."""
        shown = [line for line in text.strip().splitlines() if line.strip()]
        for line in shown[:lines]:
            self.out.write(f"            > {line[:200]}\n")
        if len(shown) > lines:
            self.out.write(f"            > ... ({len(shown) - lines} more line(s) on the PR)\n")
        self.out.flush()

    def report_stopped(self, state: _TaskState, step: str, message: str) -> None:
        body = (
            f"**pressplay stopped task {state.task_id}** at `{step}`:\n\n{message}\n\n"
            "Fix the cause and press play again: finished steps are not redone."
        )
        try:
            out = self.plugin(
                "comment",
                {"repo": REPO, "number": state.number, "key": f"task-{state.task_id}/report", "body": body},
                ["url"],
            )
        except StepFailed as exc:
            self.line(f"task {state.task_id}", ON_FAILURE_STEP, "failed", _first_line(str(exc)))
            return
        self.line(
            f"task {state.task_id}", ON_FAILURE_STEP, "ok", "report comment on the PR", out.get("url", "")
        )
        self.quote(body)

    # -- pr-remediation --------------------------------------------------------------------------------
    def remediate(self, task_id: str, number: int, comment_id: int, body: str) -> StepResult | None:
        """The pr-remediation flow for one trusted comment, as its WorkflowTemplate runs it:
        debounce (only the newest feedback goes on) → remediator agent → sticky reply on the PR.

        Returns the remediator's result, or None when a newer comment superseded this one.
        """
        tag = f"task {task_id}"
        comment = next(c for c in self.world.github.comments(REPO, number) if int(c["id"]) == comment_id)
        debounce = self.plugin(
            "debounce",
            {
                "repo": REPO,
                "number": number,
                "kind": "comment",
                "eventTime": comment["created_at"],
                "eventId": comment_id,
                "quiet": "1s",
            },
            ["proceed"],
            max_polls=DEBOUNCE_MAX_POLLS,
        )
        self.line(tag, "debounce", "ok", debounce.get("summary", ""))
        if debounce.get("proceed") != "true":
            return None
        state = _TaskState(item={"id": task_id}, report=TaskReport(id=task_id, title=""), number=number)
        result = self.agent(state, "remediator", step=f"remediation-c{comment_id}", context=body)
        self.line(tag, "remediator", "ok" if result.ok else "failed", _first_line(result.summary))
        reply = (
            f"**pressplay addressed the feedback** ({comment.get('html_url', '')}): {result.summary}\n"
            f"Commit: {result.commit}"
            if result.ok
            else f"**pressplay could not address the feedback** ({comment.get('html_url', '')}):\n\n{result.summary}"
        )
        out = self.plugin(
            "comment", {"repo": REPO, "number": number, "key": "remediation", "body": reply}, ["url"]
        )
        self.line(tag, "reply", "ok", "sticky reply on the PR", out.get("url", ""))
        return result


def _deps(item: Mapping[str, Any]) -> list[Any]:
    deps = item.get("dependencies") or []
    if isinstance(deps, str):
        deps = json.loads(deps or "[]")
    return list(deps)


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0][:160]


def _failing_text(failing: str) -> str:
    try:
        items = json.loads(failing or "[]")
    except ValueError:
        return failing
    lines = ["Failing checks:"]
    for item in items if isinstance(items, list) else []:
        lines.append(
            f"\n### {item.get('name')} ({item.get('conclusion')})\n{item.get('url', '')}\n\n{item.get('summary') or ''}"
        )
    return "\n".join(lines)


def render_table(reports: list[TaskReport]) -> str:
    """The final table: task, PR, checks, deploy, acceptance, merged."""
    header = ("task", "title", "PR", "checks", "deploy", "acceptance", "merged", "outcome")
    rows = [header] + [
        (r.id, r.title, r.pr, r.checks, r.deploy, r.acceptance, r.merged, r.outcome) for r in reports
    ]
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(header))]
    lines = ["  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _title(item: Mapping[str, Any]) -> str:
    """A backlog item's title (the backlog step hands it on base64: ``titleB64``)."""
    return decode_b64_text(str(item.get("titleB64", "")), "`titleB64`")
