"""The stand-in kubelet: runs the pods Argo's controller creates as local processes.

It is generic: every container of a pod runs its own command (``argoexec init``/``wait``/``emissary``,
``argoexec agent init``/``main``, the plugin sidecar, ``pressplay agent run``) from the pod spec, so
what reports outputs is Argo's real ``wait`` container and what calls the sidecar is Argo's real
agent. What is ours, and which Kubernetes part it plays:

- scheduling onto the one "node" (``pkg/scheduler``): a pod whose ``containerPort`` another running
  pod holds waits Pending (every pod shares 127.0.0.1, as with hostPorts), see :meth:`Kubelet._admit`;
- volumes (``pkg/volume/{emptydir,secret,configmap,projected,downwardapi}``): materialised under the
  pod's directory, with ``items``, ``defaultMode`` and ``optional``;
- environment (``pkg/kubelet/kubelet_pods.go`` ``makeEnvironmentVariables``): ``value`` with
  ``$(VAR)`` expansion, ``fieldRef``, ``secretKeyRef``, ``configMapKeyRef``, ``envFrom``, plus the
  service env ``KUBERNETES_SERVICE_HOST/PORT``;
- mounts (``kuberuntime`` + the container runtime): each container runs in its own mount namespace
  (``unshare -m``) with every ``volumeMount`` (``subPath``, ``readOnly``) bind-mounted at its path and
  its own ``/dev/termination-log``, so Argo's absolute paths (``/var/run/argo``, ``/mainctrfs``,
  ``/argo/...``, the service-account token) hold per pod;
- the lifecycle (``kuberuntime_manager.go`` ``SyncPod``, ``status_manager.go``): init containers in
  order, then all containers; restarts per ``restartPolicy``; ``pods/status`` written as a kubelet
  writes it (phase, container states with exit codes, reasons, termination messages, ``ready``,
  ``podIP``); a deleted pod's processes are killed.
- eviction under node pressure (``eviction_manager.go``), on demand (:meth:`PodRun.evict`): the
  containers are killed and the pod stays, phase Failed, reason Evicted.

Not played: images (each command runs from this machine's PATH: the cached Go binaries, the venv),
``runAsUser`` and read-only root filesystems (processes run as the harness's user), probes (a running
container is ready), ``pods/exec`` (Argo ignores its errors), network namespaces.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.engine.kube import Kube, KubeError

NODE = "engine"
_VAR = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes' ``$(VAR)`` expansion (``third_party/forked/golang/expansion``): ``$$`` escapes."""

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group(1)
        return env.get(name, m.group(0))

    return _VAR.sub(sub, text)


class NotReady(Exception):
    """A Secret or ConfigMap the container needs is missing (CreateContainerConfigError)."""


@dataclass
class Container:
    spec: dict[str, Any]
    init: bool
    proc: subprocess.Popen[bytes] | None = None
    state: dict[str, Any] = field(default_factory=lambda: {"waiting": {"reason": "ContainerCreating"}})
    restarts: int = 0
    started_at: str = ""
    ready: bool = False
    #: time.monotonic() before which a killed container stays down (a fault scenario's outage)
    down_until: float = 0.0

    @property
    def name(self) -> str:
        name: str = self.spec["name"]
        return name


class PodRun:
    """One pod's containers and status."""

    def __init__(self, kubelet: Kubelet, pod: dict[str, Any]) -> None:
        self.kubelet = kubelet
        self.api = kubelet.api
        self.pod = pod
        meta = pod["metadata"]
        self.ns: str = meta["namespace"]
        self.name: str = meta["name"]
        self.uid: str = meta["uid"]
        self.key = f"{self.ns}/{self.name}"
        self.root = kubelet.workdir / "pods" / f"{self.ns}_{self.name}_{self.uid[:8]}"
        self.restart_policy = pod["spec"].get("restartPolicy", "Always")
        self.inits = [Container(c, True) for c in pod["spec"].get("initContainers") or []]
        self.mains = [Container(c, False) for c in pod["spec"].get("containers") or []]
        self.volumes: dict[str, Path] = {}
        self.deleted = threading.Event()
        self.evicted = ""  # set by evict(): the eviction message
        self.phase = "Pending"
        self.message = ""
        self.reason = ""
        self.start_time = now()
        self._lock = threading.Lock()
        self._last_status: str = ""
        self.thread = threading.Thread(target=self._run, daemon=True, name=f"pod-{self.name}")

    @property
    def ports(self) -> set[int]:
        return {
            int(p["containerPort"])
            for c in self.pod["spec"].get("containers") or []
            for p in c.get("ports") or []
            if p.get("containerPort")
        }

    def container(self, name: str) -> Container | None:
        return next((c for c in [*self.inits, *self.mains] if c.name == name), None)

    # -- volumes -----------------------------------------------------------------------------------
    def _get(self, kind: str, name: str, optional: bool) -> dict[str, bytes] | None:
        obj = self.api.get(kind, self.ns, name)
        if obj is None:
            if optional:
                return None
            raise NotReady(f'{kind[:-1]} "{name}" not found')
        if kind == "secrets":
            return {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}
        data = {k: v.encode() for k, v in (obj.get("data") or {}).items()}
        data.update({k: base64.b64decode(v) for k, v in (obj.get("binaryData") or {}).items()})
        return data

    def _text(self, kind: str, name: str, optional: bool) -> dict[str, str] | None:
        data = self._get(kind, name, optional)
        return None if data is None else {k: v.decode("utf-8", "replace") for k, v in data.items()}

    def _write_items(
        self, target: Path, data: Mapping[str, bytes], items: list[dict[str, Any]] | None, mode: int
    ) -> None:
        target.mkdir(parents=True, exist_ok=True)
        pairs = (
            [(i["key"], i["path"], i.get("mode", mode)) for i in items]
            if items
            else [(k, k, mode) for k in data]
        )
        for key, rel, item_mode in pairs:
            if key not in data:
                continue
            path = target / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data[key])
            path.chmod(item_mode)

    def _field(self, path: str) -> str:
        meta = self.pod["metadata"]
        simple = {
            "metadata.name": meta["name"],
            "metadata.namespace": meta["namespace"],
            "metadata.uid": meta["uid"],
            "spec.nodeName": NODE,
            "spec.serviceAccountName": self.pod["spec"].get("serviceAccountName", "default"),
            "status.podIP": "127.0.0.1",
            "status.hostIP": "127.0.0.1",
        }
        if path in simple:
            return str(simple[path])
        m = re.fullmatch(r"metadata\.(labels|annotations)\['([^']+)'\]", path)
        if m:
            return str((meta.get(m.group(1)) or {}).get(m.group(2), ""))
        return ""

    def _volumes(self) -> None:
        vroot = self.root / "volumes"
        for vol in self.pod["spec"].get("volumes") or []:
            name = vol["name"]
            target = vroot / name
            if "hostPath" in vol:
                self.volumes[name] = Path(vol["hostPath"]["path"])
                continue
            if "secret" in vol:
                src = vol["secret"]
                data = self._get("secrets", src["secretName"], bool(src.get("optional")))
                self._write_items(target, data or {}, src.get("items"), src.get("defaultMode", 0o644))
            elif "configMap" in vol:
                src = vol["configMap"]
                data = self._get("configmaps", src["name"], bool(src.get("optional")))
                self._write_items(target, data or {}, src.get("items"), src.get("defaultMode", 0o644))
            elif "projected" in vol:
                mode = vol["projected"].get("defaultMode", 0o644)
                for source in vol["projected"].get("sources") or []:
                    if "secret" in source:
                        s = source["secret"]
                        data = self._get("secrets", s["name"], bool(s.get("optional")))
                        self._write_items(target, data or {}, s.get("items"), mode)
                    elif "configMap" in source:
                        s = source["configMap"]
                        if s["name"] == "kube-root-ca.crt":
                            data = {"ca.crt": self.kubelet.ca_pem.encode()}
                        else:
                            data = self._get("configmaps", s["name"], bool(s.get("optional"))) or {}
                        self._write_items(target, data, s.get("items"), mode)
                    elif "serviceAccountToken" in source:
                        s = source["serviceAccountToken"]
                        token = self.kubelet.token_for(
                            self.ns, self.pod["spec"].get("serviceAccountName", "default")
                        )
                        self._write_items(
                            target, {"t": token.encode()}, [{"key": "t", "path": s["path"]}], mode
                        )
                    elif "downwardAPI" in source:
                        items = source["downwardAPI"].get("items") or []
                        data = {
                            i["path"]: self._field(i["fieldRef"]["fieldPath"]).encode()
                            for i in items
                            if "fieldRef" in i
                        }
                        self._write_items(target, data, None, mode)
            elif "downwardAPI" in vol:
                items = vol["downwardAPI"].get("items") or []
                data = {
                    i["path"]: self._field(i["fieldRef"]["fieldPath"]).encode()
                    for i in items
                    if "fieldRef" in i
                }
                self._write_items(target, data, None, vol["downwardAPI"].get("defaultMode", 0o644))
            else:  # emptyDir and anything else: a directory of the pod
                target.mkdir(parents=True, exist_ok=True)
            self.volumes[name] = target

    # -- environment ---------------------------------------------------------------------------------
    def _env(self, spec: dict[str, Any]) -> dict[str, str]:
        env: dict[str, str] = {}
        for src in spec.get("envFrom") or []:
            prefix = src.get("prefix", "")
            if "configMapRef" in src:
                ref = src["configMapRef"]
                data = self._text("configmaps", ref["name"], bool(ref.get("optional"))) or {}
            else:
                ref = src["secretRef"]
                data = self._text("secrets", ref["name"], bool(ref.get("optional"))) or {}
            env.update({prefix + k: v for k, v in data.items()})
        for var in spec.get("env") or []:
            name = var["name"]
            if "valueFrom" not in var:
                env[name] = expand(var.get("value", ""), env)
                continue
            vf = var["valueFrom"]
            if "fieldRef" in vf:
                env[name] = self._field(vf["fieldRef"]["fieldPath"])
            elif "secretKeyRef" in vf or "configMapKeyRef" in vf:
                kind, ref = (
                    ("secrets", vf["secretKeyRef"])
                    if "secretKeyRef" in vf
                    else ("configmaps", vf["configMapKeyRef"])
                )
                text = self._text(kind, ref["name"], bool(ref.get("optional")))
                if text is not None and ref["key"] in text:
                    env[name] = text[ref["key"]]
                elif not ref.get("optional"):
                    raise NotReady(f"couldn't find key {ref['key']} in {kind[:-1]} {self.ns}/{ref['name']}")
            elif "resourceFieldRef" in vf:
                res = vf["resourceFieldRef"]["resource"]
                kind_, _, what = res.partition(".")
                env[name] = str((spec.get("resources", {}).get(kind_) or {}).get(what, "0"))
        return env

    # -- running a container ---------------------------------------------------------------------------
    def _launch(self, c: Container) -> None:
        spec = c.spec
        env = {
            "PATH": self.kubelet.path,
            "HOSTNAME": self.name,
            "HOME": str(self.root / "home"),
            "KUBERNETES_SERVICE_HOST": "127.0.0.1",
            "KUBERNETES_SERVICE_PORT": str(self.kubelet.api_port),
            "KUBERNETES_SERVICE_PORT_HTTPS": str(self.kubelet.api_port),
        }
        (self.root / "home").mkdir(parents=True, exist_ok=True)
        env.update(self.kubelet.node_env(self, spec))
        env.update(self._env(spec))
        argv = [expand(a, env) for a in (spec.get("command") or []) + (spec.get("args") or [])]
        if not argv:
            raise NotReady(f"container {c.name} has no command and images are not pulled here")
        if self.kubelet.wrap is not None:
            argv = self.kubelet.wrap(self, spec, argv)
        ctr_dir = self.root / "containers" / c.name
        ctr_dir.mkdir(parents=True, exist_ok=True)
        term = ctr_dir / "termination-log"
        term.write_text("", encoding="utf-8")
        mounts: list[tuple[Path, str, bool]] = []
        for vm in spec.get("volumeMounts") or []:
            src = self.volumes.get(vm["name"])
            if src is None:
                raise NotReady(f"volume {vm['name']} not found")
            if vm.get("subPath"):
                src = src / expand(vm["subPath"], env)
                if not src.exists():
                    src.mkdir(parents=True, exist_ok=True)
            mounts.append((src, vm["mountPath"], bool(vm.get("readOnly"))))
        mounts.append((term, spec.get("terminationMessagePath") or "/dev/termination-log", False))
        script = ["set -e"]
        done: list[str] = []
        # Shallow paths first (as container runtimes order them), so /tmp/outputs lands inside /tmp.
        for src, target, ro in sorted(mounts, key=lambda m: m[1].rstrip("/").count("/")):
            q = shlex.quote(target)
            nested = any(target.startswith(d.rstrip("/") + "/") for d in done)
            if not nested:
                self.kubelet.mount_point(target, src.is_dir())
            if src.is_dir():
                script.append(f"mkdir -p {q}")
            else:
                script.append(f'mkdir -p "$(dirname {q})"; [ -e {q} ] || touch {q}')
            script.append(f"mount --bind {shlex.quote(str(src))} {q}")
            done.append(target)
            if ro:
                script.append(f"mount -o remount,bind,ro {shlex.quote(target)}")
        workdir = spec.get("workingDir") or "/"
        script.append(f"mkdir -p {shlex.quote(workdir)} && cd {shlex.quote(workdir)}")
        script.append('exec "$@"')
        log = (ctr_dir / "log").open("ab")
        log.write(f"--- {now()} start (restart {c.restarts}): {shlex.join(argv)}\n".encode())
        log.flush()
        c.proc = subprocess.Popen(
            ["unshare", "-m", "--propagation", "private", "sh", "-c", "\n".join(script), c.name, *argv],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        c.started_at = now()
        c.state = {"running": {"startedAt": c.started_at}}
        c.ready = True

    def _finish(self, c: Container, code: int) -> None:
        if code < 0:  # killed by a signal: the runtime reports 128 + signal (137 for SIGKILL)
            code = 128 - code
        term = self.root / "containers" / c.name / "termination-log"
        message = term.read_text(encoding="utf-8", errors="replace")[-4096:] if term.exists() else ""
        if not message and code != 0 and c.spec.get("terminationMessagePolicy") == "FallbackToLogsOnError":
            # kuberuntime: the last 80 lines (at most 2048 bytes) of the container's log
            log = self.root / "containers" / c.name / "log"
            lines = log.read_text(encoding="utf-8", errors="replace").splitlines()[-80:]
            message = "\n".join(lines)[-2048:]
        reason = "Completed" if code == 0 else ("OOMKilled" if False else "Error")
        state: dict[str, Any] = {
            "exitCode": code,
            "reason": reason,
            "startedAt": c.started_at,
            "finishedAt": now(),
        }
        if message:
            state["message"] = message
        c.state = {"terminated": state}
        c.ready = False
        c.proc = None

    def kill(self, name: str, sig: int = signal.SIGKILL, down_for: float = 0.0) -> bool:
        """Send ``sig`` to a running container's processes (the fault scenarios use this); with
        ``down_for``, the kubelet restarts it only after that many seconds (an outage, not a blip)."""
        c = self.container(name)
        if c is None or c.proc is None:
            return False
        c.down_until = time.monotonic() + down_for
        try:
            os.killpg(c.proc.pid, sig)
        except ProcessLookupError:
            return False
        return True

    def evict(self, message: str) -> None:
        """As the kubelet's eviction manager under node pressure (``eviction_manager.go`` evictPod):
        every container is killed and the pod object stays, phase Failed, reason Evicted."""
        self.evicted = message

    # -- status ----------------------------------------------------------------------------------------
    def _status(self) -> dict[str, Any]:
        def cs(c: Container) -> dict[str, Any]:
            return {
                "name": c.name,
                "image": c.spec.get("image", ""),
                "imageID": "",
                "containerID": f"engine://{self.uid[:8]}-{c.name}",
                "ready": c.ready,
                "started": "running" in c.state,
                "restartCount": c.restarts,
                "state": c.state,
            }

        inits_done = all(
            "terminated" in c.state and c.state["terminated"]["exitCode"] == 0 for c in self.inits
        )
        all_ready = bool(self.mains) and all(c.ready for c in self.mains)
        status: dict[str, Any] = {
            "phase": self.phase,
            "hostIP": "127.0.0.1",
            "podIP": "127.0.0.1" if self.phase != "Pending" or inits_done else None,
            "podIPs": [{"ip": "127.0.0.1"}],
            "startTime": self.start_time,
            "qosClass": "Burstable",
            "conditions": [
                {"type": "PodScheduled", "status": "True"},
                {"type": "Initialized", "status": "True" if inits_done else "False"},
                {"type": "ContainersReady", "status": "True" if all_ready else "False"},
                {"type": "Ready", "status": "True" if all_ready else "False"},
            ],
            "initContainerStatuses": [cs(c) for c in self.inits] or None,
            "containerStatuses": [cs(c) for c in self.mains],
        }
        if self.message:
            status["message"] = self.message
        if self.reason:
            status["reason"] = self.reason
        return status

    def publish(self) -> None:
        """Write pods/status when it changed (one merge patch, final states complete at once)."""
        with self._lock:
            status = self._status()
            text = json.dumps(status, sort_keys=True)
            if text == self._last_status or self.deleted.is_set():
                return
            try:
                self.api.merge_patch("pods", self.ns, self.name, {"status": status}, sub="status")
                self._last_status = text
            except KubeError as err:
                if err.status == 404:
                    self.deleted.set()

    # -- the pod's life --------------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._life()
        except Exception as err:  # a harness bug must not leave a pod hanging silently
            self.kubelet.log(f"pod {self.key}: kubelet error: {err!r}")
            self.phase, self.message = "Failed", f"stand-in kubelet error: {err}"
            self.publish()
        finally:
            self.stop_all()
            self.kubelet.released(self)

    def _prepare(self) -> bool:
        """Volumes and env checks; on a missing object the container waits with a reason (and we retry)."""
        while not self.deleted.is_set():
            try:
                self._volumes()
                for c in [*self.inits, *self.mains]:
                    self._env(c.spec)
                return True
            except NotReady as err:
                for c in [*self.inits, *self.mains]:
                    c.state = {"waiting": {"reason": "CreateContainerConfigError", "message": str(err)}}
                self.publish()
                self.deleted.wait(1.0)
        return False

    def _life(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.publish()
        if not self._prepare():
            return
        # Init containers, in order; a failure restarts it (OnFailure/Always) or fails the pod (Never).
        for c in self.inits:
            while True:
                self._launch(c)
                self.publish()
                assert c.proc is not None
                code = self._wait_one(c)
                if code is None:
                    return
                self._finish(c, code)
                if code == 0:
                    break
                if self.restart_policy == "Never":
                    self.phase = "Failed"
                    for m in self.mains:
                        m.state = {"waiting": {"reason": "PodInitializing"}}
                    self.publish()
                    return
                c.restarts += 1
                self.publish()
                time.sleep(min(10, c.restarts))
        for c in self.mains:
            c.state = {"waiting": {"reason": "ContainerCreating"}}
        for c in self.mains:
            self._launch(c)
        self.phase = "Running"
        self.publish()
        while not self.deleted.is_set():
            if self.evicted:
                self.stop_all(grace=0.0)
                for c in self.mains:
                    if c.proc is not None:
                        self._finish(c, c.proc.wait())
                self.phase, self.reason, self.message = "Failed", "Evicted", self.evicted
                self.publish()
                return
            changed = False
            for c in self.mains:
                if c.proc is not None and c.proc.poll() is not None:
                    self._finish(c, c.proc.returncode)
                    changed = True
            for c in self.mains:
                term = c.state.get("terminated")
                if term is None:
                    continue
                failed = term["exitCode"] != 0
                if c.down_until > time.monotonic():
                    continue  # held down by a fault scenario (kill(..., down_for=...))
                if self.restart_policy == "Always" or (self.restart_policy == "OnFailure" and failed):
                    # kubelet restarts it (CrashLoopBackOff after a few; short back-off here)
                    c.restarts += 1
                    self.publish()
                    time.sleep(min(5, 0.5 * c.restarts))
                    self._launch(c)
                    changed = True
            if all("terminated" in c.state for c in self.mains):
                codes = [c.state["terminated"]["exitCode"] for c in self.mains]
                self.phase = "Succeeded" if all(code == 0 for code in codes) else "Failed"
                self.publish()
                return
            if changed:
                self.publish()
            self.deleted.wait(0.2)

    def _wait_one(self, c: Container) -> int | None:
        assert c.proc is not None
        while not self.deleted.is_set():
            code = c.proc.poll()
            if code is not None:
                return code
            time.sleep(0.1)
        return None

    def stop_all(self, grace: float = 5.0) -> None:
        procs = [c.proc for c in [*self.inits, *self.mains] if c.proc is not None]
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(max(0.1, deadline - time.monotonic()))
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)


class Kubelet:
    """Watches pods (all namespaces) and runs each as a :class:`PodRun`."""

    def __init__(
        self,
        api: Kube,
        api_port: int,
        ca_pem: str,
        workdir: Path,
        *,
        path: str,
        node_env: Any,
        token_for: Any,
        wrap: Any = None,
        log: Any = print,
    ) -> None:
        self.api = api
        self.api_port = api_port
        self.ca_pem = ca_pem
        self.workdir = workdir
        self.path = path
        self.node_env = node_env  # (PodRun, container spec) -> extra env ("the network")
        self.token_for = token_for  # (namespace, serviceaccount) -> token (TokenRequest)
        self.wrap = wrap  # (PodRun, container spec, argv) -> argv: a fault scenario's stand-in
        self.log = log
        self.pods: dict[str, PodRun] = {}
        self.finished: list[PodRun] = []
        self.ports: dict[int, str] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="kubelet")
        self._created_points: list[Path] = []

    def start(self) -> Kubelet:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        with self._lock:
            runs = list(self.pods.values())
        for run in runs:
            run.deleted.set()
        for run in runs:
            run.thread.join(15)
        for point in reversed(self._created_points):
            try:
                if point.is_dir():
                    point.rmdir()
                elif point.stat().st_size == 0:
                    point.unlink()
            except OSError:
                pass

    def mount_point(self, target: str, is_dir: bool) -> None:
        """Create a mount point on the host (empty dir or file), remembered and removed at stop."""
        path = Path(target)
        with self._lock:
            if path.exists():
                return
            missing = []
            p = path
            while not p.exists():
                missing.append(p)
                p = p.parent
            if is_dir:
                path.mkdir(parents=True, exist_ok=True)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.touch()
            self._created_points.extend(reversed(missing))

    def run_of(self, pod_name: str) -> PodRun | None:
        with self._lock:
            return next((r for r in self.pods.values() if r.name == pod_name), None)

    def released(self, run: PodRun) -> None:
        with self._lock:
            for port in run.ports:
                if self.ports.get(port) == run.key:
                    del self.ports[port]

    def _admit(self, pod: dict[str, Any]) -> str:
        """Our scheduler's one predicate: free containerPorts (all pods share 127.0.0.1)."""
        key = f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"
        ports = {
            int(p["containerPort"])
            for c in pod["spec"].get("containers") or []
            for p in c.get("ports") or []
            if p.get("containerPort")
        }
        for port in ports:
            holder = self.ports.get(port)
            if holder is not None and holder != key:
                return f"port {port} is held by pod {holder} (one node: pods share 127.0.0.1)"
        for port in ports:
            self.ports[port] = key
        return ""

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._sync()
            except Exception as err:  # the API server restarting, etc.
                self.log(f"kubelet: {err!r}")
            self._stop.wait(0.25)

    def _sync(self) -> None:
        pods = self.api.list("pods")
        seen = set()
        for pod in pods:
            meta = pod["metadata"]
            uid = meta["uid"]
            seen.add(uid)
            if meta.get("deletionTimestamp"):
                run = self.pods.get(uid)
                if run is not None:
                    run.deleted.set()
                continue
            with self._lock:
                if uid in self.pods:
                    continue
                if pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
                    continue
                reason = self._admit(pod)
            if reason:
                with contextlib.suppress(KubeError):
                    self.api.merge_patch(
                        "pods",
                        meta["namespace"],
                        meta["name"],
                        {
                            "status": {
                                "phase": "Pending",
                                "conditions": [
                                    {
                                        "type": "PodScheduled",
                                        "status": "False",
                                        "reason": "Unschedulable",
                                        "message": reason,
                                    }
                                ],
                            }
                        },
                        sub="status",
                    )
                continue
            run = PodRun(self, pod)
            with self._lock:
                self.pods[uid] = run
            run.thread.start()
        with self._lock:
            gone = [uid for uid in self.pods if uid not in seen]
            for uid in gone:
                run = self.pods.pop(uid)
                run.deleted.set()
                self.finished.append(run)
