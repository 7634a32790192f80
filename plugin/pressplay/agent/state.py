"""What the three phases of an agent step hand each other, and how files are written safely.

- The **start state** (:class:`StartState`): written by ``pressplay agent checkout`` into the state
  directory, a volume the agent's container does not mount, and read by ``pressplay agent push``. It
  is the trusted record of where the step starts: repository, branch, the commit the branch was at
  (``start``), and the step's commit when the branch already had one.
- The **outputs** directory (``/tmp/outputs``): the files Argo reads as output parameters. The agent
  phase writes them; the agent itself could have planted links there, so every write replaces the
  file through a fresh temporary file (never opening an existing path), and every read refuses links
  and anything that is not a small regular file.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

STATE_FILE = "start.json"
MAX_OUTPUT_BYTES = 1024 * 1024


@dataclass(frozen=True)
class StartState:
    """Where one agent step starts; recorded by checkout, trusted by push."""

    repo: str
    remote_url: str
    branch: str
    base: str
    task_id: str
    step: str
    start: str
    branch_existed: bool
    existing: str | None = None

    def write(self, state_dir: Path) -> None:
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_file(state_dir / STATE_FILE, json.dumps(asdict(self), indent=2) + "\n", mode=0o600)

    @classmethod
    def read(cls, state_dir: Path) -> StartState:
        """The recorded start; :class:`ValueError` naming the file when it is missing or malformed."""
        path = state_dir / STATE_FILE
        text = read_regular_file(path)
        if text is None:
            raise ValueError(f"no start state at {path}: `pressplay agent checkout` did not run in this pod")
        try:
            return cls(**json.loads(text))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"the start state at {path} is malformed: {exc}") from exc


def write_file(target: Path, text: str, *, mode: int = 0o644) -> None:
    """Replace ``target`` with ``text`` atomically, never writing through a link planted at either path.

    The text goes into a new file with a random name (``O_EXCL``: an existing path is never opened),
    which then replaces ``target`` (``rename`` replaces a link, it does not follow it).
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_regular_file(path: Path, limit: int = MAX_OUTPUT_BYTES) -> str | None:
    """The text of ``path`` if it is a regular file (not a link) of at most ``limit`` bytes, else None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return None
        data = handle.read(limit + 1)
    if len(data) > limit:
        return None
    return data.decode("utf-8", errors="replace")


def remove_unsafe_entries(directory: Path) -> list[str]:
    """Remove every entry of ``directory`` that is not a regular file (links, directories, fifos)."""
    removed: list[str] = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        if entry.is_file(follow_symlinks=False):
            continue
        with contextlib.suppress(OSError):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
            removed.append(entry.name)
    return removed
