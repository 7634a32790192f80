"""A small Kubernetes REST client over httpx (JSON, merge patches, watches), for the harness only."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

Obj = dict[str, Any]

CORE = {
    "pods": "/api/v1",
    "secrets": "/api/v1",
    "configmaps": "/api/v1",
    "serviceaccounts": "/api/v1",
    "namespaces": "/api/v1",
    "events": "/api/v1",
}
ARGO = "/apis/argoproj.io/v1alpha1"


class KubeError(RuntimeError):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(f"{status}: {text[:500]}")
        self.status = status


class Kube:
    """Talks to one API server with a client certificate or a bearer token."""

    def __init__(
        self, server: str, ca: Path, *, cert: tuple[Path, Path] | None = None, token: str | None = None
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.server = server.rstrip("/")
        context = ssl.create_default_context(cafile=str(ca))
        if cert:
            context.load_cert_chain(str(cert[0]), str(cert[1]))
        self._http = httpx.Client(
            base_url=self.server,
            verify=context,
            headers=headers,
            timeout=httpx.Timeout(30.0, read=None),
        )

    def close(self) -> None:
        self._http.close()

    # -- paths ---------------------------------------------------------------------------------
    @staticmethod
    def path(resource: str, namespace: str | None = None, name: str | None = None, sub: str = "") -> str:
        prefix = CORE.get(resource, ARGO)
        out = prefix
        if namespace is not None and resource != "namespaces":
            out += f"/namespaces/{namespace}"
        out += f"/{resource}"
        if name is not None:
            out += f"/{name}"
        if sub:
            out += f"/{sub}"
        return out

    def _check(self, resp: httpx.Response) -> Obj:
        if resp.status_code >= 400:
            raise KubeError(resp.status_code, resp.text)
        return resp.json() if resp.content else {}

    # -- verbs -----------------------------------------------------------------------------------
    def get(self, resource: str, namespace: str | None, name: str) -> Obj | None:
        resp = self._http.get(self.path(resource, namespace, name))
        if resp.status_code == 404:
            return None
        return self._check(resp)

    def list(self, resource: str, namespace: str | None = None, **params: str) -> list[Obj]:
        items: list[Obj] = self.list_raw(resource, namespace, **params).get("items", [])
        return items

    def list_raw(self, resource: str, namespace: str | None = None, **params: str) -> Obj:
        query = f"?{urlencode(params)}" if params else ""
        return self._check(self._http.get(self.path(resource, namespace) + query))

    def list_raw_path(self, path: str) -> list[Obj]:
        items: list[Obj] = self._check(self._http.get(path)).get("items", [])
        return items

    def create(self, resource: str, namespace: str | None, obj: Mapping[str, Any]) -> Obj:
        return self._check(self._http.post(self.path(resource, namespace), json=dict(obj)))

    def merge_patch(
        self, resource: str, namespace: str | None, name: str, patch: Mapping[str, Any], sub: str = ""
    ) -> Obj:
        return self._check(
            self._http.patch(
                self.path(resource, namespace, name, sub),
                content=json.dumps(patch),
                headers={"Content-Type": "application/merge-patch+json"},
            )
        )

    def update_status(self, resource: str, namespace: str, name: str, obj: Mapping[str, Any]) -> Obj:
        return self._check(self._http.put(self.path(resource, namespace, name, "status"), json=dict(obj)))

    def delete(self, resource: str, namespace: str | None, name: str, **params: Any) -> Obj | None:
        body = params or None
        resp = self._http.request("DELETE", self.path(resource, namespace, name), json=body)
        if resp.status_code == 404:
            return None
        return self._check(resp)

    def post(self, path: str, obj: Mapping[str, Any]) -> Obj:
        return self._check(self._http.post(path, json=dict(obj)))

    def watch(
        self, resource: str, namespace: str | None = None, *, timeout: int = 60, **params: str
    ) -> Iterator[tuple[str, Obj]]:
        """Events of one watch call (ends after ``timeout`` seconds); ``resourceVersion`` in params."""
        query = urlencode({"watch": "1", "timeoutSeconds": str(timeout), **params})
        with self._http.stream("GET", self.path(resource, namespace) + "?" + query) as resp:
            if resp.status_code >= 400:
                resp.read()
                raise KubeError(resp.status_code, resp.text)
            for line in resp.iter_lines():
                if line.strip():
                    event = json.loads(line)
                    yield event["type"], event["object"]
