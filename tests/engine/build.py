"""Build the Go side of the engine harness once, into a cache outside the work tree.

Three Go modules under ``tests/engine/go/``:

- ``kube``: ``kube-apiserver`` from ``k8s.io/kubernetes`` (every staging module pinned to the same
  release with ``replace``) and ``etcd`` (our 80-line main on ``go.etcd.io/etcd/server/v3/embed``);
- ``helm``: the ``helm`` CLI from ``helm.sh/helm/v4`` (the chart tests: tests/helm, test_helm.py);
- ``argo``: ``workflow-controller``, ``argo`` and ``argoexec`` from ``github.com/argoproj/argo-workflows/v4``
  and ``events`` (our driver of Argo Events' own event-source and Sensor code).

The binaries go to ``$PRESSPLAY_ENGINE_CACHE`` (default ``${XDG_CACHE_HOME:-~/.cache}/pressplay-engine``)
under ``bin/<module>-<hash of go.mod, go.sum and our sources>``, so a change to either module rebuilds it
and nothing else does. ``go`` and the Go module proxy are the only requirements.

The argo module is built from a copy of the ``argo-workflows`` module source in the cache with an
empty ``ui/dist/app/index.html``, exactly what Argo's Makefile does with ``STATIC_FILES=false`` (the
``argo`` CLI embeds the UI for ``argo server``; the module zip has no built UI), and with the
repository's symlinks the zip drops (``ARGO_SYMLINKS``). Nothing else is changed.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import resource
import shutil
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
GO_DIR = HERE / "go"
BUILD_VERSION = "1"  # bump to force a rebuild after changing how things are built

MODULES: dict[str, dict[str, str]] = {
    "kube": {
        "kube-apiserver": "k8s.io/kubernetes/cmd/kube-apiserver",
        "etcd": "./etcd",
    },
    "argo": {
        "workflow-controller": "github.com/argoproj/argo-workflows/v4/cmd/workflow-controller",
        "argo": "github.com/argoproj/argo-workflows/v4/cmd/argo",
        "argoexec": "github.com/argoproj/argo-workflows/v4/cmd/argoexec",
        "events": "./events",
    },
    "helm": {
        "helm": "helm.sh/helm/v4/cmd/helm",
    },
}
ARGO_MODULE = "github.com/argoproj/argo-workflows/v4"
# Argo's Makefile stamps the version (the controller and CLI report it; the default executor image
# tag derives from it); {version} is the required release.
ARGO_LDFLAGS = (
    "-X github.com/argoproj/argo-workflows/v4.version={version} -X github.com/argoproj/argo-workflows/v4.gitTag={version}"
    " -X github.com/argoproj/argo-workflows/v4.gitTreeState=clean"
)

HELM_MODULE = "helm.sh/helm/v4"
# helm's Makefile stamps the version (`helm version`); {version} is the release go.mod requires.
HELM_LDFLAGS = "-X helm.sh/helm/v4/internal/version.version={version}"


class ToolMissing(RuntimeError):
    """A tool the engine needs is not installed (the tests skip naming it)."""

    def __init__(self, tool: str, hint: str = "") -> None:
        super().__init__(f"{tool} not found{': ' + hint if hint else ''}")
        self.tool = tool


def cache_dir() -> Path:
    explicit = os.environ.get("PRESSPLAY_ENGINE_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pressplay-engine"


def go_binary() -> str:
    found = shutil.which("go") or next(
        (p for p in ("/usr/local/go/bin/go", "/usr/lib/go/bin/go") if Path(p).exists()), None
    )
    if found is None:
        raise ToolMissing("go", "the engine tests build Argo and Kubernetes from the Go module proxy")
    return found


def module_key(module: str) -> str:
    digest = hashlib.sha256(BUILD_VERSION.encode())
    if module == "argo":
        digest.update(ARGO_LDFLAGS.encode())
    if module == "helm":
        digest.update(HELM_LDFLAGS.encode())
    root = GO_DIR / module
    for path in sorted(root.rglob("*")):
        if path.is_file() and (path.suffix == ".go" or path.name in {"go.mod", "go.sum"}):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@dataclass
class BuildResult:
    module: str
    out: Path
    built: bool
    seconds: float
    max_rss_mb: float


def _run_go(args: list[str], cwd: Path, env: dict[str, str], log: Path) -> None:
    with log.open("a", encoding="utf-8") as sink:
        sink.write(f"$ {' '.join(args)}\n")
        sink.flush()
        proc = subprocess.run(
            ["nice", "-n", "10", *args], cwd=cwd, env=env, stdout=sink, stderr=subprocess.STDOUT, check=False
        )
    if proc.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-4000:]
        raise RuntimeError(f"go build failed (exit {proc.returncode}); log {log}:\n{tail}")


def _go_env(cache: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["GOFLAGS"] = "-mod=mod -buildvcs=false"
    env["GOCACHE"] = str(cache / "gocache")
    env.setdefault("CGO_ENABLED", "0")
    return env


def _argo_source(go: str, cache: Path, env: dict[str, str], version: str, log: Path) -> Path:
    """A writable copy of the argo-workflows module with Argo's STATIC_FILES=false UI placeholder."""
    target = cache / "src" / f"argo-workflows-{version}"
    if (target / "go.mod").exists():
        _restore_symlinks(target)
        return target
    out = subprocess.run(
        [go, "mod", "download", "-json", f"{ARGO_MODULE}@{version}"],
        cwd=GO_DIR / "argo",
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        log.write_text(out.stdout + out.stderr, encoding="utf-8")
        raise RuntimeError(
            f"go mod download {ARGO_MODULE}@{version} failed:\n{out.stdout[-2000:]}{out.stderr[-2000:]}"
        )
    src = Path(json.loads(out.stdout)["Dir"])
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src, tmp)
    for path in [tmp, *tmp.rglob("*")]:
        if path.is_dir():
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
    (tmp / "ui" / "dist" / "app").mkdir(parents=True, exist_ok=True)
    (tmp / "ui" / "dist" / "app" / "index.html").touch()  # Makefile: STATIC_FILES=false
    _restore_symlinks(tmp)
    tmp.rename(target)
    return target


# Symlinks of the argo-workflows repository that Go module zips drop (the zip format has none):
# without them argoexec does not compile on Linux (`undefined: Setpgid`).
ARGO_SYMLINKS = {"workflow/executor/osspecific/signal_linux.go": "signal_darwin.go"}


def _restore_symlinks(root: Path) -> None:
    for link, target in ARGO_SYMLINKS.items():
        path = root / link
        if not path.exists() and not path.is_symlink():
            path.symlink_to(target)


def _required(cwd: Path, module_path: str) -> str:
    """The version of ``module_path`` that ``cwd/go.mod`` requires."""
    gomod = (cwd / "go.mod").read_text(encoding="utf-8")
    match = re.search(rf"^\s*(?:require\s+)?{re.escape(module_path)} (v\S+)", gomod, re.M)
    if match is None:
        raise RuntimeError(f"{cwd}/go.mod does not require {module_path}")
    return match.group(1)


def build(module: str, *, force: bool = False) -> BuildResult:
    """Build one module's binaries into the cache unless they are there already."""
    cache = cache_dir()
    key = module_key(module)
    out = cache / "bin" / f"{module}-{key}"
    names = MODULES[module]
    if not force and all((out / name).exists() for name in names):
        meta = json.loads((out / "build.json").read_text()) if (out / "build.json").exists() else {}
        return BuildResult(module, out, False, meta.get("seconds", 0.0), meta.get("max_rss_mb", 0.0))
    go = go_binary()
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / f"{module}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not force and all((out / name).exists() for name in names):
            return build(module)
        env = _go_env(cache)
        staging = out.with_name(out.name + ".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        log = staging / "build.log"
        started = time.monotonic()
        cwd = GO_DIR / module
        ldflags = "-s -w"
        args = [go, "build", "-trimpath", "-o", str(staging) + "/"]
        if module == "helm":
            ldflags += " " + HELM_LDFLAGS.format(version=_required(cwd, HELM_MODULE))
        if module == "argo":
            gomod = (cwd / "go.mod").read_text(encoding="utf-8")
            version = _required(cwd, ARGO_MODULE)
            src = _argo_source(go, cache, env, version, log)
            modfile = staging / "go.mod"
            modfile.write_text(gomod + f"\nreplace {ARGO_MODULE} => {src}\n", encoding="utf-8")
            shutil.copy(cwd / "go.sum", staging / "go.sum")
            args.append(f"-modfile={modfile}")
            ldflags += " " + ARGO_LDFLAGS.format(version=version)
        args.insert(3, f"-ldflags={ldflags}")
        args += list(names.values())
        _run_go(args, cwd, env, log)
        seconds = time.monotonic() - started
        rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        (staging / "build.json").write_text(
            json.dumps({"seconds": round(seconds, 1), "max_rss_mb": round(rss_mb), "key": key}),
            encoding="utf-8",
        )
        shutil.rmtree(out, ignore_errors=True)
        staging.rename(out)
        return BuildResult(module, out, True, seconds, rss_mb)


def binaries(*, force: bool = False) -> dict[str, Path]:
    """Every binary of both modules, built if needed: name -> path."""
    found: dict[str, Path] = {}
    for module, names in MODULES.items():
        result = build(module, force=force)
        for name in names:
            found[name] = result.out / name
    return found


def helm_binary() -> Path:
    """The ``helm`` CLI, built if needed (a cold build takes minutes: see tests/helm/conftest.py)."""
    return build("helm").out / "helm"


def cached_binaries() -> dict[str, Path] | None:
    """The binaries if every module is built already, else None (never builds)."""
    cache = cache_dir()
    found: dict[str, Path] = {}
    for module, names in MODULES.items():
        out = cache / "bin" / f"{module}-{module_key(module)}"
        for name in names:
            if not (out / name).exists():
                return None
            found[name] = out / name
    return found
