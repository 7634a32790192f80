"""The REST and GraphQL endpoints of the emulator (GitHub's routes, statuses, validation and messages)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request

from pressplay.testing.github_emulator._model import Commit, Issue, PullData, RepoState, fake_sha
from pressplay.testing.github_emulator._server import ApiError, Reply, Router, paginate, validation_failed

if TYPE_CHECKING:
    from pressplay.testing.github_emulator._emulator import GitHubEmulator

PASSING = {"success", "neutral", "skipped"}
STATUS_STATES = {"error", "failure", "pending", "success"}
CHECK_STATUSES = {"queued", "in_progress", "completed", "waiting", "requested", "pending"}
CONCLUSIONS = {
    "action_required",
    "cancelled",
    "failure",
    "neutral",
    "success",
    "skipped",
    "stale",
    "timed_out",
}


# -- shared logic (also used by the scenario API) ---------------------------------------------------------
def merge_base(state: RepoState, base_sha: str, head_sha: str) -> str | None:
    base_anc = set(state.ancestors(base_sha))
    for sha in state.ancestors(head_sha):
        if sha in base_anc:
            return sha
    return None


def ahead_commits(state: RepoState, base_sha: str, head_sha: str) -> list[Commit]:
    """Commits reachable from head but not from base, oldest first."""
    base_anc = set(state.ancestors(base_sha))
    commits = [state.commits[s] for s in state.ancestors(head_sha) if s not in base_anc]
    return sorted(commits, key=lambda c: (c.date, len(state.ancestors(c.sha))))


def three_way(state: RepoState, base_sha: str, head_sha: str) -> dict[str, bytes] | None:
    """The merged tree, or None on a conflict (both sides changed a file differently)."""
    mb = merge_base(state, base_sha, head_sha)
    old = state.commits[mb].tree if mb else {}
    ours, theirs = state.commits[base_sha].tree, state.commits[head_sha].tree
    out: dict[str, bytes] = {}
    for path in set(old) | set(ours) | set(theirs):
        o, b, h = old.get(path), ours.get(path), theirs.get(path)
        if h == o:
            pick = b
        elif b in (o, h):
            pick = h
        else:
            return None
        if pick is not None:
            out[path] = pick
    return out


def _passing_contexts(emu: GitHubEmulator, state: RepoState, sha: str) -> tuple[dict[str, str], bool]:
    """Latest conclusion/state per check name/status context on ``sha``; and whether any is failing/pending."""
    found: dict[str, str] = {}
    for run in sorted(state.check_runs.values(), key=lambda r: r.id):
        if run.head_sha == sha:
            found[run.name] = run.conclusion if run.status == "completed" and run.conclusion else "pending"
    for st in sorted(state.statuses, key=lambda s: s.id):
        if st.sha == sha:
            found[st.context] = st.state
    troubled = any(v not in PASSING for v in found.values())
    return found, troubled


def review_decision(state: RepoState, issue: Issue) -> tuple[int, bool]:
    latest: dict[str, str] = {}
    for rv in sorted(state.reviews.values(), key=lambda r: r.id):
        if rv.number == issue.number and rv.state in {"APPROVED", "CHANGES_REQUESTED", "DISMISSED"}:
            latest[rv.user.login] = rv.state
    approvals = sum(1 for s in latest.values() if s == "APPROVED")
    return approvals, any(s == "CHANGES_REQUESTED" for s in latest.values())


def merge_state(emu: GitHubEmulator, state: RepoState, issue: Issue) -> tuple[bool | None, str]:
    pr = issue.pull
    assert pr is not None
    if issue.state != "open":
        return None, "unknown"
    if pr.mergeable_override is not None or pr.mergeable_state_override is not None:
        mergeable = pr.mergeable_override
        default = "clean" if mergeable else "dirty" if mergeable is False else "unknown"
        return mergeable, pr.mergeable_state_override or default
    if pr.base_ref not in state.branches or pr.head_sha not in state.commits:
        return False, "dirty"
    if three_way(state, state.branches[pr.base_ref], pr.head_sha) is None:
        return False, "dirty"
    if pr.draft:
        return True, "draft"
    contexts, troubled = _passing_contexts(emu, state, pr.head_sha)
    prot = state.protection.get(pr.base_ref)
    if prot is not None:
        if any(contexts.get(c) not in PASSING for c in prot.required_checks):
            return True, "blocked"
        approvals, changes = review_decision(state, issue)
        if prot.required_approvals and (approvals < prot.required_approvals or changes):
            return True, "blocked"
    if troubled:
        return True, "unstable"
    return True, "clean"


def pull_json(emu: GitHubEmulator, state: RepoState, issue: Issue) -> dict[str, Any]:
    pr = issue.pull
    assert pr is not None
    base_sha = state.branches.get(pr.base_ref, pr.base_sha)
    mb = merge_base(state, base_sha, pr.head_sha)
    files = emu.shapes.diff_entries(
        state, state.commits[mb].tree if mb else {}, state.commits[pr.head_sha].tree, pr.head_sha
    )
    commits = (
        len(ahead_commits(state, base_sha, pr.head_sha))
        if not pr.merged
        else len(ahead_commits(state, pr.base_sha, pr.head_sha))
    )
    mergeable, mstate = merge_state(emu, state, issue)
    return emu.shapes.pull(
        state, issue, emu.users, mergeable=mergeable, mergeable_state=mstate, commits=commits, files=files
    )


def do_merge(
    emu: GitHubEmulator,
    state: RepoState,
    issue: Issue,
    method: str,
    user: Any,
    title: str | None,
    message: str | None,
) -> str:
    pr = issue.pull
    assert pr is not None
    base_tip = state.branches[pr.base_ref]
    tree = three_way(state, base_tip, pr.head_sha)
    if tree is None:
        raise ApiError(405, "Pull Request is not mergeable")
    if method == "squash":
        headline = title or f"{issue.title} (#{issue.number})"
        parents = [base_tip]
    elif method == "rebase":
        headline = title or state.commits[pr.head_sha].message.splitlines()[0]
        parents = [base_tip]
    else:
        headline = title or f"Merge pull request #{issue.number} from {pr.head_owner}/{pr.head_ref}"
        parents = [base_tip, pr.head_sha]
    text = headline + (f"\n\n{message}" if message else (f"\n\n{issue.title}" if method == "merge" else ""))
    sha = fake_sha(state.full_name, "merge", issue.number, base_tip, pr.head_sha, method)
    state.commits[sha] = Commit(
        sha=sha,
        tree=tree,
        parents=parents,
        message=text,
        author=user.login,
        email=f"{user.login}@users.noreply.github.com",
        date=emu.now(),
    )
    pr.merged = True
    pr.merged_at = emu.now()
    pr.merged_by = user
    pr.merge_commit_sha = sha
    pr.base_sha = base_tip
    pr.auto_merge = None
    issue.state = "closed"
    issue.closed_at = emu.now()
    issue.updated_at = emu.now()
    emu._move_branch(state, pr.base_ref, sha)
    return sha


# -- the router -----------------------------------------------------------------------------------------
def build_router(emu: GitHubEmulator) -> Router:
    api = _Api(emu)
    r = Router()
    R = "/repos/{owner}/{repo}"  # noqa: N806
    # app
    r.add("GET", "/app", api.get_app, auth="jwt")
    r.add("GET", "/app/installations/{installation_id}", api.get_installation, auth="jwt")
    r.add("POST", "/app/installations/{installation_id}/access_tokens", api.create_token, auth="jwt")
    r.add("GET", R + "/installation", api.repo_installation, auth="jwt")
    r.add("GET", "/rate_limit", api.rate_limit)
    r.add("POST", "/graphql", api.graphql)
    # repository, git
    r.add("GET", R, api.get_repo)
    r.add("GET", R + "/collaborators/{username}/permission", api.collaborator_permission)
    r.add("GET", "/orgs/{org}/teams/{team_slug}/memberships/{username}", api.team_membership)
    r.add("GET", R + "/branches/{branch*}", api.get_branch)
    r.add("GET", R + "/git/ref/{ref*}", api.get_ref)
    r.add("POST", R + "/git/refs", api.create_ref)
    r.add("PATCH", R + "/git/refs/{ref*}", api.update_ref)
    r.add("DELETE", R + "/git/refs/{ref*}", api.delete_ref)
    # statuses and checks (before commits/{ref*})
    r.add("GET", R + "/commits/{ref*}/status", api.combined_status)
    r.add("GET", R + "/commits/{ref*}/statuses", api.list_statuses)
    r.add("GET", R + "/commits/{ref*}/check-runs", api.list_check_runs)
    r.add("GET", R + "/commits/{ref*}/check-suites", api.list_check_suites)
    r.add("GET", R + "/commits/{ref*}", api.get_commit)
    r.add("GET", R + "/commits", api.list_commits)
    r.add("GET", R + "/compare/{basehead*}", api.compare)
    r.add("GET", R + "/contents/{path*}", api.get_contents)
    r.add("GET", R + "/contents", api.get_contents)
    r.add("POST", R + "/statuses/{sha}", api.create_status)
    r.add("POST", R + "/check-runs", api.create_check_run)
    r.add("GET", R + "/check-runs/{check_run_id}", api.get_check_run)
    r.add("PATCH", R + "/check-runs/{check_run_id}", api.update_check_run)
    # pulls
    r.add("GET", R + "/pulls", api.list_pulls)
    r.add("POST", R + "/pulls", api.create_pull)
    r.add("GET", R + "/pulls/{number}", api.get_pull)
    r.add("PATCH", R + "/pulls/{number}", api.update_pull)
    r.add("GET", R + "/pulls/{number}/requested_reviewers", api.get_requested_reviewers)
    r.add("POST", R + "/pulls/{number}/requested_reviewers", api.request_reviewers)
    r.add("DELETE", R + "/pulls/{number}/requested_reviewers", api.remove_requested_reviewers)
    r.add("GET", R + "/pulls/{number}/reviews", api.list_reviews)
    r.add("GET", R + "/pulls/{number}/comments", api.list_review_comments)
    r.add("PUT", R + "/pulls/{number}/merge", api.merge_pull)
    r.add("GET", R + "/pulls/{number}/merge", api.check_merged)
    r.add("GET", R + "/pulls/{number}/files", api.pull_files)
    r.add("GET", R + "/pulls/{number}/commits", api.pull_commits)
    # issues, comments, labels
    r.add("GET", R + "/issues", api.list_issues)
    r.add("POST", R + "/issues", api.create_issue)
    r.add("GET", R + "/issues/comments/{comment_id}", api.get_comment)
    r.add("PATCH", R + "/issues/comments/{comment_id}", api.update_comment)
    r.add("DELETE", R + "/issues/comments/{comment_id}", api.delete_comment)
    r.add("GET", R + "/issues/{number}", api.get_issue)
    r.add("PATCH", R + "/issues/{number}", api.update_issue)
    r.add("GET", R + "/issues/{number}/comments", api.list_comments)
    r.add("POST", R + "/issues/{number}/comments", api.create_comment)
    r.add("GET", R + "/issues/{number}/labels", api.issue_labels)
    r.add("POST", R + "/issues/{number}/labels", api.add_issue_labels)
    r.add("PUT", R + "/issues/{number}/labels", api.set_issue_labels)
    r.add("DELETE", R + "/issues/{number}/labels/{name*}", api.remove_issue_label)
    r.add("GET", R + "/labels", api.list_labels)
    r.add("POST", R + "/labels", api.create_label)
    r.add("GET", R + "/labels/{name*}", api.get_label)
    # actions
    r.add("GET", R + "/actions/workflows", api.list_workflows)
    r.add("GET", R + "/actions/workflows/{workflow_id}", api.get_workflow)
    r.add("POST", R + "/actions/workflows/{workflow_id}/dispatches", api.dispatch)
    r.add("GET", R + "/actions/workflows/{workflow_id}/runs", api.list_runs)
    r.add("GET", R + "/actions/runs", api.list_runs)
    r.add("GET", R + "/actions/runs/{run_id}", api.get_run)
    r.sealed = True
    return r


def _int(value: str, what: str = "number") -> int:
    try:
        return int(value)
    except ValueError as exc:
        raise ApiError(404, "Not Found") from exc


def _obj(body: Any) -> dict[str, Any]:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise ApiError(400, "Problems parsing JSON")
    return body


def _comment_body(body: Any) -> str:
    """A comment's ``body`` as GitHub validates it: present, non-empty, at most 65,536 characters."""
    text = _obj(body).get("body")
    if not isinstance(text, str) or not text:
        raise validation_failed(_invalid("IssueComment", "body", "missing_field"))
    if len(text) > 65536:
        raise validation_failed(
            _invalid(
                "IssueComment", "body", "custom", message="Body is too long (maximum is 65536 characters)"
            )
        )
    return text


def _invalid(resource: str, field: str, code: str = "invalid", **extra: Any) -> dict[str, Any]:
    return {"resource": resource, "field": field, "code": code, **extra}


def _check_types(
    req: dict[str, Any], resource: str, *, strings: Iterable[str] = (), lists: Iterable[str] = ()
) -> None:
    """GitHub's 422 for a field of the wrong JSON type (null is accepted for both)."""
    for key in strings:
        if req.get(key) is not None and not isinstance(req[key], str):
            raise validation_failed(
                _invalid(resource, key), message=f"Invalid request: '{key}' is not a string."
            )
    for key in lists:
        if req.get(key) is not None and not isinstance(req[key], list):
            raise validation_failed(
                _invalid(resource, key), message=f"Invalid request: '{key}' is not an array."
            )


def _is(value: Any, allowed: Iterable[str]) -> bool:
    return isinstance(value, str) and value in allowed


class _Api:
    def __init__(self, emu: GitHubEmulator) -> None:
        self.emu = emu

    @property
    def s(self) -> Any:
        return self.emu.shapes

    def repo(self, owner: str, repo: str) -> RepoState:
        state = self.emu._repos.get(f"{owner}/{repo}".lower())
        if state is None:
            raise ApiError(404, "Not Found")
        return state

    def issue(self, state: RepoState, number: str) -> Issue:
        issue = state.issues.get(_int(number))
        if issue is None:
            raise ApiError(404, "Not Found")
        return issue

    def pull(self, state: RepoState, number: str) -> Issue:
        issue = self.issue(state, number)
        if issue.pull is None:
            raise ApiError(404, "Not Found")
        return issue

    def sha(self, state: RepoState, ref: str) -> str:
        sha = state.resolve(ref)
        if sha is None:
            raise ApiError(422, f"No commit found for SHA: {ref}")
        return sha

    # -- app ----------------------------------------------------------------------------------------
    def get_app(self, request: Request, **_: Any) -> Reply:
        return Reply(self.s.app(self.emu.app, permissions=dict(_perms()), events=list(_events())))

    def get_installation(self, request: Request, installation_id: str, **_: Any) -> Reply:
        for owner, inst in self.emu._installations.items():
            if str(inst) == installation_id:
                return Reply(self._installation(owner, inst))
        raise ApiError(404, "Not Found")

    def _installation(self, owner: str, inst: int) -> dict[str, Any]:
        user = self.emu._users[owner]
        shaped: dict[str, Any] = self.s.installation(
            inst, user, self.emu.app, dict(_perms()), list(_events())
        )
        return shaped

    def create_token(self, request: Request, installation_id: str, body: Any, **_: Any) -> Reply:
        if not any(str(i) == installation_id for i in self.emu._installations.values()):
            raise ApiError(404, "Not Found")
        req = _obj(body)
        perms = dict(_perms())
        if isinstance(req.get("permissions"), dict):
            asked = req["permissions"]
            beyond = sorted(
                k for k, v in asked.items() if k not in perms or (perms[k] == "read" and v == "write")
            )
            if beyond:
                raise ApiError(
                    422, f"The permissions requested are not granted to this installation: {beyond}"
                )
            perms = {k: str(v) for k, v in asked.items()}
            perms.setdefault("metadata", "read")
        names = req.get("repositories")
        repositories: list[str] | None = None
        if isinstance(names, list) and names:
            owner = next(o for o, i in self.emu._installations.items() if str(i) == installation_id)
            repositories = [str(n) for n in names]
            for name in repositories:
                if f"{owner}/{name}".lower() not in self.emu._repos:
                    raise ApiError(
                        422,
                        f"There is at least one repository that does not exist or is not accessible to the parent installation: {name}",
                    )
        token, expires = self.emu.issue_token(
            int(installation_id), repositories=repositories, permissions=perms
        )
        return Reply(
            {
                "token": token,
                "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "permissions": perms,
                "repository_selection": "selected" if repositories else "all",
            },
            status=201,
        )

    def repo_installation(self, request: Request, owner: str, repo: str, **_: Any) -> Reply:
        state = self.repo(owner, repo)
        inst = self.emu._installations.get(state.owner.login.lower())
        if inst is None or state.installation_id is None:
            raise ApiError(404, "Not Found")
        return Reply(self._installation(state.owner.login.lower(), inst))

    def rate_limit(self, request: Request, installation: int | None, **_: Any) -> Reply:
        assert installation is not None
        core = self.emu._window(installation, "core")
        gql = self.emu._window(installation, "graphql")

        def res(w: Any) -> dict[str, int]:
            return {"limit": w.limit, "used": w.used, "remaining": max(0, w.limit - w.used), "reset": w.reset}

        reset = core.reset
        other = {"limit": 30, "used": 0, "remaining": 30, "reset": reset}
        return Reply(
            {
                "resources": {
                    "core": res(core),
                    "graphql": res(gql),
                    "search": dict(other),
                    "code_search": {**other, "limit": 10, "remaining": 10},
                    "integration_manifest": {**other, "limit": 5000, "remaining": 5000},
                },
                "rate": res(core),
            }
        )

    # -- repository and git -----------------------------------------------------------------------------
    def collaborator_permission(
        self, request: Request, owner: str, repo: str, username: str, **_: Any
    ) -> Reply:
        state = self.repo(owner, repo)
        user = self.emu._users.get(username.lower())
        if user is None or user.type != "User":
            raise ApiError(404, f"{username} is not a user")
        role = self.emu.permission_of(f"{state.owner.login}/{state.name}", username)
        legacy = {"maintain": "write", "triage": "read"}.get(role, role)
        levels = {name: False for name in ("admin", "maintain", "push", "triage", "pull")}
        rank = {"admin": 5, "maintain": 4, "write": 3, "triage": 2, "read": 1, "none": 0}[role]
        for name, needed in (("admin", 5), ("maintain", 4), ("push", 3), ("triage", 2), ("pull", 1)):
            levels[name] = rank >= needed
        collaborator = {**self.s.user(user), "permissions": levels, "role_name": role}
        return Reply({"permission": legacy, "role_name": role, "user": collaborator})

    def team_membership(self, request: Request, org: str, team_slug: str, username: str, **_: Any) -> Reply:
        member = self.emu.team_member(org, team_slug, username)
        if not member:
            raise ApiError(404, "Not Found")
        return Reply(
            {
                "url": f"{self.s.api}/organizations/1/team/1/memberships/{username}",
                "role": "member",
                "state": "active",
            }
        )

    def get_repo(self, request: Request, owner: str, repo: str, **_: Any) -> Reply:
        return Reply(self.s.full_repo(self.repo(owner, repo)))

    def get_branch(self, request: Request, owner: str, repo: str, branch: str, **_: Any) -> Reply:
        state = self.repo(owner, repo)
        if branch not in state.branches:
            raise ApiError(404, "Branch not found")
        return Reply(self.s.branch(state, branch, self.emu._emails))

    def get_ref(self, request: Request, owner: str, repo: str, ref: str, **_: Any) -> Reply:
        state = self.repo(owner, repo)
        if not ref.startswith("heads/") or ref[6:] not in state.branches:
            raise ApiError(404, "Not Found")
        return Reply(self.s.ref(state, ref[6:]))

    def create_ref(self, request: Request, owner: str, repo: str, body: Any, **_: Any) -> Reply:
        state = self.repo(owner, repo)
        req = _obj(body)
        ref, sha = req.get("ref"), req.get("sha")
        if not isinstance(ref, str) or not isinstance(sha, str):
            raise validation_failed(
                _invalid("Reference", "ref" if not isinstance(ref, str) else "sha", "missing")
            )
        if not ref.startswith("refs/") or ref.count("/") < 2:
            raise ApiError(422, "Reference name must start with 'refs/' and have at least two slashes.")
        if sha not in state.commits:
            raise ApiError(422, "Object does not exist")
        if not ref.startswith("refs/heads/"):
            raise ApiError(422, "The emulator only supports branch refs (refs/heads/...)")
        branch = ref[len("refs/heads/") :]
        if branch in state.branches:
            raise ApiError(422, "Reference already exists")
        self.emu._move_branch(state, branch, sha)
        return Reply(self.s.ref(state, branch), status=201)

    def update_ref(self, request: Request, owner: str, repo: str, ref: str, body: Any, **_: Any) -> Reply:
        state = self.repo(owner, repo)
        req = _obj(body)
        if not ref.startswith("heads/") or ref[6:] not in state.branches:
            raise ApiError(422, "Reference does not exist")
        branch = ref[6:]
        sha = req.get("sha")
        if not isinstance(sha, str) or sha not in state.commits:
            raise ApiError(422, "Object does not exist")
        if not req.get("force") and state.branches[branch] not in state.ancestors(sha):
            raise ApiError(422, "Update is not a fast forward")
        self.emu._move_branch(state, branch, sha)
        return Reply(self.s.ref(state, branch))

    def delete_ref(self, request: Request, owner: str, repo: str, ref: str, **_: Any) -> Reply:
        state = self.repo(owner, repo)
        if not ref.startswith("heads/") or ref[6:] not in state.branches:
            raise ApiError(422, "Reference does not exist")
        del state.branches[ref[6:]]
        return Reply(None, status=204)

    def get_commit(self, request: Request, owner: str, repo: str, ref: str, **_: Any) -> Reply:
        state = self.repo(owner, repo)
        commit = state.commits[self.sha(state, ref)]
        parent = state.commits[commit.parents[0]].tree if commit.parents else {}
        files = self.s.diff_entries(state, parent, commit.tree, commit.sha)
        return Reply(self.s.commit(state, commit, self.emu._emails, files=files))

    def list_commits(self, request: Request, owner: str, repo: str, **_: Any) -> Reply:
        state = self.repo(owner, repo)
        start = self.sha(state, request.args.get("sha", state.default_branch))
        path = request.args.get("path")
        commits = [state.commits[s] for s in state.ancestors(start)]
        commits.sort(key=lambda c: c.date, reverse=True)
        if path:
            commits = [
                c
                for c in commits
                if c.tree.get(path) != (state.commits[c.parents[0]].tree.get(path) if c.parents else None)
            ]
        page, headers = paginate(
            self.emu, request, [self.s.commit(state, c, self.emu._emails) for c in commits]
        )
        return Reply(page, headers=headers)

    def compare(self, request: Request, owner: str, repo: str, basehead: str, **_: Any) -> Reply:
        state = self.repo(owner, repo)
        if "..." not in basehead:
            raise ApiError(404, "Not Found")
        base_ref, head_ref = basehead.split("...", 1)
        base_sha = state.resolve(base_ref)
        head_sha = state.resolve(head_ref)
        if base_sha is None or head_sha is None:
            raise ApiError(404, "Not Found")
        mb = merge_base(state, base_sha, head_sha)
        ahead = ahead_commits(state, base_sha, head_sha)
        behind = ahead_commits(state, head_sha, base_sha)
        status = (
            "identical"
            if not ahead and not behind
            else "ahead"
            if not behind
            else "behind"
            if not ahead
            else "diverged"
        )
        r = f"{self.emu.url}/repos/{state.full_name}"
        web = f"{self.emu.web_url}/{state.full_name}"
        files = self.s.diff_entries(
            state, state.commits[mb].tree if mb else {}, state.commits[head_sha].tree, head_sha
        )
        emails = self.emu._emails
        return Reply(
            {
                "url": f"{r}/compare/{basehead}",
                "html_url": f"{web}/compare/{basehead}",
                "permalink_url": f"{web}/compare/{state.owner.login}:{base_sha[:7]}...{state.owner.login}:{head_sha[:7]}",
                "diff_url": f"{web}/compare/{basehead}.diff",
                "patch_url": f"{web}/compare/{basehead}.patch",
                "base_commit": self.s.commit(state, state.commits[base_sha], emails),
                "merge_base_commit": self.s.commit(state, state.commits[mb], emails)
                if mb
                else self.s.commit(state, state.commits[base_sha], emails),
                "status": status,
                "ahead_by": len(ahead),
                "behind_by": len(behind),
                "total_commits": len(ahead),
                "commits": [self.s.commit(state, c, emails) for c in ahead],
                "files": files,
            }
        )

    def get_contents(self, request: Request, owner: str, repo: str, path: str = "", **_: Any) -> Reply:
        state = self.repo(owner, repo)
        ref = request.args.get("ref") or state.default_branch
        sha = state.resolve(ref)
        if sha is None:
            raise ApiError(404, f"No commit found for the ref {ref}")
        tree = state.commits[sha].tree
        path = path.strip("/")
        if path in tree:
            return Reply(self.s.content_file(state, path, tree[path], ref))
        prefix = f"{path}/" if path else ""
        children: dict[str, str] = {}
        for p in tree:
            if p.startswith(prefix):
                rest = p[len(prefix) :]
                name = rest.split("/", 1)[0]
                children[name] = "dir" if "/" in rest else "file"
        if not children:
            raise ApiError(404, "Not Found")
        entries = [
            self.s.content_entry(state, prefix + name, kind, tree.get(prefix + name), ref)
            for name, kind in sorted(children.items())
        ]
        return Reply(entries)

    # -- statuses -----------------------------------------------------------------------------------------
    def create_status(
        self, request: Request, owner: str, repo: str, sha: str, body: Any, installation: Any, **_: Any
    ) -> Reply:
        state = self.repo(owner, repo)
        req = _obj(body)
        if sha not in state.commits:
            raise ApiError(422, f"No commit found for SHA: {sha}")
        st = req.get("state")
        if not _is(st, STATUS_STATES):
            raise validation_failed(
                _invalid("Status", "state", "custom", message="state is not included in the list")
            )
        for key in ("target_url", "description", "context"):
            if key in req and req[key] is not None and not isinstance(req[key], str):
                raise validation_failed(_invalid("Status", key))
        desc = req.get("description")
        if isinstance(desc, str) and len(desc) > 140:
            raise validation_failed(
                _invalid(
                    "Status",
                    "description",
                    "custom",
                    message="description is too long (maximum is 140 characters)",
                )
            )
        from pressplay.testing.github_emulator._model import StatusEntry

        entry = StatusEntry(
            id=self.emu._new_id() * 31,
            sha=sha,
            state=str(st),
            context=req.get("context") or "default",
            description=desc,
            target_url=req.get("target_url"),
            creator=self.emu.bot,
            created_at=self.emu.now(),
            updated_at=self.emu.now(),
        )
        state.statuses.append(entry)
        return Reply(self.s.status(state, entry), status=201)

    def _statuses_for(self, state: RepoState, ref: str) -> tuple[str, list[Any]]:
        sha = self.sha(state, ref)
        return sha, sorted((s for s in state.statuses if s.sha == sha), key=lambda s: s.id, reverse=True)

    def combined_status(self, request: Request, owner: str, repo: str, ref: str, **_: Any) -> Reply:
        state = self.repo(owner, repo)
        sha, statuses = self._statuses_for(state, ref)
        latest: dict[str, Any] = {}
        for st in statuses:
            latest.setdefault(st.context, st)
        return Reply(self.s.combined_status(state, sha, list(latest.values())))

    def list_statuses(self, request: Request, owner: str, repo: str, ref: str, **_: Any) -> Reply:
        state = self.repo(owner, repo)
        _sha, statuses = self._statuses_for(state, ref)
        page, headers = paginate(self.emu, request, [self.s.status(state, st) for st in statuses])
        return Reply(page, headers=headers)

    # -- checks ------------------------------------------------------------------------------------------
    def _pulls_for_sha(self, state: RepoState, sha: str) -> list[dict[str, Any]]:
        out = []
        r = f"{self.emu.url}/repos/{state.full_name}"
        for issue in state.issues.values():
            pr = issue.pull
            if pr and issue.state == "open" and pr.head_sha == sha:
                side = {"id": state.id, "url": r, "name": state.name}
                out.append(
                    {
                        "id": issue.id,
                        "number": issue.number,
                        "url": f"{r}/pulls/{issue.number}",
                        "head": {"ref": pr.head_ref, "sha": pr.head_sha, "repo": side},
                        "base": {"ref": pr.base_ref, "sha": pr.base_sha, "repo": side},
                    }
                )
        return out

    def list_check_runs(self, request: Request, owner: str, repo: str, ref: str, **_: Any) -> Reply:
        state = self.repo(owner, repo)
        sha = self.sha(state, ref)
        runs = sorted(
            (r for r in state.check_runs.values() if r.head_sha == sha), key=lambda r: r.id, reverse=True
        )
        if request.args.get("check_name"):
            runs = [r for r in runs if r.name == request.args["check_name"]]
        if request.args.get("status"):
            runs = [r for r in runs if r.status == request.args["status"]]
        if request.args.get("app_id"):
            runs = [r for r in runs if str(r.app.id) == request.args["app_id"]]
        if request.args.get("filter", "latest") == "latest":
            seen: set[tuple[str, int]] = set()
            latest = []
            for run in runs:
                if (run.name, run.app.id) not in seen:
                    seen.add((run.name, run.app.id))
                    latest.append(run)
            runs = latest
        pulls = self._pulls_for_sha(state, sha)
        page, headers = paginate(self.emu, request, [self.s.check_run(state, r, pulls) for r in runs])
        return Reply({"total_count": len(runs), "check_runs": page}, headers=headers)

    def list_check_suites(self, request: Request, owner: str, repo: str, ref: str, **_: Any) -> Reply:
        state = self.repo(owner, repo)
        sha = self.sha(state, ref)
        suites = sorted((s for s in state.check_suites.values() if s.head_sha == sha), key=lambda s: s.id)
        shaped = []
        for suite in suites:
            runs = [r for r in state.check_runs.values() if r.suite_id == suite.id]
            shaped.append(self.s.check_suite(state, suite, runs, self.emu._emails))
        page, headers = paginate(self.emu, request, shaped)
        return Reply({"total_count": len(shaped), "check_suites": page}, headers=headers)

    def _check_fields(self, req: dict[str, Any]) -> None:
        _check_types(req, "CheckRun", strings=("name", "details_url", "external_id"))
        if "status" in req and not _is(req["status"], CHECK_STATUSES):
            raise validation_failed(_invalid("CheckRun", "status"))
        if req.get("conclusion") is not None and not _is(req["conclusion"], CONCLUSIONS):
            raise validation_failed(_invalid("CheckRun", "conclusion"))
        if req.get("status") == "completed" and not req.get("conclusion"):
            raise validation_failed(
                _invalid("CheckRun", "conclusion", "missing_field"),
                message="Validation Failed: conclusion is required when status is completed",
            )
        output = req.get("output")
        if output is not None and (
            not isinstance(output, dict)
            or not isinstance(output.get("title"), str)
            or not isinstance(output.get("summary"), str)
            or not output["title"]
            or not output["summary"]
        ):
            raise validation_failed(_invalid("CheckRun", "output", "missing_field"))

    def create_check_run(self, request: Request, owner: str, repo: str, body: Any, **_: Any) -> Reply:
        state = self.repo(owner, repo)
        req = _obj(body)
        if not isinstance(req.get("name"), str) or not req["name"]:
            raise validation_failed(_invalid("CheckRun", "name", "missing_field"))
        head = req.get("head_sha")
        if not isinstance(head, str) or head not in state.commits:
            raise ApiError(422, f"No commit found for SHA: {head}")
        self._check_fields(req)
        run = self.emu._new_check_run(
            state,
            head,
            req["name"],
            self.emu.app,
            status=req.get("status", "queued"),
            conclusion=req.get("conclusion"),
            details_url=req.get("details_url"),
            external_id=req.get("external_id"),
            output=req.get("output"),
        )
        return Reply(self.s.check_run(state, run, self._pulls_for_sha(state, head)), status=201)

    def get_check_run(self, request: Request, owner: str, repo: str, check_run_id: str, **_: Any) -> Reply:
        state = self.repo(owner, repo)
        run = state.check_runs.get(_int(check_run_id))
        if run is None:
            raise ApiError(404, "Not Found")
        return Reply(self.s.check_run(state, run, self._pulls_for_sha(state, run.head_sha)))

    def update_check_run(
        self, request: Request, owner: str, repo: str, check_run_id: str, body: Any, **_: Any
    ) -> Reply:
        state = self.repo(owner, repo)
        run = state.check_runs.get(_int(check_run_id))
        if run is None:
            raise ApiError(404, "Not Found")
        if run.app.id != self.emu.app.id:
            raise ApiError(
                403,
                f"Invalid app_id `{self.emu.app.id}` - check run can only be modified by the GitHub App "
                "that created it.",
            )
        req = _obj(body)
        self._check_fields(req)
        for key in ("name", "details_url", "external_id"):
            if key in req:
                setattr(run, key, req[key])
        if "output" in req:
            run.output = dict(req["output"])
        if "status" in req:
            run.status = req["status"]
        if req.get("conclusion"):
            run.conclusion = req["conclusion"]
            run.status = "completed"
            run.completed_at = self.emu.now()
        return Reply(self.s.check_run(state, run, self._pulls_for_sha(state, run.head_sha)))

    # -- pulls ---------------------------------------------------------------------------------------------
    def list_pulls(self, request: Request, owner: str, repo: str, **_: Any) -> Reply:
        state = self.repo(owner, repo)
        want = request.args.get("state", "open")
        head = request.args.get("head")
        base = request.args.get("base")
        items = [i for i in state.issues.values() if i.pull is not None]
        if want != "all":
            items = [i for i in items if i.state == want]
        if head:
            h_owner, _sep, h_ref = head.partition(":")
            if not h_ref:
                h_owner, h_ref = "", h_owner
            items = [
                i
                for i in items
                if i.pull
                and i.pull.head_ref == h_ref
                and (not h_owner or i.pull.head_owner.lower() == h_owner.lower())
            ]
        if base:
            items = [i for i in items if i.pull and i.pull.base_ref == base]
        reverse = request.args.get("direction", "desc") == "desc"
        key = request.args.get("sort", "created")
        items.sort(
            key=lambda i: (i.updated_at if key == "updated" else i.created_at, i.number), reverse=reverse
        )
        page, headers = paginate(
            self.emu, request, [self.s.pull_simple(state, i, self.emu.users) for i in items]
        )
        return Reply(page, headers=headers)

    def create_pull(
        self, request: Request, owner: str, repo: str, body: Any, installation: Any, **_: Any
    ) -> Reply:
        state = self.repo(owner, repo)
        req = _obj(body)
        _check_types(req, "PullRequest", strings=("body",))
        head, base = req.get("head"), req.get("base")
        if not isinstance(base, str) or not base:
            raise validation_failed(_invalid("PullRequest", "base", "missing_field"))
        if not isinstance(head, str) or not head:
            raise validation_failed(_invalid("PullRequest", "head", "missing_field"))
        title = req.get("title")
        if req.get("issue") is None and (not isinstance(title, str) or not title.strip()):
            raise validation_failed(_invalid("PullRequest", "title", "missing_field"))
        head_owner, _sep, head_ref = head.partition(":")
        if not head_ref:
            head_owner, head_ref = state.owner.login, head_owner
        if head_ref not in state.branches or head_owner.lower() != state.owner.login.lower():
            raise validation_failed(_invalid("PullRequest", "head"))
        if base not in state.branches:
            raise validation_failed(_invalid("PullRequest", "base"))
        for other in state.issues.values():
            if (
                other.pull
                and other.state == "open"
                and other.pull.head_ref == head_ref
                and other.pull.base_ref == base
            ):
                raise validation_failed(
                    {
                        "resource": "PullRequest",
                        "code": "custom",
                        "message": f"A pull request already exists for {state.owner.login}:{head_ref}.",
                    }
                )
        if not ahead_commits(state, state.branches[base], state.branches[head_ref]):
            raise validation_failed(
                {
                    "resource": "PullRequest",
                    "code": "custom",
                    "message": f"No commits between {base} and {head_ref}",
                }
            )
        issue = self.emu._new_issue(state, str(title), req.get("body"), self.emu.bot, "NONE")
        issue.pull = PullData(
            head_ref=head_ref,
            head_owner=state.owner.login,
            base_ref=base,
            head_sha=state.branches[head_ref],
            base_sha=state.branches[base],
            draft=bool(req.get("draft", False)),
            maintainer_can_modify=bool(req.get("maintainer_can_modify", False)),
        )
        return Reply(pull_json(self.emu, state, issue), status=201)

    def get_pull(self, request: Request, owner: str, repo: str, number: str, **_: Any) -> Reply:
        state = self.repo(owner, repo)
        return Reply(pull_json(self.emu, state, self.pull(state, number)))

    def update_pull(self, request: Request, owner: str, repo: str, number: str, body: Any, **_: Any) -> Reply:
        state = self.repo(owner, repo)
        issue = self.pull(state, number)
        assert issue.pull is not None
        req = _obj(body)
        _check_types(req, "PullRequest", strings=("title", "body", "base", "state"))
        if "title" in req:
            if not isinstance(req["title"], str) or not req["title"].strip():
                raise validation_failed(_invalid("PullRequest", "title", "missing_field"))
            issue.title = req["title"]
        if "body" in req:
            issue.body = req["body"]
        if "base" in req:
            if req["base"] not in state.branches:
                raise validation_failed(_invalid("PullRequest", "base"))
            issue.pull.base_ref = req["base"]
            issue.pull.base_sha = state.branches[req["base"]]
        if "state" in req:
            self._set_state(state, issue, req["state"], None)
        if "maintainer_can_modify" in req:
            issue.pull.maintainer_can_modify = bool(req["maintainer_can_modify"])
        issue.updated_at = self.emu.now()
        return Reply(pull_json(self.emu, state, issue))

    def _set_state(self, state: RepoState, issue: Issue, value: Any, reason: Any) -> None:
        if not _is(value, {"open", "closed"}):
            raise validation_failed(_invalid("Issue" if issue.pull is None else "PullRequest", "state"))
        if value == issue.state:
            return
        if issue.pull is not None and issue.pull.merged:
            raise validation_failed(
                {
                    "resource": "PullRequest",
                    "code": "custom",
                    "message": "Cannot change the state of a merged pull request",
                }
            )
        if value == "open" and issue.pull is not None:
            if issue.pull.head_ref not in state.branches:
                raise validation_failed(
                    {
                        "resource": "PullRequest",
                        "code": "custom",
                        "message": "state cannot be changed. The head branch was deleted.",
                    }
                )
            issue.pull.head_sha = state.branches[issue.pull.head_ref]
        issue.state = value
        issue.closed_at = self.emu.now() if value == "closed" else None
        if reason is not None and not _is(reason, {"completed", "not_planned", "duplicate", "reopened"}):
            raise validation_failed(_invalid("Issue", "state_reason"))
        issue.state_reason = (reason or "completed") if value == "closed" and issue.pull is None else None
        if value == "open" and issue.pull is None and reason:
            issue.state_reason = reason

    def get_requested_reviewers(
        self, request: Request, owner: str, repo: str, number: str, **_: Any
    ) -> Reply:
        state = self.repo(owner, repo)
        pr = self.pull(state, number).pull
        assert pr is not None
        return Reply({"users": [self.s.user(self.emu._user(u)) for u in pr.requested_reviewers], "teams": []})

    def request_reviewers(
        self, request: Request, owner: str, repo: str, number: str, body: Any, **_: Any
    ) -> Reply:
        state = self.repo(owner, repo)
        issue = self.pull(state, number)
        assert issue.pull is not None
        req = _obj(body)
        users = req.get("reviewers") or []
        teams = req.get("team_reviewers") or []
        if (
            not isinstance(users, list)
            or not isinstance(teams, list)
            or not all(isinstance(u, str) for u in users)
        ):
            raise validation_failed(_invalid("PullRequest", "reviewers"))
        if teams:
            raise validation_failed(
                {
                    "resource": "PullRequest",
                    "code": "custom",
                    "message": "Could not resolve to a node with the global id of 'T_emulator'.",
                }
            )
        for login in users:
            if str(login).lower() == issue.user.login.lower():
                raise validation_failed(
                    {
                        "resource": "PullRequest",
                        "code": "custom",
                        "message": "Review cannot be requested from pull request author.",
                    }
                )
        for login in users:
            user = self.emu._user(str(login))
            if user.login not in issue.pull.requested_reviewers:
                issue.pull.requested_reviewers.append(user.login)
        issue.updated_at = self.emu.now()
        return Reply(self.s.pull_simple(state, issue, self.emu.users), status=201)

    def remove_requested_reviewers(
        self, request: Request, owner: str, repo: str, number: str, body: Any, **_: Any
    ) -> Reply:
        state = self.repo(owner, repo)
        issue = self.pull(state, number)
        assert issue.pull is not None
        req = _obj(body)
        _check_types(req, "PullRequest", lists=("reviewers",))
        for login in req.get("reviewers") or []:
            issue.pull.requested_reviewers = [
                u for u in issue.pull.requested_reviewers if u.lower() != str(login).lower()
            ]
        return Reply(self.s.pull_simple(state, issue, self.emu.users))

    def list_reviews(self, request: Request, owner: str, repo: str, number: str, **_: Any) -> Reply:
        state = self.repo(owner, repo)
        issue = self.pull(state, number)
        reviews = sorted((r for r in state.reviews.values() if r.number == issue.number), key=lambda r: r.id)
        page, headers = paginate(self.emu, request, [self.s.review(state, r) for r in reviews])
        return Reply(page, headers=headers)

    def list_review_comments(self, request: Request, owner: str, repo: str, number: str, **_: Any) -> Reply:
        state = self.repo(owner, repo)
        issue = self.pull(state, number)
        found = sorted(
            (c for c in state.review_comments.values() if c.number == issue.number), key=lambda c: c.id
        )
        since = request.args.get("since")
        if since:
            found = [c for c in found if (self.s_iso(c.updated_at) or "") >= since]
        page, headers = paginate(self.emu, request, [self.s.review_comment(state, c) for c in found])
        return Reply(page, headers=headers)

    def merge_pull(self, request: Request, owner: str, repo: str, number: str, body: Any, **_: Any) -> Reply:
        state = self.repo(owner, repo)
        issue = self.pull(state, number)
        pr = issue.pull
        assert pr is not None
        req = _obj(body)
        _check_types(req, "PullRequest", strings=("sha", "commit_title", "commit_message", "merge_method"))
        method = req.get("merge_method") or "merge"
        if not _is(method, {"merge", "squash", "rebase"}):
            raise validation_failed(_invalid("PullRequest", "merge_method"))
        if pr.merged or issue.state != "open":
            raise ApiError(405, "Pull Request is not mergeable")
        if req.get("sha") and req["sha"] != pr.head_sha:
            raise ApiError(409, "Head branch was modified. Review and try the merge again.")
        mergeable, mstate = merge_state(self.emu, state, issue)
        if mstate == "blocked":
            prot = state.protection.get(pr.base_ref)
            contexts, _troubled = _passing_contexts(self.emu, state, pr.head_sha)
            missing = [c for c in (prot.required_checks if prot else []) if contexts.get(c) not in PASSING]
            if missing:
                raise ApiError(405, f'Required status check "{missing[0]}" is expected.')
            raise ApiError(405, "At least 1 approving review is required by reviewers with write access.")
        if not mergeable or mstate in {"dirty", "draft", "unknown"}:
            raise ApiError(405, "Pull Request is not mergeable")
        sha = do_merge(
            self.emu, state, issue, method, self.emu.bot, req.get("commit_title"), req.get("commit_message")
        )
        return Reply({"sha": sha, "merged": True, "message": "Pull Request successfully merged"})

    def check_merged(self, request: Request, owner: str, repo: str, number: str, **_: Any) -> Reply:
        state = self.repo(owner, repo)
        pr = self.pull(state, number).pull
        assert pr is not None
        if not pr.merged:
            raise ApiError(404, "Not Found")
        return Reply(None, status=204)

    def pull_files(self, request: Request, owner: str, repo: str, number: str, **_: Any) -> Reply:
        state = self.repo(owner, repo)
        pr = self.pull(state, number).pull
        assert pr is not None
        base = pr.base_sha if pr.merged else state.branches.get(pr.base_ref, pr.base_sha)
        mb = merge_base(state, base, pr.head_sha)
        files = self.s.diff_entries(
            state, state.commits[mb].tree if mb else {}, state.commits[pr.head_sha].tree, pr.head_sha
        )
        page, headers = paginate(self.emu, request, files)
        return Reply(page, headers=headers)

    def pull_commits(self, request: Request, owner: str, repo: str, number: str, **_: Any) -> Reply:
        state = self.repo(owner, repo)
        pr = self.pull(state, number).pull
        assert pr is not None
        base = pr.base_sha if pr.merged else state.branches.get(pr.base_ref, pr.base_sha)
        commits = [self.s.commit(state, c, self.emu._emails) for c in ahead_commits(state, base, pr.head_sha)]
        page, headers = paginate(self.emu, request, commits)
        return Reply(page, headers=headers)

    # -- issues ---------------------------------------------------------------------------------------------
    def list_issues(self, request: Request, owner: str, repo: str, **_: Any) -> Reply:
        state = self.repo(owner, repo)
        want = request.args.get("state", "open")
        items = list(state.issues.values())
        if want != "all":
            items = [i for i in items if i.state == want]
        if request.args.get("labels"):
            wanted = {x.strip().lower() for x in request.args["labels"].split(",") if x.strip()}
            items = [i for i in items if wanted <= {n.lower() for n in i.labels}]
        if request.args.get("creator"):
            items = [i for i in items if i.user.login.lower() == request.args["creator"].lower()]
        reverse = request.args.get("direction", "desc") == "desc"
        items.sort(key=lambda i: (i.created_at, i.number), reverse=reverse)
        page, headers = paginate(self.emu, request, [self.s.issue(state, i, self.emu.users) for i in items])
        return Reply(page, headers=headers)

    def create_issue(self, request: Request, owner: str, repo: str, body: Any, **_: Any) -> Reply:
        state = self.repo(owner, repo)
        req = _obj(body)
        _check_types(req, "Issue", strings=("body",), lists=("labels", "assignees"))
        title = req.get("title")
        if not isinstance(title, str) or not title.strip():
            raise validation_failed(_invalid("Issue", "title", "missing_field"))
        issue = self.emu._new_issue(state, title, req.get("body"), self.emu.bot, "NONE")
        for name in _label_names(req.get("labels") or []):
            self.emu._ensure_label(state, name)
            issue.labels.append(self.emu._label_name(state, name))
        for login in req.get("assignees") or []:
            if not isinstance(login, str):
                raise validation_failed(_invalid("Issue", "assignees"))
            issue.assignees.append(self.emu._user(login).login)
        return Reply(self.s.issue(state, issue, self.emu.users), status=201)

    def get_issue(self, request: Request, owner: str, repo: str, number: str, **_: Any) -> Reply:
        state = self.repo(owner, repo)
        return Reply(self.s.issue(state, self.issue(state, number), self.emu.users))

    def update_issue(
        self, request: Request, owner: str, repo: str, number: str, body: Any, **_: Any
    ) -> Reply:
        state = self.repo(owner, repo)
        issue = self.issue(state, number)
        req = _obj(body)
        _check_types(req, "Issue", strings=("body", "state", "state_reason"), lists=("labels", "assignees"))
        if "title" in req:
            if not isinstance(req["title"], str) or not req["title"].strip():
                raise validation_failed(_invalid("Issue", "title", "missing_field"))
            issue.title = req["title"]
        if "body" in req:
            issue.body = req["body"]
        if "state" in req:
            self._set_state(state, issue, req["state"], req.get("state_reason"))
        if "labels" in req:
            issue.labels = []
            for name in _label_names(req["labels"] or []):
                self.emu._ensure_label(state, name)
                issue.labels.append(self.emu._label_name(state, name))
        if "assignees" in req:
            issue.assignees = [self.emu._user(str(u)).login for u in req["assignees"] or []]
        issue.updated_at = self.emu.now()
        return Reply(self.s.issue(state, issue, self.emu.users))

    # -- comments ---------------------------------------------------------------------------------------------
    def list_comments(self, request: Request, owner: str, repo: str, number: str, **_: Any) -> Reply:
        state = self.repo(owner, repo)
        issue = self.issue(state, number)
        comments = sorted((c for c in state.comments.values() if c.issue == issue.number), key=lambda c: c.id)
        since = request.args.get("since")
        if since:
            comments = [c for c in comments if (self.s_iso(c.updated_at) or "") >= since]
        page, headers = paginate(self.emu, request, [self.s.comment(state, c) for c in comments])
        return Reply(page, headers=headers)

    @staticmethod
    def s_iso(value: Any) -> str | None:
        from pressplay.testing.github_emulator._model import iso

        return iso(value)

    def create_comment(
        self, request: Request, owner: str, repo: str, number: str, body: Any, **_: Any
    ) -> Reply:
        state = self.repo(owner, repo)
        issue = self.issue(state, number)
        text = _comment_body(body)
        from pressplay.testing.github_emulator._model import Comment

        comment = Comment(
            id=self.emu._new_id() * 19,
            issue=issue.number,
            body=text,
            user=self.emu.bot,
            author_association="NONE",
            created_at=self.emu.now(),
            updated_at=self.emu.now(),
        )
        state.comments[comment.id] = comment
        issue.updated_at = self.emu.now()
        return Reply(self.s.comment(state, comment), status=201)

    def _comment(self, state: RepoState, comment_id: str) -> Any:
        comment = state.comments.get(_int(comment_id))
        if comment is None:
            raise ApiError(404, "Not Found")
        return comment

    def get_comment(self, request: Request, owner: str, repo: str, comment_id: str, **_: Any) -> Reply:
        state = self.repo(owner, repo)
        return Reply(self.s.comment(state, self._comment(state, comment_id)))

    def update_comment(
        self, request: Request, owner: str, repo: str, comment_id: str, body: Any, **_: Any
    ) -> Reply:
        state = self.repo(owner, repo)
        comment = self._comment(state, comment_id)
        text = _comment_body(body)
        if comment.user.login != self.emu.bot.login:
            raise ApiError(
                403,
                "Resource not accessible by integration",
                headers={"X-Accepted-GitHub-Permissions": "issues=write; pull_requests=write"},
            )
        comment.body = text
        comment.updated_at = self.emu.now()
        return Reply(self.s.comment(state, comment))

    def delete_comment(self, request: Request, owner: str, repo: str, comment_id: str, **_: Any) -> Reply:
        state = self.repo(owner, repo)
        comment = self._comment(state, comment_id)
        if comment.user.login != self.emu.bot.login:
            raise ApiError(
                403,
                "Resource not accessible by integration",
                headers={"X-Accepted-GitHub-Permissions": "issues=write; pull_requests=write"},
            )
        del state.comments[comment.id]
        return Reply(None, status=204)

    # -- labels ---------------------------------------------------------------------------------------------
    def _issue_labels(self, state: RepoState, issue: Issue) -> list[Any]:
        return [
            self.s.label(state, state.labels[n.lower()]) for n in issue.labels if n.lower() in state.labels
        ]

    def issue_labels(self, request: Request, owner: str, repo: str, number: str, **_: Any) -> Reply:
        state = self.repo(owner, repo)
        page, headers = paginate(self.emu, request, self._issue_labels(state, self.issue(state, number)))
        return Reply(page, headers=headers)

    def add_issue_labels(
        self, request: Request, owner: str, repo: str, number: str, body: Any, **_: Any
    ) -> Reply:
        state = self.repo(owner, repo)
        issue = self.issue(state, number)
        names = _label_names(body.get("labels") if isinstance(body, dict) else body)
        if not names:
            raise validation_failed(_invalid("Label", "labels", "missing_field"))
        for name in names:
            self.emu._ensure_label(state, name)
            canonical = self.emu._label_name(state, name)
            if canonical.lower() not in {n.lower() for n in issue.labels}:
                issue.labels.append(canonical)
        issue.updated_at = self.emu.now()
        return Reply(self._issue_labels(state, issue))

    def set_issue_labels(
        self, request: Request, owner: str, repo: str, number: str, body: Any, **_: Any
    ) -> Reply:
        state = self.repo(owner, repo)
        issue = self.issue(state, number)
        issue.labels = []
        for name in _label_names(body.get("labels") if isinstance(body, dict) else body):
            self.emu._ensure_label(state, name)
            issue.labels.append(self.emu._label_name(state, name))
        issue.updated_at = self.emu.now()
        return Reply(self._issue_labels(state, issue))

    def remove_issue_label(
        self, request: Request, owner: str, repo: str, number: str, name: str, **_: Any
    ) -> Reply:
        state = self.repo(owner, repo)
        issue = self.issue(state, number)
        keep = [n for n in issue.labels if n.lower() != name.lower()]
        if len(keep) == len(issue.labels):
            raise ApiError(404, "Label does not exist")
        issue.labels = keep
        issue.updated_at = self.emu.now()
        return Reply(self._issue_labels(state, issue))

    def list_labels(self, request: Request, owner: str, repo: str, **_: Any) -> Reply:
        state = self.repo(owner, repo)
        labels = sorted(state.labels.values(), key=lambda label: label.id)
        page, headers = paginate(self.emu, request, [self.s.label(state, label) for label in labels])
        return Reply(page, headers=headers)

    def get_label(self, request: Request, owner: str, repo: str, name: str, **_: Any) -> Reply:
        state = self.repo(owner, repo)
        label = state.labels.get(name.lower())
        if label is None:
            raise ApiError(404, "Not Found")
        return Reply(self.s.label(state, label))

    def create_label(self, request: Request, owner: str, repo: str, body: Any, **_: Any) -> Reply:
        state = self.repo(owner, repo)
        req = _obj(body)
        _check_types(req, "Label", strings=("description", "color"))
        name = req.get("name")
        if not isinstance(name, str) or not name.strip():
            raise validation_failed(_invalid("Label", "name", "missing_field"))
        color = str(req.get("color") or "ededed").lstrip("#")
        if len(color) != 6 or any(ch not in "0123456789abcdefABCDEF" for ch in color):
            raise validation_failed(_invalid("Label", "color"))
        if name.lower() in state.labels:
            raise validation_failed(_invalid("Label", "name", "already_exists"))
        label = self.emu._ensure_label(state, name, color.lower(), req.get("description"))
        return Reply(self.s.label(state, label), status=201)

    # -- actions ---------------------------------------------------------------------------------------------
    def _workflow(self, state: RepoState, ident: str) -> Any:
        try:
            return self.emu._workflow(state, ident)
        except KeyError as exc:
            raise ApiError(404, "Not Found") from exc

    def list_workflows(self, request: Request, owner: str, repo: str, **_: Any) -> Reply:
        state = self.repo(owner, repo)
        wfs = [self.s.workflow(state, wf) for wf in sorted(state.workflows.values(), key=lambda w: w.id)]
        page, headers = paginate(self.emu, request, wfs)
        return Reply({"total_count": len(wfs), "workflows": page}, headers=headers)

    def get_workflow(self, request: Request, owner: str, repo: str, workflow_id: str, **_: Any) -> Reply:
        state = self.repo(owner, repo)
        return Reply(self.s.workflow(state, self._workflow(state, workflow_id)))

    def dispatch(
        self, request: Request, owner: str, repo: str, workflow_id: str, body: Any, **_: Any
    ) -> Reply:
        state = self.repo(owner, repo)
        wf = self._workflow(state, workflow_id)
        req = _obj(body)
        ref = req.get("ref")
        if not isinstance(ref, str) or not ref:
            raise validation_failed(_invalid("Workflow", "ref", "missing_field"))
        branch = ref.removeprefix("refs/heads/")
        if branch not in state.branches:
            raise ApiError(422, f"No ref found for: {ref}")
        inputs = req.get("inputs") or {}
        if not isinstance(inputs, dict) or len(inputs) > 25:
            raise validation_failed(_invalid("Workflow", "inputs"))
        conclusion, polls = self.emu._dispatch_behaviour.get((state.full_name.lower(), wf.id), ("success", 1))
        run_id = self.emu.run_workflow(
            state.full_name,
            wf.id,
            branch=branch,
            event="workflow_dispatch",
            conclusion=conclusion,
            after_polls=polls or None,
            inputs=inputs,
            actor=self.emu.bot.login,
        )
        if req.get("return_run_details"):
            return Reply(
                {
                    "workflow_run_id": run_id,
                    "run_url": f"{self.emu.url}/repos/{state.full_name}/actions/runs/{run_id}",
                    "html_url": f"{self.emu.web_url}/{state.full_name}/actions/runs/{run_id}",
                },
                status=200,
            )
        return Reply(None, status=204)

    def list_runs(
        self, request: Request, owner: str, repo: str, workflow_id: str | None = None, **_: Any
    ) -> Reply:
        state = self.repo(owner, repo)
        runs = sorted(state.runs.values(), key=lambda r: r.id, reverse=True)
        if workflow_id is not None:
            wf = self._workflow(state, workflow_id)
            runs = [r for r in runs if r.workflow_id == wf.id]
        args = request.args
        if args.get("branch"):
            runs = [r for r in runs if r.head_branch == args["branch"]]
        if args.get("head_sha"):
            runs = [r for r in runs if r.head_sha == args["head_sha"]]
        if args.get("event"):
            runs = [r for r in runs if r.event == args["event"]]
        if args.get("actor"):
            runs = [r for r in runs if r.actor.login.lower() == args["actor"].lower()]
        if args.get("status"):
            want = args["status"]
            runs = [r for r in runs if r.status == want or r.conclusion == want]
        shaped = [
            self.s.workflow_run(
                state, r, state.workflows[r.workflow_id], self._pulls_for_sha(state, r.head_sha)
            )
            for r in runs
        ]
        page, headers = paginate(self.emu, request, shaped)
        return Reply({"total_count": len(shaped), "workflow_runs": page}, headers=headers)

    def get_run(self, request: Request, owner: str, repo: str, run_id: str, **_: Any) -> Reply:
        state = self.repo(owner, repo)
        run = state.runs.get(_int(run_id))
        if run is None:
            raise ApiError(404, "Not Found")
        wf = state.workflows[run.workflow_id]
        return Reply(self.s.workflow_run(state, run, wf, self._pulls_for_sha(state, run.head_sha)))

    # -- graphql ---------------------------------------------------------------------------------------------
    def graphql(self, request: Request, body: Any, installation: Any, **_: Any) -> Reply:
        from pressplay.testing.github_emulator._graphql import execute

        req = _obj(body)
        query = req.get("query")
        if not isinstance(query, str):
            raise ApiError(400, "A query attribute must be specified and must be a string.")
        return Reply(execute(self.emu, installation, query, req.get("variables") or {}))


def _label_names(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise validation_failed(_invalid("Label", "labels"))
    names: list[str] = []
    for item in value:
        if isinstance(item, dict):
            item = item.get("name")
        if not isinstance(item, str) or not item.strip():
            raise validation_failed(_invalid("Label", "name", "invalid"))
        names.append(item.strip())
    return names


def _perms() -> Iterable[tuple[str, str]]:
    from pressplay.testing.github_emulator._emulator import APP_PERMISSIONS

    return APP_PERMISSIONS.items()


def _events() -> Iterable[str]:
    from pressplay.testing.github_emulator._emulator import APP_EVENTS

    return APP_EVENTS
