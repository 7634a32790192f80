"""Run a command without a shell: stream its output (redacted) to a sink, keep a tail, enforce a timeout.

The command runs in its own process group so a timeout stops its children too (an agent CLI spawns
tools; ``cargo`` spawns ``rustc``); whatever is left of the group when the command ends is stopped as
well, and so is every process it left behind in another group or session: ``pressplay agent run``
makes itself a child subreaper (:func:`become_subreaper`), so such orphans become its children, and
:func:`reap_orphans` stops them. Nothing the agent started keeps running while pressplay commits and
writes the outputs (it could change them under pressplay, or plant links for Argo to follow). The output is redacted as
one stream (:class:`pressplay.redact.StreamRedactor`): a private key printed over many lines is
masked on every line.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from pressplay.redact import StreamRedactor

TAIL_LINES = 400
#: Seconds between SIGTERM and SIGKILL when a command times out.
KILL_GRACE_SECONDS = 5.0
#: Seconds after a command exits before what it left running is stopped.
LEFTOVER_GRACE_SECONDS = 0.5


@dataclass
class ProcessResult:
    """What happened to one command."""

    argv: list[str]
    exit_code: int
    timed_out: bool = False
    seconds: float = 0.0
    tail: list[str] = field(default_factory=list)
    lines: int = 0
    not_found: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    def describe(self) -> str:
        if self.not_found:
            return f"{self.argv[0]!r} is not installed in this image (exit 127)"
        if self.timed_out:
            return f"timed out after {self.seconds:.0f}s"
        return f"exit {self.exit_code} after {self.seconds:.1f}s"


_PR_SET_CHILD_SUBREAPER = 36
_subreaper = {"on": False}


def become_subreaper() -> bool:
    """Make orphans of this process's descendants its children (Linux ``PR_SET_CHILD_SUBREAPER``).

    Only a process that runs commands one at a time should do this (``pressplay agent run``):
    afterwards :func:`run_streaming` stops every child that appeared while its command ran.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        _subreaper["on"] = bool(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        _subreaper["on"] = False
    return _subreaper["on"]


def _parents() -> dict[int, int]:
    """pid → parent pid of every process this process can see (Linux ``/proc``; empty elsewhere)."""
    found: dict[int, int] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read().decode(errors="replace")
            found[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return found


def children() -> set[int]:
    """The pids of this process's children."""
    me = os.getpid()
    return {pid for pid, parent in _parents().items() if parent == me}


def reap_orphans(keep: set[int]) -> list[int]:
    """SIGKILL every child of this process not in ``keep``, and their descendants; returns their pids."""
    parents = _parents()
    me = os.getpid()
    doomed = [pid for pid, parent in parents.items() if parent == me and pid not in keep]
    i = 0
    while i < len(doomed):
        doomed += [pid for pid, parent in parents.items() if parent == doomed[i] and pid not in doomed]
        i += 1
    for pid in doomed:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    for pid in doomed:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, 0)
    return doomed


def _stop(proc: subprocess.Popen[str]) -> None:
    """SIGTERM the process group, then SIGKILL it after a grace period."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(KILL_GRACE_SECONDS)


def run_streaming(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    sink: TextIO | None,
    stdin_text: str | None = None,
    prefix: str = "",
) -> ProcessResult:
    """Run ``argv`` in ``cwd``; every output line (stdout and stderr) goes, redacted, to ``sink``."""
    started = time.monotonic()
    argv = list(argv)
    before = children() if _subreaper["on"] else set()
    try:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
            start_new_session=True,
        )
    except FileNotFoundError:
        return ProcessResult(argv=argv, exit_code=127, not_found=True)
    except PermissionError:
        return ProcessResult(argv=argv, exit_code=126, not_found=True)

    timed_out = threading.Event()

    def on_timeout() -> None:
        timed_out.set()
        _stop(proc)

    timer = threading.Timer(timeout, on_timeout)
    timer.daemon = True
    timer.start()
    output_ended = threading.Event()
    watcher: threading.Thread | None = None
    if _subreaper["on"]:

        def end_leftovers() -> None:
            """The command exited but its output did not end: what it left holds the pipe; stop it.

            Only while this call still reads the command's output (``output_ended`` is set before the
            call returns, and the call waits for this thread), so the next command is never touched.
            """
            proc.wait()
            if output_ended.wait(LEFTOVER_GRACE_SECONDS):
                return
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            reap_orphans(keep=before)

        watcher = threading.Thread(target=end_leftovers, daemon=True)
        watcher.start()
    if stdin_text is not None and proc.stdin is not None:

        def feed(stream: TextIO, text: str) -> None:
            with contextlib.suppress(BrokenPipeError, OSError, ValueError):
                stream.write(text)
                stream.close()

        threading.Thread(target=feed, args=(proc.stdin, stdin_text), daemon=True).start()

    tail: deque[str] = deque(maxlen=TAIL_LINES)
    count = 0
    redactor = StreamRedactor()
    assert proc.stdout is not None
    try:
        for raw in proc.stdout:
            line = redactor.line(raw.rstrip("\n"))
            count += 1
            tail.append(line)
            if sink is not None:
                sink.write(f"{prefix}{line}\n")
                sink.flush()
        proc.wait()
    finally:
        output_ended.set()
        timer.cancel()
        if proc.poll() is None:
            _stop(proc)
        if watcher is not None:
            watcher.join()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # what the command left running in its group
        if _subreaper["on"]:
            reap_orphans(keep=before)  # ... and in other groups or sessions (orphans come to us)
        proc.stdout.close()
    return ProcessResult(
        argv=argv,
        exit_code=proc.returncode,
        timed_out=timed_out.is_set(),
        seconds=time.monotonic() - started,
        tail=list(tail),
        lines=count,
    )
