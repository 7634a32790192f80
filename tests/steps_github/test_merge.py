"""``merge``: the mergeability rules and argument checks, on GitHub-shaped data (no server)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from pressplay.steps.merge import MergeArgs, blocker


def pr(**fields: Any) -> dict[str, Any]:
    base = {"number": 7, "draft": False, "mergeable": True, "mergeable_state": "clean"}
    return {**base, **fields}


@pytest.mark.parametrize("state", ["clean", "unstable", "has_hooks"])
def test_mergeable_states_let_it_merge(state: str) -> None:
    assert blocker(pr(mergeable_state=state), []) is None


@pytest.mark.parametrize(
    ("fields", "words", "short"),
    [
        ({"mergeable": None, "mergeable_state": "unknown"}, "still computing", True),
        ({"mergeable": None}, "still computing", True),
        ({"mergeable": False, "mergeable_state": "dirty"}, "merge conflicts", False),
        ({"mergeable_state": "behind"}, "behind its base", False),
        ({"mergeable_state": "blocked"}, "branch protection", False),
        ({"draft": True, "mergeable_state": "draft"}, "draft", False),
    ],
)
def test_blockers_say_why(fields: dict[str, Any], words: str, short: bool) -> None:
    found = blocker(pr(**fields), [])
    assert found is not None
    assert words in found.reason
    assert found.short is short


def test_changes_requested_wins_over_a_clean_state() -> None:
    found = blocker(pr(), ["alice", "bob"])
    assert found is not None
    assert "@alice, @bob" in found.reason
    assert "a person must act" in found.reason


def test_args_reject_bad_values_naming_the_field() -> None:
    with pytest.raises(ValidationError) as err:
        MergeArgs.model_validate({"repo": "acme/api", "number": 7, "method": "octopus"})
    assert "method" in str(err.value)
    with pytest.raises(ValidationError) as err:
        MergeArgs.model_validate({"repo": "acme/api", "number": 7, "sha": "main"})
    assert "full commit SHA" in str(err.value)
    with pytest.raises(ValidationError) as err:
        MergeArgs.model_validate({"repo": "acme/api", "number": 7, "timeout": "soon"})
    assert "timeout" in str(err.value)


def test_args_defaults() -> None:
    args = MergeArgs.model_validate({"repo": "acme/api", "number": "7", "timeout": "30m"})
    assert (args.method.value, args.mode.value, args.timeout.total_seconds()) == ("squash", "auto", 1800)
