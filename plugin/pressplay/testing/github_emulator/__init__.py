"""A stateful GitHub emulator on a real HTTP server, for pressplay's tests and yours.

It answers like GitHub: App JWT verification and expiring installation tokens, REST objects in
GitHub's shapes (checked against ``@octokit/openapi`` and githubkit's models), ETags with free 304s,
per-installation rate-limit accounting (5000/h; ``X-RateLimit-*`` headers), secondary rate limits on
bursts of writes, GitHub's validation errors, and injectable faults::

    from pressplay.testing.github_emulator import GitHubEmulator

    with GitHubEmulator() as gh:                       # 127.0.0.1:<free port>, key pair generated
        gh.create_repo("acme/api", files={"README.md": "# api\\n"})
        sha = gh.push("acme/api", "pressplay/task-1", {"app.py": "print('hi')\\n"}, message="Task 1")
        gh.simulate_ci("acme/api", {"build": "success", "lint": "success"}, after_polls=2)
        settings = gh.settings()                       # pressplay Settings pointing here
        overrides = gh.sidecar_settings()              # the same as a dict (sidecar_factory(**overrides))
        ...
        assert gh.requests[-1].cost == 0               # the request log: method, path, status, cost, ...

Scenario API (all thread-safe): ``create_repo``, ``push`` (returns the SHA), ``delete_branch``,
``sync_from_git`` (import a local bare repository through the ``git`` CLI), ``add_issue``,
``open_pull`` (as a person), ``add_comment(repo, number, body, user=, author_association=)``,
``add_review``, ``set_mergeable``, ``protect_branch(required_checks=, required_approvals=)``,
``merge``, ``add_review_comment``, ``add_label``, ``add_status``, ``add_check_run`` / ``complete_check_run``,
``add_workflow`` / ``run_workflow`` / ``complete_workflow_run`` / ``on_dispatch``, ``on_push(callback)``,
``simulate_ci``, ``schedule(action, after_polls=|at=)``, ``advance(seconds)`` (the emulator's clock),
``set_rate_limit_remaining``, ``inject_fault(path_regex, kind=status|secondary|too_many|reset|delay)``,
``random_failures(rate, seed=)``, and readers ``pull``, ``issue``, ``comments``, ``repo_state``,
``requests`` / ``requests_to(path_regex)``, ``rate_limit_used()``; ``snapshot()`` / ``restore()`` save
and load the whole GitHub state as JSON data (never tokens or keys). ``api_prefix="/api/v3"`` serves
GitHub Enterprise Server's layout.

Endpoints: ``GET /app``, ``GET /repos/{o}/{r}/installation``, ``POST /app/installations/{id}/access_tokens``,
``GET /rate_limit``; repositories, branches, refs, commits, compare, contents; pulls (list with
state/head/base filters, create with GitHub's 422s, get/update, requested reviewers, reviews, merge
with 405/409, files, commits); issues, comments (paginated, ``Link`` headers), labels; commit
statuses (create, combined, list); check runs and suites; Actions workflows, dispatches
(``return_run_details``) and runs; ``POST /graphql`` (PR reads incl. ``autoMergeRequest``,
``enablePullRequestAutoMerge`` / ``disablePullRequestAutoMerge``; needs ``graphql-core``).

Pull requests and issues opened through the API are authored by the App's bot user
(``gh.bot.login`` = ``<app_slug>[bot]``); the emulator is one App installed on every owner created
with ``create_repo`` (``installed=False`` leaves a repository without an installation).
"""

from pressplay.testing.github_emulator._emulator import APP_PERMISSIONS, GitHubEmulator
from pressplay.testing.github_emulator._server import ApiError, Fault, RecordedRequest

__all__ = ["APP_PERMISSIONS", "ApiError", "Fault", "GitHubEmulator", "RecordedRequest"]
