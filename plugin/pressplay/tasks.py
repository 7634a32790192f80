"""Taskmaster's ``tasks.json``: parsing (plain and tag-keyed layouts) and dependency-graph checks.

Two layouts exist in the wild:

- plain (Taskmaster before tags): ``{"tasks": [...], "metadata": {...}}``;
- tag-keyed (Taskmaster with tags): ``{"master": {"tasks": [...], "metadata": {...}}, "<tag>": {...}}``.

A task is ``{"id": 7, "title": ..., "status": "pending", "dependencies": [3, 5], ...}``; ids may be
numbers or strings and are handled as strings here (``"7"``), because they end up in branch names
(``pressplay/task-7``) and labels (``task-7``). Subtasks belong to their task's agent run and are not
scheduled on their own.

Parsing works on plain data, so the ``backlog`` and ``dependencies`` steps and their tests share it;
:func:`pressplay.github.read_text` reads the file through the contents API. This module imports
nothing from pressplay: it is plain parsing.
"""

from __future__ import annotations

import heapq
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: The file Taskmaster writes, relative to the repository root.
DEFAULT_TASKS_PATH = ".taskmaster/tasks/tasks.json"
#: Where a task's prompt lives; ``{id}`` is replaced by the task id.
DEFAULT_PROMPT_PATH = ".taskmaster/docs/task-{id}/prompt.md"
#: The task's branch; ``{id}`` is replaced by the task id.
DEFAULT_BRANCH = "pressplay/task-{id}"
DEFAULT_TAG = "master"

#: Taskmaster statuses that mean the work is finished.
DONE_STATUSES = frozenset({"done", "completed"})
#: Statuses that take a task out of the run without finishing it.
SKIPPED_STATUSES = frozenset({"cancelled", "canceled", "deferred"})

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,40}$")


class TasksFileError(ValueError):
    """The tasks file cannot be used; the message names the file, the place and the fix."""


@dataclass(frozen=True)
class Task:
    id: str
    title: str
    status: str
    dependencies: tuple[str, ...]
    priority: str = ""
    description: str = ""

    @property
    def done_in_file(self) -> bool:
        return self.status in DONE_STATUSES

    @property
    def skipped_in_file(self) -> bool:
        return self.status in SKIPPED_STATUSES


@dataclass(frozen=True)
class TaskList:
    path: str
    layout: str  # "plain" | "tagged"
    tag: str | None
    tasks: tuple[Task, ...]

    def by_id(self) -> dict[str, Task]:
        return {task.id: task for task in self.tasks}

    @property
    def where(self) -> str:
        return f"{self.path} (tag {self.tag})" if self.tag else self.path


def task_id(value: object, where: str) -> str:
    """A task id as a string; raises :class:`TasksFileError` for anything that cannot be one."""
    if isinstance(value, bool) or value is None:
        raise TasksFileError(f"{where}: a task id must be a number or a string, got {json.dumps(value)}")
    if isinstance(value, float):
        if not value.is_integer():
            raise TasksFileError(f"{where}: task id {value} is not a whole number")
        value = int(value)
    text = str(value).strip()
    if not _ID_RE.match(text):
        raise TasksFileError(
            f"{where}: task id {text!r} cannot be used in a branch or label name "
            "(letters, digits, '.', '_' and '-' only, at most 41 characters)"
        )
    return text


def parse_tasks(text: str | bytes, *, path: str = DEFAULT_TASKS_PATH, tag: str | None = None) -> TaskList:
    """Parse a ``tasks.json`` text; ``tag`` picks the tag of a tag-keyed file (default ``master``)."""
    try:
        data = json.loads(text)
    except UnicodeDecodeError as exc:
        raise TasksFileError(f"{path} is not UTF-8 text") from exc
    except json.JSONDecodeError as exc:
        raise TasksFileError(
            f"{path} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}; "
            "fix the file (e.g. `task-master validate-dependencies` rewrites it)"
        ) from exc
    return tasks_from_data(data, path=path, tag=tag)


def tasks_from_data(data: Any, *, path: str = DEFAULT_TASKS_PATH, tag: str | None = None) -> TaskList:
    if not isinstance(data, dict):
        raise TasksFileError(
            f'{path} must hold a JSON object ({{"tasks": [...]}} or {{"master": {{"tasks": [...]}}}}), '
            f"got {type(data).__name__}"
        )
    if "tasks" in data:
        if tag not in (None, DEFAULT_TAG):
            raise TasksFileError(
                f"{path} has no tags (it holds one plain task list), but tag {tag!r} was asked for: "
                "remove `tag` or use a tag-keyed file"
            )
        raw_tasks = data["tasks"]
        layout, chosen = "plain", None
    else:
        tags = sorted(k for k, v in data.items() if isinstance(v, dict) and "tasks" in v)
        if not tags:
            raise TasksFileError(
                f'{path} has neither a top-level "tasks" list nor any tag holding one '
                f"(top-level keys: {', '.join(sorted(map(str, data))) or 'none'}); is this a Taskmaster tasks.json?"
            )
        if tag is None:
            if DEFAULT_TAG in tags:
                chosen = DEFAULT_TAG
            elif len(tags) == 1:
                chosen = tags[0]
            else:
                raise TasksFileError(
                    f"{path} has several tags ({', '.join(tags)}) and no `master`: set `tag`"
                )
        elif tag in tags:
            chosen = tag
        else:
            raise TasksFileError(f"{path} has no tag {tag!r}; its tags are {', '.join(tags)}")
        raw_tasks = data[chosen]["tasks"]
        layout = "tagged"
    where = f"{path} (tag {chosen})" if chosen else path
    if not isinstance(raw_tasks, list):
        raise TasksFileError(f'{where}: "tasks" must be a list, got {type(raw_tasks).__name__}')
    tasks = [_task(raw, f"{where}: tasks[{i}]") for i, raw in enumerate(raw_tasks)]
    seen: dict[str, int] = {}
    for i, task in enumerate(tasks):
        if task.id in seen:
            raise TasksFileError(
                f"{where}: task id {task.id} appears twice (tasks[{seen[task.id]}] and tasks[{i}])"
            )
        seen[task.id] = i
    return TaskList(path=path, layout=layout, tag=chosen, tasks=tuple(tasks))


def _task(raw: Any, where: str) -> Task:
    if not isinstance(raw, dict):
        raise TasksFileError(f"{where} must be an object with id, title and status, got {type(raw).__name__}")
    if "id" not in raw:
        raise TasksFileError(f'{where} has no "id"')
    tid = task_id(raw["id"], f"{where}.id")
    title = raw.get("title", "")
    if not isinstance(title, str) or not title.strip():
        raise TasksFileError(f'{where} (task {tid}) has no "title" string')
    status = raw.get("status", "pending")
    if not isinstance(status, str):
        raise TasksFileError(f'{where} (task {tid}): "status" must be a string such as "pending" or "done"')
    deps_raw = raw.get("dependencies", [])
    if deps_raw is None:
        deps_raw = []
    if not isinstance(deps_raw, list):
        raise TasksFileError(f'{where} (task {tid}): "dependencies" must be a list of task ids')
    deps: list[str] = []
    for j, dep in enumerate(deps_raw):
        dep_id = task_id(dep, f"{where}.dependencies[{j}] (task {tid})")
        if dep_id not in deps:
            deps.append(dep_id)
    priority = raw.get("priority", "")
    description = raw.get("description", "")
    return Task(
        id=tid,
        title=" ".join(title.split()),
        status=status.strip().lower(),
        dependencies=tuple(deps),
        priority=priority if isinstance(priority, str) else "",
        description=description if isinstance(description, str) else "",
    )


def unknown_dependencies(tasks: Iterable[Task]) -> dict[str, list[str]]:
    """task id → the dependency ids that name no task in the list."""
    tasks = list(tasks)
    known = {task.id for task in tasks}
    return {t.id: missing for t in tasks if (missing := [d for d in t.dependencies if d not in known])}


def find_cycles(tasks: Iterable[Task]) -> list[list[str]]:
    """Every dependency cycle (each as ``[a, b, ..., a]``), found by depth-first search; self-loops too."""
    graph = {task.id: task.dependencies for task in tasks}
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(graph, white)
    cycles: list[list[str]] = []
    seen_sets: set[frozenset[str]] = set()

    for root in graph:
        if colour[root] != white:
            continue
        # iterative DFS: (node, iterator over its deps); ``path`` mirrors the stack
        stack: list[tuple[str, Iterator[str]]] = [(root, iter(graph[root]))]
        path = [root]
        colour[root] = grey
        while stack:
            node, deps = stack[-1]
            nxt = next(deps, None)
            if nxt is None:
                stack.pop()
                path.pop()
                colour[node] = black
                continue
            if nxt not in graph:
                continue
            if colour[nxt] == grey:
                cycle = [*path[path.index(nxt) :], nxt]
                key = frozenset(cycle)
                if key not in seen_sets:
                    seen_sets.add(key)
                    cycles.append(cycle)
            elif colour[nxt] == white:
                colour[nxt] = grey
                stack.append((nxt, iter(graph[nxt])))
                path.append(nxt)
    return cycles


def check_graph(task_list: TaskList) -> None:
    """Raise :class:`TasksFileError` naming every unknown dependency and every cycle."""
    problems: list[str] = []
    for tid, missing in unknown_dependencies(task_list.tasks).items():
        names = ", ".join(missing)
        problems.append(
            f"task {tid} depends on {names}, which {'is' if len(missing) == 1 else 'are'} not in the file"
        )
    for cycle in find_cycles(task_list.tasks):
        problems.append("dependency cycle: " + " → ".join(cycle))
    if problems:
        raise TasksFileError(
            f"{task_list.where}: the dependency graph is broken:\n- "
            + "\n- ".join(problems)
            + '\nFix the "dependencies" lists (every id must name a task; no task may depend on itself '
            "through others)."
        )


def dependency_order(tasks: Sequence[Task]) -> list[Task]:
    """Tasks with every dependency before its dependants, otherwise in file order.

    Kahn's algorithm with the file position as priority (iterative: no recursion limit on long chains).
    Tasks on a cycle, if any, come last in file order; :func:`check_graph` rejects cycles first.
    """
    position = {task.id: i for i, task in enumerate(tasks)}
    waiting_on = {task.id: {d for d in task.dependencies if d in position and d != task.id} for task in tasks}
    dependants: dict[str, list[str]] = {task.id: [] for task in tasks}
    for tid, deps in waiting_on.items():
        for dep in deps:
            dependants[dep].append(tid)
    ready = [position[tid] for tid, deps in waiting_on.items() if not deps]
    heapq.heapify(ready)
    out: list[Task] = []
    while ready:
        task = tasks[heapq.heappop(ready)]
        out.append(task)
        for nxt in dependants[task.id]:
            waiting_on[nxt].discard(task.id)
            if not waiting_on[nxt]:
                heapq.heappush(ready, position[nxt])
    placed = {task.id for task in out}
    out.extend(task for task in tasks if task.id not in placed)
    return out


def render(template: str, tid: str) -> str:
    """``template`` with ``{id}`` replaced by the task id (the only placeholder)."""
    return template.replace("{id}", tid)


def parse_id_list(value: object, what: str = "dependsOn") -> list[str]:
    """Task ids given as a list, a JSON list string (``{{item.dependencies}}``) or ``"1, 2 3"``."""
    items: Any = value
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        if text.startswith(("[", "{")):
            try:
                items = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{what} looks like a JSON list but is not valid JSON: {exc.msg}") from exc
        else:
            items = [part for part in re.split(r"[\s,]+", text) if part]
    elif isinstance(value, int | float) and not isinstance(value, bool):
        items = [value]
    if not isinstance(items, list):
        raise ValueError(f'{what} must be a list of task ids, e.g. [3, 5] or "3,5"')
    out: list[str] = []
    for i, item in enumerate(items):
        try:
            tid = task_id(item, f"{what}[{i}]")
        except TasksFileError as exc:
            raise ValueError(str(exc)) from exc
        if tid not in out:
            out.append(tid)
    return out


def counts(statuses: Mapping[str, str]) -> dict[str, int]:
    """Number of tasks per classification (``done``, ``inProgress``, ``todo``, ``skipped``, ``blocked``)."""
    out = {"done": 0, "inProgress": 0, "todo": 0, "skipped": 0, "blocked": 0}
    for state in statuses.values():
        out[state] = out.get(state, 0) + 1
    out["total"] = len(statuses)
    return out


# -- files in the repository ----------------------------------------------------------------------


def check_repo_path(value: str, what: str) -> str:
    """A relative path inside the repository (no leading ``/``, no ``..``); raises ValueError."""
    path = value.strip()
    parts = path.split("/")
    if not path or path.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\\" in path:
        raise ValueError(
            f"{what} must be a relative path inside the repository without '..', e.g. "
            "'.taskmaster/tasks/tasks.json'"
        )
    return path
