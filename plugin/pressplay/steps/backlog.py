"""``backlog``: read the task list from the repository and output the tasks that are not done yet.

The file is Taskmaster's ``tasks.json`` (plain or tag-keyed layout), read at ``base`` through the
contents API. Each task is classified from GitHub, the source of truth:

- **done**: a pull request labelled ``task-<id>`` (and ``pressplay``) is merged, or the file says
  ``done``;
- **inProgress**: such a pull request is open;
- **todo**: neither;
- **skipped**: the file says ``cancelled`` or ``deferred`` (left out of the run);
- **blocked**: not done and depends, directly or not, on a skipped task (left out: it could never start).

The not-done tasks (inProgress and todo, dependencies first) are the ``tasks`` output, a JSON list
for ``withParam``. Unknown dependency ids and dependency cycles fail the step, naming each one.
"""

from __future__ import annotations

import base64
from typing import Any

from pydantic import Field, field_validator

from pressplay.github import read_text
from pressplay.steps.base import Failed, Outcome, StepArgs, StepContext, Succeeded, step
from pressplay.steps.shared.task_prs import PR_LABEL, TASKS_HINT, merged_at, task_prs
from pressplay.tasks import (
    DEFAULT_BRANCH,
    DEFAULT_PROMPT_PATH,
    DEFAULT_TASKS_PATH,
    Task,
    TaskList,
    TasksFileError,
    check_graph,
    check_repo_path,
    counts,
    dependency_order,
    parse_tasks,
    render,
)
from pressplay.types import OptionalGitRef, Repo, check_git_ref


class BacklogArgs(StepArgs):
    """Arguments of the ``backlog`` step."""

    repo: Repo = Field(description="Repository as `owner/name`, e.g. `acme/api`.")
    base: OptionalGitRef = Field(
        None,
        description="Branch (or SHA) to read the task list from. Default: the repository's default branch.",
    )
    tasks_path: str = Field(
        DEFAULT_TASKS_PATH, description="Path of Taskmaster's tasks.json in the repository."
    )
    tag: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="Tag of a tag-keyed tasks.json. Default: `master` (or the only tag).",
    )
    prompt_path: str = Field(
        DEFAULT_PROMPT_PATH,
        description="Where each task's prompt lives; `{id}` is replaced by the task id.",
    )
    branch: str = Field(
        DEFAULT_BRANCH, description="Each task's branch name; `{id}` is replaced by the task id."
    )

    @field_validator("base", "tag", mode="before")
    @classmethod
    def _blank_is_default(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("tasks_path", mode="before")
    @classmethod
    def _blank_path(cls, value: object) -> object:
        return DEFAULT_TASKS_PATH if isinstance(value, str) and not value.strip() else value

    @field_validator("tasks_path")
    @classmethod
    def _tasks_path(cls, value: str) -> str:
        return check_repo_path(value, "tasksPath")

    @field_validator("prompt_path")
    @classmethod
    def _prompt_path(cls, value: str) -> str:
        check_repo_path(value.replace("{id}", "1"), "promptPath")
        if "{id}" not in value:
            raise ValueError("promptPath must contain `{id}`, e.g. '.taskmaster/docs/task-{id}/prompt.md'")
        return value

    @field_validator("branch")
    @classmethod
    def _branch(cls, value: str) -> str:
        if "{id}" not in value:
            raise ValueError("branch must contain `{id}`, e.g. 'pressplay/task-{id}'")
        try:
            check_git_ref(value.replace("{id}", "1"))
        except ValueError as exc:
            raise ValueError(f"{value!r} would not be a valid git branch name: {exc}") from exc
        return value.strip()


def classify(
    task_list: TaskList, prs: dict[str, list[dict[str, Any]]]
) -> dict[str, tuple[str, dict[str, Any] | None]]:
    """task id → (classification, the pull request that decided it, if any)."""
    out: dict[str, tuple[str, dict[str, Any] | None]] = {}
    for task in task_list.tasks:
        items = prs.get(task.id, [])
        merged = next((i for i in items if merged_at(i)), None)
        open_pr = next((i for i in items if i.get("state") == "open"), None)
        if merged is not None:
            out[task.id] = ("done", merged)
        elif task.done_in_file:
            out[task.id] = ("done", None)
        elif task.skipped_in_file:
            out[task.id] = ("skipped", None)
        elif open_pr is not None:
            out[task.id] = ("inProgress", open_pr)
        else:
            out[task.id] = ("todo", None)
    # blocked: not done, and depends (transitively, through tasks not done) on a skipped task.
    # Dependencies come first in this order, so one pass sees every dependency's final class.
    for task in dependency_order(task_list.tasks):
        state, pr = out[task.id]
        if state in ("inProgress", "todo") and any(
            dep in out and out[dep][0] in ("skipped", "blocked") for dep in task.dependencies
        ):
            out[task.id] = ("blocked", pr)
    return out


def _item(
    task: Task, state: str, pr: dict[str, Any] | None, states: dict[str, str], args: BacklogArgs
) -> dict[str, Any]:
    return {
        "id": task.id,
        # Base64, never in clear: Argo formats each withParam item into node names and templates it
        # again (processItem / expandTask), so quotes, non-ASCII or `{{` in a title would be mangled
        # or break the fan-out of every task. The task pipeline decodes it ({b64: ...}).
        "titleB64": base64.b64encode(task.title.encode("utf-8")).decode("ascii"),
        "status": state,
        "branch": render(args.branch, task.id),
        "dependencies": list(task.dependencies),
        "waitFor": [d for d in task.dependencies if states.get(d) != "done"],
        "promptPath": render(args.prompt_path, task.id),
        "priority": task.priority,
        "pr": int(pr["number"]) if pr and pr.get("number") else None,
        "prUrl": str(pr.get("html_url") or "") if pr else "",
    }


@step(
    "backlog",
    BacklogArgs,
    permissions={"contents": "read", "issues": "read", "pull_requests": "read"},
    outputs=(
        "tasks",
        "count",
        "ids",
        "done",
        "inProgress",
        "todo",
        "skipped",
        "blocked",
        "counts",
        "tag",
        "url",
    ),
)
def backlog(args: BacklogArgs, ctx: StepContext) -> Outcome:
    """Read tasks.json at the base branch and output the tasks that are not done (JSON for withParam)."""
    gh = ctx.github.repo(args.repo)
    file = read_text(gh, args.tasks_path, args.base, hint=TASKS_HINT)
    try:
        task_list = parse_tasks(file.text, path=args.tasks_path, tag=args.tag)
        check_graph(task_list)
    except TasksFileError as exc:
        return Failed(str(exc))
    issues = gh.get_all("issues", {"labels": PR_LABEL, "state": "all"})
    decided = classify(task_list, task_prs(list(issues)))
    states = {tid: state for tid, (state, _) in decided.items()}
    ordered = dependency_order(task_list.tasks)
    items = [
        _item(task, decided[task.id][0], decided[task.id][1], states, args)
        for task in ordered
        if decided[task.id][0] in ("inProgress", "todo")
    ]
    tally = counts(states)
    blocked = [tid for tid, state in states.items() if state == "blocked"]
    where = f"{args.repo}:{task_list.where}" + (f"@{args.base}" if args.base else "")
    summary = (
        f"{len(items)} task(s) to run from {where}: {tally['todo']} to do, {tally['inProgress']} in progress, "
        f"{tally['done']} done, {tally['skipped']} skipped"
    )
    if blocked:
        summary += f", {len(blocked)} blocked by skipped tasks ({', '.join(blocked[:10])})"
    return Succeeded(
        {
            "tasks": items,
            "count": len(items),
            "ids": [item["id"] for item in items],
            "done": tally["done"],
            "inProgress": tally["inProgress"],
            "todo": tally["todo"],
            "skipped": tally["skipped"],
            "blocked": tally["blocked"],
            "counts": tally,
            "tag": task_list.tag or "",
            "url": file.html_url,
        },
        summary=summary,
    )
