"""The Sensors, evaluated with Argo Events' rules (gjson paths, unanchored RE2 regexes, a missing
path drops the event) against real GitHub webhook payloads: the right flow fires with the right
parameters, and nothing fires for untrusted authors, bots (our own App included), look-alike actions
(`reopened`, `unlabeled`), other branches or forks."""

from __future__ import annotations

import base64
import copy
import gzip
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from . import argo_events
from .argo_events import Fired, argument, fire, github_event
from .conftest import INSTALLATION, REPO, load_webhook

DELIVERY = "72d3162e-cc78-11e3-81ab-4c9367dc0958"


def delivered(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The payload as the App's webhook sends it: every delivery names its installation (the shared
    fixtures are repository-webhook examples, some without one)."""
    body = dict(payload)
    body.setdefault(
        "installation", {"id": INSTALLATION, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ=="}
    )
    return body


def fired(
    sensors: Mapping[str, Mapping[str, Any]], event: str, payload: Mapping[str, Any]
) -> list[tuple[str, Fired]]:
    data = github_event(event, delivered(payload), DELIVERY)
    return [(name, f) for name, sensor in sorted(sensors.items()) for f in fire(sensor, data)]


def only(sensors: Mapping[str, Mapping[str, Any]], event: str, payload: Mapping[str, Any]) -> Fired:
    result = fired(sensors, event, payload)
    assert len(result) == 1, [(n, f.trigger) for n, f in result]
    return result[0][1]


def nothing(sensors: Mapping[str, Mapping[str, Any]], event: str, payload: Mapping[str, Any]) -> None:
    result = fired(sensors, event, payload)
    assert result == [], [(n, f.trigger) for n, f in result]


def labelled(payload: dict[str, Any], where: str, *names: str) -> dict[str, Any]:
    payload = copy.deepcopy(payload)
    payload[where]["labels"] = [
        {"id": i, "name": n, "color": "ededed", "default": False} for i, n in enumerate(names)
    ]
    return payload


# ---------------------------------------------------------------- PR feedback → pr-remediation


@pytest.fixture
def pr_comment(webhooks: Path) -> dict[str, Any]:
    return labelled(
        load_webhook(webhooks, "issue_comment.created-on-pull-request.json"), "issue", "pressplay", "task-7"
    )


def test_conversation_comment_on_a_pressplay_pr(sensors: Any, pr_comment: dict[str, Any]) -> None:
    result = only(sensors, "issue_comment", pr_comment)
    assert result.trigger == "remediate-comment"
    workflow = result.workflow
    assert workflow["metadata"]["name"] == f"pr-remediation-{DELIVERY}"
    assert workflow["spec"]["workflowTemplateRef"] == {"name": "pr-remediation"}
    assert argument(workflow, "repo") == "Codertocat/Hello-World"
    assert argument(workflow, "number") == "1"
    assert argument(workflow, "branch") == "pressplay/task-7"
    assert argument(workflow, "kind") == "comment"
    assert argument(workflow, "delivery") == DELIVERY
    assert argument(workflow, "eventTime") == pr_comment["comment"]["created_at"]
    assert b64(argument(workflow, "feedbackB64")) == pr_comment["comment"]["body"]
    assert argument(workflow, "feedbackUrl") == pr_comment["comment"]["html_url"]
    assert argument(workflow, "sender") == pr_comment["sender"]["login"] == "Codertocat"


def test_a_redelivery_names_the_same_workflow(sensors: Any, pr_comment: dict[str, Any]) -> None:
    first = fire(sensors["pr-feedback"], github_event("issue_comment", pr_comment, DELIVERY))
    again = fire(sensors["pr-feedback"], github_event("issue_comment", pr_comment, DELIVERY))
    other = fire(sensors["pr-feedback"], github_event("issue_comment", pr_comment, "0" * 8 + DELIVERY[8:]))
    assert first[0].workflow == again[0].workflow
    assert first[0].workflow["metadata"]["name"] != other[0].workflow["metadata"]["name"]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda p: p["comment"].__setitem__("author_association", "NONE"), "untrusted author"),
        (
            lambda p: p["comment"].__setitem__("author_association", "CONTRIBUTOR"),
            "contributor is not trusted",
        ),
        (lambda p: p["comment"].__setitem__("author_association", "FIRST_TIME_CONTRIBUTOR"), "look-alike"),
        (lambda p: p["sender"].update(login="pressplay[bot]", type="Bot"), "our own App"),
        (lambda p: p.__setitem__("action", "edited"), "edits do not trigger"),
        (lambda p: p.__setitem__("action", "deleted"), "deletions do not trigger"),
        (lambda p: p["issue"].pop("pull_request"), "a plain issue, not a PR"),
        (lambda p: p["issue"].__setitem__("labels", [{"name": "task-7"}]), "not a pressplay PR"),
        (lambda p: p["issue"].__setitem__("labels", [{"name": "pressplay"}]), "no task label: no branch"),
        (lambda p: p["issue"].__setitem__("state", "closed"), "the PR is closed or merged"),
    ],
)
def test_conversation_comments_that_do_not_trigger(
    sensors: Any, pr_comment: dict[str, Any], change: Any, why: str
) -> None:
    change(pr_comment)
    nothing(sensors, "issue_comment", pr_comment)


def test_comment_on_a_plain_issue_real_payload(sensors: Any, webhooks: Path) -> None:
    nothing(sensors, "issue_comment", load_webhook(webhooks, "issue_comment.created.json"))


@pytest.fixture
def review_comment(webhooks: Path) -> dict[str, Any]:
    payload = load_webhook(webhooks, "pull_request_review_comment.created.json")
    payload["pull_request"]["head"]["ref"] = "pressplay/task-3"
    return payload


def test_review_comment_on_a_pressplay_branch(sensors: Any, review_comment: dict[str, Any]) -> None:
    result = only(sensors, "pull_request_review_comment", review_comment)
    assert result.trigger == "remediate-review-comment"
    assert argument(result.workflow, "branch") == "pressplay/task-3"
    assert argument(result.workflow, "number") == str(review_comment["pull_request"]["number"])
    assert argument(result.workflow, "base") == review_comment["pull_request"]["base"]["ref"]
    assert argument(result.workflow, "kind") == "review-comment"
    assert b64(argument(result.workflow, "feedbackB64")) == review_comment["comment"]["body"]


def test_review_comments_that_do_not_trigger(
    sensors: Any, review_comment: dict[str, Any], webhooks: Path
) -> None:
    nothing(
        sensors,
        "pull_request_review_comment",
        load_webhook(webhooks, "pull_request_review_comment.created.json"),
    )
    for branch in (
        "feature/pressplay/task-3",
        "pressplay/task-3/../main",
        "pressplay/task-",
        "xpressplay/task-3",
    ):
        payload = copy.deepcopy(review_comment)
        payload["pull_request"]["head"]["ref"] = branch
        nothing(sensors, "pull_request_review_comment", payload)
    fork = copy.deepcopy(review_comment)
    fork["pull_request"]["head"]["repo"]["full_name"] = "mallory/Hello-World"
    nothing(sensors, "pull_request_review_comment", fork)
    untrusted = copy.deepcopy(review_comment)
    untrusted["comment"]["author_association"] = "NONE"
    nothing(sensors, "pull_request_review_comment", untrusted)
    closed = copy.deepcopy(review_comment)
    closed["pull_request"]["state"] = "closed"
    nothing(sensors, "pull_request_review_comment", closed)


def test_changes_requested_review(sensors: Any, webhooks: Path) -> None:
    payload = load_webhook(webhooks, "pull_request_review.submitted.json")
    payload["pull_request"]["head"]["ref"] = "pressplay/task-9"
    nothing(sensors, "pull_request_review", payload)  # the real example is a plain "commented" review
    payload["review"]["state"] = "changes_requested"
    result = only(sensors, "pull_request_review", payload)
    assert result.trigger == "remediate-review"
    assert argument(result.workflow, "branch") == "pressplay/task-9"
    assert argument(result.workflow, "eventTime") == payload["review"]["submitted_at"]
    assert argument(result.workflow, "feedbackUrl") == payload["review"]["html_url"]
    approved = copy.deepcopy(payload)
    approved["review"]["state"] = "approved"
    nothing(sensors, "pull_request_review", approved)
    dismissed = copy.deepcopy(payload)
    dismissed["action"] = "dismissed"
    nothing(sensors, "pull_request_review", dismissed)


# ---------------------------------------------------------------- CI failure → ci-remediation


@pytest.fixture
def workflow_run(webhooks: Path) -> dict[str, Any]:
    payload = load_webhook(webhooks, "workflow_run.completed-failure.json")
    payload["workflow_run"]["head_branch"] = "pressplay/task-5"
    return payload


def test_failed_actions_run_on_a_pressplay_branch(sensors: Any, workflow_run: dict[str, Any]) -> None:
    result = only(sensors, "workflow_run", workflow_run)
    assert result.trigger == "remediate-workflow-run"
    workflow = result.workflow
    assert workflow["metadata"]["name"] == f"ci-remediation-{DELIVERY}"
    assert workflow["spec"]["workflowTemplateRef"] == {"name": "ci-remediation"}
    run = workflow_run["workflow_run"]
    assert argument(workflow, "repo") == "octo-org/octo-repo"
    assert argument(workflow, "number") == str(run["pull_requests"][0]["number"])
    assert argument(workflow, "branch") == "pressplay/task-5"
    assert argument(workflow, "headSha") == run["head_sha"]
    assert b64(argument(workflow, "checkB64")) == workflow_run["workflow"]["name"]
    assert argument(workflow, "conclusion") == "failure"
    assert argument(workflow, "detailsUrl") == run["html_url"]
    assert argument(workflow, "base") == run["pull_requests"][0]["base"]["ref"]


def test_actions_runs_that_do_not_trigger(sensors: Any, workflow_run: dict[str, Any], webhooks: Path) -> None:
    nothing(sensors, "workflow_run", load_webhook(webhooks, "workflow_run.completed-failure.json"))  # master
    success = load_webhook(webhooks, "workflow_run.completed-success.json")
    success["workflow_run"]["head_branch"] = "pressplay/task-5"
    nothing(sensors, "workflow_run", success)
    for mutate in (
        lambda p: p["workflow_run"].__setitem__("conclusion", "cancelled"),
        lambda p: p.__setitem__("action", "requested"),
        lambda p: p["workflow_run"].__setitem__("pull_requests", []),
        lambda p: p["workflow_run"]["head_repository"].__setitem__("full_name", "mallory/octo-repo"),
        lambda p: p["workflow_run"].__setitem__("head_branch", "main"),
    ):
        payload = copy.deepcopy(workflow_run)
        mutate(payload)
        nothing(sensors, "workflow_run", payload)


@pytest.fixture
def check_run(webhooks: Path) -> dict[str, Any]:
    payload = load_webhook(webhooks, "check_run.completed-failure.json")
    payload["check_run"]["check_suite"]["head_branch"] = "pressplay/task-4"
    return payload


def test_failed_check_run_of_another_ci(sensors: Any, check_run: dict[str, Any]) -> None:
    # GitHub Actions' own check runs are left to the workflow_run dependency (one run per failure).
    nothing(sensors, "check_run", check_run)
    check_run["check_run"]["app"]["slug"] = "circleci-checks"
    result = only(sensors, "check_run", check_run)
    assert result.trigger == "remediate-check-run"
    run = check_run["check_run"]
    assert argument(result.workflow, "number") == str(run["pull_requests"][0]["number"])
    assert argument(result.workflow, "branch") == "pressplay/task-4"
    assert b64(argument(result.workflow, "checkB64")) == run["name"]
    assert argument(result.workflow, "headSha") == run["head_sha"]
    assert argument(result.workflow, "eventTime") == run["completed_at"]


def test_check_runs_that_do_not_trigger(sensors: Any, check_run: dict[str, Any], webhooks: Path) -> None:
    check_run["check_run"]["app"]["slug"] = "circleci-checks"
    for mutate in (
        lambda p: p["check_run"]["app"].__setitem__("slug", "pressplay"),  # our own App's check runs
        lambda p: p["check_run"].__setitem__("conclusion", "success"),
        lambda p: p["check_run"].__setitem__("conclusion", "neutral"),
        lambda p: p["check_run"]["check_suite"].__setitem__("head_branch", "changes"),
        lambda p: p["check_run"].__setitem__("pull_requests", []),
        lambda p: p["check_run"]["pull_requests"][0]["head"]["repo"].__setitem__("id", 1),  # a fork
        lambda p: p.__setitem__("action", "rerequested"),
    ):
        payload = copy.deepcopy(check_run)
        mutate(payload)
        nothing(sensors, "check_run", payload)
    success = load_webhook(webhooks, "check_run.completed-success.json")
    success["check_run"]["check_suite"]["head_branch"] = "pressplay/task-4"
    success["check_run"]["app"]["slug"] = "circleci-checks"
    nothing(sensors, "check_run", success)


# ---------------------------------------------------------------- issues → issue-triage


def test_issue_opened_by_a_trusted_author(sensors: Any, webhooks: Path) -> None:
    payload = load_webhook(webhooks, "issues.opened.json")
    result = only(sensors, "issues", payload)
    assert result.trigger == "triage-opened"
    assert result.workflow["metadata"]["name"] == f"issue-triage-{DELIVERY}"
    assert argument(result.workflow, "number") == str(payload["issue"]["number"])
    assert b64(argument(result.workflow, "titleB64")) == payload["issue"]["title"]
    issue = payload["issue"]
    assert b64(argument(result.workflow, "issueB64")) == f"# {issue['title']}\n\n{issue['body'] or ''}"


def test_issues_that_do_not_trigger(sensors: Any, webhooks: Path) -> None:
    opened = load_webhook(webhooks, "issues.opened.json")
    for mutate in (
        lambda p: p.__setitem__("action", "reopened"),
        lambda p: p["issue"].__setitem__("author_association", "NONE"),
        lambda p: p["issue"].__setitem__("author_association", "CONTRIBUTOR"),
        lambda p: p["sender"].__setitem__("type", "Bot"),
    ):
        payload = copy.deepcopy(opened)
        mutate(payload)
        nothing(sensors, "issues", payload)
    nothing(sensors, "issues", load_webhook(webhooks, "issues.labeled.json"))  # label "bug"


def test_issue_labelled_pressplay(sensors: Any, webhooks: Path) -> None:
    payload = load_webhook(webhooks, "issues.labeled.json")
    payload["label"]["name"] = "pressplay"
    result = only(sensors, "issues", payload)
    assert result.trigger == "triage-labeled"
    assert argument(result.workflow, "repo") == "Codertocat/Hello-World"
    unlabeled = copy.deepcopy(payload)
    unlabeled["action"] = "unlabeled"
    nothing(sensors, "issues", unlabeled)
    look_alike = copy.deepcopy(payload)
    look_alike["label"]["name"] = "pressplay-later"
    nothing(sensors, "issues", look_alike)
    by_bot = copy.deepcopy(payload)
    by_bot["sender"]["type"] = "Bot"
    nothing(sensors, "issues", by_bot)
    closed = copy.deepcopy(payload)
    closed["issue"]["state"] = "closed"
    nothing(sensors, "issues", closed)


# ---------------------------------------------------------------- merged pressplay PR → press-play


@pytest.fixture
def merged(webhooks: Path) -> dict[str, Any]:
    payload = labelled(
        load_webhook(webhooks, "pull_request.closed-merged.json"), "pull_request", "pressplay", "task-2"
    )
    payload["pull_request"]["head"]["ref"] = "pressplay/task-2"
    return payload


def test_merged_pressplay_pr_presses_play_again(sensors: Any, merged: dict[str, Any]) -> None:
    result = only(sensors, "pull_request", merged)
    assert result.trigger == "press-play"
    assert result.workflow["metadata"]["name"] == f"press-play-{DELIVERY}"
    assert result.workflow["spec"]["workflowTemplateRef"] == {"name": "press-play"}
    assert argument(result.workflow, "repo") == "Codertocat/Hello-World"
    assert argument(result.workflow, "base") == merged["pull_request"]["base"]["ref"]


def test_pull_requests_that_do_not_press_play(sensors: Any, merged: dict[str, Any], webhooks: Path) -> None:
    unmerged = labelled(
        load_webhook(webhooks, "pull_request.closed-unmerged.json"), "pull_request", "pressplay"
    )
    unmerged["pull_request"]["head"]["ref"] = "pressplay/task-2"
    nothing(sensors, "pull_request", unmerged)
    for mutate in (
        lambda p: p["sender"].update(login="pressplay[bot]", type="Bot"),  # merged by pressplay itself
        lambda p: p["pull_request"]["head"].__setitem__("ref", "feature/x"),
        lambda p: p["pull_request"].__setitem__("labels", []),
        lambda p: p["pull_request"]["head"]["repo"].__setitem__("full_name", "mallory/Hello-World"),
        lambda p: p.__setitem__("action", "reopened"),
    ):
        payload = copy.deepcopy(merged)
        mutate(payload)
        nothing(sensors, "pull_request", payload)


# ---------------------------------------------------------------- every real payload, every Sensor


EXPECTED_FIXTURE_TRIGGERS = {"issues.opened.json": ["issue-triage/triage-opened"]}


def test_unmodified_fixtures_fire_only_what_they_should(sensors: Any, webhooks: Path) -> None:
    for path in sorted(webhooks.glob("*.json")):
        event = path.name.split(".", 1)[0]
        result = fired(sensors, event, load_webhook(webhooks, path.name))
        assert [f"{n}/{f.trigger}" for n, f in result] == EXPECTED_FIXTURE_TRIGGERS.get(path.name, []), (
            path.name
        )


VENDORED_EXAMPLES = Path(__file__).parent / "data" / "octokit-webhooks-examples-7.6.1.json.gz"


def _examples() -> list[dict[str, Any]]:
    """@octokit/webhooks-examples: $PRESSPLAY_WEBHOOKS_EXAMPLES (an index.json), an npm install in
    the repository, or the copy vendored under data/ (see data/README.md)."""
    explicit = os.environ.get("PRESSPLAY_WEBHOOKS_EXAMPLES")
    installed = REPO / "node_modules" / "@octokit" / "webhooks-examples" / "api.github.com" / "index.json"
    for candidate in ([Path(explicit)] if explicit else []) + [installed]:
        if candidate.is_file():
            entries: list[dict[str, Any]] = json.loads(candidate.read_text(encoding="utf-8"))
            return entries
    vendored: list[dict[str, Any]] = json.loads(gzip.decompress(VENDORED_EXAMPLES.read_bytes()))
    return vendored


TRUSTED = {"OWNER", "MEMBER", "COLLABORATOR"}


def _invariants(event: str, body: Mapping[str, Any], trigger: str) -> None:
    """What must hold for any payload that fires a trigger."""
    # Only the configured installation and repositories (conftest.SETTINGS_PATCH).
    assert delivered(body)["installation"]["id"] == INSTALLATION
    assert body["repository"]["full_name"] in ("Codertocat/Hello-World", "octo-org/octo-repo")
    if trigger.startswith("remediate-") and trigger not in ("remediate-check-run", "remediate-workflow-run"):
        assert body["sender"]["type"] == "User"
        item = body.get("review") or body["comment"]
        assert item["author_association"] in TRUSTED
    if trigger == "remediate-comment":
        assert event == "issue_comment" and body["action"] == "created" and "pull_request" in body["issue"]
    if trigger == "remediate-review-comment":
        assert event == "pull_request_review_comment" and body["action"] == "created"
        assert body["pull_request"]["head"]["ref"].startswith("pressplay/task-")
    if trigger == "remediate-review":
        assert event == "pull_request_review" and body["review"]["state"] == "changes_requested"
    if trigger == "triage-opened":
        assert (
            event == "issues"
            and body["action"] == "opened"
            and body["issue"]["author_association"] in TRUSTED
        )
    if trigger == "triage-labeled":
        assert event == "issues" and body["action"] == "labeled" and body["label"]["name"] == "pressplay"
    if trigger == "press-play":
        assert (
            event == "pull_request" and body["action"] == "closed" and body["pull_request"]["merged"] is True
        )
    if trigger in ("remediate-check-run", "remediate-workflow-run"):
        assert event in ("check_run", "workflow_run") and body["action"] == "completed"


def test_every_octokit_example(sensors: Any) -> None:
    """Every example of @octokit/webhooks-examples, as is and retargeted at a pressplay PR branch."""
    entries = _examples()
    seen = 0
    fired_total: dict[str, int] = {}
    for entry in entries:
        for example in entry.get("examples", []):
            variants = [example, _retarget(example)]
            for body in variants:
                seen += 1
                for name, result in fired(sensors, entry["name"], body):
                    fired_total[result.trigger] = fired_total.get(result.trigger, 0) + 1
                    _invariants(entry["name"], body, result.trigger)
                    assert result.workflow["metadata"]["name"].endswith(DELIVERY), name
    assert seen > 500, seen
    # Retargeted real payloads reach the flows that only pressplay branches can reach.
    assert fired_total.get("remediate-review-comment", 0) > 0
    assert fired_total.get("triage-opened", 0) > 0


def _retarget(example: Mapping[str, Any]) -> dict[str, Any]:
    """The same payload on a pressplay PR: head branch pressplay/task-1, labels pressplay + task-1."""
    body = copy.deepcopy(dict(example))
    for key in ("pull_request", "issue"):
        item = body.get(key)
        if isinstance(item, dict):
            item["labels"] = [{"name": "pressplay"}, {"name": "task-1"}]
            if isinstance(item.get("head"), dict):
                item["head"]["ref"] = "pressplay/task-1"
    for key in ("workflow_run",):
        if isinstance(body.get(key), dict):
            body[key]["head_branch"] = "pressplay/task-1"
    if isinstance(body.get("check_run"), dict) and isinstance(body["check_run"].get("check_suite"), dict):
        body["check_run"]["check_suite"]["head_branch"] = "pressplay/task-1"
    return body


def test_the_evaluator_follows_argo_events_rules() -> None:
    """Guard the re-implementation itself with the documented traps."""
    data = github_event("issues", {"action": "reopened", "sender": {"type": "User"}}, DELIVERY)
    unanchored = {
        "name": "d",
        "filters": {"data": [{"path": "body.action", "type": "string", "value": ["opened"]}]},
    }
    anchored = {
        "name": "d",
        "filters": {"data": [{"path": "body.action", "type": "string", "value": ["^opened$"]}]},
    }
    assert argo_events.dependency_fires(unanchored, data)
    assert not argo_events.dependency_fires(anchored, data)
    # Header values are arrays: a string filter sees the JSON text.
    header = {
        "name": "d",
        "filters": {"data": [{"path": "headers.X-Github-Event", "type": "string", "value": ["^issues$"]}]},
    }
    assert not argo_events.dependency_fires(header, data)
    header["filters"]["data"][0]["path"] = "headers.X-Github-Event.0"  # type: ignore[index]
    assert argo_events.dependency_fires(header, data)
    # The wrong casing is a missing path: dropped.
    wrong = {
        "name": "d",
        "filters": {"data": [{"path": "headers.X-GitHub-Event.0", "type": "string", "value": ["."]}]},
    }
    assert not argo_events.dependency_fires(wrong, data)
    missing = {
        "name": "d",
        "filters": {"data": [{"path": "body.nope", "type": "string", "comparator": "!=", "value": ["^x$"]}]},
    }
    assert not argo_events.dependency_fires(missing, data)


def b64(value: str) -> str:
    """Event text arrives base64 (the Sensors' b64enc: Argo would template it in clear)."""
    return base64.b64decode(value, validate=True).decode("utf-8")
