"""``authorize``: may this person start pressplay's work on this repository?

The first step of every flow a person's GitHub event starts (a PR comment or review, an issue, a
label). GitHub's ``author_association`` cannot answer it: ``MEMBER`` is any member of the
organisation and ``COLLABORATOR`` includes read-only collaborators, while every flow can end in a
push and a merge. This step asks GitHub for the person's role on the repository
(``GET /repos/{owner}/{repo}/collaborators/{username}/permission``) and allows ``write`` or more
(``minimum``), or a member of one of ``teams``.

It never fails for a refusal: it answers Succeeded with ``allowed=false`` and a quiet reason, so the
flow skips its work (``when: allowed == true``) without a red node or a comment that would tell a
stranger anything. Bots (our own App included) are never allowed.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from pressplay.github import RepoClient
from pressplay.steps.base import Outcome, StepArgs, StepContext, Succeeded, step
from pressplay.types import Repo

#: GitHub's repository roles from the least to the most powerful (``none``: no access).
ROLE_RANK = {"none": 0, "read": 1, "triage": 2, "write": 3, "maintain": 4, "admin": 5}
_LOGIN_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$")
_TEAM_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")


class AuthorizeArgs(StepArgs):
    """Arguments of the ``authorize`` step."""

    repo: Repo = Field(description="Repository as `owner/name`, e.g. `acme/api`.")
    user: str = Field(
        description="GitHub login of the person whose event started the flow, e.g. the Sensor's `sender.login`."
    )
    minimum: Literal["write", "maintain", "admin"] = Field(
        "write", description="The least role on the repository that is allowed."
    )
    teams: list[str] = Field(
        default_factory=list,
        description=(
            "Also allowed: active members of these teams, as `org/team-slug` (needs the App's "
            "`members: read` organisation permission)."
        ),
    )

    @field_validator("user")
    @classmethod
    def _login(cls, value: str) -> str:
        if not _LOGIN_RE.match(value):
            raise ValueError(
                "must be a GitHub login (letters, digits and '-'), e.g. `{{inputs.parameters.sender}}`"
            )
        return value

    @field_validator("teams")
    @classmethod
    def _teams(cls, value: list[str]) -> list[str]:
        for team in value:
            if not _TEAM_RE.match(team):
                raise ValueError(f"{team!r} is not a team: write `org/team-slug`, e.g. `acme/platform`")
        return value


def role_of(repo: RepoClient, user: str) -> str | None:
    """``user``'s role on the repository (``admin`` … ``read``, ``none``), or None for no such user."""
    resp = repo.get(f"collaborators/{user}/permission", allow=(404,))
    if resp.status == 404 or not isinstance(resp.json, dict):
        return None
    role = str(resp.json.get("role_name") or resp.json.get("permission") or "none")
    return role if role in ROLE_RANK else str(resp.json.get("permission") or "none")


def team_member(repo: RepoClient, team: str, user: str) -> bool:
    org, slug = team.split("/", 1)
    resp = repo.get(f"/orgs/{org}/teams/{slug}/memberships/{user}", allow=(403, 404))
    return resp.status == 200 and isinstance(resp.json, dict) and resp.json.get("state") == "active"


@step(
    "authorize",
    AuthorizeArgs,
    permissions={"metadata": "read"},
    outputs=("allowed", "permission", "reason"),
)
def authorize(args: AuthorizeArgs, ctx: StepContext) -> Outcome:
    """Allow a flow only for a person with write access (or a configured team); a quiet no otherwise."""
    repo = ctx.github.repo(args.repo)
    ctx.label(user=args.user)
    if args.user.endswith("[bot]"):
        return _answer(False, "bot", f"{args.user} is a bot: bots never start pressplay's work")
    role = role_of(repo, args.user)
    if role is None:
        return _answer(False, "none", f"{args.user} is not a GitHub user: nothing is started")
    if ROLE_RANK.get(role, 0) >= ROLE_RANK[args.minimum]:
        return _answer(True, role, f"{args.user} has {role} access to {args.repo}")
    if args.teams:
        members = ctx.github.clients.repo(args.repo, permissions={"members": "read"})
        for team in args.teams:
            if team_member(members, team, args.user):
                return _answer(True, role, f"{args.user} is a member of {team}")
    needed = args.minimum + (" (or membership of " + ", ".join(args.teams) + ")" if args.teams else "")
    return _answer(
        False,
        role,
        f"{args.user} has {role} access to {args.repo}; pressplay acts only for {needed}: nothing is started",
    )


def _answer(allowed: bool, role: str, reason: str) -> Succeeded:
    return Succeeded({"allowed": allowed, "permission": role, "reason": reason}, summary=reason)
