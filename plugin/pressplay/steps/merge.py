"""``merge``: get a pull request merged, **only** as branch protection allows, and wait until it is.

Modes:

- ``auto`` (default): turn on GitHub's auto-merge (GraphQL ``enablePullRequestAutoMerge``, pinned to
  the head SHA checked); GitHub merges once branch protection is satisfied. A PR that is already
  mergeable (GitHub refuses auto-merge on those) is merged directly, exactly as in ``direct``.
  With ``sha`` (the head acceptance verified) ``auto`` merges like ``direct`` and turns off an
  auto-merge it enabled: GitHub's auto-merge survives a push by anyone with write access (an agent
  too) and would merge a head nobody verified; the merge call carries the SHA, so a push in between
  makes GitHub refuse it.
- ``direct``: merge (``PUT /pulls/{n}/merge`` with the head SHA checked) once GitHub reports the PR
  mergeable under branch protection (``mergeable_state`` clean, unstable or has_hooks) and no
  reviewer's latest review requests changes.
- ``wait``: never merge; wait for a person to.

Never an admin override: pressplay calls the merge endpoint only when GitHub says protection is
satisfied (``blocked``, ``behind``, ``dirty`` and ``draft`` never reach it), so an App that could
bypass protection does not. Each call checks once and answers within one round of reads:

- merged → Succeeded with the merge commit SHA (every later call answers the same);
- closed without merging → Failed;
- anything else → Running with the reason (changes requested, required review or checks missing,
  conflicts, behind base, draft, GitHub still computing) and a requeue; after ``timeout`` → Failed
  with the last reason.

The deadline is anchored on ``since`` when given, else on the later of the PR's creation and its
head commit's date (both read from GitHub, so a sidecar restart does not reset it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field

from pressplay.github import GitHubPermanentError, GitHubResponse, RepoClient
from pressplay.steps.base import Failed, Outcome, PermanentError, StepContext, Succeeded, step
from pressplay.steps.waiting import GiveUp, Wait, WaitArgs, keep_waiting
from pressplay.types import OptionalCommitSha, Repo, parse_timestamp

#: GitHub's words when the repository refuses a merge method / has auto-merge switched off.
_METHOD_REFUSED = re.compile(
    r"merge method|merge commits are not allowed|(squash|rebase) merg\w* (is|are) not allowed", re.I
)
_AUTO_MERGE_OFF = re.compile(r"auto[- ]merge (is )?(not allowed|not enabled|disabled)", re.I)
#: ``mergeable_state`` values under which branch protection lets the PR merge now.
MERGEABLE_STATES = frozenset({"clean", "unstable", "has_hooks"})


class MergeMethod(StrEnum):
    """How GitHub combines the commits."""

    merge = "merge"
    squash = "squash"
    rebase = "rebase"


class MergeMode(StrEnum):
    """Who merges."""

    auto = "auto"
    direct = "direct"
    wait = "wait"


class MergeArgs(WaitArgs):
    """Arguments of the ``merge`` step."""

    repo: Repo = Field(description="Repository as `owner/name`, e.g. `acme/api`.")
    number: int = Field(
        ge=1, description="Pull request number, e.g. `{{tasks.pr.outputs.parameters.number}}`."
    )
    method: MergeMethod = Field(
        MergeMethod.squash,
        description="`squash` (default), `merge` or `rebase`; the repository must allow it.",
    )
    mode: MergeMode = Field(
        MergeMode.auto,
        description=(
            "`auto`: enable GitHub auto-merge (merges at once if already mergeable); `direct`: merge when "
            "GitHub says branch protection is satisfied; `wait`: wait for a person to merge."
        ),
    )
    sha: OptionalCommitSha = Field(
        None,
        description=(
            "Merge only this head SHA (the one checks and acceptance verified), e.g. the acceptance step's "
            "`sha` output. If the PR's head moved, the step fails rather than merge unverified commits; "
            "`auto` then merges itself with the SHA in the merge call instead of GitHub's auto-merge."
        ),
    )


@dataclass(frozen=True)
class Blocker:
    """Why the PR is not merged yet. ``short``: GitHub is still computing; poll again soon."""

    reason: str
    short: bool = False


def _read_pr(repo: RepoClient, number: int) -> GitHubResponse:
    response = repo.get(f"pulls/{number}", allow=(404,))
    if response.status == 404 or not isinstance(response.json, dict):
        raise PermanentError(
            f"pull request #{number} not found in {repo.full_name}: check `number` and `repo`"
        )
    return response


def _changes_requested(repo: RepoClient, number: int) -> list[str]:
    """Reviewers whose latest deciding review requests changes."""
    latest: dict[str, str] = {}
    for review in repo.get_all(f"pulls/{number}/reviews"):
        if not isinstance(review, dict):
            continue
        state = str(review.get("state") or "").upper()
        login = str((review.get("user") or {}).get("login") or "")
        if login and state in {"APPROVED", "CHANGES_REQUESTED", "DISMISSED"}:
            latest[login] = state
    return sorted(login for login, state in latest.items() if state == "CHANGES_REQUESTED")


def blocker(pr: dict[str, Any], changes_by: list[str]) -> Blocker | None:
    """What keeps ``pr`` from merging under branch protection now (None: it may be merged)."""
    if changes_by:
        who = ", ".join(f"@{login}" for login in changes_by)
        return Blocker(
            f"changes requested by {who}: a person must act (push a fix and re-request review, or dismiss)"
        )
    if pr.get("draft"):
        return Blocker("the PR is a draft: mark it ready for review")
    state = str(pr.get("mergeable_state") or "unknown")
    mergeable = pr.get("mergeable")
    if mergeable is None or state == "unknown":
        return Blocker("GitHub is still computing whether the PR can be merged", short=True)
    if state == "dirty" or mergeable is False:
        return Blocker("the PR has merge conflicts with its base: resolve them")
    if state == "behind":
        return Blocker(
            "the head branch is behind its base and branch protection requires it up to date: update it"
        )
    if state == "blocked":
        return Blocker("branch protection is not satisfied yet (required reviews or required checks)")
    if state == "draft":
        return Blocker("the PR is a draft: mark it ready for review")
    if state in MERGEABLE_STATES:
        return None
    return Blocker(f"GitHub reports the PR as '{state}'")


def _merged(repo: RepoClient, pr: dict[str, Any], sha: str | None = None) -> Succeeded:
    merge_sha = sha or str(pr.get("merge_commit_sha") or "")
    number = int(pr["number"])
    by = str((pr.get("merged_by") or {}).get("login") or "")
    return Succeeded(
        {
            "sha": merge_sha,
            "url": str(pr.get("html_url") or ""),
            "state": "merged",
            "mergedAt": str(pr.get("merged_at") or ""),
            "mergedBy": by,
        },
        summary=f"{repo.full_name}#{number} merged as {merge_sha[:7]}" + (f" by {by}" if by else ""),
    )


def _anchor(repo: RepoClient, pr: dict[str, Any], since: datetime | None) -> datetime:
    if since is not None:
        return since
    created = parse_timestamp(pr.get("created_at"))
    head_sha = str((pr.get("head") or {}).get("sha") or "")
    committed: datetime | None = None
    if head_sha:
        commit = repo.get(f"commits/{head_sha}", allow=(404, 422)).json
        if isinstance(commit, dict):
            committer = (commit.get("commit") or {}).get("committer") or {}
            committed = parse_timestamp(committer.get("date"))
    found = [t for t in (created, committed) if t is not None]
    if not found:
        raise PermanentError(
            f"cannot tell when the wait for {repo.full_name}#{pr['number']} began: pass `since`"
        )
    return max(found)


_ENABLE = (
    "mutation($id: ID!, $method: PullRequestMergeMethod!, $head: GitObjectID) {"
    " enablePullRequestAutoMerge(input: {pullRequestId: $id, mergeMethod: $method, expectedHeadOid: $head})"
    " { pullRequest { autoMergeRequest { enabledAt mergeMethod } } } }"
)
_DISABLE = (
    "mutation($id: ID!) { disablePullRequestAutoMerge(input: {pullRequestId: $id})"
    " { pullRequest { number } } }"
)


def _enable_auto_merge(repo: RepoClient, pr: dict[str, Any], method: MergeMethod) -> Blocker | None:
    """Turn on auto-merge. Returns a blocker to report when GitHub declined for a passing reason."""
    variables = {"id": pr["node_id"], "method": method.value.upper(), "head": pr["head"]["sha"]}
    try:
        repo.graphql(_ENABLE, variables)
    except GitHubPermanentError as exc:
        said = exc.github_message or str(exc)
        if exc.mentions("clean status") or exc.mentions("unstable status"):
            return Blocker("GitHub reports the PR mergeable now; merging on the next check", short=True)
        if exc.mentions("expected head"):
            return Blocker("the head moved while enabling auto-merge; checking the new head", short=True)
        if _METHOD_REFUSED.search(said):
            raise PermanentError(
                f"{repo.full_name} does not allow the merge method '{method.value}' ({said}): change `method`"
            ) from exc
        if _AUTO_MERGE_OFF.search(said):
            raise PermanentError(
                f"auto-merge is not allowed in {repo.full_name} ({said}): turn on 'Allow auto-merge' in the "
                "repository settings, or use `mode: direct`"
            ) from exc
        if exc.mentions("permission") or exc.mentions("not accessible"):
            raise
        return Blocker(f"GitHub did not enable auto-merge: {said}")
    return None


def _merge_now(repo: RepoClient, pr: dict[str, Any], method: MergeMethod) -> Succeeded | Blocker:
    number = int(pr["number"])
    head = str(pr["head"]["sha"])
    response = repo.put(
        f"pulls/{number}/merge", {"merge_method": method.value, "sha": head}, allow=(405, 409, 422)
    )
    body = response.json if isinstance(response.json, dict) else {}
    said = str(body.get("message") or "")
    if response.status == 200 and body.get("merged", True):
        fresh = repo.get(f"pulls/{number}").json
        merged = fresh if isinstance(fresh, dict) and fresh.get("merged_at") else pr
        return _merged(repo, merged, str(body.get("sha") or ""))
    if response.status == 409:
        return Blocker(f"the head moved while merging ({said}); checking the new head", short=True)
    if response.status in (405, 422) and _METHOD_REFUSED.search(said):
        raise PermanentError(
            f"{repo.full_name} does not allow the merge method '{method.value}' ({said}): change `method`"
        )
    if response.status == 422:
        raise PermanentError(f"GitHub refused to merge {repo.full_name}#{number}: {said}")
    return Blocker(f"GitHub did not merge: {said or response.status}", short=True)


@step(
    "merge",
    MergeArgs,
    permissions={"checks": "read", "contents": "write", "pull_requests": "write", "statuses": "read"},
    outputs=("sha", "url", "state", "mergedAt", "mergedBy"),
)
def merge(args: MergeArgs, ctx: StepContext) -> Outcome:
    """Merge (or enable auto-merge for) a PR only as branch protection allows; wait until merged."""
    repo = ctx.github.repo(args.repo)
    response = _read_pr(repo, args.number)
    pr = response.json
    where = f"{args.repo}#{args.number}"
    if pr.get("merged") or pr.get("merged_at"):
        return _merged(repo, pr)
    if pr.get("state") == "closed":
        return Failed(f"{where} was closed without merging: reopen it, or start the task again")
    head = str((pr.get("head") or {}).get("sha") or "")
    ours = str(((pr.get("auto_merge") or {}).get("enabled_by") or {}).get("login") or "").lower()
    we_enabled = bool(ours) and ours == repo.bot_login().lower()
    if args.sha and head != args.sha:
        if we_enabled:
            repo.graphql(_DISABLE, {"id": pr["node_id"]})
        return Failed(
            f"the head of {where} moved from the verified {args.sha[:7]} to {head[:7]}: pressplay does not "
            "merge unverified commits; run checks and acceptance again for the new head"
        )

    if args.sha and we_enabled:
        # GitHub's auto-merge keeps going when someone with write access (an agent too) pushes: it would
        # merge a head nobody verified. With a pinned SHA pressplay merges itself, the SHA in the call.
        repo.graphql(_DISABLE, {"id": pr["node_id"]})
        we_enabled = False

    wait = Wait(_anchor(repo, pr, args.since), args.timeout, ctx.now())
    changes_by = _changes_requested(repo, args.number)
    block = blocker(pr, changes_by)

    if args.mode is MergeMode.wait:
        reason = block.reason if block else "mergeable"
        block = Blocker(f"waiting for a person to merge ({reason})", short=False)
    elif block is None:
        outcome = _merge_now(repo, pr, args.method)
        if isinstance(outcome, Succeeded):
            return outcome
        block = outcome
    elif args.mode is MergeMode.auto and args.sha:
        block = Blocker(
            f"{block.reason}; merging the verified {args.sha[:7]} once it is allowed", block.short
        )
    elif args.mode is MergeMode.auto and not block.short:
        if changes_by:
            if we_enabled:
                repo.graphql(_DISABLE, {"id": pr["node_id"]})
        elif (
            pr.get("auto_merge") is None
            and not pr.get("draft")
            and pr.get("mergeable_state") != "dirty"
            and not wait.over  # a wait that is over does not leave auto-merge behind
        ):
            declined = _enable_auto_merge(repo, pr, args.method)
            if declined is not None:
                block = declined
            else:
                block = Blocker(
                    f"auto-merge ({args.method.value}) enabled; waiting for GitHub: {block.reason}"
                )
        elif pr.get("auto_merge") is not None:
            block = Blocker(f"auto-merge is on; waiting for GitHub: {block.reason}")

    reason = block.reason
    return keep_waiting(
        wait,
        ctx.settings,
        f"{where}: {reason}",
        give_up=lambda: GiveUp(wait.timed_out(f"{where} to merge", f"last: {reason}")),
        changed=not response.not_modified,
        budget=repo.budget(),
        soon=block.short,
    )
