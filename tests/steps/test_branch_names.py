"""Branch and ref arguments never start with ``-`` (issue 18), in every step that takes one.

Attack: a branch named like an option (``--upload-pack=touch /tmp/pwned``, ``-c core.sshCommand=...``)
reaches a git command line or a tool that hands it on, which reads it as an option. Before, the
``backlog`` and ``dependencies`` ``base``, the acceptance ``specRef`` and a ``backlog`` branch template
took such a name (each test below failed for them); ``pullRequest``, ``checks`` and ``dispatch`` had
their own checks, now one shared type (``pressplay.types.GitRef``) with one message naming the fix.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from pressplay.steps.acceptance import AcceptanceArgs
from pressplay.steps.backlog import BacklogArgs
from pressplay.steps.checks import ChecksArgs
from pressplay.steps.dependencies import DependenciesArgs
from pressplay.steps.dispatch import DispatchArgs
from pressplay.steps.pull_request import PullRequestArgs
from pressplay.testing.github_emulator import GitHubEmulator
from pressplay.testing.sidecar import Sidecar
from pressplay.types import check_git_ref

REPO = "acme/api"
OPTIONS = ["-main", "--upload-pack=touch /tmp/pwned", "-c", " -x"]
FIX = "starts with '-', which git reads as an option, not a name: use a branch or tag name that does not"

#: (model, valid arguments, the branch/ref field)
FIELDS: list[tuple[type[BaseModel], dict[str, Any], str]] = [
    (PullRequestArgs, {"repo": REPO, "head": "pressplay/task-7", "base": "main", "title": "T"}, "head"),
    (PullRequestArgs, {"repo": REPO, "head": "pressplay/task-7", "base": "main", "title": "T"}, "base"),
    (ChecksArgs, {"repo": REPO, "ref": "main"}, "ref"),
    (DispatchArgs, {"repo": REPO, "workflow": "deploy.yml", "ref": "main", "key": "task-7-deploy"}, "ref"),
    (BacklogArgs, {"repo": REPO, "base": "main"}, "base"),
    (DependenciesArgs, {"repo": REPO, "task": "7", "dependsOn": [1], "base": "main"}, "base"),
    (AcceptanceArgs, {"repo": REPO, "number": 1, "specPath": "a.yaml", "specRef": "main"}, "specRef"),
]


@pytest.mark.parametrize(("model", "valid", "field"), FIELDS, ids=lambda v: getattr(v, "__name__", str(v)))
@pytest.mark.parametrize("name", OPTIONS)
def test_a_ref_that_starts_with_a_dash_is_refused(
    model: type[BaseModel], valid: dict[str, Any], field: str, name: str
) -> None:
    model.model_validate(valid)  # the valid arguments pass
    with pytest.raises(ValidationError) as err:
        model.model_validate({**valid, field: name})
    assert FIX in str(err.value)


@pytest.mark.parametrize("template", ["-task-{id}", "--upload-pack={id}"])
def test_a_backlog_branch_template_that_starts_with_a_dash_is_refused(template: str) -> None:
    with pytest.raises(ValidationError) as err:
        BacklogArgs.model_validate({"repo": REPO, "branch": template})
    assert "would not be a valid git branch name" in str(err.value) and FIX in str(err.value)


@pytest.mark.parametrize("name", ["main", "pressplay/task-7", "release/v1.2", "v1.2.0", "a-b", "x" * 40])
def test_ordinary_names_pass(name: str) -> None:
    assert check_git_ref(f" {name} ") == name


@pytest.mark.parametrize("name", ["", "a..b", "a b", "a~1", "a^", "a:b", "a?", "a*", "a[", "a\\b", "/a", "a/",
                                  ".a", "a.", "a.lock", "a//b", "a/.b", "@", "a@{1}", "a\x00", "a" * 256])  # fmt: skip
def test_other_invalid_ref_names_say_what_git_allows(name: str) -> None:
    with pytest.raises(ValueError, match="is not a valid branch name: git allows no spaces"):
        check_git_ref(name)


def test_the_step_answers_failed_naming_the_field_and_the_fix(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    """Through the sidecar, as Argo would call it: Failed, naming the argument and the fix."""
    gh.create_repo(REPO, files={"README.md": "# api\n"})
    result = sidecar.run_step(
        "pullRequest", {"repo": REPO, "head": "--upload-pack=touch /tmp/pwned", "base": "main", "title": "T"}
    )
    assert result.phase == "Failed"
    assert "head" in result.message and FIX in result.message
    assert gh.requests_to(r"/pulls", "POST") == []
