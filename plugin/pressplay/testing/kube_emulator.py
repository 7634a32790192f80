"""A Kubernetes API emulator for Argo CD ``Application`` objects, used through the real ``kubernetes`` client.

A real HTTP server on 127.0.0.1 (a thread) that speaks the part of the Kubernetes API a client of
``argoproj.io/v1alpha1`` Applications uses, in the real shapes:

- ``GET    /apis/argoproj.io/v1alpha1/namespaces/{ns}/applications[/{name}]``
- ``PATCH  /apis/argoproj.io/v1alpha1/namespaces/{ns}/applications/{name}`` with
  ``application/merge-patch+json`` (RFC 7386) or ``application/json-patch+json`` (RFC 6902);
  ``application/strategic-merge-patch+json`` is refused with 415, as for every custom resource.
- ``metadata.resourceVersion`` in a patch is a precondition: a stale one answers 409 ``Conflict``.
- Errors are ``Status`` objects (``kind: Status``, ``reason``, ``details``, ``code``): 404 ``NotFound``,
  403 ``Forbidden`` (see :meth:`KubeEmulator.deny`), 409, 415, 422 ``Invalid``, injected 5xx/429.
- With ``crd`` (the Application CRD as loaded YAML), every stored object is validated against the
  CRD's ``openAPIV3Schema``; an invalid write answers 422 like the API server.

Scripting, for waits::

    with KubeEmulator() as kube:
        kube.add_application("api", status=app_status(revision=OLD))
        kube.script("api", [app_status(revision=OLD), app_status(revision=NEW, health="Progressing"),
                            app_status(revision=NEW)])           # one step per GET of that app
        kube.on_sync(lambda app: sync_steps(app["operation"]["sync"]["revision"]))
        settings = Settings(kube_api_url=kube.url)

A script step is a ``status`` mapping (it replaces ``.status``) or a callable that edits the whole
object in place. Steps advance on every GET of the application, or every ``every`` seconds. The
``on_sync`` / ``on_refresh`` hooks play the Argo CD controller: they run when a patch sets
``operation`` or the ``argocd.argoproj.io/refresh`` annotation and may return the steps that follow.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from pressplay.testing.serving import BackgroundServer

GROUP = "argoproj.io"
VERSION = "v1alpha1"
REFRESH_ANNOTATION = "argocd.argoproj.io/refresh"

JsonObject = dict[str, Any]
Step = Mapping[str, Any] | Callable[[JsonObject], None]
Hook = Callable[[JsonObject], Sequence[Step] | None]

_CONFIG_MAP_PATH = re.compile(r"^/api/v1/namespaces/(?P<ns>[a-z0-9.-]+)/configmaps/(?P<name>[a-z0-9.-]+)$")
_APP_PATH = re.compile(
    r"^/apis/argoproj\.io/v1alpha1/namespaces/(?P<ns>[a-z0-9]([-a-z0-9]*[a-z0-9])?)/applications(?:/(?P<name>[^/]+))?$"
)


def rfc3339(moment: datetime) -> str:
    """Kubernetes' timestamp format (second precision, ``Z``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def app_status(
    revision: str | Sequence[str],
    *,
    sync: str = "Synced",
    health: str = "Healthy",
    reconciled_at: datetime | None = None,
    health_since: datetime | None = None,
    operation_phase: str | None = None,
    operation_revision: str | Sequence[str] | None = None,
    operation_message: str = "",
    started_at: datetime | None = None,
    finished_at: datetime | None = None,
    conditions: Iterable[Mapping[str, str]] = (),
    resources: Iterable[Mapping[str, Any]] = (),
    now: datetime | None = None,
) -> JsonObject:
    """A valid Application ``status`` (a list ``revision`` makes a multi-source status).

    Timestamps default to ``now`` (the current time): reconciled now, an operation started 30 s ago
    and finished 5 s ago (so the app counts as re-compared after it).
    """
    now = now or datetime.now(UTC)
    status: JsonObject = {
        "sync": {"status": sync},
        "health": {"status": health},
        "reconciledAt": rfc3339(reconciled_at or now),
    }
    if isinstance(revision, str):
        status["sync"]["revision"] = revision
    else:
        status["sync"]["revisions"] = list(revision)
    if health_since is not None:
        status["health"]["lastTransitionTime"] = rfc3339(health_since)
    if operation_phase is not None:
        op_rev = operation_revision if operation_revision is not None else revision
        sync_op: JsonObject = {"revision": op_rev} if isinstance(op_rev, str) else {"revisions": list(op_rev)}
        state: JsonObject = {
            "operation": {"sync": dict(sync_op), "initiatedBy": {"automated": True}},
            "phase": operation_phase,
            "message": operation_message or f"operation {operation_phase.lower()}",
            "startedAt": rfc3339(started_at or now - timedelta(seconds=30)),
        }
        if operation_phase in ("Succeeded", "Failed", "Error"):
            state["finishedAt"] = rfc3339(finished_at or now - timedelta(seconds=5))
            state["syncResult"] = dict(sync_op)
        status["operationState"] = state
    if conditions:
        status["conditions"] = [dict(c) for c in conditions]
    if resources:
        status["resources"] = [dict(r) for r in resources]
    return status


def sync_steps(
    revision: str | Sequence[str],
    *,
    phase: str = "Succeeded",
    health: Sequence[str] = ("Progressing", "Healthy"),
    message: str = "",
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[Step]:
    """What the Argo CD controller does after ``operation`` is set, one step per GET:

    1. operation Running (``operation`` still set); 2. operation finished (``phase``), ``operation``
    cleared, and on success Synced at ``revision`` with the first ``health``, not yet reconciled after
    the operation; 3+. reconciled after the operation, with each further ``health`` in turn.
    """
    sync_op: JsonObject = (
        {"revision": revision} if isinstance(revision, str) else {"revisions": list(revision)}
    )

    def running(app: JsonObject) -> None:
        requested = app.get("operation") or {"sync": dict(sync_op)}
        status = app.setdefault("status", {})
        status["operationState"] = {
            "operation": copy.deepcopy(requested),
            "phase": "Running",
            "message": "one or more tasks are running",
            "startedAt": rfc3339(clock()),
        }

    def finished(app: JsonObject) -> None:
        app.pop("operation", None)
        status = app.setdefault("status", {})
        state = status.setdefault(
            "operationState", {"operation": {"sync": dict(sync_op)}, "startedAt": rfc3339(clock())}
        )
        state["phase"] = phase
        state["finishedAt"] = rfc3339(clock() + timedelta(seconds=1))
        state["message"] = message or (
            "successfully synced (all tasks run)" if phase == "Succeeded" else "sync failed"
        )
        state["syncResult"] = dict(sync_op)
        if phase == "Succeeded":
            status["sync"] = {"status": "Synced", **sync_op}
            status["health"] = {
                "status": health[0] if health else "Healthy",
                "lastTransitionTime": rfc3339(clock()),
            }
            history = status.setdefault("history", [])
            history.append(
                {
                    "id": len(history),
                    "deployedAt": state["finishedAt"],
                    "deployStartedAt": state["startedAt"],
                    **sync_op,
                }
            )

    def reconciled(health_status: str) -> Callable[[JsonObject], None]:
        def apply(app: JsonObject) -> None:
            status = app.setdefault("status", {})
            status["reconciledAt"] = rfc3339(clock() + timedelta(seconds=2))
            if phase == "Succeeded":
                previous = status.get("health", {})
                unchanged = previous.get("status") == health_status and previous.get("lastTransitionTime")
                status["health"] = {
                    "status": health_status,
                    "lastTransitionTime": previous["lastTransitionTime"] if unchanged else rfc3339(clock()),
                }

        return apply

    steps: list[Step] = [running, finished]
    steps.extend(reconciled(h) for h in (health[1:] if len(health) > 1 else health[:1]))
    return steps


def refreshed(
    revision: str | Sequence[str],
    *,
    sync: str = "OutOfSync",
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Step:
    """What a refresh does: the annotation is removed, the app is compared against ``revision`` now."""

    def apply(app: JsonObject) -> None:
        app["metadata"].get("annotations", {}).pop(REFRESH_ANNOTATION, None)
        status = app.setdefault("status", {})
        key = {"revision": revision} if isinstance(revision, str) else {"revisions": list(revision)}
        status["sync"] = {"status": sync, **key}
        status["reconciledAt"] = rfc3339(clock() + timedelta(seconds=1))

    return apply


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def status_object(
    code: int, reason: str, message: str, details: Mapping[str, Any] | None = None
) -> JsonObject:
    """A ``metav1.Status`` failure as the API server writes it."""
    body: JsonObject = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details is not None:
        body["details"] = dict(details)
    return body


@dataclass
class Recorded:
    """One request the emulator answered."""

    method: str
    path: str
    content_type: str
    body: Any
    status: int


@dataclass
class _Script:
    steps: list[Step]
    every: float | None
    started: datetime
    applied: int = 0


@dataclass
class _Fault:
    status: int
    remaining: int
    retry_after: int | None = None
    methods: frozenset[str] = field(default_factory=lambda: frozenset({"GET", "PATCH"}))


class KubeEmulator:
    """The emulator. Use as a context manager, or ``start()`` / ``stop()``."""

    def __init__(
        self,
        *,
        crd: Mapping[str, Any] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        service_account: str = "system:serviceaccount:argo:pressplay-executor-plugin",
    ) -> None:
        self.clock = clock
        self.service_account = service_account
        self.requests: list[Recorded] = []
        self._objects: dict[tuple[str, str], JsonObject] = {}
        self._config_maps: dict[tuple[str, str], JsonObject] = {}
        self._scripts: dict[tuple[str, str], _Script] = {}
        self._sync_hooks: list[Hook] = []
        self._refresh_hooks: list[Hook] = []
        self._denied: set[tuple[str, str]] = set()
        self._faults: list[_Fault] = []
        self._rv = 1000
        self._lock = threading.RLock()
        self._server: BackgroundServer | None = None
        self._validator: Any = None
        #: Schema errors of objects changed by scripts, hooks or :meth:`update` (API writes answer 422
        #: instead). The ``kube_emulator`` fixture fails the test when this is not empty.
        self.schema_errors: list[str] = []
        if crd is not None:
            self._validator = _validator_for(crd)
        self.url = ""

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self) -> KubeEmulator:
        emulator = self

        class Handler(_Handler):
            owner = emulator

        self._server = BackgroundServer(ThreadingHTTPServer(("127.0.0.1", 0), Handler), "kube-emulator")
        self.url = self._server.url
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> KubeEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- objects ----------------------------------------------------------------------------------
    def add_application(
        self,
        name: str,
        namespace: str = "argocd",
        *,
        status: Mapping[str, Any] | None = None,
        spec: Mapping[str, Any] | None = None,
        sources: Sequence[Mapping[str, Any]] | None = None,
        automated: bool = False,
        annotations: Mapping[str, str] | None = None,
        operation: Mapping[str, Any] | None = None,
    ) -> JsonObject:
        """Store a valid Application (single-source on ``https://github.com/acme/deploy`` by default)."""
        if spec is None:
            spec_obj: JsonObject = {
                "project": "default",
                "destination": {"server": "https://kubernetes.default.svc", "namespace": name},
            }
            if sources:
                spec_obj["sources"] = [dict(s) for s in sources]
            else:
                spec_obj["source"] = {
                    "repoURL": "https://github.com/acme/deploy.git",
                    "path": f"apps/{name}",
                    "targetRevision": "main",
                }
            if automated:
                spec_obj["syncPolicy"] = {"automated": {"prune": True, "selfHeal": True}}
        else:
            spec_obj = copy.deepcopy(dict(spec))
        obj: JsonObject = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Application",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "uid": str(uuid.uuid4()),
                "creationTimestamp": rfc3339(self.clock()),
                "generation": 1,
                "annotations": dict(annotations or {}),
            },
            "spec": spec_obj,
        }
        if status is not None:
            obj["status"] = copy.deepcopy(dict(status))
        if operation is not None:
            obj["operation"] = copy.deepcopy(dict(operation))
        errors = self.validate(obj)
        if errors:
            raise ValueError(f"invalid Application {namespace}/{name}: {'; '.join(errors)}")
        with self._lock:
            obj["metadata"]["resourceVersion"] = self._next_rv()
            self._objects[(namespace, name)] = obj
            return copy.deepcopy(obj)

    def add_config_map(self, name: str, data: Mapping[str, str], namespace: str = "pressplay") -> JsonObject:
        """Create or replace a ConfigMap (served read-only: ``GET /api/v1/namespaces/{ns}/configmaps/{name}``)."""
        with self._lock:
            obj: JsonObject = {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": name,
                    "namespace": namespace,
                    "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"configmap/{namespace}/{name}")),
                    "resourceVersion": self._next_rv(),
                    "creationTimestamp": rfc3339(self.clock()),
                },
                "data": {str(k): str(v) for k, v in data.items()},
            }
            self._config_maps[(namespace, name)] = obj
            return copy.deepcopy(obj)

    def get(self, name: str, namespace: str = "argocd") -> JsonObject:
        """A copy of the stored object (does not advance scripts)."""
        with self._lock:
            return copy.deepcopy(self._objects[(namespace, name)])

    def objects(self) -> list[JsonObject]:
        with self._lock:
            return [copy.deepcopy(o) for o in self._objects.values()]

    def update(self, name: str, edit: Callable[[JsonObject], None], namespace: str = "argocd") -> JsonObject:
        """Edit the stored object in place (as the controller would); bumps ``resourceVersion``."""
        with self._lock:
            obj = self._objects[(namespace, name)]
            edit(obj)
            obj["metadata"]["resourceVersion"] = self._next_rv()
            self._check(obj, "update")
            return copy.deepcopy(obj)

    def set_status(self, name: str, status: Mapping[str, Any], namespace: str = "argocd") -> JsonObject:
        return self.update(
            name, lambda obj: obj.__setitem__("status", copy.deepcopy(dict(status))), namespace
        )

    def validate(self, obj: Mapping[str, Any]) -> list[str]:
        """Schema errors of ``obj`` against the CRD (empty without a CRD)."""
        if self._validator is None:
            return []
        found = sorted(self._validator.iter_errors(obj), key=lambda e: [str(p) for p in e.absolute_path])
        return [f"{'.'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}" for e in found]

    # --- scripting --------------------------------------------------------------------------------
    def script(
        self, name: str, steps: Sequence[Step], *, namespace: str = "argocd", every: float | None = None
    ) -> None:
        """Replace the app's script: apply ``steps`` one per GET (or one per ``every`` seconds)."""
        with self._lock:
            if (namespace, name) not in self._objects:
                raise KeyError(f"no Application {namespace}/{name}")
            self._scripts[(namespace, name)] = _Script(list(steps), every, self.clock())

    def on_sync(self, hook: Hook) -> None:
        """Call ``hook(app)`` when a patch sets ``operation``; steps it returns become the app's script."""
        self._sync_hooks.append(hook)

    def on_refresh(self, hook: Hook) -> None:
        """Call ``hook(app)`` when a patch sets the refresh annotation; returned steps are scripted."""
        self._refresh_hooks.append(hook)

    def deny(self, verb: str, namespace: str = "argocd") -> None:
        """Answer 403 Forbidden to ``verb`` ("get" or "patch") in ``namespace``, as missing RBAC would."""
        self._denied.add((verb, namespace))

    def fail_next(
        self,
        status: int,
        count: int = 1,
        *,
        retry_after: int | None = None,
        methods: Iterable[str] = ("GET", "PATCH"),
    ) -> None:
        """Answer the next ``count`` requests with ``status`` (500, 503, 429, ...)."""
        with self._lock:
            self._faults.append(_Fault(status, count, retry_after, frozenset(m.upper() for m in methods)))

    def patches(self, name: str | None = None) -> list[Recorded]:
        """The PATCH requests received (for ``name``), answered or not."""
        return [
            r for r in self.requests if r.method == "PATCH" and (name is None or r.path.endswith(f"/{name}"))
        ]

    # --- internals --------------------------------------------------------------------------------
    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    def _advance(self, key: tuple[str, str], obj: JsonObject) -> None:
        script = self._scripts.get(key)
        if script is None or script.applied >= len(script.steps):
            return
        if script.every is None:
            due = script.applied + 1
        else:
            elapsed = (self.clock() - script.started).total_seconds()
            due = min(len(script.steps), int(elapsed // script.every) + 1)
        while script.applied < due:
            step = script.steps[script.applied]
            script.applied += 1
            if callable(step):
                step(obj)
            else:
                obj["status"] = copy.deepcopy(dict(step))
            obj["metadata"]["resourceVersion"] = self._next_rv()
            self._check(obj, f"script step {script.applied}")

    def _check(self, obj: JsonObject, what: str) -> None:
        meta = obj.get("metadata", {})
        self.schema_errors.extend(
            f"{meta.get('namespace')}/{meta.get('name')} after {what}: {error}"
            for error in self.validate(obj)
        )

    def handle(
        self, method: str, raw_path: str, content_type: str, raw_body: bytes
    ) -> tuple[int, JsonObject, dict[str, str]]:
        """Answer one request: (status code, JSON body, extra headers)."""
        path = urlsplit(raw_path).path
        body: Any = None
        if raw_body:
            try:
                body = json.loads(raw_body)
            except ValueError:
                body = raw_body.decode("utf-8", "replace")
        code, answer, headers = self._answer(method, path, content_type, body)
        with self._lock:
            self.requests.append(Recorded(method, path, content_type, body, code))
        return code, answer, headers

    def _fault(self, method: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.remaining > 0 and method in fault.methods:
                    fault.remaining -= 1
                    return fault
        return None

    def _answer_config_map(
        self, method: str, namespace: str, name: str
    ) -> tuple[int, JsonObject, dict[str, str]]:
        if method != "GET":
            return 405, status_object(405, "MethodNotAllowed", "the emulator serves ConfigMaps read-only"), {}
        details = {"name": name, "kind": "configmaps"}
        if ("get", namespace) in self._denied:
            return (
                403,
                status_object(
                    403,
                    "Forbidden",
                    f'configmaps "{name}" is forbidden: User "{self.service_account}" cannot get resource '
                    f'"configmaps" in API group "" in the namespace "{namespace}"',
                    details,
                ),
                {},
            )
        with self._lock:
            obj = self._config_maps.get((namespace, name))
            if obj is None:
                return 404, status_object(404, "NotFound", f'configmaps "{name}" not found', details), {}
            return 200, copy.deepcopy(obj), {}

    def _answer(
        self, method: str, path: str, content_type: str, body: Any
    ) -> tuple[int, JsonObject, dict[str, str]]:
        if path == "/version":
            return 200, {"major": "1", "minor": "33", "gitVersion": "v1.33.0"}, {}
        cm = _CONFIG_MAP_PATH.match(path)
        if cm is not None:
            return self._answer_config_map(method, cm["ns"], cm["name"])
        match = _APP_PATH.match(path)
        if match is None:
            return (
                404,
                status_object(404, "NotFound", "the server could not find the requested resource", {}),
                {},
            )
        namespace, name = match["ns"], match["name"]
        verb = {"GET": "get" if name else "list", "PATCH": "patch"}.get(method)
        if verb is None or (verb == "patch" and not name):
            return (
                405,
                status_object(
                    405,
                    "MethodNotAllowed",
                    "the server does not allow this method on the requested resource",
                ),
                {},
            )
        fault = self._fault(method)
        if fault is not None:
            reasons = {
                429: "TooManyRequests",
                500: "InternalError",
                503: "ServiceUnavailable",
                504: "Timeout",
            }
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            return (
                fault.status,
                status_object(fault.status, reasons.get(fault.status, "InternalError"), "injected fault"),
                headers,
            )
        details = {"name": name, "group": GROUP, "kind": "applications"}
        if (verb, namespace) in self._denied or (verb == "list" and ("get", namespace) in self._denied):
            target = (
                f'applications.{GROUP} "{name}" is forbidden'
                if name
                else f"applications.{GROUP} is forbidden"
            )
            return (
                403,
                status_object(
                    403,
                    "Forbidden",
                    f'{target}: User "{self.service_account}" cannot {verb} resource "applications" in API group '
                    f'"{GROUP}" in the namespace "{namespace}"',
                    details,
                ),
                {},
            )
        if verb == "list":
            with self._lock:
                for key, obj in self._objects.items():
                    if key[0] == namespace:
                        self._advance(key, obj)
                items = [copy.deepcopy(o) for (ns, _), o in sorted(self._objects.items()) if ns == namespace]
                return (
                    200,
                    {
                        "apiVersion": f"{GROUP}/{VERSION}",
                        "kind": "ApplicationList",
                        "metadata": {"resourceVersion": str(self._rv)},
                        "items": items,
                    },
                    {},
                )
        hooks: list[tuple[Hook, JsonObject]] = []
        with self._lock:
            key = (namespace, name)
            found = self._objects.get(key)
            if found is None:
                return (
                    404,
                    status_object(404, "NotFound", f'applications.{GROUP} "{name}" not found', details),
                    {},
                )
            obj = found
            if method == "GET":
                self._advance(key, obj)
                return 200, copy.deepcopy(obj), {}
            # PATCH
            media = content_type.split(";")[0].strip().lower()
            if media == "application/merge-patch+json":
                if not isinstance(body, dict):
                    return 400, status_object(400, "BadRequest", "a merge patch must be a JSON object"), {}
                patched = merge_patch(obj, body)
            elif media == "application/json-patch+json":
                import jsonpatch

                if not isinstance(body, list):
                    return (
                        400,
                        status_object(400, "BadRequest", "a JSON patch must be a JSON array of operations"),
                        {},
                    )
                try:
                    patched = jsonpatch.JsonPatch(body).apply(copy.deepcopy(obj))
                except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
                    return (
                        422,
                        status_object(
                            422,
                            "Invalid",
                            f"the server rejected our request due to an error in our request: {exc}",
                            details,
                        ),
                        {},
                    )
            else:
                return (
                    415,
                    status_object(
                        415,
                        "UnsupportedMediaType",
                        "the body of the request was in an unknown format - accepted media types include: "
                        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
                    ),
                    {},
                )
            current_rv = obj["metadata"]["resourceVersion"]
            wanted_rv = (patched.get("metadata") or {}).get("resourceVersion")
            if wanted_rv is not None and wanted_rv != current_rv:
                return (
                    409,
                    status_object(
                        409,
                        "Conflict",
                        f'Operation cannot be fulfilled on applications.{GROUP} "{name}": the object has been modified; '
                        "please apply your changes to the latest version and try again",
                        details,
                    ),
                    {},
                )
            meta = patched.setdefault("metadata", {})
            for immutable in ("name", "namespace", "uid", "creationTimestamp"):
                meta[immutable] = obj["metadata"][immutable]
            patched["apiVersion"], patched["kind"] = obj["apiVersion"], obj["kind"]
            errors = self.validate(patched)
            if errors:
                return (
                    422,
                    status_object(
                        422,
                        "Invalid",
                        f'Application.{GROUP} "{name}" is invalid: {"; ".join(errors)}',
                        {
                            **details,
                            "kind": "Application",
                            "causes": [{"reason": "FieldValueInvalid", "message": e} for e in errors],
                        },
                    ),
                    {},
                )
            if patched.get("spec") != obj.get("spec"):
                meta["generation"] = int(obj["metadata"].get("generation", 1)) + 1
            meta["resourceVersion"] = self._next_rv()
            operation_set = "operation" in patched and "operation" not in obj
            old_refresh = (obj["metadata"].get("annotations") or {}).get(REFRESH_ANNOTATION)
            refresh_set = (meta.get("annotations") or {}).get(
                REFRESH_ANNOTATION
            ) is not None and old_refresh is None
            self._objects[key] = patched
            if operation_set:
                hooks.extend((h, copy.deepcopy(patched)) for h in self._sync_hooks)
            if refresh_set:
                hooks.extend((h, copy.deepcopy(patched)) for h in self._refresh_hooks)
            answer = copy.deepcopy(patched)
        for hook, snapshot in hooks:
            steps = hook(snapshot)
            if steps:
                self.script(name, steps, namespace=namespace)
        return 200, answer, {}


def _validator_for(crd: Mapping[str, Any]) -> Any:
    from jsonschema import Draft7Validator

    versions = crd["spec"]["versions"]
    schema = next(v for v in versions if v["name"] == VERSION)["schema"]["openAPIV3Schema"]
    return Draft7Validator(schema)


class _Handler(BaseHTTPRequestHandler):
    owner: KubeEmulator
    protocol_version = "HTTP/1.1"
    server_version = "kube-emulator"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read :attr:`KubeEmulator.requests` instead."""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        code, body, headers = self.owner.handle(
            self.command, self.path, self.headers.get("Content-Type", ""), raw
        )
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = _serve  # noqa: N815 - BaseHTTPRequestHandler's method names
    do_PATCH = _serve  # noqa: N815
    do_POST = _serve  # noqa: N815
    do_PUT = _serve  # noqa: N815
    do_DELETE = _serve  # noqa: N815
