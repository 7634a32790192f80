"""Scenario c: every shared webhook fixture through Argo Events' own event source and Sensor code.

Each fixture (``../shared/fixtures/github-webhooks``, from ``@octokit/webhooks-examples``) is delivered
signed, as GitHub sends it, to the event source of ``go/argo/events`` (Argo Events' GitHub source
shaping, each Sensor's filters and trigger parameters, unmodified). Where the point is a pressplay PR,
it is relabelled as one of the sample repository (``acme/greeter``, branch ``pressplay/task-1``,
labels ``pressplay`` + ``task-1``); the emulator is seeded with what the payload names
(:mod:`tests.engine.seed`). The expectations are the flows docs/architecture.md ("Events") promises:
a merge presses play, a trusted comment or changes-requested review starts ``pr-remediation``, a failed
check run or workflow run starts ``ci-remediation``, an opened or ``pressplay``-labelled issue starts
``issue-triage``; everything else (other branches, untrusted authors, bots, ``reopened``, ``deleted``,
successes, pushes, statuses) starts nothing. Every started flow runs to its end.
"""

from __future__ import annotations

import copy
import json
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from tests.engine.stack import SHARED, Stack, kubectl_binary

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]

FIXTURES = SHARED / "fixtures" / "github-webhooks"
REPO = "acme/greeter"
BRANCH = "pressplay/task-1"
WRITER = "Codertocat"  # the fixtures' sender; given write access on the sample repository
Payload = dict[str, Any]


def fixture(name: str) -> Payload:
    if not FIXTURES.is_dir():
        pytest.fail(f"{FIXTURES} is missing (the engine tests run where ../shared is present)")
    data: Payload = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return data


def _repo_ref(repo: Payload) -> None:
    repo["full_name"] = REPO
    repo["name"] = REPO.split("/")[1]
    if isinstance(repo.get("owner"), dict):
        repo["owner"]["login"] = REPO.split("/")[0]


def pressplay(payload: Payload, *, number: int = 1, branch: str = BRANCH) -> Payload:
    """``payload`` relabelled as an event of the sample repository's task PR ``number`` on ``branch``."""
    out = copy.deepcopy(payload)
    _repo_ref(out["repository"])
    labels = [{"name": "pressplay"}, {"name": "task-" + branch.rpartition("task-")[2]}]
    if pr := out.get("pull_request"):
        pr["number"] = number
        if "number" in out:
            out["number"] = number
        pr["head"]["ref"] = branch
        pr["base"]["ref"] = "main"
        for side in ("head", "base"):
            if isinstance(pr[side].get("repo"), dict):
                _repo_ref(pr[side]["repo"])
        pr["labels"] = labels
    if (issue := out.get("issue")) is not None:
        issue["number"] = number
        if issue.get("pull_request"):
            issue["labels"] = labels
    if run := out.get("check_run"):
        run["check_suite"]["head_branch"] = branch
        repo_id = out["repository"]["id"]
        run["pull_requests"] = [
            {
                "number": number,
                "head": {"ref": branch, "sha": run["head_sha"], "repo": {"id": repo_id}},
                "base": {"ref": "main", "sha": run["head_sha"], "repo": {"id": repo_id}},
            }
        ]
    if run := out.get("workflow_run"):
        run["head_branch"] = branch
        _repo_ref(run["head_repository"])
        _repo_ref(run["repository"])
        run["pull_requests"] = [
            {"number": number, "head": {"ref": branch, "sha": run["head_sha"]}, "base": {"ref": "main"}}
        ]
    return out


def with_(path: str, value: Any) -> Callable[[Payload], Payload]:
    """A change to one field (dotted path) of a payload."""

    def change(payload: Payload) -> Payload:
        out = copy.deepcopy(payload)
        *parents, last = path.split(".")
        target = out
        for key in parents:
            target = target[key]
        target[last] = value
        return out

    return change


def same(payload: Payload) -> Payload:
    return payload


# (event, fixture, change, why it must start nothing)
LOOK_ALIKES: list[tuple[str, str, Callable[[Payload], Payload], str]] = [
    ("pull_request", "pull_request.closed-unmerged", same, "closed without a merge"),
    ("pull_request", "pull_request.opened", same, "opened"),
    ("pull_request", "pull_request.labeled", same, "labelled"),
    ("pull_request", "pull_request.synchronize", same, "pushed to"),
    ("check_run", "check_run.completed-success", same, "a check that passed"),
    ("check_suite", "check_suite.completed", same, "no Sensor listens to check suites"),
    ("workflow_run", "workflow_run.completed-success", same, "a workflow that passed"),
    ("issue_comment", "issue_comment.created", same, "a comment on an issue, not on a PR"),
    ("pull_request_review", "pull_request_review.submitted", same, "a review that only comments"),
    ("push", "push.branch", same, "a push"),
    ("push", "push.tag-created", same, "a tag"),
    ("status", "status.success", same, "a commit status"),
    ("issue_comment", "issue_comment.created-on-pull-request", with_("action", "deleted"), "deleted"),
    ("issues", "issues.opened", with_("action", "reopened"), "reopened"),
    ("issues", "issues.labeled", same, "a label other than pressplay"),
    (
        "issue_comment",
        "issue_comment.created-on-pull-request",
        with_("comment.author_association", "NONE"),
        "an author with no role on the repository",
    ),
    ("issue_comment", "issue_comment.created-on-pull-request", with_("sender.type", "Bot"), "a bot"),
    ("issues", "issues.opened", with_("issue.author_association", "CONTRIBUTOR"), "an outside contributor"),
    ("check_run", "check_run.completed-failure", with_("check_run.app.slug", "pressplay"), "our own check"),
    ("check_run", "check_run.completed-failure", same, "GitHub Actions' check run (its workflow_run counts)"),
]


def _relabel_look_alike(name: str, change: Callable[[Payload], Payload], index: int) -> Payload:
    """Look-alikes are pressplay events of the sample repository too, one PR/issue number each, so
    that only the difference under test keeps them from starting a flow."""
    return change(pressplay(fixture(name), number=20 + index, branch=f"pressplay/task-{20 + index}"))


def fired(decisions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in decisions if d["fired"]]


def test_look_alikes_and_other_repositories_start_nothing(engine: Stack) -> None:
    engine.start_events()
    for i, (event, name, change, why) in enumerate(LOOK_ALIKES):
        decisions = engine.deliver(event, f"look-alike-{i}", _relabel_look_alike(name, change, i))
        assert fired(decisions) == [], f"{name} ({why}) started {fired(decisions)}"
    # The fixtures as they are: another repository of the same App (not in the settings' regex).
    for event, name in (("pull_request", "pull_request.closed-merged"), ("issues", "issues.opened")):
        assert fired(engine.deliver(event, f"foreign-{name}", fixture(name))) == [], name
    # A merge on a branch that is not a task's.
    merged_elsewhere = pressplay(fixture("pull_request.closed-merged"), number=40, branch="feature/x")
    assert fired(engine.deliver("pull_request", "merge-elsewhere", merged_elsewhere)) == []
    assert engine.workflows() == []


# Text Argo must never template (issue "Flow defects that only Argo's engine shows", item 1): an
# unmatched `{{`, an Actions expression, an expr/sprig expression and a real Argo variable.
HOSTILE = "Please fix {{ this }} and ${{ secrets.X }} {{=sprig.upper('x')}} {{workflow.name}} }} \"é\" — 🚀"


def hostile(path: str) -> Callable[[Payload], Payload]:
    return with_(path, HOSTILE)


def both(*changes: Callable[[Payload], Payload]) -> Callable[[Payload], Payload]:
    def change(payload: Payload) -> Payload:
        for one in changes:
            payload = one(payload)
        return payload

    return change


# (event, fixture, change, PR number, sensor, trigger, WorkflowTemplate). Feedback flows go to
# different PRs (each its own task branch), so that no debounce makes one give way to another.
FLOWS: list[tuple[str, str, Callable[[Payload], Payload], int, str, str, str]] = [
    (
        "issue_comment",
        "issue_comment.created-on-pull-request",
        hostile("comment.body"),
        1,
        "pr-feedback",
        "remediate-comment",
        "pr-remediation",
    ),
    (
        "pull_request_review_comment",
        "pull_request_review_comment.created",
        hostile("comment.body"),
        2,
        "pr-feedback",
        "remediate-review-comment",
        "pr-remediation",
    ),
    (
        "pull_request_review",
        "pull_request_review.submitted",
        both(with_("review.state", "changes_requested"), hostile("review.body")),
        3,
        "pr-feedback",
        "remediate-review",
        "pr-remediation",
    ),
    (
        "check_run",
        "check_run.completed-failure",
        # The fixture's check run is GitHub Actions' (whose failures come as workflow runs): a
        # third-party CI App's check run is what this Sensor is for.
        both(hostile("check_run.name"), with_("check_run.app.slug", "buildkite")),
        1,
        "ci-failure",
        "remediate-check-run",
        "ci-remediation",
    ),
    (
        "workflow_run",
        "workflow_run.completed-failure",
        hostile("workflow.name"),
        2,
        "ci-failure",
        "remediate-workflow-run",
        "ci-remediation",
    ),
]


def test_each_promised_flow_starts_once_and_runs_to_its_end(engine: Stack) -> None:
    engine.start_events()
    engine.github.world.github.set_permission(REPO, WRITER, "write")
    started: dict[str, str] = {}
    for i, (event, name, change, number, sensor, trigger, template) in enumerate(FLOWS):
        delivery = f"flow-{i}"
        payload = change(pressplay(fixture(name), number=number, branch=f"pressplay/task-{number}"))
        decisions = engine.deliver(event, delivery, payload, wait=False)
        got = [(d["sensor"], d["trigger"], d.get("error")) for d in fired(decisions)]
        assert got == [(sensor, trigger, None)], f"{name}: {decisions}"
        workflow = fired(decisions)[0]["workflow"]
        assert engine.workflow(workflow)["spec"]["workflowTemplateRef"]["name"] == template
        started[workflow] = name

    for name in started:
        engine.wait(name, timeout=1500)
    posted: set[str] = set()
    for name, fixture_name in started.items():
        wf = engine.workflow(name)
        assert wf["status"]["phase"] == "Succeeded", f"{fixture_name}:\n{engine.get_tree(name)}"
        # The documented output (issue 13 item 3): the URL of the comment the flow posted on the PR;
        # none from a run whose debounce let a newer trigger of the same PR act (proceed=false).
        template = wf["spec"]["workflowTemplateRef"]["name"]
        key = {"pr-remediation": "reply-url", "ci-remediation": "report-url"}[template]
        outputs = engine.summary(wf)["outputs"]
        if outputs.get("proceed") == "false":
            assert key not in outputs, (fixture_name, outputs)
        else:
            assert outputs.get(key, "").startswith("http"), (fixture_name, key, outputs)
            posted.add(template)
    # Every review flow acts (one per PR). The CI flows run on PRs 1 and 2, whose heads the review
    # flows' remediators move: a CI flow whose debounce sees its commit superseded ends quietly
    # (debounce `ci`: "a head that moved past sha"), so whether one of them acts depends on timing.
    assert "pr-remediation" in posted, posted

    # Each remediator got the person's text byte for byte (the scripted agent quotes it into
    # docs/reviews/task-<id>.md on the PR's branch).
    from pressplay.demo.world import git

    for number in (1, 2, 3):
        notes = git(
            f"--git-dir={engine.github.world.remote}",
            "show",
            f"pressplay/task-{number}:docs/reviews/task-{number}.md",
        )
        assert f"> {HOSTILE}\n" in notes, notes

    # The same delivery again: the Sensor's submit is refused ("already exists"); still one Workflow.
    event, name, change, number, *_ = FLOWS[0]
    payload = change(pressplay(fixture(name), number=number, branch=f"pressplay/task-{number}"))
    again = fired(engine.deliver(event, "flow-0", payload, wait=False))
    assert again and again[0].get("error"), again
    assert sorted(w["metadata"]["name"] for w in engine.workflows()) == sorted(started)


SETTINGS_IMAGE = "registry.example.com/agents/custom-agent:7"
SETTINGS_MODEL = "engine-model-7"


def set_run_settings(engine: Stack) -> None:
    """The admin's run settings for the repository (issue 14 item 3): a non-default agent image and model."""
    runs = f"repositories:\n  {REPO.upper()}:\n    image: {SETTINGS_IMAGE}\n    model: {SETTINGS_MODEL}\n"
    patch = json.dumps({"data": {"runs.yaml": runs}})
    subprocess.run(
        [kubectl_binary(), "--kubeconfig", str(engine.cluster.admin_kubeconfig), "-n", "pressplay",
         "patch", "configmap", "pressplay-settings", "--type", "merge", "-p", patch],
        check=True, capture_output=True, text=True,
    )  # fmt: skip


def agent_containers(engine: Stack, workflow: str) -> list[dict[str, Any]]:
    """The agent's (`main`) container of every agent-step pod of ``workflow``."""
    found = []
    for run in engine.pods():
        labels = run.pod["metadata"].get("labels") or {}
        if labels.get("workflows.argoproj.io/workflow") == workflow and "pressplay.dev/agent" in labels:
            found += [c for c in run.pod["spec"]["containers"] if c["name"] == "main"]
    return found


def test_an_opened_issue_is_triaged_and_a_merge_presses_play_once(engine: Stack) -> None:
    engine.start_events()
    engine.github.world.github.set_permission(REPO, WRITER, "write")
    set_run_settings(engine)
    issue = both(hostile("issue.title"), hostile("issue.body"))(pressplay(fixture("issues.opened"), number=1))
    decisions = fired(engine.deliver("issues", "issue-1", issue))
    assert [(d["sensor"], d["trigger"], d.get("error")) for d in decisions] == [
        ("issue-triage", "triage-opened", None)
    ]
    triage = engine.workflow(decisions[0]["workflow"])
    assert triage["status"]["phase"] == "Succeeded", engine.get_tree(triage["metadata"]["name"])
    outputs = engine.summary(triage)["outputs"]
    assert outputs.get("triage-comment-url", "").startswith("http"), outputs
    # The triage agent got the issue's title and body byte for byte (the scripted agent quotes its
    # context into docs/issues/<task>.md on its branch).
    from pressplay.demo.world import git

    seen = git(
        f"--git-dir={engine.github.world.remote}", "show", "pressplay/task-issue-1:docs/issues/issue-1.md"
    )
    assert seen == f"> # {HOSTILE}\n> \n> {HOSTILE}\n", seen  # "# <title>\n\n<body>", as the Sensor builds it
    # Started by a Sensor with ids only, the run still has the settings' image and model.
    started = agent_containers(engine, triage["metadata"]["name"])
    assert started, "the triage run started no agent pod"
    for container in started:
        env = {e["name"]: e.get("value") for e in container.get("env") or []}
        assert (container["image"], env.get("PRESSPLAY_MODEL")) == (SETTINGS_IMAGE, SETTINGS_MODEL)

    # A merged task PR that is not in the sample's backlog (a seeded merge carries no code: a backlog
    # task "merged" this way would leave its dependants without it).
    merged = pressplay(fixture("pull_request.closed-merged"), number=2, branch="pressplay/task-99")
    decisions = fired(engine.deliver("pull_request", "merge-1", merged))
    assert [(d["sensor"], d["trigger"], d.get("error")) for d in decisions] == [
        ("pr-merged", "press-play", None)
    ]
    name = decisions[0]["workflow"]
    assert name == "press-play-merge-1"
    assert engine.workflow(name)["status"]["phase"] == "Succeeded", engine.get_tree(name)
    # press-play as the merge Sensor submits it (repo, base, delivery): the settings step answered the
    # repository's image and model, whatever the spelling of its name.
    settings = next(
        n for n in engine.workflow(name)["status"]["nodes"].values() if n.get("displayName") == "settings"
    )
    outputs = {p["name"]: p.get("value") for p in settings["outputs"]["parameters"]}
    assert (outputs["image"], outputs["model"], outputs["repoKey"]) == (
        SETTINGS_IMAGE,
        SETTINGS_MODEL,
        "acme.greeter",
    )
    for container in agent_containers(engine, name):
        assert container["image"] == SETTINGS_IMAGE

    again = fired(engine.deliver("pull_request", "merge-1", merged))
    assert again and again[0].get("error"), again
    assert len([w for w in engine.workflows() if w["metadata"]["name"] == name]) == 1
