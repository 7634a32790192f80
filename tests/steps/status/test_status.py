"""``status``: argument rules (no server), then commit statuses through real HTTP."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from pressplay.github import clients_for
from pressplay.steps.shared.statuses import set_status, shorten
from pressplay.steps.status import StatusArgs
from pressplay.testing.agent import Result
from pressplay.testing.github_emulator import GitHubEmulator
from pressplay.testing.sidecar import Sidecar

SHA = "a" * 40


def test_shorten_flattens_and_cuts() -> None:
    assert shorten("two\nlines") == "two lines"
    cut = shorten("word " * 100)
    assert len(cut) == 140
    assert cut.endswith("…")


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ({"sha": "main"}, "full commit SHA"),
        ({"sha": "abc1234"}, "full commit SHA"),
        ({"state": "green"}, "state"),
        ({"target_url": "ftp://x"}, "http(s) URL"),
        ({"targetUrl": "javascript:alert(1)"}, "http(s) URL"),
        ({"context": "two\nlines"}, "one line"),
    ],
)
def test_bad_args_name_the_problem(raw: dict[str, object], words: str) -> None:
    base = {"repo": "acme/api", "sha": SHA, "state": "success"}
    with pytest.raises(ValidationError) as err:
        StatusArgs.model_validate({**base, **raw})
    assert words in str(err.value)


def test_sha_is_lowercased_and_defaults_apply() -> None:
    args = StatusArgs.model_validate({"repo": "acme/api", "sha": "A" * 40, "state": "pending"})
    assert args.sha == SHA
    assert args.context == "pressplay"
    assert args.target_url is None


# -- through real HTTP: agent emulator → sidecar → GitHub emulator ------------------------------------

REPO = "acme/api"
CONTEXT = "pressplay/acceptance"
OUTPUTS = ["id", "state", "context", "action", "url", "targetUrl"]
TARGET = "https://argo.example.com/workflows/argo/wf-1"


@pytest.fixture
def gh(github_emulator: GitHubEmulator) -> GitHubEmulator:
    github_emulator.create_repo(REPO)
    github_emulator.push(REPO, "pressplay/task-7", {"x.py": "x = 1\n"})
    return github_emulator


def head(gh: GitHubEmulator) -> str:
    return gh.repo_state(REPO).branches["pressplay/task-7"]


def call(sidecar: Sidecar, gh: GitHubEmulator, **args: object) -> Result:
    base: dict[str, object] = {
        "repo": REPO,
        "sha": head(gh),
        "context": CONTEXT,
        "state": "success",
        "description": "All acceptance criteria met",
        "targetUrl": TARGET,
    }
    return sidecar.run_step("status", {**base, **args}, outputs=OUTPUTS)


def statuses(gh: GitHubEmulator, context: str = CONTEXT) -> list[tuple[str, str | None]]:
    return [(s.state, s.description) for s in gh.repo_state(REPO).statuses if s.context == context]


def test_three_calls_write_one_status(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    results = [call(sidecar, gh) for _ in range(3)]
    assert [r.phase for r in results] == ["Succeeded"] * 3, [r.message for r in results]
    assert [r.outputs["action"] for r in results] == ["created", "unchanged", "unchanged"]
    assert statuses(gh) == [("success", "All acceptance criteria met")]
    out = results[0].outputs
    assert out["id"] == results[2].outputs["id"] == str(gh.repo_state(REPO).statuses[0].id)
    assert (out["state"], out["context"], out["targetUrl"]) == ("success", CONTEXT, TARGET)
    assert out["url"].endswith(f"/{REPO}/commit/{head(gh)}")
    assert out["summary"] == f"{CONTEXT} set success on {REPO}@{head(gh)[:7]}"
    assert len(gh.requests_to(r"/statuses/", "POST")) == 1


def test_a_change_of_state_adds_a_status_and_other_contexts_stay(
    gh: GitHubEmulator, sidecar: Sidecar
) -> None:
    gh.add_status(REPO, head(gh), "ci/build", "success")
    call(sidecar, gh, state="pending", description="Checking")
    call(sidecar, gh, state="success", description="Done")
    call(sidecar, gh, state="success", description="Done")
    assert statuses(gh) == [("pending", "Checking"), ("success", "Done")]
    assert statuses(gh, "ci/build") == [("success", None)]


def test_long_descriptions_are_shortened_to_what_github_accepts(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    result = call(sidecar, gh, description="word " * 60)
    assert result.phase == "Succeeded", result.message
    (only,) = statuses(gh)
    assert only[1] is not None
    assert len(only[1]) == 140
    assert call(sidecar, gh, description="word " * 60).outputs["action"] == "unchanged"


def test_set_status_from_python(gh: GitHubEmulator) -> None:
    repo = clients_for(gh.settings()).repo(REPO)
    first = set_status(repo, head(gh), "pressplay/gate", "failure", "2 of 3 met")
    second = set_status(repo, head(gh), "pressplay/gate", "failure", "2 of 3 met")
    assert (first.action, second.action, second.id) == ("created", "unchanged", first.id)


@pytest.mark.parametrize(
    ("path", "method", "kind"),
    [
        (r"/status$", "GET", "status"),
        (r"/statuses/", "POST", "status"),
        (r"/statuses/", "POST", "too_many"),
        (r"/installation$", "GET", "status"),
        (r"/statuses/", "POST", "reset"),
    ],
)
def test_transient_faults_run_then_succeed_with_one_status(
    gh: GitHubEmulator, sidecar: Sidecar, path: str, method: str, kind: str
) -> None:
    gh.inject_fault(path, method=method, kind=kind, status=500, retry_after=1)
    result = call(sidecar, gh)
    assert result.phase == "Succeeded", result.message
    assert result.replies[0].phase == "Running"
    assert len(statuses(gh)) == 1


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ({"repo": "acme/nope"}, "acme/nope"),
        ({"sha": "b" * 40}, f"commit {'b' * 40} not found in acme/api"),
        ({"sha": "main"}, "status.sha: must be a full commit SHA"),
        ({"state": "green"}, "status.state"),
        ({"targetUrl": "not a url"}, "status.targetUrl"),
        ({"contxt": "typo"}, "status.contxt: unknown argument"),
    ],
)
def test_bad_input_fails_naming_the_problem(
    gh: GitHubEmulator, sidecar: Sidecar, args: dict[str, object], words: str
) -> None:
    result = call(sidecar, gh, **args)
    assert result.phase == "Failed"
    assert words in result.message


@pytest.mark.parametrize(
    "context", ["ci/build", "continuous-integration/jenkins", "pressplayx", "Pressplay/acceptance"]
)
def test_a_context_pressplay_does_not_own_is_refused(sidecar: Sidecar, context: str) -> None:
    """Issue 18: the status step could post any context, e.g. fake a check branch protection requires."""
    result = sidecar.run_step(
        "status", {"repo": REPO, "sha": "a" * 40, "context": context, "state": "success"}
    )
    assert result.phase == "Failed"
    assert "status.context: pressplay sets only its own contexts" in result.message
