"""Language toolchains for the gates that agent-step containers run in the engine harness.

No images are pulled here: a container runs commands from the PATH its pod spec gives it, and the
agent's container (``main``) also loads the ``pressplay-agent-credentials`` Secret with ``envFrom``. The
stand-in kubelet starts every container with its own PATH (the cached Go binaries, the venv, the
system directories), and an ``envFrom`` variable replaces it (``makeEnvironmentVariables``: the pod's
variables over the runtime's). So a toolchain reaches the agent's container as a PATH in that Secret:
:meth:`Rust.path` puts the toolchain's own ``bin`` in front of the kubelet's PATH.

The Python gates (``ruff``, ``python -m pytest``) need nothing here: the venv is on the kubelet's PATH.

**Rust.** The gates of the ``rust`` presets run ``cargo fmt``, ``cargo clippy`` and ``cargo test``.
They get the toolchain's own directory (``rustc --print sysroot``: ``bin/cargo``, ``rustc``,
``cargo-clippy``, ``clippy-driver``, ``cargo-fmt``, ``rustfmt``), not rustup's proxies, so no
``RUSTUP_HOME`` is needed: rustc finds its libraries next to itself, cargo finds ``cargo-clippy`` and
``cargo-fmt`` on PATH, and they find their drivers next to themselves. Where the sysroot is readable
by every user it is used in place. Otherwise (rustup's toolchains under ``/root``, a 0700 directory,
while the agent's container is meant to run as UID 8738) its ``bin``, ``lib`` and ``libexec`` are
**hard-linked** into a world-readable directory of the engine cache (``toolchains/rust-<key>``; no
gigabytes copied, ``share/`` with the docs left out), once per toolchain, reused by later runs. A file
that cannot be hard-linked (another file system) or is not world-readable is copied. Note that the
cache itself sits under ``~/.cache`` by default: for a container that really runs as another UID, point
``PRESSPLAY_ENGINE_CACHE`` at a directory every user can search (today the stand-in kubelet runs
containers as the harness's user; see kubelet.py).

Cargo works offline (``CARGO_NET_OFFLINE``: the samples have no crates.io dependency) with its home
and target directory on the container's own ``/tmp`` (the pod's root filesystem is read-only), as the
image in docs/agent-image.md ("Toolchains for the gates") sets them.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.engine import build

#: What the ``rust`` presets run, in the toolchain's bin directory.
RUST_TOOLS = ("cargo", "rustc", "cargo-clippy", "clippy-driver", "cargo-fmt", "rustfmt")
#: The parts of a toolchain the gates need (``share/`` is documentation and completions).
RUST_PARTS = ("bin", "lib", "libexec")
RUST_HINT = "rustup toolchain install stable --component clippy,rustfmt (the `rust` gate preset runs them)"


@dataclass(frozen=True)
class Rust:
    bin: Path  # cargo, rustc, cargo-clippy, clippy-driver, cargo-fmt, rustfmt
    version: str  # `rustc -V`
    sysroot: Path  # where it came from
    linked: bool  # hard-linked into the engine cache (else used in place)

    def env(self) -> dict[str, str]:
        """The agent container's cargo settings (without PATH; see :meth:`path`)."""
        return {
            "CARGO_NET_OFFLINE": "true",
            "CARGO_HOME": "/tmp/cargo-home",
            "CARGO_TARGET_DIR": "/tmp/target",
            "CARGO_TERM_COLOR": "never",
        }

    def path(self, base: str) -> str:
        """``base`` (the kubelet's PATH) with this toolchain in front."""
        return os.pathsep.join([str(self.bin), base])


def _run(argv: list[str]) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120)
    if proc.returncode != 0:
        raise build.ToolMissing(argv[0], f"`{' '.join(argv)}` failed: {proc.stderr.strip()[:300]}")
    return proc.stdout.strip()


def world_readable(path: Path) -> bool:
    """Every directory down to ``path`` searchable by others, and ``path`` itself readable by them."""
    path = path.resolve()
    for parent in [*reversed(path.parents), path]:
        mode = parent.stat().st_mode
        if stat.S_ISDIR(mode) and not mode & stat.S_IXOTH:
            return False
    return bool(path.stat().st_mode & stat.S_IROTH)


def rust() -> Rust:
    """This machine's Rust toolchain, where an agent container can run it; raises
    :class:`build.ToolMissing` naming what is missing."""
    rustc = shutil.which("rustc")
    if rustc is None:
        raise build.ToolMissing("rustc", RUST_HINT)
    sysroot = Path(_run([rustc, "--print", "sysroot"])).resolve()
    missing = [tool for tool in RUST_TOOLS if not (sysroot / "bin" / tool).is_file()]
    if missing:
        raise build.ToolMissing(", ".join(missing), f"not in {sysroot / 'bin'}: {RUST_HINT}")
    version = _run([str(sysroot / "bin" / "rustc"), "-V"])
    if all(world_readable(sysroot / "bin" / tool) for tool in RUST_TOOLS):
        return Rust(sysroot / "bin", version, sysroot, linked=False)
    key = hashlib.sha256(f"{sysroot}\n{version}".encode()).hexdigest()[:12]
    target = build.cache_dir() / "toolchains" / f"rust-{key}"
    if not (target / ".complete").exists():
        _link_tree(sysroot, target)
    return Rust(target / "bin", version, sysroot, linked=True)


def _link_tree(sysroot: Path, target: Path) -> None:
    """Hard-link ``RUST_PARTS`` of ``sysroot`` into ``target`` (made whole, then renamed into place)."""
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    parent.chmod(0o755)
    work = parent / f"{target.name}.tmp-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    for part in RUST_PARTS:
        src_root = sysroot / part
        if not src_root.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(src_root):
            rel = Path(dirpath).relative_to(sysroot)
            (work / rel).mkdir(parents=True, exist_ok=True)
            (work / rel).chmod(0o755)
            for name in filenames + [d for d in dirnames if (Path(dirpath) / d).is_symlink()]:
                _place(Path(dirpath) / name, work / rel / name)
    (work / ".complete").write_text(f"{sysroot}\n", encoding="utf-8")
    work.chmod(0o755)
    try:
        work.rename(target)
    except OSError:  # another run made it meanwhile
        shutil.rmtree(work, ignore_errors=True)
        if not (target / ".complete").exists():
            raise


def _place(src: Path, dst: Path) -> None:
    if src.is_symlink():
        os.symlink(os.readlink(src), dst)
        return
    mode = src.stat().st_mode
    if mode & stat.S_IROTH and (not mode & stat.S_IXUSR or mode & stat.S_IXOTH):
        try:
            os.link(src, dst)  # the same inode: a link never changes the original's mode
            return
        except OSError as err:
            if err.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
                raise
    shutil.copy2(src, dst)
    dst.chmod(0o755 if mode & stat.S_IXUSR else 0o644)
