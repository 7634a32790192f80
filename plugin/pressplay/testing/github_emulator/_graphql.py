"""A small slice of GitHub's GraphQL schema, executed with graphql-core against the emulator's state.

Covers what pressplay needs: reading a PR (``repository.pullRequest`` / ``node``) including
``autoMergeRequest``, ``mergeStateStatus`` and ``reviewDecision``, and the mutations
``enablePullRequestAutoMerge`` / ``disablePullRequestAutoMerge``. Errors come back the way GitHub
sends them: HTTP 200 with ``errors[].type`` (``NOT_FOUND``, ``UNPROCESSABLE``, ...).
"""

from __future__ import annotations

import base64
from functools import cache
from typing import TYPE_CHECKING, Any

from pressplay.testing.github_emulator._model import Issue, RepoState, iso, node_id

if TYPE_CHECKING:
    from graphql import GraphQLSchema

    from pressplay.testing.github_emulator._emulator import GitHubEmulator

SDL = """
scalar DateTime
scalar URI
scalar GitObjectID

enum PullRequestMergeMethod { MERGE SQUASH REBASE }
enum MergeStateStatus { BEHIND BLOCKED CLEAN DIRTY DRAFT HAS_HOOKS UNKNOWN UNSTABLE }
enum MergeableState { CONFLICTING MERGEABLE UNKNOWN }
enum PullRequestState { OPEN CLOSED MERGED }
enum PullRequestReviewDecision { APPROVED CHANGES_REQUESTED REVIEW_REQUIRED }

interface Node { id: ID! }
interface Actor { login: String! avatarUrl: URI! url: URI! }

type Bot implements Node & Actor { id: ID! login: String! avatarUrl: URI! url: URI! }
type User implements Node & Actor { id: ID! login: String! avatarUrl: URI! url: URI! }

type AutoMergeRequest {
  enabledAt: DateTime
  enabledBy: Actor
  mergeMethod: PullRequestMergeMethod!
  commitHeadline: String
  commitBody: String
  authorEmail: String
  pullRequest: PullRequest!
}

type PullRequest implements Node {
  id: ID!
  databaseId: Int
  number: Int!
  title: String!
  body: String!
  url: URI!
  state: PullRequestState!
  isDraft: Boolean!
  merged: Boolean!
  mergedAt: DateTime
  closed: Boolean!
  mergeable: MergeableState!
  mergeStateStatus: MergeStateStatus!
  reviewDecision: PullRequestReviewDecision
  headRefName: String!
  headRefOid: GitObjectID!
  baseRefName: String!
  baseRefOid: GitObjectID!
  author: Actor
  autoMergeRequest: AutoMergeRequest
  viewerCanEnableAutoMerge: Boolean!
  viewerCanDisableAutoMerge: Boolean!
  repository: Repository!
}

type Repository implements Node {
  id: ID!
  name: String!
  nameWithOwner: String!
  url: URI!
  autoMergeAllowed: Boolean!
  pullRequest(number: Int!): PullRequest
}

type RateLimit { cost: Int! limit: Int! nodeCount: Int! remaining: Int! resetAt: DateTime! used: Int! }

type Query {
  repository(owner: String!, name: String!, followRenames: Boolean = true): Repository
  node(id: ID!): Node
  viewer: Actor!
  rateLimit(dryRun: Boolean = false): RateLimit
}

input EnablePullRequestAutoMergeInput {
  pullRequestId: ID!
  mergeMethod: PullRequestMergeMethod = MERGE
  commitHeadline: String
  commitBody: String
  authorEmail: String
  expectedHeadOid: GitObjectID
  clientMutationId: String
}
type EnablePullRequestAutoMergePayload { clientMutationId: String actor: Actor pullRequest: PullRequest }

input DisablePullRequestAutoMergeInput { pullRequestId: ID! clientMutationId: String }
type DisablePullRequestAutoMergePayload { clientMutationId: String actor: Actor pullRequest: PullRequest }

input MarkPullRequestReadyForReviewInput { pullRequestId: ID! clientMutationId: String }
type MarkPullRequestReadyForReviewPayload { clientMutationId: String pullRequest: PullRequest }

input ConvertPullRequestToDraftInput { pullRequestId: ID! clientMutationId: String }
type ConvertPullRequestToDraftPayload { clientMutationId: String pullRequest: PullRequest }

type Mutation {
  enablePullRequestAutoMerge(input: EnablePullRequestAutoMergeInput!): EnablePullRequestAutoMergePayload
  disablePullRequestAutoMerge(input: DisablePullRequestAutoMergeInput!): DisablePullRequestAutoMergePayload
  markPullRequestReadyForReview(input: MarkPullRequestReadyForReviewInput!): MarkPullRequestReadyForReviewPayload
  convertPullRequestToDraft(input: ConvertPullRequestToDraftInput!): ConvertPullRequestToDraftPayload
}
"""


class GitHubGraphQLError(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@cache
def _schema() -> GraphQLSchema:
    from graphql import build_schema

    return build_schema(SDL)


def execute(
    emu: GitHubEmulator, installation: int | None, query: str, variables: dict[str, Any]
) -> dict[str, Any]:
    try:
        from graphql import graphql_sync
    except ImportError:  # pragma: no cover - graphql-core is a test dependency
        return {"errors": [{"message": "the emulator's GraphQL endpoint needs graphql-core installed"}]}
    root = _Root(emu, installation)
    result = graphql_sync(_schema(), query, root_value=root, variable_values=variables)
    out: dict[str, Any] = {}
    if result.data is not None or not result.errors:
        out["data"] = result.data
    if result.errors:
        errors = []
        for err in result.errors:
            original = err.original_error
            entry: dict[str, Any] = {"message": err.message}
            if isinstance(original, GitHubGraphQLError):
                entry["type"] = original.kind
            if err.path:
                entry["path"] = list(err.path)
            if err.locations:
                entry["locations"] = [{"line": loc.line, "column": loc.column} for loc in err.locations]
            errors.append(entry)
        out["errors"] = errors
    return out


def _decode_node(value: str) -> tuple[str, int] | None:
    _prefix, _sep, raw = value.partition("_")
    try:
        kind, ident = base64.b64decode(raw + "=" * (-len(raw) % 4)).decode().split(":", 1)
        return kind, int(ident)
    except (ValueError, UnicodeDecodeError):
        return None


class _Root:
    def __init__(self, emu: GitHubEmulator, installation: int | None) -> None:
        self.emu = emu
        self.installation = installation

    # -- lookups ----------------------------------------------------------------------------------
    def _visible(self, state: RepoState) -> bool:
        return self.emu._installations.get(state.owner.login.lower()) == self.installation

    def _find_pr(self, pr_id: str) -> tuple[RepoState, Issue]:
        decoded = _decode_node(pr_id)
        if decoded and decoded[0] == "PR":
            for state in self.emu._repos.values():
                for issue in state.issues.values():
                    if issue.pull is not None and issue.id == decoded[1] and self._visible(state):
                        return state, issue
        raise GitHubGraphQLError("NOT_FOUND", f"Could not resolve to a node with the global id of '{pr_id}'")

    # -- Query ------------------------------------------------------------------------------------
    def repository(self, info: Any, owner: str, name: str, followRenames: bool = True) -> dict[str, Any]:  # noqa: N803
        state = self.emu._repos.get(f"{owner}/{name}".lower())
        if state is None or not self._visible(state):
            raise GitHubGraphQLError(
                "NOT_FOUND", f"Could not resolve to a Repository with the name '{owner}/{name}'."
            )
        return self._repo(state)

    def node(self, info: Any, id: str) -> dict[str, Any]:
        state, issue = self._find_pr(id)
        return self._pr(state, issue)

    def viewer(self, info: Any) -> dict[str, Any]:
        return self._actor(self.emu.bot)

    def rateLimit(self, info: Any, dryRun: bool = False) -> dict[str, Any]:  # noqa: N802, N803
        window = self.emu._window(self.installation or 0, "graphql")
        return {
            "cost": 1,
            "limit": window.limit,
            "nodeCount": 1,
            "remaining": window.limit - window.used,
            "resetAt": iso(self.emu.now()),
            "used": window.used,
        }

    # -- Mutation ---------------------------------------------------------------------------------
    def enablePullRequestAutoMerge(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        from pressplay.testing.github_emulator._api import merge_state

        state, issue = self._find_pr(input["pullRequestId"])
        pr = issue.pull
        assert pr is not None
        if issue.state != "open":
            raise GitHubGraphQLError(
                "UNPROCESSABLE", "Pull request is not in the correct state to enable auto-merge"
            )
        if input.get("expectedHeadOid") and input["expectedHeadOid"] != pr.head_sha:
            raise GitHubGraphQLError("UNPROCESSABLE", "Head sha didn't match expected head sha")
        if pr.auto_merge is None:
            _mergeable, status = merge_state(self.emu, state, issue)
            if status in {"clean", "unstable", "has_hooks"}:  # mergeable now: GitHub wants a direct merge
                raise GitHubGraphQLError("UNPROCESSABLE", f"Pull request is in {status} status")
            if status == "draft":
                raise GitHubGraphQLError("UNPROCESSABLE", "Pull request is in draft state")
            pr.auto_merge = {
                "enabled_by": self.emu.shapes.user(self.emu.bot),
                "merge_method": str(input.get("mergeMethod") or "MERGE").lower(),
                "commit_title": input.get("commitHeadline") or "",
                "commit_message": input.get("commitBody") or "",
                "enabled_at": iso(self.emu.now()),
            }
            issue.updated_at = self.emu.now()
        return {
            "clientMutationId": input.get("clientMutationId"),
            "actor": self._actor(self.emu.bot),
            "pullRequest": self._pr(state, issue),
        }

    def disablePullRequestAutoMerge(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        state, issue = self._find_pr(input["pullRequestId"])
        assert issue.pull is not None
        issue.pull.auto_merge = None
        return {
            "clientMutationId": input.get("clientMutationId"),
            "actor": self._actor(self.emu.bot),
            "pullRequest": self._pr(state, issue),
        }

    def markPullRequestReadyForReview(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        return self._set_draft(input, False)

    def convertPullRequestToDraft(self, info: Any, input: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        return self._set_draft(input, True)

    def _set_draft(self, input: dict[str, Any], draft: bool) -> dict[str, Any]:
        state, issue = self._find_pr(input["pullRequestId"])
        assert issue.pull is not None
        if issue.state != "open":
            raise GitHubGraphQLError("UNPROCESSABLE", "Pull request is closed")
        if issue.pull.draft != draft:
            issue.pull.draft = draft
            issue.updated_at = self.emu.now()
        return {"clientMutationId": input.get("clientMutationId"), "pullRequest": self._pr(state, issue)}

    # -- shapes -----------------------------------------------------------------------------------
    def _actor(self, user: Any) -> dict[str, Any]:
        shaped = self.emu.shapes.user(user)
        return {
            "__typename": "Bot" if user.type == "Bot" else "User",
            "id": shaped["node_id"],
            "login": user.login,
            "avatarUrl": shaped["avatar_url"],
            "url": shaped["html_url"],
        }

    def _repo(self, state: RepoState) -> dict[str, Any]:
        root = self

        def pull_request(info: Any, number: int) -> dict[str, Any] | None:
            issue = state.issues.get(number)
            if issue is None or issue.pull is None:
                raise GitHubGraphQLError(
                    "NOT_FOUND", f"Could not resolve to a PullRequest with the number of {number}."
                )
            return root._pr(state, issue)

        return {
            "__typename": "Repository",
            "id": node_id("R", state.id),
            "name": state.name,
            "nameWithOwner": state.full_name,
            "url": f"{self.emu.web_url}/{state.full_name}",
            "autoMergeAllowed": True,
            "pullRequest": pull_request,
        }

    def _pr(self, state: RepoState, issue: Issue) -> dict[str, Any]:
        from pressplay.testing.github_emulator._api import merge_state, review_decision

        pr = issue.pull
        assert pr is not None
        mergeable, status = merge_state(self.emu, state, issue)
        prot = state.protection.get(pr.base_ref)
        decision = None
        if prot is not None and prot.required_approvals:
            approvals, changes = review_decision(state, issue)
            decision = (
                "CHANGES_REQUESTED"
                if changes
                else "APPROVED"
                if approvals >= prot.required_approvals
                else "REVIEW_REQUIRED"
            )
        auto = None
        if pr.auto_merge is not None:
            auto = {
                "enabledAt": pr.auto_merge.get("enabled_at"),
                "enabledBy": self._actor(self.emu.bot),
                "mergeMethod": str(pr.auto_merge.get("merge_method", "merge")).upper(),
                "commitHeadline": pr.auto_merge.get("commit_title"),
                "commitBody": pr.auto_merge.get("commit_message"),
                "authorEmail": None,
                "pullRequest": lambda info: self._pr(state, issue),
            }
        return {
            "__typename": "PullRequest",
            "id": node_id("PR", issue.id),
            "databaseId": issue.id,
            "number": issue.number,
            "title": issue.title,
            "body": issue.body or "",
            "url": f"{self.emu.web_url}/{state.full_name}/pull/{issue.number}",
            "state": "MERGED" if pr.merged else issue.state.upper(),
            "isDraft": pr.draft,
            "merged": pr.merged,
            "mergedAt": iso(pr.merged_at),
            "closed": issue.state == "closed",
            "mergeable": "MERGEABLE" if mergeable else "CONFLICTING" if mergeable is False else "UNKNOWN",
            "mergeStateStatus": status.upper(),
            "reviewDecision": decision,
            "headRefName": pr.head_ref,
            "headRefOid": pr.head_sha,
            "baseRefName": pr.base_ref,
            "baseRefOid": state.branches.get(pr.base_ref, pr.base_sha),
            "author": self._actor(issue.user),
            "autoMergeRequest": auto,
            "viewerCanEnableAutoMerge": issue.state == "open" and pr.auto_merge is None,
            "viewerCanDisableAutoMerge": pr.auto_merge is not None,
            "repository": lambda info: self._repo(state),
        }
