"""``dependencies``: wait until every dependency of a task is merged.

A dependency ``d`` is satisfied when a pull request labelled ``task-<d>`` is merged, or when the tasks
file says it is done (it was finished by hand). The step fails when a dependency's pull requests
were all closed without merging, or when the tasks file has no task ``d``.

Cheap by design: one conditional request per dependency (``GET /issues?labels=task-<d>``) and one for
the tasks file per poll, so an unchanged poll costs no rate limit; the requeue grows while nothing
changes and when the installation's budget runs low.

With ``fromTasksFile`` (press-play, which loops over task ids only: Argo writes each whole
``withParam`` item into every node name below it, ``generateNodeName``) the step reads the task itself
from the tasks file: its dependencies, its title and its branch and prompt path, and outputs them
(``titleB64``, ``branch``, ``promptPath``, ``dependsOn``) for the rest of the task's DAG. Values given
as arguments win (issue-triage and a task submitted by hand pass their own).

Deadline: ``timeout`` after ``since`` when given (e.g. ``{{workflow.creationTimestamp}}``); otherwise
``timeout`` after the *last progress*: the newest update of a dependency's pull request or the newest
commit on the base branch. A stalled dependency chain therefore fails, a moving one keeps waiting,
and a sidecar restart changes nothing.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from pydantic import Field, field_validator

from pressplay.github import RepoClient, read_text
from pressplay.steps.base import Failed, Outcome, StepContext, Succeeded, step
from pressplay.steps.shared.task_prs import PR_LABEL, TASKS_HINT, merged_at
from pressplay.steps.waiting import GiveUp, Wait, WaitArgs, keep_waiting
from pressplay.tasks import (
    DEFAULT_BRANCH,
    DEFAULT_PROMPT_PATH,
    DEFAULT_TASKS_PATH,
    TaskList,
    TasksFileError,
    check_repo_path,
    parse_id_list,
    parse_tasks,
    render,
    task_id,
)
from pressplay.types import Duration, OptionalGitRef, Repo, check_git_ref, parse_timestamp


class DependenciesArgs(WaitArgs):
    """Arguments of the ``dependencies`` step."""

    repo: Repo = Field(description="Repository as `owner/name`, e.g. `acme/api`.")
    task: str = Field(..., description="The waiting task's id, e.g. `{{inputs.parameters.task}}`.")
    depends_on: list[str] = Field(
        default_factory=list,
        description=(
            "Ids of the tasks it depends on: a list, a JSON list such as `{{item.waitFor}}` from the "
            'backlog step, or `"3, 5"`. Empty: nothing to wait for.'
        ),
    )
    base: OptionalGitRef = Field(
        None,
        description="Branch holding the tasks file. Default: the default branch.",
    )
    tasks_path: str | None = Field(
        DEFAULT_TASKS_PATH,
        description=(
            "tasks.json to check the ids against (and to accept tasks marked done by hand). "
            "Empty: skip the file; only merged pull requests count."
        ),
    )
    tag: str | None = Field(None, min_length=1, max_length=100, description="Tag of a tag-keyed tasks.json.")
    from_tasks_file: bool = Field(
        False,
        description=(
            "Read the task from `tasksPath`: its dependencies (when `dependsOn` is empty), title, branch and "
            "prompt path, output as `dependsOn`, `titleB64`, `branch`, `promptPath`. For a loop over task ids "
            "(`{{item}}`), which keeps Argo's node names short."
        ),
    )
    branch: str = Field("", description="The task's branch; empty = `pressplay/task-<id>`. Output as given.")
    title_b64: str = Field(
        "", description="The task's title, base64; empty = from the tasks file (`fromTasksFile`)."
    )
    prompt_path: str = Field(
        "",
        description="The task's prompt path; empty = `.taskmaster/docs/task-<id>/prompt.md` with `fromTasksFile`.",
    )
    timeout: Duration = Field(
        timedelta(hours=12),
        description="Give up this long after `since` (or after the last progress, see the page), e.g. `12h`.",
    )

    @field_validator("base", "tag", mode="before")
    @classmethod
    def _blank_is_default(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("task", mode="before")
    @classmethod
    def _task(cls, value: object) -> str:
        try:
            return task_id(value, "task")
        except TasksFileError as exc:
            raise ValueError(str(exc)) from exc

    @field_validator("depends_on", mode="before")
    @classmethod
    def _depends_on(cls, value: object) -> list[str]:
        return parse_id_list(value, "dependsOn")

    @field_validator("tasks_path")
    @classmethod
    def _tasks_path(cls, value: str | None) -> str | None:
        return check_repo_path(value, "tasksPath") if value else None

    @field_validator("prompt_path")
    @classmethod
    def _prompt_path(cls, value: str) -> str:
        return check_repo_path(value, "promptPath") if value else value

    @field_validator("branch")
    @classmethod
    def _branch(cls, value: str) -> str:
        if value:
            try:
                check_git_ref(value)
            except ValueError as exc:
                raise ValueError(f"{value!r} is not a branch name: {exc}") from exc
        return value


def dependency_state(items: list[Any]) -> tuple[str, dict[str, Any] | None]:
    """(merged | open | closed | none, the deciding pull request) from the ``task-<d>`` issue list."""
    prs = [i for i in items if isinstance(i, dict) and isinstance(i.get("pull_request"), dict)]
    merged = next((p for p in prs if merged_at(p)), None)
    if merged is not None:
        return "merged", merged
    open_pr = next((p for p in prs if p.get("state") == "open"), None)
    if open_pr is not None:
        return "open", open_pr
    if prs:
        return "closed", max(prs, key=lambda p: str(p.get("closed_at") or ""))
    return "none", None


@step(
    "dependencies",
    DependenciesArgs,
    permissions={"contents": "read", "issues": "read", "pull_requests": "read"},
    outputs=("merged", "count", "dependsOn", "titleB64", "branch", "promptPath"),
)
def dependencies(args: DependenciesArgs, ctx: StepContext) -> Outcome:
    """Wait until every dependency of a task is merged; fail if one was closed unmerged or does not exist."""
    gh = ctx.github.repo(args.repo) if args.from_tasks_file or args.depends_on else None
    task_info: dict[str, str] = {
        "branch": args.branch or render(DEFAULT_BRANCH, args.task),
        "titleB64": args.title_b64,
        "promptPath": args.prompt_path,
    }
    # The tasks file is read once per call (a conditional request: free while it is unchanged), for
    # the task itself (fromTasksFile) and for its dependencies' ids and states.
    changed = False
    task_list: TaskList | None = None
    if gh is not None and args.tasks_path:
        file = read_text(gh, args.tasks_path, args.base, hint=TASKS_HINT)
        changed = not file.not_modified
        try:
            task_list = parse_tasks(file.text, path=args.tasks_path, tag=args.tag)
        except TasksFileError as exc:
            return Failed(str(exc))
    depends_on = list(args.depends_on)
    if args.from_tasks_file:
        if task_list is None:
            return Failed("fromTasksFile needs `tasksPath`: name the tasks file the task is read from")
        found = task_list.by_id().get(args.task)
        if found is None:
            return Failed(
                f"{task_list.where} has no task {args.task}: it was removed after press-play read the "
                "backlog; press play again"
            )
        if not depends_on:
            depends_on = list(found.dependencies)
        if not task_info["titleB64"]:
            task_info["titleB64"] = base64.b64encode(found.title.encode("utf-8")).decode("ascii")
        if not task_info["promptPath"]:
            task_info["promptPath"] = render(DEFAULT_PROMPT_PATH, args.task)
    info = {**task_info, "dependsOn": json.dumps(depends_on)}
    if args.task in depends_on:
        return Failed(f"task {args.task} lists itself in dependsOn: remove it from its dependencies")
    if not depends_on:
        return Succeeded({"merged": [], "count": 0, **info}, summary=f"task {args.task} has no dependencies")
    assert gh is not None
    args = args.model_copy(update={"depends_on": depends_on})
    done_in_file: set[str] = set()
    if task_list is not None:
        known = task_list.by_id()
        missing = [d for d in args.depends_on if d not in known]
        if missing:
            return Failed(
                f"task {args.task} depends on {', '.join(missing)}, which {task_list.where} does not have: "
                "fix the task's dependencies (or `dependsOn`)"
            )
        skipped = [d for d in args.depends_on if known[d].skipped_in_file and d not in merged_ids(gh, d)]
        if skipped:
            marks = ", ".join(f"{d} ({known[d].status})" for d in skipped)
            return Failed(
                f"task {args.task} depends on {marks} in {task_list.where}: it will not be done in this run; "
                "set the dependency back to pending, or drop it from the task's dependencies"
            )
        done_in_file = {d for d in args.depends_on if known[d].done_in_file}

    merged: list[dict[str, Any]] = []
    waiting: list[str] = []
    closed: list[str] = []
    activity: list[datetime] = []
    for dep in args.depends_on:
        if dep in done_in_file:
            merged.append({"task": dep, "pr": None, "url": "", "how": "done in tasks file"})
            continue
        resp = gh.get("issues", {"labels": f"task-{dep}", "state": "all", "per_page": 100})
        changed = changed or not resp.not_modified
        items = resp.json if isinstance(resp.json, list) else []
        items = [i for i in items if PR_LABEL in _label_names(i)] or items
        state, pr = dependency_state(items)
        if pr is not None and (stamp := parse_timestamp(pr.get("updated_at"))):
            activity.append(stamp)
        link = f"#{pr['number']}" if pr else ""
        if state == "merged" and pr is not None:
            merged.append(
                {"task": dep, "pr": pr.get("number"), "url": pr.get("html_url", ""), "how": "merged"}
            )
        elif state == "closed" and pr is not None:
            closed.append(f"task {dep} (PR {link} {pr.get('html_url', '')}) was closed without merging")
        elif state == "open":
            waiting.append(f"task {dep} (PR {link} open)")
        else:
            waiting.append(f"task {dep} (no PR yet)")

    if closed:
        return Failed(
            f"task {args.task} cannot start: " + "; ".join(closed) + ". Reopen and merge it, or drop the "
            "dependency from tasks.json and press play again",
            outputs={"merged": merged, "count": len(merged)},
        )
    if not waiting:
        prs = ", ".join(f"{m['task']}" + (f" (#{m['pr']})" if m["pr"] else " (done in file)") for m in merged)
        return Succeeded(
            {"merged": merged, "count": len(merged), **info},
            summary=f"all {len(merged)} dependencies of task {args.task} are done: {prs}",
        )

    now = ctx.now()
    anchor = args.since
    if anchor is None:
        moved = _base_moved(gh, args.base)
        anchor = max([*activity, *([moved] if moved else [])], default=now)
    wait = Wait(anchor, args.timeout, now)
    pending = ", ".join(waiting)
    return keep_waiting(
        wait,
        ctx.settings,
        f"task {args.task} waits for {len(waiting)} of {len(args.depends_on)} dependencies: {pending}",
        give_up=lambda: GiveUp(
            wait.timed_out(f"task {args.task}'s dependencies: {pending}"),
            {"merged": merged, "count": len(merged)},
        ),
        changed=changed,
        budget=gh.budget(),
    )


def merged_ids(gh: RepoClient, dep: str) -> set[str]:
    """``{dep}`` when a pull request of ``dep`` is merged (a cancelled task may still have been merged)."""
    resp = gh.get("issues", {"labels": f"task-{dep}", "state": "all", "per_page": 100})
    items = resp.json if isinstance(resp.json, list) else []
    return {dep} if dependency_state(items)[0] == "merged" else set()


def _label_names(item: Any) -> set[str]:
    labels = item.get("labels") if isinstance(item, dict) else None
    return {str(lb.get("name") if isinstance(lb, dict) else lb) for lb in labels or []}


def _base_moved(gh: RepoClient, base: str | None) -> datetime | None:
    """When the base branch last moved (its head commit's committer date); None if it cannot be read."""
    if base is None:
        repo = gh.get("").json or {}
        base = str(repo.get("default_branch") or "main")
    branch = gh.get(f"branches/{quote(base, safe='')}", allow=(404,))
    if branch.status == 404 or not isinstance(branch.json, dict):
        return None
    commit = (branch.json.get("commit") or {}).get("commit") or {}
    return parse_timestamp((commit.get("committer") or {}).get("date"))
