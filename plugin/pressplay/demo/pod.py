"""The ``agent-step`` pod on one machine: its three containers as three processes, as the pod runs them.

- ``checkout`` and ``push`` get the GitHub App settings (the key file's path) and the state directory;
- ``run`` (the agent) gets neither: its environment holds no secret of pressplay's, and, where this
  machine allows it, it runs in a sandbox that stands in for its container: new mount and PID
  namespaces (``unshare``), the key's directory, the state directory and the demo's git remote
  covered by empty mounts, ``/proc`` showing only its own processes, and no capabilities
  (``setpriv``), so it cannot uncover them. As root that needs nothing more; as another user it
  needs unprivileged user namespaces (``unshare --map-root-user``). Where neither works (macOS, a
  locked-down kernel), the agent phase runs as a plain process with the clean environment and
  :attr:`AgentPod.isolation` says so.

Every phase is ``python -I -m pressplay agent <phase>`` configured by ``PRESSPLAY_*`` variables only,
exactly as the containers are.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from pressplay.agent.options import AgentOptions
from pressplay.agent.runtime import StepResult, read_outputs

#: Variables no agent phase gets from the machine's environment (the pod's agent container has none).
_SECRET_PREFIXES = ("PRESSPLAY_GITHUB_", "PRESSPLAY_STATE_DIR", "PRESSPLAY_TOKEN", "GITHUB_TOKEN", "GH_TOKEN")
#: Covers each hidden path (an empty tmpfs over a directory, /dev/null over a file), then runs the
#: command without capabilities, as a child (so the agent's parent is the agent phase, not PID 1).
_SANDBOX_SCRIPT = (
    'for p; do [ "$p" = -- ] && break; '
    'if [ -d "$p" ]; then mount -t tmpfs -o size=64k,mode=0555 pressplay-hidden "$p" || exit 125; '
    'elif [ -e "$p" ]; then mount --bind /dev/null "$p" || exit 125; fi; shift; done; shift; '
    'setpriv --bounding-set=-all --inh-caps=-all --no-new-privs -- "$@"'
)
TIMEOUT_SECONDS = 3600.0


def options_env(options: AgentOptions, *, key_holder: bool) -> dict[str, str]:
    """The ``PRESSPLAY_*`` variables of one container (``state_dir`` only for the key holders)."""
    env: dict[str, str] = {}
    for name, value in options.model_dump(exclude_none=True).items():
        if name == "state_dir" and not key_holder:
            continue
        if name == "context_files":
            text = "\n".join(str(p) for p in value)
        elif isinstance(value, bool):
            text = "true" if value else "false"
        elif hasattr(value, "total_seconds"):
            text = f"{int(value.total_seconds())}s"
        else:
            text = str(value)
        if text:
            env[f"PRESSPLAY_{name.upper()}"] = text
    return env


@functools.cache
def _sandbox_flags() -> tuple[str, ...] | None:
    """``unshare`` flags that work on this machine, or None."""
    unshare, setpriv = shutil.which("unshare"), shutil.which("setpriv")
    if not sys.platform.startswith("linux") or unshare is None or setpriv is None:
        return None
    flags: tuple[str, ...] = ("--mount", "--pid", "--fork", "--mount-proc")
    if os.geteuid() != 0:
        flags = ("--map-root-user", *flags)
    try:
        probe = subprocess.run(
            [
                unshare,
                *flags,
                "--",
                "sh",
                "-c",
                "mount -t tmpfs probe /mnt && " + setpriv + " --bounding-set=-all true",
            ],
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return flags if probe.returncode == 0 else None


class AgentPod:
    """Runs agent steps as the ``agent-step`` pod does: checkout → run (no key) → push."""

    def __init__(
        self,
        *,
        key_env: Mapping[str, str],
        hidden: Sequence[Path] = (),
        sandbox: bool = True,
        python: str = sys.executable,
    ) -> None:
        self.key_env = dict(key_env)
        self.hidden = [Path(p) for p in hidden]
        self.python = python
        flags = _sandbox_flags() if sandbox else None
        self._unshare = (shutil.which("unshare"), flags) if flags is not None else None
        self.isolation = (
            "namespaces: the key, the state and the remote are covered; own /proc; no capabilities"
            if self._unshare is not None
            else "none: a plain process with no key in its environment (unshare/setpriv not usable here)"
        )

    def _argv(self, phase: str) -> list[str]:
        return [self.python, "-I", "-m", "pressplay", "agent", phase]

    def _sandboxed(self, argv: list[str], hidden: Sequence[Path]) -> list[str]:
        if self._unshare is None:
            return argv
        unshare, flags = self._unshare
        assert unshare is not None and flags is not None
        return [unshare, *flags, "--", "sh", "-c", _SANDBOX_SCRIPT, "sh", *map(str, hidden), "--", *argv]

    def _phase(self, argv: list[str], env: Mapping[str, str], log: TextIO, name: str) -> int:
        log.write(f"----- {name} -----\n")
        log.flush()
        proc = subprocess.run(
            argv,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
        return proc.returncode

    def run(
        self, options: AgentOptions, *, log: TextIO, environ: Mapping[str, str] | None = None
    ) -> StepResult:
        """One agent step; ``environ`` is what the agent container's environment holds besides ours."""
        base = {
            k: v
            for k, v in (os.environ if environ is None else environ).items()
            if not k.startswith(_SECRET_PREFIXES)
        }
        minimal = {k: v for k, v in base.items() if k in {"PATH", "LANG", "TZ", "TMPDIR"}}
        key_env = {**minimal, **self.key_env, **options_env(options, key_holder=True)}
        if self._phase(self._argv("checkout"), key_env, log, "checkout") != 0:
            return self.result(options)
        agent_env = {**base, **options_env(options, key_holder=False)}
        hidden = [p for p in (*self.hidden, options.state_dir) if p.exists()]
        if self._phase(self._sandboxed(self._argv("run"), hidden), agent_env, log, "run") != 0:
            return self.result(options)
        if not options.push:
            return self.result(options)
        self._phase(self._argv("push"), key_env, log, "push")
        return self.result(options)

    @staticmethod
    def result(options: AgentOptions) -> StepResult:
        """The step's outcome as its output files say (what Argo reads)."""
        values = read_outputs(options.outputs_dir)
        status: Any = values.get("status", "error").strip() or "error"
        try:
            changed = [str(p) for p in json.loads(values.get("changedFiles", "[]"))]
        except ValueError:
            changed = []
        attempts = values.get("attempts", "0").strip()
        return StepResult(
            status,
            values.get("summary", "the step wrote no summary"),
            commit=values.get("commit", "").strip(),
            changed_files=changed,
            attempts=int(attempts) if attempts.isdigit() else 0,
            pushed=status in {"committed", "existing"} and options.push,
        )
