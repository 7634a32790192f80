"""``pullRequest``: create or update the one pull request for ``head`` → ``base``.

Idempotency key: (repo, head, base). Every call first lists the PRs whose head is ``owner:head``; an
open one is updated, never duplicated (GitHub's 422 "A pull request already exists" from a
concurrent create is answered by reading again). On re-entry:

- **title**, **base** and **draft** are set to the arguments;
- **body**: only the pressplay section (between ``<!-- pressplay:begin -->`` and
  ``<!-- pressplay:end -->``) is replaced; whatever a person wrote outside it stays;
- **labels** and **reviewers** are *added* when missing, never removed: labels and review requests a
  person added stay, and someone who already reviewed is not asked again. Missing labels are created
  in the repository first (with a stable colour).

A head with no commits ahead of base opens nothing and answers ``state=no-changes`` (or
``state=merged`` with that PR's number when the head's PR was already merged). A PR for this head
that a person closed without merging, with the branch unchanged since, is not reopened or replaced:
the step fails and says how to continue.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any
from urllib.parse import quote

from pydantic import Field, field_validator

from pressplay.github import GitHubPermanentError, RepoClient
from pressplay.steps.base import (
    Outcome,
    PermanentError,
    StepArgs,
    StepContext,
    Succeeded,
    TemporaryError,
    step,
)
from pressplay.types import GitRef, OptionalGitRef, Repo, Text

BEGIN = "<!-- pressplay:begin -->"
END = "<!-- pressplay:end -->"
#: GitHub's limits: PR title length, body length, label name length.
TITLE_LIMIT = 256
BODY_LIMIT = 65536
LABEL_LIMIT = 50
#: Colours of the labels pressplay creates (``pressplay`` itself gets the first).
_PALETTE = (
    "6f42c1",
    "0e8a16",
    "1d76db",
    "fbca04",
    "d93f0b",
    "5319e7",
    "006b75",
    "b60205",
    "c2e0c6",
    "bfd4f2",
)

_BAD_REF = re.compile(r"(\.\.|@\{|//|[\x00-\x20~^:?*\[\\\x7f])")
_USER_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
_TEAM_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")


def _check_branch(value: str, field: str) -> str:
    value = value.strip()
    if value.startswith("refs/heads/"):
        value = value[len("refs/heads/") :]
    if ":" in value:
        raise ValueError(
            f"{field} must be a branch of `repo` (pull requests from forks are not supported), e.g. 'pressplay/task-7'"
        )
    if (
        not value
        or _BAD_REF.search(value)
        or value.startswith(("-", "/", "."))
        or value.endswith(("/", ".", ".lock"))
        or "/." in value
        or value == "@"
    ):
        raise ValueError(f"{value!r} is not a valid branch name, e.g. 'pressplay/task-7' or 'main'")
    return value


class PullRequestArgs(StepArgs):
    """Arguments of the ``pullRequest`` step."""

    repo: Repo = Field(description="Repository as `owner/name`, e.g. `acme/api`.")
    head: GitRef = Field(description="Branch with the changes (in `repo`), e.g. `pressplay/task-7`.")
    base: OptionalGitRef = Field(
        None, description="Branch to merge into, e.g. `main`. Default: the repository's default branch."
    )
    title: Text = Field(
        min_length=1,
        max_length=TITLE_LIMIT,
        description=(
            "PR title; set again on every call (kept in sync). Text from an issue or an agent goes in "
            "as `{b64: ...}` (or a list of strings and `{b64: ...}` parts), never in clear."
        ),
    )
    body: Text = Field(
        "",
        max_length=BODY_LIMIT - 100,
        description=(
            "Markdown for the pressplay section of the PR description. Only that section is rewritten on "
            "re-entry; text a person adds outside it is kept. Accepts `{b64: ...}` parts like `title`."
        ),
    )
    label_names: list[str] = Field(
        default_factory=list,
        alias="labels",
        description=(
            "Labels to put on the PR, e.g. `[pressplay, task-7]`; created in the repository when missing. "
            "Added, never removed: labels a person added stay."
        ),
    )
    reviewers: list[str] = Field(
        default_factory=list,
        description=(
            "Reviewers to request: user logins (`octocat`) or teams (`acme/platform`). Added when missing; "
            "people who already reviewed are not asked again; requests are never withdrawn."
        ),
    )
    draft: bool = Field(
        False, description="Open (and keep) the PR as a draft; `false` marks it ready for review."
    )

    @field_validator("head")
    @classmethod
    def _head_branch(cls, value: str) -> str:
        return _check_branch(value, "head")

    @field_validator("base")
    @classmethod
    def _base_branch(cls, value: str | None) -> str | None:
        return None if value in (None, "") else _check_branch(value, "base")

    @field_validator("title")
    @classmethod
    def _title_line(cls, value: str) -> str:
        return " ".join(value.split())

    @field_validator("label_names")
    @classmethod
    def _label_names(cls, value: list[str]) -> list[str]:
        seen: dict[str, str] = {}
        for raw in value:
            name = raw.strip()
            if not name or len(name) > LABEL_LIMIT:
                raise ValueError(f"label {raw!r} must be 1-{LABEL_LIMIT} characters")
            seen.setdefault(name.lower(), name)
        return list(seen.values())

    @field_validator("reviewers")
    @classmethod
    def _reviewer_names(cls, value: list[str]) -> list[str]:
        out: list[str] = []
        for raw in value:
            name = raw.strip().lstrip("@")
            if not (_USER_RE.match(name) or _TEAM_RE.match(name)):
                raise ValueError(
                    f"reviewer {raw!r} must be a user login ('octocat') or a team ('acme/platform')"
                )
            if name.lower() not in {o.lower() for o in out}:
                out.append(name)
        return out


# -- the body section ---------------------------------------------------------------------------


def section(text: str) -> str:
    """The pressplay-owned part of a PR description (markers inside ``text`` are dropped, so the
    section always parses back the same way)."""
    clean = text.replace(BEGIN, "").replace(END, "").strip()
    return f"{BEGIN}\n{clean}\n{END}"


def merge_body(current: str | None, text: str) -> str:
    """``current`` with its pressplay section replaced by ``text`` (appended when there is none)."""
    existing = (current or "").replace("\r\n", "\n")
    block = section(text)
    start = existing.find(BEGIN)
    end = existing.find(END, start + len(BEGIN)) if start >= 0 else -1
    if start >= 0 and end >= 0:
        return existing[:start] + block + existing[end + len(END) :]
    if not existing.strip():
        return block
    return existing.rstrip() + "\n\n" + block


def _same_text(a: str | None, b: str | None) -> bool:
    return (a or "").replace("\r\n", "\n").strip() == (b or "").replace("\r\n", "\n").strip()


def label_colour(name: str) -> str:
    """A stable colour per label name (``pressplay`` is always the first of the palette)."""
    if name.lower() == "pressplay":
        return _PALETTE[0]
    digest = hashlib.sha256(name.lower().encode()).digest()
    return _PALETTE[1 + digest[0] % (len(_PALETTE) - 1)]


# -- GitHub reads -------------------------------------------------------------------------------


def _ref(name: str) -> str:
    return quote(name, safe="/")


def _default_branch(repo: RepoClient) -> str:
    data = repo.get("").json
    branch = data.get("default_branch") if isinstance(data, dict) else None
    if not branch:
        raise PermanentError(f"{repo.full_name} has no default branch yet: pass `base` explicitly")
    return str(branch)


def _prs_for_head(repo: RepoClient, head: str) -> list[dict[str, Any]]:
    """Every PR (open, closed, merged) whose head is ``owner:head``, oldest first."""
    found = repo.get_all("pulls", {"head": f"{repo.owner}:{head}", "state": "all", "sort": "created"})
    prs = [p for p in found if isinstance(p, dict) and (p.get("head") or {}).get("ref") == head]
    prs.sort(key=lambda p: int(p.get("number") or 0))
    return prs


def _ahead_by(repo: RepoClient, base: str, head: str) -> int:
    """How many commits ``head`` has that ``base`` has not; a clear error when a branch is missing."""
    response = repo.get(f"compare/{_ref(base)}...{_ref(head)}", {"per_page": 1}, allow=(404,))
    if response.status == 404:
        head_found = repo.get(f"branches/{_ref(head)}", allow=(404,)).status != 404
        if not head_found:
            raise PermanentError(
                f"head branch '{head}' does not exist in {repo.full_name}: push it before opening the PR "
                "(check `head`)"
            )
        raise PermanentError(f"base branch '{base}' does not exist in {repo.full_name}: check `base`")
    data = response.json if isinstance(response.json, dict) else {}
    return int(data.get("ahead_by") or 0)


def _pick_open(prs: list[dict[str, Any]], base: str) -> dict[str, Any] | None:
    open_prs = [p for p in prs if p.get("state") == "open"]
    same_base = [p for p in open_prs if (p.get("base") or {}).get("ref") == base]
    candidates = same_base or open_prs
    return candidates[0] if candidates else None


# -- writes -------------------------------------------------------------------------------------


def ensure_labels(repo: RepoClient, names: list[str]) -> list[str]:
    """Create the labels among ``names`` that the repository lacks; returns the ones created."""
    created: list[str] = []
    for name in names:
        if repo.get(f"labels/{quote(name, safe='')}", allow=(404,)).status != 404:
            continue
        payload = {"name": name, "color": label_colour(name), "description": "Managed by pressplay"}
        response = repo.post("labels", payload, allow=(422,))
        if response.status != 422:  # 422 already_exists: someone created it meanwhile
            created.append(name)
    return created


def _set_draft(repo: RepoClient, node_id: str, draft: bool) -> None:
    mutation = "convertPullRequestToDraft" if draft else "markPullRequestReadyForReview"
    repo.graphql(
        f"mutation($id: ID!) {{ {mutation}(input: {{pullRequestId: $id}}) {{ pullRequest {{ isDraft }} }} }}",
        {"id": node_id},
    )


def _not_ready_yet(exc: GitHubPermanentError, number: int) -> TemporaryError:
    return TemporaryError(
        f"PR #{number} was just created and GitHub cannot see it yet ({_said(exc)}); retrying", 5.0
    )


def _sync_labels(repo: RepoClient, pr: dict[str, Any], wanted: list[str]) -> list[str]:
    have = {str(label.get("name", "")).lower() for label in pr.get("labels") or [] if isinstance(label, dict)}
    missing = [name for name in wanted if name.lower() not in have]
    if missing:
        ensure_labels(repo, missing)
        repo.post(f"issues/{pr['number']}/labels", {"labels": missing})
    return missing


def _sync_reviewers(
    repo: RepoClient, pr: dict[str, Any], wanted: list[str], *, just_created: bool
) -> list[str]:
    number = int(pr["number"])
    author = str((pr.get("user") or {}).get("login", "")).lower()
    users_asked = {str(u.get("login", "")).lower() for u in pr.get("requested_reviewers") or []}
    teams_asked = {str(t.get("slug", "")).lower() for t in pr.get("requested_teams") or []}
    users = [r for r in wanted if "/" not in r and r.lower() not in users_asked and r.lower() != author]
    teams = [r.split("/", 1)[1] for r in wanted if "/" in r and r.split("/", 1)[1].lower() not in teams_asked]
    if users:
        reviews = repo.get_all(f"pulls/{number}/reviews")
        reviewed = {
            str((r.get("user") or {}).get("login", "")).lower() for r in reviews if isinstance(r, dict)
        }
        users = [u for u in users if u.lower() not in reviewed]
    if not users and not teams:
        return []
    payload: dict[str, list[str]] = {"reviewers": users, "team_reviewers": teams}
    try:
        repo.post(f"pulls/{number}/requested_reviewers", payload)
    except GitHubPermanentError as exc:
        if exc.status != 422:
            raise
        if just_created and exc.mentions("could not resolve"):
            # GitHub sometimes cannot see a PR it created a moment ago; the next call retries once.
            raise _not_ready_yet(exc, number) from exc
        asked = ", ".join(users + [f"team {t}" for t in teams])
        raise PermanentError(
            f"reviewers: GitHub refused to request reviews from {asked} on {repo.full_name}#{number}: "
            f"{_said(exc)}. Reviewers must be collaborators and not the PR's author; teams must be written "
            "`org/team-slug`, have access to the repository, and the App needs the organization permission "
            "members: read. Fix `reviewers`"
        ) from exc
    return users + [f"team {t}" for t in teams]


def _said(exc: GitHubPermanentError) -> str:
    details = [str(e.get("message")) for e in exc.errors if isinstance(e, dict) and e.get("message")]
    return "; ".join(details) or exc.github_message or str(exc)


def _create(repo: RepoClient, args: PullRequestArgs, base: str) -> dict[str, Any] | None:
    """POST the PR. None when GitHub says one already exists or there is nothing to merge."""
    payload = {
        "title": args.title,
        "head": args.head,
        "base": base,
        "body": section(args.body),
        "draft": args.draft,
    }
    try:
        response = repo.post("pulls", payload)
    except GitHubPermanentError as exc:
        if exc.status == 422 and (exc.mentions("already exists") or exc.mentions("no commits between")):
            return None
        if exc.status == 422 and exc.mentions("draft"):
            raise PermanentError(
                f"{repo.full_name} does not support draft pull requests ({_said(exc)}): set `draft: false`"
            ) from exc
        raise
    data = response.json
    return data if isinstance(data, dict) else None


def _outputs(pr: dict[str, Any], state: str, created: bool) -> dict[str, Any]:
    return {
        "number": int(pr["number"]),
        "url": str(pr.get("html_url") or ""),
        "headSha": str((pr.get("head") or {}).get("sha") or ""),
        "state": state,
        "created": created,
    }


@step(
    "pullRequest",
    PullRequestArgs,
    permissions={"contents": "read", "issues": "write", "pull_requests": "write"},
    outputs=("number", "url", "headSha", "state", "created"),
)
def pull_request(args: PullRequestArgs, ctx: StepContext) -> Outcome:
    """Create or update the pull request for head → base; never a second one for the same head."""
    repo = ctx.github.repo(args.repo)
    base = args.base or _default_branch(repo)
    if base == args.head:
        raise PermanentError(f"head and base are both '{base}': `head` must be the branch with the changes")
    prs = _prs_for_head(repo, args.head)
    pr = _pick_open(prs, base)
    created = False
    if pr is None:
        ahead = _ahead_by(repo, base, args.head)
        if ahead == 0:
            return _nothing_to_open(args, base, prs)
        _refuse_closed(repo, prs, base, args.head)
        pr = _create(repo, args, base)
        if pr is None:  # a concurrent call created it, or the branch just became empty: read again
            prs = _prs_for_head(repo, args.head)
            pr = _pick_open(prs, base)
            if pr is None:
                return _nothing_to_open(args, base, prs)
        else:
            created = True
    number = int(pr["number"])
    ctx.label(pr=number)
    changes: list[str] = []
    try:
        if not created:
            changes += _sync_fields(repo, pr, args, base)
        added_labels = _sync_labels(repo, pr, args.label_names)
        if added_labels:
            changes.append("labels +" + ",".join(added_labels))
        asked = _sync_reviewers(repo, pr, args.reviewers, just_created=created)
        if asked:
            changes.append("reviewers +" + ",".join(asked))
    except GitHubPermanentError as exc:
        if created and exc.status == 422 and exc.mentions("could not resolve"):
            raise _not_ready_yet(exc, number) from exc
        raise
    where = f"{args.repo}#{number}"
    if created:
        summary = f"opened {where} ({args.head} → {base})"
    elif changes:
        summary = f"updated {where}: {'; '.join(changes)}"
    else:
        summary = f"{where} already up to date"
    state = "open"
    return Succeeded(_outputs(pr, state, created), summary=summary + f" {pr.get('html_url', '')}".rstrip())


def _sync_fields(repo: RepoClient, pr: dict[str, Any], args: PullRequestArgs, base: str) -> list[str]:
    """Bring title, body section, base and draft of an existing PR in line with the arguments."""
    number = int(pr["number"])
    patch: dict[str, str] = {}
    if pr.get("title") != args.title:
        patch["title"] = args.title
    body = merge_body(pr.get("body"), args.body)
    if not _same_text(pr.get("body"), body):
        patch["body"] = body
    if (pr.get("base") or {}).get("ref") != base:
        patch["base"] = base
    changes = [f"{name} {'retargeted to ' + base if name == 'base' else 'set'}" for name in patch]
    if patch:
        updated = repo.patch(f"pulls/{number}", patch).json
        if isinstance(updated, dict):
            pr.update(
                {k: v for k, v in updated.items() if k in ("title", "body", "base", "head", "html_url")}
            )
    if bool(pr.get("draft")) != args.draft:
        _set_draft(repo, str(pr["node_id"]), args.draft)
        pr["draft"] = args.draft
        changes.append("marked draft" if args.draft else "marked ready for review")
    return changes


def _refuse_closed(repo: RepoClient, prs: list[dict[str, Any]], base: str, head: str) -> None:
    """Fail when a person closed this head's PR without merging and the branch has not moved since."""
    closed = [
        p
        for p in prs
        if p.get("state") == "closed" and not p.get("merged_at") and (p.get("base") or {}).get("ref") == base
    ]
    if not closed:
        return
    last = closed[-1]
    branch = repo.get(f"branches/{_ref(head)}", allow=(404,))
    sha = ((branch.json or {}).get("commit") or {}).get("sha") if isinstance(branch.json, dict) else None
    if sha and sha == (last.get("head") or {}).get("sha"):
        raise PermanentError(
            f"PR #{last['number']} for '{head}' → '{base}' in {repo.full_name} was closed without merging and "
            f"the branch has not changed since ({last.get('html_url', '')}). pressplay does not overrule that: "
            "reopen the PR to continue, or push new commits / delete the branch to start over"
        )


def _nothing_to_open(args: PullRequestArgs, base: str, prs: list[dict[str, Any]]) -> Outcome:
    merged = [p for p in prs if p.get("merged_at") and (p.get("base") or {}).get("ref") == base]
    if merged:
        pr = merged[-1]
        return Succeeded(
            _outputs(pr, "merged", False),
            summary=f"{args.repo}#{pr['number']} for '{args.head}' is already merged into '{base}'",
        )
    return Succeeded(
        {"number": "", "url": "", "headSha": "", "state": "no-changes", "created": False},
        summary=f"no PR opened: '{args.head}' has no commits ahead of '{base}' in {args.repo}",
    )
