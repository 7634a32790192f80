"""The emulator's state (repositories, commits, issues, PRs, checks, runs) and GitHub's JSON shapes.

Shapes follow GitHub's REST description (``@octokit/openapi``) and githubkit's models: every field
those mark required is present, with realistic values. ``Shapes`` builds them from the state.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

JSON = dict[str, Any]


def iso(ts: datetime | None) -> str | None:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if ts else None


def node_id(prefix: str, ident: int) -> str:
    raw = base64.b64encode(f"{prefix}:{ident}".encode()).decode().rstrip("=")
    return f"{prefix}_{raw}"


def fake_sha(*parts: object) -> str:
    return hashlib.sha1("\0".join(str(p) for p in parts).encode(), usedforsecurity=False).hexdigest()


@dataclass
class User:
    login: str
    id: int
    type: str = "User"  # User | Bot | Organization


@dataclass
class Commit:
    sha: str
    tree: dict[str, bytes]
    parents: list[str]
    message: str
    author: str
    email: str
    date: datetime

    @property
    def tree_sha(self) -> str:
        return fake_sha(
            "tree",
            *sorted((p, hashlib.sha1(b, usedforsecurity=False).hexdigest()) for p, b in self.tree.items()),
        )


@dataclass
class Label:
    id: int
    name: str
    color: str = "ededed"
    description: str | None = None
    default: bool = False


@dataclass
class Comment:
    id: int
    issue: int
    body: str
    user: User
    author_association: str
    created_at: datetime
    updated_at: datetime


@dataclass
class Review:
    id: int
    number: int
    user: User
    state: str  # APPROVED | CHANGES_REQUESTED | COMMENTED | DISMISSED | PENDING
    body: str
    commit_id: str
    submitted_at: datetime
    author_association: str


@dataclass
class ReviewComment:
    id: int
    number: int
    body: str
    user: User
    path: str
    line: int
    commit_id: str
    author_association: str
    created_at: datetime
    updated_at: datetime
    review_id: int | None = None


@dataclass
class PullData:
    head_ref: str
    head_owner: str
    base_ref: str
    head_sha: str  # frozen once merged/closed; tracks the branch while open
    base_sha: str
    draft: bool = False
    merged: bool = False
    merged_at: datetime | None = None
    merged_by: User | None = None
    merge_commit_sha: str | None = None
    mergeable_override: bool | None = None
    mergeable_state_override: str | None = None
    requested_reviewers: list[str] = field(default_factory=list)
    auto_merge: JSON | None = None
    maintainer_can_modify: bool = False


@dataclass
class Issue:
    number: int
    id: int
    title: str
    body: str | None
    user: User
    state: str = "open"
    state_reason: str | None = None
    labels: list[str] = field(default_factory=list)
    assignees: list[str] = field(default_factory=list)
    locked: bool = False
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    closed_at: datetime | None = None
    author_association: str = "OWNER"
    pull: PullData | None = None


@dataclass
class StatusEntry:
    id: int
    sha: str
    state: str
    context: str
    description: str | None
    target_url: str | None
    creator: User
    created_at: datetime
    updated_at: datetime


@dataclass
class CheckApp:
    id: int
    slug: str
    name: str
    owner: User


@dataclass
class CheckSuite:
    id: int
    head_sha: str
    head_branch: str | None
    app: CheckApp
    created_at: datetime
    updated_at: datetime


@dataclass
class CheckRun:
    id: int
    name: str
    head_sha: str
    suite_id: int
    app: CheckApp
    status: str = "queued"
    conclusion: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    details_url: str | None = None
    external_id: str | None = None
    output: JSON = field(default_factory=dict)


@dataclass
class Workflow:
    id: int
    name: str
    path: str
    state: str = "active"
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class WorkflowRun:
    id: int
    workflow_id: int
    name: str
    head_branch: str
    head_sha: str
    event: str
    run_number: int
    actor: User
    status: str = "queued"
    conclusion: str | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    run_started_at: datetime | None = None
    inputs: JSON = field(default_factory=dict)
    check_run_id: int | None = None
    display_title: str = ""


@dataclass
class Protection:
    required_checks: list[str] = field(default_factory=list)
    required_approvals: int = 0


@dataclass
class RepoState:
    owner: User
    name: str
    id: int
    default_branch: str
    private: bool
    installation_id: int | None
    created_at: datetime
    description: str | None = None
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    issues: dict[int, Issue] = field(default_factory=dict)
    comments: dict[int, Comment] = field(default_factory=dict)
    reviews: dict[int, Review] = field(default_factory=dict)
    review_comments: dict[int, ReviewComment] = field(default_factory=dict)
    labels: dict[str, Label] = field(default_factory=dict)  # lower-cased name -> label
    statuses: list[StatusEntry] = field(default_factory=list)
    check_suites: dict[int, CheckSuite] = field(default_factory=dict)
    check_runs: dict[int, CheckRun] = field(default_factory=dict)
    workflows: dict[int, Workflow] = field(default_factory=dict)
    runs: dict[int, WorkflowRun] = field(default_factory=dict)
    protection: dict[str, Protection] = field(default_factory=dict)
    pushed_at: datetime | None = None

    @property
    def full_name(self) -> str:
        return f"{self.owner.login}/{self.name}"

    def resolve(self, ref: str) -> str | None:
        """A SHA for a branch name, ``heads/<b>``, ``refs/heads/<b>``, a full SHA or a unique prefix."""
        for prefix in ("refs/heads/", "heads/"):
            if ref.startswith(prefix):
                ref = ref[len(prefix) :]
        if ref in self.branches:
            return self.branches[ref]
        if ref in self.commits:
            return ref
        if len(ref) >= 7:
            hits = [sha for sha in self.commits if sha.startswith(ref)]
            if len(hits) == 1:
                return hits[0]
        return None

    def ancestors(self, sha: str) -> list[str]:
        """``sha`` and every commit reachable from it (breadth first)."""
        seen: list[str] = []
        queue = [sha]
        known: set[str] = set()
        while queue:
            cur = queue.pop(0)
            if cur in known or cur not in self.commits:
                continue
            known.add(cur)
            seen.append(cur)
            queue.extend(self.commits[cur].parents)
        return seen


class Shapes:
    """Builds GitHub's JSON objects. ``api`` is the emulator's base URL, ``web`` the HTML base URL."""

    def __init__(self, api: str, web: str) -> None:
        self.api = api.rstrip("/")
        self.web = web.rstrip("/")

    # -- people and apps ------------------------------------------------------------------------
    def user(self, user: User) -> JSON:
        u = f"{self.api}/users/{user.login}"
        return {
            "login": user.login,
            "id": user.id,
            "node_id": node_id("U" if user.type != "Bot" else "BOT", user.id),
            "avatar_url": f"https://avatars.githubusercontent.com/u/{user.id}?v=4",
            "gravatar_id": "",
            "url": u,
            "html_url": f"{self.web}/{user.login.removesuffix('[bot]')}"
            if user.type != "Bot"
            else f"{self.web}/apps/{user.login.removesuffix('[bot]')}",
            "followers_url": f"{u}/followers",
            "following_url": f"{u}/following{{/other_user}}",
            "gists_url": f"{u}/gists{{/gist_id}}",
            "starred_url": f"{u}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{u}/subscriptions",
            "organizations_url": f"{u}/orgs",
            "repos_url": f"{u}/repos",
            "events_url": f"{u}/events{{/privacy}}",
            "received_events_url": f"{u}/received_events",
            "type": user.type,
            "site_admin": False,
            "user_view_type": "public",
        }

    def app(self, app: CheckApp, *, permissions: JSON | None = None, events: list[str] | None = None) -> JSON:
        return {
            "id": app.id,
            "slug": app.slug,
            "node_id": node_id("A", app.id),
            "client_id": f"Iv1.{app.id:016x}",
            "owner": self.user(app.owner),
            "name": app.name,
            "description": "",
            "external_url": f"{self.web}/apps/{app.slug}",
            "html_url": f"{self.web}/apps/{app.slug}",
            "created_at": "2024-01-01T00:00:00Z",
            "updated_at": "2024-01-01T00:00:00Z",
            "permissions": permissions or {"metadata": "read"},
            "events": events or [],
            "installations_count": 1,
        }

    def installation(
        self, inst_id: int, account: User, app: CheckApp, permissions: JSON, events: list[str]
    ) -> JSON:
        return {
            "id": inst_id,
            "account": self.user(account),
            "repository_selection": "all",
            "access_tokens_url": f"{self.api}/app/installations/{inst_id}/access_tokens",
            "repositories_url": f"{self.api}/installation/repositories",
            "html_url": f"{self.web}/organizations/{account.login}/settings/installations/{inst_id}",
            "app_id": app.id,
            "client_id": f"Iv1.{app.id:016x}",
            "target_id": account.id,
            "target_type": account.type if account.type != "Bot" else "User",
            "permissions": permissions,
            "events": events,
            "created_at": "2024-01-01T00:00:00Z",
            "updated_at": "2024-01-01T00:00:00Z",
            "single_file_name": None,
            "has_multiple_single_files": False,
            "single_file_paths": [],
            "app_slug": app.slug,
            "suspended_by": None,
            "suspended_at": None,
            "contact_email": None,
        }

    # -- repositories ---------------------------------------------------------------------------
    def repo_urls(self, repo: RepoState) -> JSON:
        r = f"{self.api}/repos/{repo.full_name}"
        return {
            "url": r,
            "archive_url": f"{r}/{{archive_format}}{{/ref}}",
            "assignees_url": f"{r}/assignees{{/user}}",
            "blobs_url": f"{r}/git/blobs{{/sha}}",
            "branches_url": f"{r}/branches{{/branch}}",
            "collaborators_url": f"{r}/collaborators{{/collaborator}}",
            "comments_url": f"{r}/comments{{/number}}",
            "commits_url": f"{r}/commits{{/sha}}",
            "compare_url": f"{r}/compare/{{base}}...{{head}}",
            "contents_url": f"{r}/contents/{{+path}}",
            "contributors_url": f"{r}/contributors",
            "deployments_url": f"{r}/deployments",
            "downloads_url": f"{r}/downloads",
            "events_url": f"{r}/events",
            "forks_url": f"{r}/forks",
            "git_commits_url": f"{r}/git/commits{{/sha}}",
            "git_refs_url": f"{r}/git/refs{{/sha}}",
            "git_tags_url": f"{r}/git/tags{{/sha}}",
            "issue_comment_url": f"{r}/issues/comments{{/number}}",
            "issue_events_url": f"{r}/issues/events{{/number}}",
            "issues_url": f"{r}/issues{{/number}}",
            "keys_url": f"{r}/keys{{/key_id}}",
            "labels_url": f"{r}/labels{{/name}}",
            "languages_url": f"{r}/languages",
            "merges_url": f"{r}/merges",
            "milestones_url": f"{r}/milestones{{/number}}",
            "notifications_url": f"{r}/notifications{{?since,all,participating}}",
            "pulls_url": f"{r}/pulls{{/number}}",
            "releases_url": f"{r}/releases{{/id}}",
            "stargazers_url": f"{r}/stargazers",
            "statuses_url": f"{r}/statuses/{{sha}}",
            "subscribers_url": f"{r}/subscribers",
            "subscription_url": f"{r}/subscription",
            "tags_url": f"{r}/tags",
            "teams_url": f"{r}/teams",
            "trees_url": f"{r}/git/trees{{/sha}}",
            "hooks_url": f"{r}/hooks",
        }

    def minimal_repo(self, repo: RepoState) -> JSON:
        host = self.web.split("://", 1)[-1]
        return {
            "id": repo.id,
            "node_id": node_id("R", repo.id),
            "name": repo.name,
            "full_name": repo.full_name,
            "owner": self.user(repo.owner),
            "private": repo.private,
            "html_url": f"{self.web}/{repo.full_name}",
            "description": repo.description,
            "fork": False,
            **self.repo_urls(repo),
            "git_url": f"git://{host}/{repo.full_name}.git",
            "ssh_url": f"git@{host}:{repo.full_name}.git",
            "clone_url": f"{self.web}/{repo.full_name}.git",
            "svn_url": f"{self.web}/{repo.full_name}",
            "mirror_url": None,
            "homepage": None,
            "language": None,
            "forks_count": 0,
            "stargazers_count": 0,
            "watchers_count": 0,
            "size": sum(len(b) for b in self._head_tree(repo).values()) // 1024,
            "default_branch": repo.default_branch,
            "open_issues_count": sum(1 for i in repo.issues.values() if i.state == "open"),
            "is_template": False,
            "topics": [],
            "has_issues": True,
            "has_projects": True,
            "has_wiki": True,
            "has_pages": False,
            "has_downloads": True,
            "has_discussions": False,
            "archived": False,
            "disabled": False,
            "visibility": "private" if repo.private else "public",
            "pushed_at": iso(repo.pushed_at or repo.created_at),
            "created_at": iso(repo.created_at),
            "updated_at": iso(repo.pushed_at or repo.created_at),
            "permissions": {"admin": False, "maintain": False, "push": True, "triage": True, "pull": True},
            "allow_forking": True,
            "web_commit_signoff_required": False,
            "license": None,
            "forks": 0,
            "open_issues": sum(1 for i in repo.issues.values() if i.state == "open"),
            "watchers": 0,
        }

    def full_repo(self, repo: RepoState) -> JSON:
        return {
            **self.minimal_repo(repo),
            "subscribers_count": 0,
            "network_count": 0,
            "allow_auto_merge": True,
            "allow_merge_commit": True,
            "allow_squash_merge": True,
            "allow_rebase_merge": True,
            "delete_branch_on_merge": False,
            "allow_update_branch": True,
            "use_squash_pr_title_as_default": False,
            "squash_merge_commit_title": "COMMIT_OR_PR_TITLE",
            "squash_merge_commit_message": "COMMIT_MESSAGES",
            "merge_commit_title": "MERGE_MESSAGE",
            "merge_commit_message": "PR_TITLE",
        }

    def _head_tree(self, repo: RepoState) -> dict[str, bytes]:
        sha = repo.branches.get(repo.default_branch)
        return repo.commits[sha].tree if sha else {}

    # -- git --------------------------------------------------------------------------------------
    def git_user(self, c: Commit) -> JSON:
        return {"name": c.author, "email": c.email, "date": iso(c.date)}

    def commit(
        self, repo: RepoState, c: Commit, users: dict[str, User], *, files: list[JSON] | None = None
    ) -> JSON:
        r = f"{self.api}/repos/{repo.full_name}"
        login = users.get(c.email)
        body: JSON = {
            "url": f"{r}/commits/{c.sha}",
            "sha": c.sha,
            "node_id": node_id("C", int(c.sha[:8], 16)),
            "html_url": f"{self.web}/{repo.full_name}/commit/{c.sha}",
            "comments_url": f"{r}/commits/{c.sha}/comments",
            "commit": {
                "url": f"{r}/git/commits/{c.sha}",
                "author": self.git_user(c),
                "committer": self.git_user(c),
                "message": c.message,
                "comment_count": 0,
                "tree": {"sha": c.tree_sha, "url": f"{r}/git/trees/{c.tree_sha}"},
                "verification": {
                    "verified": False,
                    "reason": "unsigned",
                    "signature": None,
                    "payload": None,
                    "verified_at": None,
                },
            },
            "author": self.user(login) if login else None,
            "committer": self.user(login) if login else None,
            "parents": [
                {"sha": p, "url": f"{r}/commits/{p}", "html_url": f"{self.web}/{repo.full_name}/commit/{p}"}
                for p in c.parents
            ],
        }
        if files is not None:
            adds = sum(f["additions"] for f in files)
            dels = sum(f["deletions"] for f in files)
            body["stats"] = {"additions": adds, "deletions": dels, "total": adds + dels}
            body["files"] = files
        return body

    def diff_entries(
        self, repo: RepoState, old: dict[str, bytes], new: dict[str, bytes], ref: str
    ) -> list[JSON]:
        out: list[JSON] = []
        r = f"{self.api}/repos/{repo.full_name}"
        for path in sorted(set(old) | set(new)):
            a, b = old.get(path), new.get(path)
            if a == b:
                continue
            a_lines = a.decode(errors="replace").splitlines() if a is not None else []
            b_lines = b.decode(errors="replace").splitlines() if b is not None else []
            status = "added" if a is None else "removed" if b is None else "modified"
            additions = len(b_lines) if a is None else 0 if b is None else len(set(b_lines) - set(a_lines))
            deletions = len(a_lines) if b is None else 0 if a is None else len(set(a_lines) - set(b_lines))
            blob = hashlib.sha1(b if b is not None else a or b"", usedforsecurity=False).hexdigest()
            patch = "\n".join(
                ["@@ -1 +1 @@", *(f"-{x}" for x in a_lines[:20]), *(f"+{x}" for x in b_lines[:20])]
            )
            out.append(
                {
                    "sha": blob,
                    "filename": path,
                    "status": status,
                    "additions": additions,
                    "deletions": deletions,
                    "changes": additions + deletions,
                    "blob_url": f"{self.web}/{repo.full_name}/blob/{ref}/{path}",
                    "raw_url": f"{self.web}/{repo.full_name}/raw/{ref}/{path}",
                    "contents_url": f"{r}/contents/{path}?ref={ref}",
                    "patch": patch,
                }
            )
        return out

    def branch(self, repo: RepoState, name: str, users: dict[str, User]) -> JSON:
        sha = repo.branches[name]
        prot = repo.protection.get(name)
        r = f"{self.api}/repos/{repo.full_name}"
        return {
            "name": name,
            "commit": self.commit(repo, repo.commits[sha], users),
            "_links": {"self": f"{r}/branches/{name}", "html": f"{self.web}/{repo.full_name}/tree/{name}"},
            "protected": prot is not None,
            "protection": {
                "enabled": prot is not None,
                "required_status_checks": {
                    "enforcement_level": "non_admins" if prot else "off",
                    "contexts": list(prot.required_checks) if prot else [],
                    "checks": [
                        {"context": c, "app_id": None} for c in (prot.required_checks if prot else [])
                    ],
                },
            },
            "protection_url": f"{r}/branches/{name}/protection",
        }

    def ref(self, repo: RepoState, branch: str) -> JSON:
        sha = repo.branches[branch]
        r = f"{self.api}/repos/{repo.full_name}"
        return {
            "ref": f"refs/heads/{branch}",
            "node_id": node_id("REF", int(fake_sha(repo.id, branch)[:8], 16)),
            "url": f"{r}/git/refs/heads/{branch}",
            "object": {"type": "commit", "sha": sha, "url": f"{r}/git/commits/{sha}"},
        }

    def content_file(self, repo: RepoState, path: str, data: bytes, ref: str) -> JSON:
        r = f"{self.api}/repos/{repo.full_name}"
        blob = hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()
        encoded = base64.b64encode(data).decode()
        wrapped = "\n".join(encoded[i : i + 60] for i in range(0, len(encoded), 60)) + (
            "\n" if encoded else ""
        )
        return {
            "type": "file",
            "encoding": "base64",
            "size": len(data),
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "content": wrapped,
            "sha": blob,
            "url": f"{r}/contents/{path}?ref={ref}",
            "git_url": f"{r}/git/blobs/{blob}",
            "html_url": f"{self.web}/{repo.full_name}/blob/{ref}/{path}",
            "download_url": f"{self.web}/{repo.full_name}/raw/{ref}/{path}",
            "_links": {
                "self": f"{r}/contents/{path}?ref={ref}",
                "git": f"{r}/git/blobs/{blob}",
                "html": f"{self.web}/{repo.full_name}/blob/{ref}/{path}",
            },
        }

    def content_entry(self, repo: RepoState, path: str, kind: str, data: bytes | None, ref: str) -> JSON:
        r = f"{self.api}/repos/{repo.full_name}"
        sha = fake_sha(kind, path, hashlib.sha1(data or b"", usedforsecurity=False).hexdigest())
        html = f"{self.web}/{repo.full_name}/{'blob' if kind == 'file' else 'tree'}/{ref}/{path}"
        return {
            "type": kind,
            "size": len(data) if data is not None else 0,
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "sha": sha,
            "url": f"{r}/contents/{path}?ref={ref}",
            "git_url": f"{r}/git/{'blobs' if kind == 'file' else 'trees'}/{sha}",
            "html_url": html,
            "download_url": f"{self.web}/{repo.full_name}/raw/{ref}/{path}" if kind == "file" else None,
            "_links": {"self": f"{r}/contents/{path}?ref={ref}", "git": None, "html": html},
        }

    # -- issues, labels, comments -------------------------------------------------------------------
    def label(self, repo: RepoState, label: Label) -> JSON:
        return {
            "id": label.id,
            "node_id": node_id("LA", label.id),
            "url": f"{self.api}/repos/{repo.full_name}/labels/{label.name}",
            "name": label.name,
            "description": label.description,
            "color": label.color,
            "default": label.default,
            "archived_at": None,
            "archived_by": None,
        }

    def reactions(self, url: str) -> JSON:
        return {
            "url": f"{url}/reactions",
            "total_count": 0,
            "+1": 0,
            "-1": 0,
            "laugh": 0,
            "confused": 0,
            "heart": 0,
            "hooray": 0,
            "eyes": 0,
            "rocket": 0,
        }

    def issue(self, repo: RepoState, issue: Issue, users: dict[str, User]) -> JSON:
        r = f"{self.api}/repos/{repo.full_name}"
        url = f"{r}/issues/{issue.number}"
        kind = "pull" if issue.pull else "issues"
        body: JSON = {
            "id": issue.id,
            "node_id": node_id("I", issue.id),
            "url": url,
            "repository_url": r,
            "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments",
            "events_url": f"{url}/events",
            "html_url": f"{self.web}/{repo.full_name}/{kind}/{issue.number}",
            "number": issue.number,
            "state": issue.state,
            "state_reason": issue.state_reason,
            "title": issue.title,
            "body": issue.body,
            "user": self.user(issue.user),
            "labels": [
                self.label(repo, repo.labels[n.lower()]) for n in issue.labels if n.lower() in repo.labels
            ],
            "assignee": self.user(users[issue.assignees[0]]) if issue.assignees else None,
            "assignees": [self.user(users[a]) for a in issue.assignees],
            "milestone": None,
            "locked": issue.locked,
            "active_lock_reason": None,
            "comments": sum(1 for c in repo.comments.values() if c.issue == issue.number),
            "closed_at": iso(issue.closed_at),
            "created_at": iso(issue.created_at),
            "updated_at": iso(issue.updated_at),
            "closed_by": None,
            "author_association": issue.author_association,
            "reactions": self.reactions(url),
            "timeline_url": f"{url}/timeline",
            "performed_via_github_app": None,
        }
        if issue.pull:
            p = f"{r}/pulls/{issue.number}"
            body["draft"] = issue.pull.draft
            body["pull_request"] = {
                "url": p,
                "html_url": f"{self.web}/{repo.full_name}/pull/{issue.number}",
                "diff_url": f"{self.web}/{repo.full_name}/pull/{issue.number}.diff",
                "patch_url": f"{self.web}/{repo.full_name}/pull/{issue.number}.patch",
                "merged_at": iso(issue.pull.merged_at),
            }
        return body

    def comment(self, repo: RepoState, c: Comment) -> JSON:
        r = f"{self.api}/repos/{repo.full_name}"
        url = f"{r}/issues/comments/{c.id}"
        return {
            "id": c.id,
            "node_id": node_id("IC", c.id),
            "url": url,
            "html_url": f"{self.web}/{repo.full_name}/issues/{c.issue}#issuecomment-{c.id}",
            "body": c.body,
            "user": self.user(c.user),
            "created_at": iso(c.created_at),
            "updated_at": iso(c.updated_at),
            "issue_url": f"{r}/issues/{c.issue}",
            "author_association": c.author_association,
            "reactions": self.reactions(url),
            "performed_via_github_app": None,
        }

    # -- pull requests ------------------------------------------------------------------------------
    def _pr_side(self, repo: RepoState, ref: str, sha: str) -> JSON:
        return {
            "label": f"{repo.owner.login}:{ref}",
            "ref": ref,
            "repo": self.minimal_repo(repo),
            "sha": sha,
            "user": self.user(repo.owner),
        }

    def pull_simple(self, repo: RepoState, issue: Issue, users: dict[str, User]) -> JSON:
        assert issue.pull is not None
        pr = issue.pull
        r = f"{self.api}/repos/{repo.full_name}"
        p = f"{r}/pulls/{issue.number}"
        html = f"{self.web}/{repo.full_name}/pull/{issue.number}"
        base = self.issue(repo, issue, users)
        return {
            "url": p,
            "id": issue.id,
            "node_id": node_id("PR", issue.id),
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": f"{r}/issues/{issue.number}",
            "commits_url": f"{p}/commits",
            "review_comments_url": f"{p}/comments",
            "review_comment_url": f"{r}/pulls/comments{{/number}}",
            "comments_url": f"{r}/issues/{issue.number}/comments",
            "statuses_url": f"{r}/statuses/{pr.head_sha}",
            "number": issue.number,
            "state": issue.state,
            "locked": issue.locked,
            "title": issue.title,
            "user": self.user(issue.user),
            "body": issue.body,
            # GitHub's description types a PR's label descriptions as non-null strings
            "labels": [{**label, "description": label["description"] or ""} for label in base["labels"]],
            "milestone": None,
            "active_lock_reason": None,
            "created_at": iso(issue.created_at),
            "updated_at": iso(issue.updated_at),
            "closed_at": iso(issue.closed_at),
            "merged_at": iso(pr.merged_at),
            "merge_commit_sha": pr.merge_commit_sha,
            "assignee": base["assignee"],
            "assignees": base["assignees"],
            "requested_reviewers": [self.user(users[u]) for u in pr.requested_reviewers],
            "requested_teams": [],
            "head": self._pr_side(repo, pr.head_ref, pr.head_sha),
            "base": self._pr_side(repo, pr.base_ref, pr.base_sha),
            "_links": {
                "self": {"href": p},
                "html": {"href": html},
                "issue": {"href": f"{r}/issues/{issue.number}"},
                "comments": {"href": f"{r}/issues/{issue.number}/comments"},
                "review_comments": {"href": f"{p}/comments"},
                "review_comment": {"href": f"{r}/pulls/comments{{/number}}"},
                "commits": {"href": f"{p}/commits"},
                "statuses": {"href": f"{r}/statuses/{pr.head_sha}"},
            },
            "author_association": issue.author_association,
            "auto_merge": pr.auto_merge,
            "draft": pr.draft,
        }

    def pull(
        self,
        repo: RepoState,
        issue: Issue,
        users: dict[str, User],
        *,
        mergeable: bool | None,
        mergeable_state: str,
        commits: int,
        files: list[JSON],
    ) -> JSON:
        assert issue.pull is not None
        pr = issue.pull
        return {
            **self.pull_simple(repo, issue, users),
            "merged": pr.merged,
            "mergeable": mergeable,
            "rebaseable": mergeable,
            "mergeable_state": mergeable_state,
            "merged_by": self.user(pr.merged_by) if pr.merged_by else None,
            "comments": sum(1 for c in repo.comments.values() if c.issue == issue.number),
            "review_comments": 0,
            "maintainer_can_modify": pr.maintainer_can_modify,
            "commits": commits,
            "additions": sum(f["additions"] for f in files),
            "deletions": sum(f["deletions"] for f in files),
            "changed_files": len(files),
        }

    def review(self, repo: RepoState, rv: Review) -> JSON:
        r = f"{self.api}/repos/{repo.full_name}"
        html = f"{self.web}/{repo.full_name}/pull/{rv.number}#pullrequestreview-{rv.id}"
        return {
            "id": rv.id,
            "node_id": node_id("PRR", rv.id),
            "user": self.user(rv.user),
            "body": rv.body,
            "state": rv.state,
            "html_url": html,
            "pull_request_url": f"{r}/pulls/{rv.number}",
            "_links": {"html": {"href": html}, "pull_request": {"href": f"{r}/pulls/{rv.number}"}},
            "submitted_at": iso(rv.submitted_at),
            "commit_id": rv.commit_id,
            "author_association": rv.author_association,
        }

    def review_comment(self, repo: RepoState, rc: ReviewComment) -> JSON:
        r = f"{self.api}/repos/{repo.full_name}"
        url = f"{r}/pulls/comments/{rc.id}"
        html = f"{self.web}/{repo.full_name}/pull/{rc.number}#discussion_r{rc.id}"
        return {
            "url": url,
            "pull_request_review_id": rc.review_id,
            "id": rc.id,
            "node_id": node_id("PRRC", rc.id),
            "diff_hunk": f"@@ -{rc.line},1 +{rc.line},1 @@",
            "path": rc.path,
            "position": rc.line,
            "original_position": rc.line,
            "commit_id": rc.commit_id,
            "original_commit_id": rc.commit_id,
            "user": self.user(rc.user),
            "body": rc.body,
            "created_at": iso(rc.created_at),
            "updated_at": iso(rc.updated_at),
            "html_url": html,
            "pull_request_url": f"{r}/pulls/{rc.number}",
            "author_association": rc.author_association,
            "_links": {
                "self": {"href": url},
                "html": {"href": html},
                "pull_request": {"href": f"{r}/pulls/{rc.number}"},
            },
            "start_line": None,
            "original_start_line": None,
            "start_side": None,
            "line": rc.line,
            "original_line": rc.line,
            "side": "RIGHT",
            "subject_type": "line",
            "reactions": self.reactions(url),
        }

    # -- statuses and checks ------------------------------------------------------------------------
    def status(self, repo: RepoState, s: StatusEntry) -> JSON:
        return {
            "url": f"{self.api}/repos/{repo.full_name}/statuses/{s.sha}",
            "avatar_url": f"https://avatars.githubusercontent.com/u/{s.creator.id}?v=4",
            "id": s.id,
            "node_id": node_id("SC", s.id),
            "state": s.state,
            "description": s.description,
            "target_url": s.target_url,
            "context": s.context,
            "created_at": iso(s.created_at),
            "updated_at": iso(s.updated_at),
            "creator": self.user(s.creator),
        }

    def combined_status(self, repo: RepoState, sha: str, statuses: list[StatusEntry]) -> JSON:
        states = {s.state for s in statuses}
        if states & {"error", "failure"}:
            state = "failure"
        elif not statuses or "pending" in states:
            state = "pending"
        else:
            state = "success"
        r = f"{self.api}/repos/{repo.full_name}"
        simple = []
        for s in statuses:
            full = self.status(repo, s)
            full.pop("creator")
            full["required"] = False
            simple.append(full)
        return {
            "state": state,
            "statuses": simple,
            "sha": sha,
            "total_count": len(statuses),
            "repository": self.minimal_repo(repo),
            "commit_url": f"{r}/commits/{sha}",
            "url": f"{r}/commits/{sha}/status",
        }

    def check_suite(
        self, repo: RepoState, suite: CheckSuite, runs: list[CheckRun], users: dict[str, User]
    ) -> JSON:
        r = f"{self.api}/repos/{repo.full_name}"
        statuses = [run.status for run in runs]
        if not runs:
            status, conclusion = "queued", None
        elif all(s == "completed" for s in statuses):
            status = "completed"
            concl = [run.conclusion for run in runs]
            order = [
                "action_required",
                "cancelled",
                "timed_out",
                "failure",
                "neutral",
                "success",
                "skipped",
                "stale",
            ]
            conclusion = next((c for c in order if c in concl), "success")
            if conclusion in {"neutral", "skipped"} and "success" in concl:
                conclusion = "success"
        else:
            status = "in_progress" if any(s != "queued" for s in statuses) else "queued"
            conclusion = None
        head = repo.commits.get(suite.head_sha)
        return {
            "id": suite.id,
            "node_id": node_id("CS", suite.id),
            "head_branch": suite.head_branch,
            "head_sha": suite.head_sha,
            "status": status,
            "conclusion": conclusion,
            "url": f"{r}/check-suites/{suite.id}",
            "before": head.parents[0] if head and head.parents else "0" * 40,
            "after": suite.head_sha,
            "pull_requests": [],
            "app": self.app(suite.app),
            "repository": self.minimal_repo(repo),
            "created_at": iso(suite.created_at),
            "updated_at": iso(suite.updated_at),
            "head_commit": self.simple_commit(head) if head else None,
            "latest_check_runs_count": len(runs),
            "check_runs_url": f"{r}/check-suites/{suite.id}/check-runs",
            "rerequestable": True,
            "runs_rerequestable": True,
        }

    def simple_commit(self, c: Commit) -> JSON:
        return {
            "id": c.sha,
            "tree_id": c.tree_sha,
            "message": c.message,
            "timestamp": iso(c.date),
            "author": {"name": c.author, "email": c.email},
            "committer": {"name": c.author, "email": c.email},
        }

    def check_run(self, repo: RepoState, run: CheckRun, pulls: list[JSON]) -> JSON:
        r = f"{self.api}/repos/{repo.full_name}"
        html = f"{self.web}/{repo.full_name}/runs/{run.id}"
        out = {"title": None, "summary": None, "text": None, "annotations_count": 0, **run.output}
        out["annotations_url"] = f"{r}/check-runs/{run.id}/annotations"
        return {
            "id": run.id,
            "head_sha": run.head_sha,
            "node_id": node_id("CR", run.id),
            "external_id": run.external_id or "",
            "url": f"{r}/check-runs/{run.id}",
            "html_url": html,
            "details_url": run.details_url or html,
            "status": run.status,
            "conclusion": run.conclusion,
            "started_at": iso(run.started_at),
            "completed_at": iso(run.completed_at),
            "output": out,
            "name": run.name,
            "check_suite": {"id": run.suite_id},
            "app": self.app(run.app),
            "pull_requests": pulls,
        }

    # -- actions ------------------------------------------------------------------------------------
    def workflow(self, repo: RepoState, wf: Workflow) -> JSON:
        r = f"{self.api}/repos/{repo.full_name}"
        return {
            "id": wf.id,
            "node_id": node_id("W", wf.id),
            "name": wf.name,
            "path": wf.path,
            "state": wf.state,
            "created_at": iso(wf.created_at),
            "updated_at": iso(wf.created_at),
            "url": f"{r}/actions/workflows/{wf.id}",
            "html_url": f"{self.web}/{repo.full_name}/blob/{repo.default_branch}/{wf.path}",
            "badge_url": f"{self.web}/{repo.full_name}/workflows/{wf.name}/badge.svg",
        }

    def workflow_run(self, repo: RepoState, run: WorkflowRun, wf: Workflow, pulls: list[JSON]) -> JSON:
        r = f"{self.api}/repos/{repo.full_name}"
        u = f"{r}/actions/runs/{run.id}"
        head = repo.commits.get(run.head_sha)
        return {
            "id": run.id,
            "name": run.name,
            "node_id": node_id("WFR", run.id),
            "check_suite_id": run.id + 500000,
            "check_suite_node_id": node_id("CS", run.id + 500000),
            "head_branch": run.head_branch,
            "head_sha": run.head_sha,
            "path": wf.path,
            "run_number": run.run_number,
            "run_attempt": 1,
            "event": run.event,
            "status": run.status,
            "conclusion": run.conclusion,
            "workflow_id": wf.id,
            "url": u,
            "html_url": f"{self.web}/{repo.full_name}/actions/runs/{run.id}",
            "pull_requests": pulls,
            "created_at": iso(run.created_at),
            "updated_at": iso(run.updated_at),
            "actor": self.user(run.actor),
            "triggering_actor": self.user(run.actor),
            "run_started_at": iso(run.run_started_at or run.created_at),
            "jobs_url": f"{u}/jobs",
            "logs_url": f"{u}/logs",
            "check_suite_url": f"{r}/check-suites/{run.id + 500000}",
            "artifacts_url": f"{u}/artifacts",
            "cancel_url": f"{u}/cancel",
            "rerun_url": f"{u}/rerun",
            "previous_attempt_url": None,
            "workflow_url": f"{r}/actions/workflows/{wf.id}",
            "head_commit": {
                "id": head.sha,
                "tree_id": head.tree_sha,
                "message": head.message,
                "timestamp": iso(head.date),
                "author": {"name": head.author, "email": head.email},
                "committer": {"name": head.author, "email": head.email},
            }
            if head
            else None,
            "repository": self.minimal_repo(repo),
            "head_repository": self.minimal_repo(repo),
            "display_title": run.display_title or run.name,
        }
