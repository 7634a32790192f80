"""``dispatch``: start a GitHub Actions ``workflow_dispatch`` run once per ``key``, then wait for it.

At most once per key, without any state in the sidecar: the step derives a **correlation id** from
``key`` (``pressplay-`` + 16 hex characters of its SHA-256) and passes it as the workflow input named by
``correlationInput`` (default ``pressplay_id``). The workflow puts that input into its run name, so
the run can be found on GitHub before and after the dispatch::

    on:
      workflow_dispatch:
        inputs:
          pressplay_id: {description: "Set by pressplay to find this run again", required: false}
    run-name: "${{ github.workflow }} ${{ inputs.pressplay_id }}"

Every call first looks for a ``workflow_dispatch`` run of the workflow whose ``display_title``
carries the correlation id (newest first, up to :data:`LOOKUP_PAGES` pages). Only when there is none
does it dispatch: it first reads the workflow file at ``ref`` and refuses to dispatch when the
``run-name`` line or the input is missing (a retry could not find the run, so it would start a second
one); then ``POST .../dispatches`` with ``return_run_details: true`` (GitHub answers with the run id;
older servers answer 204 and the run is found by the lookup, waiting up to :data:`APPEAR_SECONDS`).

Deadline: ``since`` if given, else the run's ``created_at``; a restarted sidecar finds the same run
and so the same deadline.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import yaml
from pydantic import Field, field_validator, model_validator

from pressplay.github import GitHubPermanentError, RepoClient
from pressplay.steps.base import Outcome, OutputValue, PermanentError, StepContext, Succeeded, step
from pressplay.steps.waiting import GiveUp, OnFailure, OnFailureArgs, Wait, keep_waiting, settle
from pressplay.types import GitRef, Repo, parse_timestamp

#: GitHub accepts at most this many inputs in one dispatch (one is ours).
MAX_INPUTS = 25
#: Pages (100 runs each, newest first) searched for the run carrying the correlation id.
LOOKUP_PAGES = 3
#: After a dispatch GitHub answered 204 to, how long the call looks for the new run before answering.
APPEAR_SECONDS = 15.0
#: Ask GitHub for the run id in the dispatch answer (``return_run_details``). Servers that do not know
#: the flag answer 204 and the run is found by its correlation id instead.
RETURN_RUN_DETAILS = True
#: Conclusions of a finished run that count as success.
PASSING = frozenset({"success"})

_WORKFLOW_RE = re.compile(r"^(?:\d+|[A-Za-z0-9._-]+\.ya?ml)$")
_INPUT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,99}$")


InputValue = str | bool | int | float


class DispatchArgs(OnFailureArgs):
    """Arguments of the ``dispatch`` step."""

    repo: Repo = Field(description="Repository as `owner/name`, e.g. `acme/api`.")
    workflow: str = Field(
        description="The workflow to run: its file name under `.github/workflows/` (`deploy.yml`) or its numeric id."
    )
    ref: GitRef = Field(description="Branch or tag the workflow runs on (GitHub does not accept a SHA here).")
    inputs: dict[str, InputValue] = Field(
        default_factory=dict,
        description=(
            "The workflow's `workflow_dispatch` inputs (at most 24; values are sent as strings, "
            "booleans as `true`/`false`). A JSON object in a string is accepted too, so a template can "
            "pass `{{inputs.parameters.deployInputs}}`."
        ),
    )
    key: str = Field(
        min_length=1,
        max_length=512,
        description=(
            "Idempotency key: at most one run is started per key, e.g. "
            "`deploy-{{workflow.parameters.task}}-{{inputs.parameters.sha}}`. Calling again finds that run."
        ),
    )
    correlation_input: str = Field(
        "pressplay_id",
        description=(
            "Name of the workflow input that receives the correlation id; the workflow must declare it "
            "and put it into `run-name` (see the step's page)."
        ),
    )
    on_failure: OnFailure = Field(
        OnFailure.fail,
        description=(
            "`fail`: the node fails when the run does not conclude `success` or the wait times out. "
            "`continue`: the node succeeds and `conclusion` says how the run ended."
        ),
    )

    @field_validator("workflow")
    @classmethod
    def _workflow(cls, value: str) -> str:
        value = value.removeprefix("./").removeprefix(".github/workflows/")
        if not _WORKFLOW_RE.match(value):
            raise ValueError(
                "must be a workflow file name such as 'deploy.yml' (the file in .github/workflows/) "
                "or a numeric workflow id"
            )
        return value

    @field_validator("ref")
    @classmethod
    def _ref(cls, value: str) -> str:
        if not value or any(ch.isspace() for ch in value) or ".." in value or value.startswith("-"):
            raise ValueError("must be a branch or tag name, e.g. 'main' or 'v1.2.0'")
        return value.removeprefix("refs/heads/").removeprefix("refs/tags/")

    @field_validator("correlation_input")
    @classmethod
    def _input_name(cls, value: str) -> str:
        if not _INPUT_RE.match(value):
            raise ValueError(
                "must be a workflow input name (letters, digits, '_' or '-'), e.g. 'pressplay_id'"
            )
        return value

    @field_validator("inputs", mode="before")
    @classmethod
    def _json_text(cls, value: object) -> object:
        """Argo substitutes parameters as text: accept a JSON object given as a string."""
        if isinstance(value, str):
            text = value.strip() or "{}"
            try:
                parsed = json.loads(text)
            except ValueError:
                raise ValueError(
                    'must be a mapping of input names to values, or that mapping as JSON text, e.g. \'{"env": "prod"}\''
                ) from None
            if not isinstance(parsed, dict):
                raise ValueError('JSON text given for `inputs` must be an object, e.g. \'{"env": "prod"}\'')
            return parsed
        return value

    @field_validator("inputs")
    @classmethod
    def _inputs(cls, value: dict[str, InputValue]) -> dict[str, InputValue]:
        bad = [name for name in value if not _INPUT_RE.match(name)]
        if bad:
            raise ValueError(f"{', '.join(map(repr, bad))}: not valid workflow input names")
        if len(value) > MAX_INPUTS - 1:
            raise ValueError(
                f"GitHub takes at most {MAX_INPUTS} inputs and one carries the correlation id: "
                f"give at most {MAX_INPUTS - 1}"
            )
        return value

    @model_validator(mode="after")
    def _own_input(self) -> DispatchArgs:
        if self.correlation_input in self.inputs:
            raise ValueError(
                f"`inputs` must not set {self.correlation_input!r}: pressplay fills it with the correlation "
                "id derived from `key`"
            )
        return self


def correlation_id(key: str) -> str:
    """The id that marks the run started for ``key``: stable, short, safe in a run name."""
    return "pressplay-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def carries(title: str, corr: str) -> bool:
    """Whether a run's display title carries ``corr`` as a whole token."""
    return re.search(rf"(?<![A-Za-z0-9_-]){re.escape(corr)}(?![A-Za-z0-9_-])", title) is not None


def _encode_input(value: InputValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# -- finding the run ---------------------------------------------------------------------------------


def _created(run: Mapping[str, Any]) -> tuple[str, int]:
    created = run.get("created_at")
    ident = run.get("id")
    return (created if isinstance(created, str) else "", ident if isinstance(ident, int) else 0)


def find_run(repo: RepoClient, workflow: str, corr: str) -> tuple[dict[str, Any] | None, bool]:
    """The newest ``workflow_dispatch`` run of ``workflow`` that carries ``corr`` (or None), and whether
    the first page changed since the last poll (False: GitHub answered 304)."""
    changed = False
    for page in range(1, LOOKUP_PAGES + 1):
        resp = repo.get(
            f"actions/workflows/{workflow}/runs",
            {"event": "workflow_dispatch", "per_page": 100, "page": page},
        )
        if page == 1:
            changed = not resp.not_modified
        body = resp.json if isinstance(resp.json, dict) else {}
        runs = [r for r in body.get("workflow_runs") or [] if isinstance(r, dict)]
        hits = [r for r in runs if carries(str(r.get("display_title") or ""), corr)]
        if hits:
            return max(hits, key=_created), changed
        total = body.get("total_count")
        if len(runs) < 100 or (isinstance(total, int) and page * 100 >= total):
            break
    return None, changed


# -- before dispatching: can the run be found again? ---------------------------------------------


def _no_workflow(args: DispatchArgs) -> PermanentError:
    return PermanentError(
        f"workflow {args.workflow!r} not found in {args.repo}: give the file name of a workflow in "
        ".github/workflows/ on the default branch (e.g. 'deploy.yml') or its numeric id"
    )


def _workflow_meta(repo: RepoClient, args: DispatchArgs) -> dict[str, Any]:
    try:
        resp = repo.get(f"actions/workflows/{args.workflow}")
    except GitHubPermanentError as exc:
        if exc.status == 404 and not exc.route.endswith("/installation"):
            raise _no_workflow(args) from None
        raise
    meta: dict[str, Any] = resp.json if isinstance(resp.json, dict) else {}
    state = meta.get("state")
    if isinstance(state, str) and state != "active":
        raise PermanentError(
            f"workflow {args.workflow!r} in {args.repo} is {state.replace('_', ' ')}: enable it in the "
            "repository's Actions tab before dispatching"
        )
    return meta


def _workflow_text(repo: RepoClient, path: str, ref: str) -> str | None:
    """The workflow file at ``ref``, or None when it cannot be read (then the check is skipped)."""
    try:
        resp = repo.get(f"contents/{path}", {"ref": ref}, allow=(403, 404))
    except GitHubPermanentError as exc:
        if exc.status == 422 or exc.mentions("No commit found"):
            raise PermanentError(
                f"ref {ref!r} not found in {repo.full_name}: give an existing branch or tag as `ref`"
            ) from None
        raise
    body = resp.json if isinstance(resp.json, dict) else {}
    if resp.status == 404 and "no commit found" in str(body.get("message", "")).lower():
        raise PermanentError(
            f"ref {ref!r} not found in {repo.full_name}: give an existing branch or tag as `ref`"
        )
    if resp.status != 200 or body.get("encoding") != "base64" or not isinstance(body.get("content"), str):
        return None
    try:
        return base64.b64decode(body["content"]).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


def setup_problem(text: str, corr_input: str) -> str | None:
    """What stops a run of this workflow file from being found again (None: nothing)."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        return None  # GitHub will say what is wrong with the file when it is dispatched
    if not isinstance(doc, dict):
        return None
    triggers = doc.get("on", doc.get(True))  # YAML 1.1 reads a bare `on` key as True
    dispatch: Any = None
    if isinstance(triggers, dict):
        dispatch = triggers.get("workflow_dispatch", False)
    elif isinstance(triggers, list):
        dispatch = {} if "workflow_dispatch" in triggers else False
    elif triggers == "workflow_dispatch":
        dispatch = {}
    if dispatch is False:
        return "it has no `workflow_dispatch` trigger"
    inputs = dispatch.get("inputs") if isinstance(dispatch, dict) else None
    if not isinstance(inputs, dict) or corr_input not in inputs:
        return f"its `workflow_dispatch` trigger does not declare the input `{corr_input}`"
    run_name = doc.get("run-name")
    pattern = rf"(?:inputs|github\.event\.inputs)\.{re.escape(corr_input)}\b"
    if not isinstance(run_name, str) or not re.search(pattern, run_name):
        return f"its `run-name` does not contain `${{{{ inputs.{corr_input} }}}}`"
    return None


def _snippet(corr_input: str) -> str:
    return (
        f"on.workflow_dispatch.inputs.{corr_input}: {{required: false}} and "
        f'run-name: "${{{{ github.workflow }}}} ${{{{ inputs.{corr_input} }}}}"'
    )


def preflight(repo: RepoClient, args: DispatchArgs) -> None:
    """Refuse to dispatch a run that a retry could not find (which would start a second run)."""
    meta = _workflow_meta(repo, args)
    path = meta.get("path")
    if not isinstance(path, str) or not path.startswith(".github/workflows/"):
        return
    text = _workflow_text(repo, path, args.ref)
    if text is None:
        return
    problem = setup_problem(text, args.correlation_input)
    if problem:
        raise PermanentError(
            f"not dispatching {path} on {args.ref}: {problem}, so pressplay could not find the run again "
            f"and a retry would start a second one; add {_snippet(args.correlation_input)}"
        )


# -- dispatching -------------------------------------------------------------------------------------

_key_locks: dict[str, threading.Lock] = {}
_key_locks_guard = threading.Lock()


@contextmanager
def _one_at_a_time(corr: str) -> Iterator[None]:
    """Serialise calls for the same key inside this process (a retried call racing the first one).
    Only saves work: the guard against a second run is the lookup on GitHub."""
    with _key_locks_guard:
        lock = _key_locks.setdefault(corr, threading.Lock())
    with lock:
        yield


def dispatch_error(args: DispatchArgs, exc: GitHubPermanentError) -> PermanentError:
    detail = exc.github_message or str(exc)
    if exc.status == 404:
        hint = f"check `workflow` ({args.workflow!r}) and that the App may run Actions in {args.repo}"
    elif exc.mentions("No ref found"):
        hint = f"check `ref` ({args.ref!r}): an existing branch or tag"
    elif exc.mentions("Unexpected inputs"):
        hint = "`inputs` may only name inputs the workflow declares under on.workflow_dispatch.inputs"
    elif exc.mentions("Required input"):
        hint = "add the missing input to `inputs`"
    elif exc.mentions("workflow_dispatch"):
        hint = "add `workflow_dispatch:` to the workflow's `on:` triggers"
    else:
        hint = "check `ref` and `inputs`"
    return PermanentError(
        f"GitHub refused to dispatch {args.workflow} on {args.ref} in {args.repo} ({exc.status}: {detail}); {hint}"
    )


def dispatch_run(repo: RepoClient, args: DispatchArgs, corr: str) -> dict[str, Any] | None:
    """Dispatch the workflow and return the run it started (None if it did not show up in time)."""
    inputs = {name: _encode_input(value) for name, value in args.inputs.items()}
    inputs[args.correlation_input] = corr
    payload: dict[str, Any] = {"ref": args.ref, "inputs": inputs}
    if RETURN_RUN_DETAILS:
        payload["return_run_details"] = True
    try:
        resp = repo.post(f"actions/workflows/{args.workflow}/dispatches", payload)
    except GitHubPermanentError as exc:
        if exc.status in (404, 422, 400):
            raise dispatch_error(args, exc) from None
        raise
    body = resp.json if isinstance(resp.json, dict) else {}
    run_id = body.get("workflow_run_id")
    if isinstance(run_id, int):
        run = repo.get(f"actions/runs/{run_id}", conditional=False).json
        if isinstance(run, dict):
            if not carries(str(run.get("display_title") or ""), corr):
                url = run.get("html_url") or ""
                raise PermanentError(
                    f"dispatched run {run_id} ({url}) but its run name does not carry the correlation id "
                    f"{corr}, so pressplay cannot find it again; add {_snippet(args.correlation_input)} "
                    "to the workflow (the run keeps going)"
                )
            return run
    waited_until = time.monotonic() + APPEAR_SECONDS
    delay = 0.5
    while True:
        run, _ = find_run(repo, args.workflow, corr)
        if run is not None or time.monotonic() >= waited_until:
            return run
        time.sleep(delay)
        delay = min(2.0, delay * 2)


# -- the step ----------------------------------------------------------------------------------------


def _run_outputs(run: Mapping[str, Any], corr: str, summary: str) -> dict[str, OutputValue]:
    run_id = run.get("id")
    return {
        "runId": run_id if isinstance(run_id, int) else "",
        "url": str(run.get("html_url") or ""),
        "status": str(run.get("status") or ""),
        "conclusion": str(run.get("conclusion") or ""),
        "correlationId": corr,
        "summary": summary,
    }


def _label(run: Mapping[str, Any], workflow: str) -> str:
    name = run.get("name") or workflow
    number = run.get("run_number")
    return f"{name} #{number}" if isinstance(number, int) else f"{name} run {run.get('id')}"


@step(
    "dispatch",
    DispatchArgs,
    permissions={"actions": "write", "contents": "read"},
    outputs=("runId", "url", "status", "conclusion", "correlationId"),
)
def dispatch(args: DispatchArgs, ctx: StepContext) -> Outcome:
    """Start a workflow_dispatch run once per key and wait until it finishes."""
    repo = ctx.github.repo(args.repo)
    corr = correlation_id(args.key)
    with _one_at_a_time(corr):
        try:
            run, changed = find_run(repo, args.workflow, corr)
        except GitHubPermanentError as exc:
            if exc.status == 404 and not exc.route.endswith("/installation"):
                raise _no_workflow(args) from None
            raise
        if run is None:
            preflight(repo, args)
            run = dispatch_run(repo, args, corr)
            changed = True
    if run is None:
        # Accepted by GitHub (204, no run id) but not listed in time. Answering Running would make the
        # next call dispatch again; failing keeps "at most once" and a node retry finds the run.
        raise PermanentError(
            f"dispatched {args.workflow} on {args.ref} in {args.repo} but GitHub did not list a run carrying "
            f"{corr} within {APPEAR_SECONDS:.0f}s; retry the node to pick the run up (it will not dispatch "
            f"again once the run is listed), and make sure the workflow has {_snippet(args.correlation_input)}"
        )
    now = ctx.now()
    label = _label(run, args.workflow)
    status = str(run.get("status") or "queued")
    conclusion = str(run.get("conclusion") or "")
    url = str(run.get("html_url") or "")
    if status == "completed":
        if conclusion in PASSING:
            summary = f"{label} succeeded"
            return Succeeded(_run_outputs(run, corr, summary), summary=summary)
        summary = f"{label} concluded {conclusion or 'without a conclusion'}"
        return settle(GiveUp(f"{summary}: {url}", _run_outputs(run, corr, summary), summary), args.on_failure)

    wait = Wait(args.since or parse_timestamp(run.get("created_at")) or now, args.timeout, now)

    def give_up() -> GiveUp:
        message = wait.timed_out(f"{label} ({status})", f"the run keeps going on GitHub: {url}")
        return GiveUp(message, {**_run_outputs(run, corr, message), "conclusion": "timed_out"}, message)

    return keep_waiting(
        wait,
        ctx.settings,
        f"{label} is {status.replace('_', ' ')}: {url}",
        give_up=give_up,
        on_failure=args.on_failure,
        changed=changed,
        budget=repo.budget(),
    )
