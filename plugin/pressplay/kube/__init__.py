"""Argo CD ``Application`` access through the official ``kubernetes`` client.

The one place that builds Kubernetes clients and turns Kubernetes API errors into the step error kinds:

- :func:`clients_for` gives a process-wide :class:`KubeClients` per API endpoint. The ``kubernetes``
  package is imported on first use only, so a sidecar that never runs the ``argocd`` step never pays
  for it. Configuration, in order: ``settings.kube_api_url`` (tests, the demo; no credentials), the
  in-cluster service account (token refreshed as it rotates), the standard kubeconfig (``KUBECONFIG``,
  else ``~/.kube/config``) for local use.
- :meth:`KubeClients.get_application` / :meth:`KubeClients.patch_application` read and patch an
  Application (merge patch for a dict, JSON patch for a list). Errors arrive mapped: 404, 403, 401,
  422 → :class:`~pressplay.steps.base.PermanentError` with what to fix; 409, 429, 5xx, timeouts and
  connection errors → :class:`~pressplay.steps.base.TemporaryError`.

Every call is a child span (``kube.get`` / ``kube.patch``) with the namespace, name and HTTP status.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from pressplay.errors import PermanentError, TemporaryError

if TYPE_CHECKING:
    from pressplay.config import Settings

GROUP = "argoproj.io"
VERSION = "v1alpha1"
PLURAL = "applications"
RESOURCE = f"{PLURAL}.{GROUP}"

#: (connect, read) seconds per Kubernetes call: a step answers the agent well within its 30 s.
REQUEST_TIMEOUT = (3.05, 10.0)
#: The Role that grants the plugin's ServiceAccount access to Applications (see docs/steps/argocd.md).
RBAC_HINT = (
    "the Role pressplay-argocd-applications in manifests/plugin grants that (apiGroups [argoproj.io], "
    "resources [applications], verbs [get, patch]); bind it to the plugin's ServiceAccount in the "
    "Application's namespace"
)

JsonObject = dict[str, Any]
Patch = Mapping[str, Any] | Sequence[Mapping[str, Any]]
T = TypeVar("T")


@dataclass(frozen=True)
class KubeClients:
    """Kubernetes API access for one endpoint. Thread-safe; shared by every request of the process."""

    api_client: Any  # kubernetes.client.ApiClient
    #: How the endpoint was configured: "override", "in-cluster" or "kubeconfig" (for messages).
    source: str

    @property
    def host(self) -> str:
        return str(self.api_client.configuration.host)

    def _custom(self) -> Any:
        from kubernetes.client import CustomObjectsApi

        return CustomObjectsApi(self.api_client)

    def get_application(self, namespace: str, name: str) -> JsonObject:
        """The Application ``namespace/name`` as a plain dict (the API's JSON)."""
        return self._call(
            "get",
            namespace,
            name,
            lambda: self._custom().get_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, name, _request_timeout=REQUEST_TIMEOUT
            ),
        )

    def patch_application(self, namespace: str, name: str, patch: Patch) -> JsonObject:
        """Patch the Application: a mapping is a JSON merge patch (RFC 7386), a list a JSON patch (RFC 6902).

        Put ``metadata.resourceVersion`` into a merge patch (or a ``test`` op into a JSON patch) to make
        it conditional: a concurrent change then fails with 409, mapped to :class:`TemporaryError`.
        """
        content_type = (
            "application/json-patch+json" if isinstance(patch, Sequence) else "application/merge-patch+json"
        )
        body: Any = [dict(op) for op in patch] if isinstance(patch, Sequence) else dict(patch)
        return self._call(
            "patch",
            namespace,
            name,
            lambda: self._custom().patch_namespaced_custom_object(
                GROUP,
                VERSION,
                namespace,
                PLURAL,
                name,
                body,
                _content_type=content_type,
                _request_timeout=REQUEST_TIMEOUT,
            ),
        )

    def get_config_map(self, namespace: str, name: str) -> dict[str, str] | None:
        """The ``data`` of ConfigMap ``namespace/name``, or None when there is no such ConfigMap.

        Used by the ``settings`` step (the run settings and the concurrency keys). 403 names the Role
        that grants the read; 5xx, 429 and connection errors are temporary."""
        from kubernetes.client import CoreV1Api

        try:
            found = self._call(
                "get",
                namespace,
                name,
                lambda: CoreV1Api(self.api_client).read_namespaced_config_map(
                    name, namespace, _request_timeout=REQUEST_TIMEOUT
                ),
                resource="configmaps",
                mapper=map_config_map_error,
            )
        except ConfigMapNotFound:
            return None
        return {str(k): str(v) for k, v in (found.data or {}).items()}

    def _call(
        self,
        verb: str,
        namespace: str,
        name: str,
        func: Callable[[], T],
        *,
        resource: str = RESOURCE,
        mapper: Callable[..., PermanentError | TemporaryError] | None = None,
    ) -> T:
        """``func()`` in a ``kube.<verb>`` span; an API error becomes the step error ``mapper`` (default:
        :func:`map_api_error`, for Applications) says, a connection error a temporary one."""
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        from pressplay import telemetry

        with telemetry.tracer().start_as_current_span(
            f"kube.{verb}",
            attributes={"k8s.resource": resource, "k8s.namespace.name": namespace, "k8s.object.name": name},
        ) as span:
            try:
                result = func()
            except ApiException as exc:
                status = int(exc.status or 0)
                span.set_attribute("http.response.status_code", status)
                if mapper is None:
                    raise map_api_error(verb, namespace, name, status, exc.body, exc.headers) from None
                raise mapper(namespace, name, status, exc.body, exc.headers) from None
            except HTTPError as exc:
                span.set_attribute("error.type", type(exc).__name__)
                raise TemporaryError(
                    f"cannot reach the Kubernetes API at {self.host} ({type(exc).__name__}); retrying",
                    retry_after=15,
                ) from None
            span.set_attribute("http.response.status_code", 200)
            return result


def _status_message(body: object) -> tuple[str, Mapping[str, Any]]:
    """The ``message`` and ``details`` of a Kubernetes ``Status`` body (empty when it is not one)."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        text = body
        try:
            body = json.loads(text)
        except ValueError:
            return text.strip()[:300], {}
    if isinstance(body, Mapping):
        details = body.get("details")
        return str(body.get("message", "")), details if isinstance(details, Mapping) else {}
    return "", {}


def _retry_after(headers: object, default: float) -> float:
    if isinstance(headers, Mapping):
        value = headers.get("Retry-After") or headers.get("retry-after")
        if value is not None:
            try:
                return max(1.0, float(value))
            except ValueError:
                pass
    return default


def map_api_error(
    verb: str, namespace: str, name: str, status: int, body: object, headers: object = None
) -> PermanentError | TemporaryError:
    """A Kubernetes API error answer → the step error that says what to fix (or to retry)."""
    message, details = _status_message(body)
    said = f" (Kubernetes said: {message})" if message else ""
    if status == 404:
        if details.get("name") == name:
            return PermanentError(
                f"Application {name} not found in namespace {namespace}: check `app`/`namespace` and that the "
                f"plugin's ServiceAccount can get applications there; {RBAC_HINT}"
            )
        return PermanentError(
            f"the Kubernetes API does not serve {RESOURCE}/{VERSION}{said}: is Argo CD (its Application CRD) "
            "installed in this cluster, and does the sidecar talk to the right cluster?"
        )
    if status == 403:
        return PermanentError(
            f"the plugin's ServiceAccount may not {verb} {RESOURCE} in namespace {namespace}{said}; "
            f"{RBAC_HINT}"
        )
    if status == 401:
        return PermanentError(
            f"the Kubernetes API rejected the sidecar's credentials{said}: in a cluster set "
            "`sidecar.automountServiceAccountToken: true` in the plugin and give the "
            "`<plugin>-executor-plugin` ServiceAccount a token Secret (docs/install.md)"
        )
    if status == 409:
        return TemporaryError(
            f"Application {namespace}/{name} changed while patching it; re-reading", retry_after=2
        )
    if status == 422:
        return PermanentError(f"the Kubernetes API refused to {verb} Application {namespace}/{name}{said}")
    if status == 429:
        return TemporaryError(
            f"the Kubernetes API is throttling requests{said}; retrying",
            retry_after=_retry_after(headers, 10),
        )
    if status >= 500 or status == 0:
        return TemporaryError(
            f"the Kubernetes API answered {status or 'no status'} to {verb} Application {namespace}/{name}{said}; "
            "retrying",
            retry_after=_retry_after(headers, 15),
        )
    return PermanentError(
        f"the Kubernetes API answered {status} to {verb} Application {namespace}/{name}{said}"
    )


#: The Role that lets the sidecar read the settings and the concurrency ConfigMaps.
CONFIG_MAP_RBAC_HINT = (
    "the Role pressplay-executor-plugin-settings in manifests/plugin/plugin-rbac.yaml grants that "
    "(resources [configmaps], verbs [get], resourceNames [pressplay-settings, pressplay-concurrency]); "
    "apply it in the Workflow's namespace"
)


class ConfigMapNotFound(PermanentError):
    """No such ConfigMap (:meth:`KubeClients.get_config_map` answers None for it)."""


def map_config_map_error(
    namespace: str, name: str, status: int, body: object, headers: object = None
) -> PermanentError | TemporaryError:
    """A Kubernetes API error reading a ConfigMap → the step error that says what to fix (or to retry)."""
    message, _details = _status_message(body)
    said = f" (Kubernetes said: {message})" if message else ""
    if status == 404:
        return ConfigMapNotFound(f"ConfigMap {namespace}/{name} not found")
    if status == 403:
        return PermanentError(
            f"the plugin's ServiceAccount may not get ConfigMap {name} in namespace {namespace}{said}; "
            f"{CONFIG_MAP_RBAC_HINT}"
        )
    if status == 401:
        return PermanentError(
            f"the Kubernetes API rejected the sidecar's credentials{said}: in a cluster set "
            "`sidecar.automountServiceAccountToken: true` in the plugin (docs/install.md)"
        )
    if status in (0, 429) or status >= 500:
        return TemporaryError(
            f"the Kubernetes API answered {status or 'no status'} to get ConfigMap {namespace}/{name}{said}; "
            "retrying",
            retry_after=_retry_after(headers, 10 if status == 429 else 15),
        )
    return PermanentError(f"the Kubernetes API answered {status} to get ConfigMap {namespace}/{name}{said}")


_CACHE: dict[str, KubeClients] = {}
_LOCK = threading.Lock()


def clients_for(settings: Settings) -> KubeClients:
    """The process-wide :class:`KubeClients` for these settings (built, and ``kubernetes`` imported, once)."""
    key = settings.kube_api_url or ""
    with _LOCK:
        found = _CACHE.get(key)
        if found is None:
            found = _CACHE[key] = _build(settings.kube_api_url)
        return found


def _build(api_url: str | None) -> KubeClients:
    from kubernetes import client, config
    from urllib3.util.retry import Retry

    from pressplay._version import __version__

    configuration = client.Configuration()
    if api_url:
        configuration.host = api_url.rstrip("/")
        source = "override"
    else:
        try:
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
            source = "in-cluster"
        except config.ConfigException:
            try:
                # KUBECONFIG is read now, not when ``kubernetes`` was imported (it may be a ':'-list).
                config.load_kube_config(  # type: ignore[no-untyped-call]
                    config_file=os.environ.get("KUBECONFIG") or None, client_configuration=configuration
                )
                source = "kubeconfig"
            except (config.ConfigException, OSError) as exc:
                raise PermanentError(
                    "no Kubernetes API configuration: the sidecar is not in a cluster with a mounted "
                    "ServiceAccount token (set `sidecar.automountServiceAccountToken: true` in the plugin) "
                    f"and no kubeconfig was found (KUBECONFIG / ~/.kube/config): {exc}"
                ) from None
    # Connection failures are retried twice at once; nothing else is (the step's requeue retries, and a
    # 429/503 with Retry-After must come back to us rather than block the agent's call while urllib3 sleeps).
    configuration.retries = Retry(
        total=2, connect=2, read=0, status=0, redirect=0, backoff_factor=0.1, respect_retry_after_header=False
    )
    api_client = client.ApiClient(configuration)
    api_client.user_agent = f"pressplay/{__version__}"
    return KubeClients(api_client=api_client, source=source)


def reset_clients() -> None:
    """Forget the cached clients (tests that change the configuration between runs)."""
    with _LOCK:
        _CACHE.clear()
