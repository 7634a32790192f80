"""Taskmaster tasks.json parsing (plain and tag-keyed), dependency checks, id lists."""

from __future__ import annotations

import graphlib
import itertools
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pressplay.tasks import (
    Task,
    TasksFileError,
    check_graph,
    dependency_order,
    find_cycles,
    parse_id_list,
    parse_tasks,
    unknown_dependencies,
)


def task(
    tid: object, deps: list[object] | None = None, status: str = "pending", **extra: object
) -> dict[str, object]:
    return {
        "id": tid,
        "title": f"Task {tid}",
        "description": "d",
        "details": "...",
        "testStrategy": "...",
        "priority": "medium",
        "dependencies": deps or [],
        "status": status,
        # subtasks reference "<task>.<n>" ids; they are the task agent's business, not scheduled
        "subtasks": [{"id": 1, "title": "s", "dependencies": [f"{tid}.2"], "status": "pending"}],
        **extra,
    }


TAGGED = {
    "master": {
        "tasks": [task(1), task(2, [1]), task(3, [1, 2], "done")],
        "metadata": {"created": "2025-01-01"},
    },
    "feature-x": {"tasks": [task(10)], "metadata": {}},
}


def test_plain_layout() -> None:
    parsed = parse_tasks(json.dumps({"tasks": [task(1), task("2", [1])], "metadata": {}}))
    assert parsed.layout == "plain"
    assert parsed.tag is None
    assert [t.id for t in parsed.tasks] == ["1", "2"]
    assert parsed.tasks[1].dependencies == ("1",)


def test_tagged_layout_defaults_to_master_and_honours_tag() -> None:
    master = parse_tasks(json.dumps(TAGGED))
    assert (master.layout, master.tag, len(master.tasks)) == ("tagged", "master", 3)
    assert master.tasks[2].done_in_file
    feature = parse_tasks(json.dumps(TAGGED), tag="feature-x")
    assert [t.id for t in feature.tasks] == ["10"]
    only = parse_tasks(json.dumps({"v2": {"tasks": [task(5)]}}))
    assert only.tag == "v2"


@pytest.mark.parametrize(
    ("text", "tag", "words"),
    [
        ('{"tasks": [', None, "is not valid JSON: Expecting value at line 1 column 12"),
        ("[]", None, "must hold a JSON object"),
        ('{"foo": 1}', None, 'neither a top-level "tasks" list nor any tag'),
        (json.dumps(TAGGED), "nope", "has no tag 'nope'; its tags are feature-x, master"),
        (
            json.dumps({"a": {"tasks": []}, "b": {"tasks": []}}),
            None,
            "several tags (a, b) and no `master`: set `tag`",
        ),
        (json.dumps({"tasks": []}), "feature-x", "has no tags"),
        (json.dumps({"tasks": {"1": {}}}), None, '"tasks" must be a list'),
        (json.dumps({"tasks": [{"title": "x"}]}), None, 'tasks[0] has no "id"'),
        (json.dumps({"tasks": [{"id": 1}]}), None, 'has no "title"'),
        (json.dumps({"tasks": [{"id": True, "title": "x"}]}), None, "must be a number or a string"),
        (json.dumps({"tasks": [{"id": "a b", "title": "x"}]}), None, "cannot be used in a branch or label"),
        (json.dumps({"tasks": [task(1), task(1)]}), None, "task id 1 appears twice"),
        (
            json.dumps({"tasks": [task(1, deps=None) | {"dependencies": "2"}]}),
            None,
            "must be a list of task ids",
        ),
    ],
)
def test_malformed_files_say_what_to_fix(text: str, tag: str | None, words: str) -> None:
    with pytest.raises(TasksFileError) as err:
        parse_tasks(text, path=".taskmaster/tasks/tasks.json", tag=tag)
    assert words in str(err.value)
    assert ".taskmaster/tasks/tasks.json" in str(err.value)


def test_unknown_dependencies_and_cycles_are_all_named() -> None:
    parsed = parse_tasks(
        json.dumps(
            {"tasks": [task(1, [2]), task(2, [3]), task(3, [1]), task(4, [4]), task(5, [9, 8]), task(6, [1])]}
        )
    )
    assert unknown_dependencies(parsed.tasks) == {"5": ["9", "8"]}
    assert find_cycles(parsed.tasks) == [["1", "2", "3", "1"], ["4", "4"]]
    with pytest.raises(TasksFileError) as err:
        check_graph(parsed)
    message = str(err.value)
    assert "task 5 depends on 9, 8, which are not in the file" in message
    assert "dependency cycle: 1 → 2 → 3 → 1" in message
    assert "dependency cycle: 4 → 4" in message


def test_acyclic_graph_passes_and_orders_dependencies_first() -> None:
    parsed = parse_tasks(json.dumps({"tasks": [task(3, [2, 1]), task(2, [1]), task(1), task(4)]}))
    check_graph(parsed)
    assert [t.id for t in dependency_order(parsed.tasks)] == ["1", "2", "3", "4"]


def test_big_chain_has_no_recursion_limit() -> None:
    tasks = [task(i, [i - 1] if i > 1 else []) for i in range(1, 3001)]
    parsed = parse_tasks(json.dumps({"tasks": [*tasks, task(3001, [3001])]}))
    assert find_cycles(parsed.tasks) == [["3001", "3001"]]
    reversed_chain = parse_tasks(json.dumps({"tasks": list(reversed(tasks))}))
    assert [t.id for t in dependency_order(reversed_chain.tasks)][:3] == ["1", "2", "3"]


@pytest.mark.parametrize(
    ("raw", "ids"),
    [
        ([1, "2", 2], ["1", "2"]),
        ('["3","5"]', ["3", "5"]),
        ("[4, 6]", ["4", "6"]),
        ("3, 5 7", ["3", "5", "7"]),
        ("", []),
        ("[]", []),
        (None, []),
        (7, ["7"]),
    ],
)
def test_id_lists_from_templates(raw: object, ids: list[str]) -> None:
    assert parse_id_list(raw) == ids


def test_id_list_errors() -> None:
    with pytest.raises(ValueError, match="not valid JSON"):
        parse_id_list("[1,")
    with pytest.raises(ValueError, match="must be a list"):
        parse_id_list('{"a": 1}')


# -- properties, checked against the standard library's topological sorter ------------------------

graphs = st.integers(min_value=1, max_value=25).flatmap(
    lambda n: st.lists(st.lists(st.integers(min_value=1, max_value=n), max_size=4), min_size=n, max_size=n)
)


@settings(max_examples=200, deadline=None)
@given(graphs)
def test_cycles_found_exactly_when_graphlib_finds_one(deps: list[list[int]]) -> None:
    tasks = [
        Task(str(i + 1), f"t{i + 1}", "pending", tuple(dict.fromkeys(str(d) for d in ds)))
        for i, ds in enumerate(deps)
    ]
    sorter = graphlib.TopologicalSorter({t.id: set(t.dependencies) for t in tasks})
    try:
        sorter.prepare()
        has_cycle = False
    except graphlib.CycleError:
        has_cycle = True
    cycles = find_cycles(tasks)
    assert bool(cycles) == has_cycle
    edges = {(t.id, d) for t in tasks for d in t.dependencies}
    for cycle in cycles:
        assert cycle[0] == cycle[-1]
        assert all((a, b) in edges for a, b in itertools.pairwise(cycle))
    if not has_cycle:
        order = [t.id for t in dependency_order(tasks)]
        assert sorted(order, key=int) == [t.id for t in tasks]
        where = {tid: i for i, tid in enumerate(order)}
        assert all(where[d] < where[t] for t, d in edges)
