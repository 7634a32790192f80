"""etcd and kube-apiserver on 127.0.0.1, with certificates and service-account keys made at start.

Also the few duties of kube-controller-manager the flows rely on (there is none here):

- the token controller: fills every ``kubernetes.io/service-account-token`` Secret with a legacy
  service-account JWT, ``ca.crt`` and ``namespace`` (``pkg/controller/serviceaccount/tokens_controller.go``
  with ``serviceaccount.LegacyClaims``), so Argo's agent pod can mount ``<sa>.service-account-token``;
- the ServiceAccount controller: a ``default`` ServiceAccount in every namespace.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import ipaddress
import json
import os
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.engine.kube import Kube, KubeError
from tests.engine.procs import Proc

LEGACY_ISSUER = "kubernetes/serviceaccount"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem_key(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


class Pki:
    """A throwaway CA, the API server's serving certificate, and client certificates."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.ca_key = _key()
        now = dt.datetime.now(dt.UTC)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pressplay-engine-ca")])
        self.ca_cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=7))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
            )
            .sign(self.ca_key, hashes.SHA256())
        )
        self.ca = root / "ca.crt"
        self.ca.write_bytes(self.ca_cert.public_bytes(serialization.Encoding.PEM))
        # Service-account signing key (--service-account-key-file / --service-account-signing-key-file).
        self.sa_key_obj = _key()
        self.sa_key = root / "sa.key"
        self.sa_key.write_bytes(_pem_key(self.sa_key_obj))
        self.sa_pub = root / "sa.pub"
        self.sa_pub.write_bytes(
            self.sa_key_obj.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        der = self.sa_key_obj.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        # keyIDFromPublicKey (pkg/serviceaccount/jwt.go): base64url(sha256(DER public key)).
        self.sa_kid = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).decode().rstrip("=")

    def issue(
        self, stem: str, cn: str, orgs: tuple[str, ...] = (), *, server: bool = False
    ) -> tuple[Path, Path]:
        key = _key()
        now = dt.datetime.now(dt.UTC)
        attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(attrs))
            .issuer_name(self.ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=7))
        )
        if server:
            names: list[x509.GeneralName] = [
                x509.DNSName(n)
                for n in ("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc")
            ]
            names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ("127.0.0.1", "10.0.0.1")]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
            usage = ExtendedKeyUsageOID.SERVER_AUTH
        else:
            usage = ExtendedKeyUsageOID.CLIENT_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        cert = builder.sign(self.ca_key, hashes.SHA256())
        crt, keyf = self.root / f"{stem}.crt", self.root / f"{stem}.key"
        crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        keyf.write_bytes(_pem_key(key))
        return crt, keyf

    def legacy_token(self, namespace: str, sa: str, sa_uid: str, secret: str) -> str:
        """``serviceaccount.LegacyClaims`` signed like the token controller's JWTTokenGenerator."""
        claims = {
            "iss": LEGACY_ISSUER,
            "kubernetes.io/serviceaccount/namespace": namespace,
            "kubernetes.io/serviceaccount/secret.name": secret,
            "kubernetes.io/serviceaccount/service-account.name": sa,
            "kubernetes.io/serviceaccount/service-account.uid": sa_uid,
            "sub": f"system:serviceaccount:{namespace}:{sa}",
        }
        return jwt.encode(claims, _pem_key(self.sa_key_obj), algorithm="RS256", headers={"kid": self.sa_kid})


def kubeconfig(
    path: Path,
    server: str,
    ca: Path,
    *,
    namespace: str = "default",
    cert: tuple[Path, Path] | None = None,
    token: str | None = None,
) -> Path:
    user: dict[str, Any] = {}
    if cert:
        user = {"client-certificate": str(cert[0]), "client-key": str(cert[1])}
    if token:
        user = {"token": token}
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "engine", "cluster": {"server": server, "certificate-authority": str(ca)}}],
        "users": [{"name": "user", "user": user}],
        "contexts": [
            {"name": "engine", "context": {"cluster": "engine", "user": "user", "namespace": namespace}}
        ],
        "current-context": "engine",
    }
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


class Cluster:
    """etcd + kube-apiserver in ``workdir``; use as a context manager."""

    def __init__(self, bins: dict[str, Path], workdir: Path, kubectl: str) -> None:
        self.bins = bins
        self.workdir = workdir
        self.kubectl_bin = kubectl
        self.logs = workdir / "logs"
        self.procs: list[Proc] = []
        self.port = 0
        self.server = ""
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.api: Kube | None = None

    def __enter__(self) -> Cluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        self.pki = Pki(self.workdir / "pki")
        serving = self.pki.issue("apiserver", "kube-apiserver", server=True)
        self.admin_cert = self.pki.issue("admin", "engine-admin", ("system:masters",))
        etcd_port, peer_port = free_port(), free_port()
        etcd = Proc(
            "etcd",
            [
                str(self.bins["etcd"]),
                "-data-dir",
                str(self.workdir / "etcd"),
                "-client-port",
                str(etcd_port),
                "-peer-port",
                str(peer_port),
            ],
            self.logs,
        ).start()
        self.procs.append(etcd)
        etcd.wait_for_line("ready", 60)
        self.port = free_port()
        self.server = f"https://127.0.0.1:{self.port}"
        apiserver = Proc(
            "kube-apiserver",
            [
                str(self.bins["kube-apiserver"]),
                f"--etcd-servers=http://127.0.0.1:{etcd_port}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={self.port}",
                f"--tls-cert-file={serving[0]}",
                f"--tls-private-key-file={serving[1]}",
                f"--client-ca-file={self.pki.ca}",
                f"--service-account-key-file={self.pki.sa_pub}",
                f"--service-account-signing-key-file={self.pki.sa_key}",
                "--service-account-issuer=https://kubernetes.default.svc",
                "--service-cluster-ip-range=10.0.0.0/24",
                "--authorization-mode=RBAC",
                "--allow-privileged=true",
                "--endpoint-reconciler-type=none",
                "--enable-priority-and-fairness=false",
                "--profiling=false",
                f"--cert-dir={self.workdir / 'apiserver-certs'}",
                "--v=1",
            ],
            self.logs,
        ).start()
        self.procs.append(apiserver)
        self.admin_kubeconfig = kubeconfig(
            self.workdir / "admin.kubeconfig", self.server, self.pki.ca, cert=self.admin_cert
        )
        self.api = Kube(self.server, self.pki.ca, cert=self.admin_cert)
        deadline = time.monotonic() + 120
        while True:
            apiserver.check_alive()
            try:
                resp = self.api._http.get("/readyz")
                if resp.status_code == 200:
                    break
            except Exception:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"kube-apiserver not ready in 120s; see {apiserver.log}")
            time.sleep(0.3)
        self._spawn(self._token_controller)

    def _spawn(self, target: Any) -> None:
        thread = threading.Thread(target=target, daemon=True, name=target.__name__)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for proc in reversed(self.procs):
            proc.stop()
        self.procs.clear()
        if self.api is not None:
            self.api.close()

    # -- clients --------------------------------------------------------------------------------
    def kubectl(
        self, *args: str, input: str | None = None, kubeconfig: Path | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [self.kubectl_bin, f"--kubeconfig={kubeconfig or self.admin_kubeconfig}", *args],
            input=input,
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "KUBECTL_KUSTOMIZE_PLUGINS": "none"},
        )
        if check and proc.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)} failed:\n{proc.stderr}{proc.stdout}")
        return proc

    def sa_token(self, namespace: str, sa: str, hours: int = 48) -> str:
        """A bound token of ServiceAccount ``sa`` (the TokenRequest API, as kubelet asks for one)."""
        assert self.api is not None
        out = self.api.post(
            f"/api/v1/namespaces/{namespace}/serviceaccounts/{sa}/token",
            {
                "apiVersion": "authentication.k8s.io/v1",
                "kind": "TokenRequest",
                "spec": {"expirationSeconds": hours * 3600},
            },
        )
        token: str = out["status"]["token"]
        return token

    def sa_kubeconfig(self, path: Path, namespace: str, sa: str) -> Path:
        return kubeconfig(
            path, self.server, self.pki.ca, namespace=namespace, token=self.sa_token(namespace, sa)
        )

    # -- kube-controller-manager duties --------------------------------------------------------------
    def _token_controller(self) -> None:
        """Fill service-account token Secrets; create ``default`` ServiceAccounts (both poll, 0.5 s)."""
        assert self.api is not None
        api = Kube(self.server, self.pki.ca, cert=self.admin_cert)
        ca = self.pki.ca.read_bytes()
        while not self._stop.wait(0.5):
            try:
                for ns in api.list("namespaces"):
                    name = ns["metadata"]["name"]
                    if ns.get("status", {}).get("phase") == "Terminating":
                        continue
                    if api.get("serviceaccounts", name, "default") is None:
                        with contextlib.suppress(KubeError):
                            api.create("serviceaccounts", name, {"metadata": {"name": "default"}})
                for secret in api.list("secrets", fieldSelector="type=kubernetes.io/service-account-token"):
                    meta = secret["metadata"]
                    if (secret.get("data") or {}).get("token"):
                        continue
                    sa_name = (meta.get("annotations") or {}).get("kubernetes.io/service-account.name")
                    if not sa_name:
                        continue
                    sa = api.get("serviceaccounts", meta["namespace"], sa_name)
                    if sa is None:
                        continue
                    uid = sa["metadata"]["uid"]
                    token = self.pki.legacy_token(meta["namespace"], sa_name, uid, meta["name"])
                    api.merge_patch(
                        "secrets",
                        meta["namespace"],
                        meta["name"],
                        {
                            "metadata": {"annotations": {"kubernetes.io/service-account.uid": uid}},
                            "data": {
                                "token": base64.b64encode(token.encode()).decode(),
                                "ca.crt": base64.b64encode(ca).decode(),
                                "namespace": base64.b64encode(meta["namespace"].encode()).decode(),
                            },
                        },
                    )
            except Exception:
                continue
        api.close()
