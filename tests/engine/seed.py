"""Make the GitHub emulator hold what a webhook payload names, before it is delivered.

The repository (the sample's remote when it is the sample, an empty one otherwise), the head branch
of a PR (in the git remote, from main, so agents can clone it), the PR or issue with the payload's
number, title, state and labels. Numbers below the payload's are filled with placeholder issues, as
GitHub numbers PRs and issues in one sequence.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from tests.engine.github import GitHubSide


def _branch_in_remote(gh: GitHubSide, branch: str) -> None:
    from pressplay.demo.world import git

    remote = gh.world.remote
    probe = git(f"--git-dir={remote}", "branch", "--list", branch).strip()
    if probe:
        return
    with tempfile.TemporaryDirectory(prefix="pressplay-engine-branch-") as tmp:
        work = Path(tmp)
        git("clone", "-q", str(remote), str(work))
        git("push", "-q", "origin", f"HEAD:refs/heads/{branch}", cwd=work)
    gh.world.sync()


def seed(gh: GitHubSide, payload: dict[str, Any]) -> None:
    emu = gh.world.github
    repo = (payload.get("repository") or {}).get("full_name")
    if not repo:
        return
    try:
        state = emu.repo_state(repo)
    except KeyError:
        emu.create_repo(repo)
        state = emu.repo_state(repo)
    # GitHub sends the id of the App's installation on the repository's owner.
    payload.setdefault("installation", {})["id"] = emu.installation_id(repo.split("/")[0])
    pr = payload.get("pull_request")
    issue = payload.get("issue")
    run = payload.get("check_run") or payload.get("workflow_run")
    if pr is None and issue is None and run and run.get("pull_requests"):
        # A check or workflow run names its PRs by number and head branch only.
        first = run["pull_requests"][0]
        pr = {"number": first["number"], "head": {"ref": first["head"]["ref"]}, "title": "seeded"}
    item = pr or issue
    if not item or "number" not in item:
        return
    number = int(item["number"])
    is_pull = pr is not None or bool((issue or {}).get("pull_request"))
    if number not in state.issues:
        while _next(state) < number:
            emu.add_issue(repo, "placeholder")
        labels = [lab["name"] for lab in item.get("labels") or []]
        if is_pull:
            head = (pr or {}).get("head", {}).get("ref") or f"pressplay/seeded-{number}"
            if repo.lower() == gh.repo:
                _branch_in_remote(gh, head)
            elif head not in state.branches:
                emu.push(repo, head, {f"{head}.txt": "seeded\n"})
            created = emu.open_pull(repo, head, title=item.get("title") or "seeded", body=item.get("body"))
        else:
            created = emu.add_issue(repo, item.get("title") or "seeded", item.get("body"))
        for label in labels:
            emu.add_label(repo, label)
        if labels:
            with emu.lock:
                target = emu.repo_state(repo).issues[created]
                for label in labels:
                    if label not in target.labels:
                        target.labels.append(label)
    if item.get("state") == "closed":
        issue_state = emu.repo_state(repo).issues[number]
        if is_pull and item.get("merged") and issue_state.state == "open":
            emu.merge(repo, number, method="squash")  # a merged PR's webhook: merged on GitHub too
        else:
            with emu.lock:
                issue_state.state = "closed"


def _next(state: Any) -> int:
    return max(state.issues, default=0) + 1
