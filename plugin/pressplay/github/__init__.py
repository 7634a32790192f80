"""The one place that builds GitHub clients: App auth, token and ETag caches, rate limits, errors.

Steps reach GitHub through ``ctx.github`` (= :func:`clients_for` of the sidecar's settings)::

    gh = ctx.github.repo(args.repo)                      # RepoClient for "owner/name"
    pr = gh.get("pulls/7").json                          # paths without "/" are under /repos/{owner}/{name}
    open_prs = gh.get_all("pulls", {"head": "acme:pressplay/task-7", "state": "open"})
    gh.post("issues/7/comments", {"body": "hi"})
    gh.graphql("mutation($id: ID!) { enablePullRequestAutoMerge(input: {pullRequestId: $id}) { clientMutationId } }",
               {"id": pr["node_id"]})
    me = gh.bot_login()                                  # "<app-slug>[bot]"
    if gh.budget() < 0.1: ...                            # fraction of the installation's rate limit left

Behaviour:

- **Auth**: GitHub App only. The App's own calls are signed with its JWT by githubkit
  (``AppAuthStrategy``). The app id and private key come from ``PRESSPLAY_GITHUB_APP_ID`` /
  ``PRESSPLAY_GITHUB_PRIVATE_KEY_FILE``; the installation id from ``PRESSPLAY_GITHUB_INSTALLATION_ID`` or
  discovered per repository (``GET /repos/{owner}/{repo}/installation`` with the JWT) and cached.
  Installation tokens are minted with the JWT and kept until a minute before they expire (one private
  cache per clients object, one mint at a time per installation).
- **Transport**: installation calls, the hot path, go through one kept-alive urllib3 pool per clients
  object (no retries; redirects followed, ``Authorization`` dropped when one leaves the host).
- **Conditional requests**: :meth:`RepoClient.get` keeps ETag + body per URL and query in a bounded
  LRU cache and sends ``If-None-Match``; a 304 (free of rate limit on GitHub) returns the cached body
  with ``not_modified=True``. :meth:`RepoClient.get_all` pages with ``per_page=100`` through ``Link``
  headers, each page conditional; the list's ``not_modified`` says whether every page was a 304.
- **Errors**: every failure arrives as :class:`GitHubTemporaryError` (a ``TemporaryError``: 5xx,
  timeouts, connection errors, 429, primary/secondary rate limits; ``retry_after`` honours
  ``Retry-After`` / ``X-RateLimit-Reset``) or :class:`GitHubPermanentError` (a ``PermanentError``:
  401, 403, 404, 422, other 4xx; ``status``, ``github_message`` and ``errors`` are kept for steps to
  inspect, the message says what to check). Pass ``allow=(404,)`` etc. to get the response instead
  of an exception for statuses a step expects. Nothing retries inside a call: retrying is the
  requeue's job.
- **Telemetry**: one CLIENT span per call (``GitHub GET /repos/{owner}/{repo}/pulls``), the counter
  ``pressplay.github.calls`` by ``url.template``/method/status, ``pressplay.github.not_modified`` for
  304s, and the gauge ``pressplay.github.rate_limit.remaining`` per installation.
- **Secrets**: the private key, JWTs and installation tokens never appear in logs, messages or
  exceptions; :func:`scrub` redacts anything token-shaped as a last line of defence.
"""

from pressplay.github._client import (
    ETAG_CACHE_BYTES,
    ETAG_CACHE_SIZE,
    PER_PAGE,
    REQUEST_TIMEOUT,
    GitHubClients,
    GitHubList,
    GitHubResponse,
    RepoClient,
    ScopedGitHub,
    clients_for,
    reset_clients,
)
from pressplay.github._errors import GitHubPermanentError, GitHubTemporaryError
from pressplay.github._routes import route_template
from pressplay.github.files import RepoFile, read_text
from pressplay.redact import scrub

__all__ = [
    "ETAG_CACHE_BYTES",
    "ETAG_CACHE_SIZE",
    "PER_PAGE",
    "REQUEST_TIMEOUT",
    "GitHubClients",
    "GitHubList",
    "GitHubPermanentError",
    "GitHubResponse",
    "GitHubTemporaryError",
    "RepoClient",
    "RepoFile",
    "ScopedGitHub",
    "clients_for",
    "read_text",
    "reset_clients",
    "route_template",
    "scrub",
]
