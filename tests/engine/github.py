"""GitHub for the engine: the demo's world (GitHub emulator, git over HTTP, the sample's CI), driven
by what Argo's pods do instead of by the demo's runner.

- A push by an agent pod lands in the bare remote through ``git http-backend``; a watcher mirrors
  the remote into the emulator (``World.sync``), which starts the sample's CI on ``pressplay/`` branches.
- A merge through the REST API (the ``merge`` step) moves ``main`` in the emulator; the watcher replays
  it in the bare remote (``World.mirror_merge``), so the next agent clones the merged code.

Both run on one watcher thread, in that order, so a mirror never races a merge.
"""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path
from typing import Any


class GitHubSide:
    def __init__(self, state_dir: Path, *, log: Any = print) -> None:
        self.state_dir = state_dir
        self.log = log
        self.world: Any = None
        self._stop = threading.Event()
        self._merges: list[str] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, daemon=True, name="github-watcher")
        self._refs = ""

    def start(self) -> GitHubSide:
        from pressplay.demo.world import World

        self.world = World(self.state_dir)
        self.world.start()
        # The demo points the pressplay logger's stream handlers at its log file; here nothing of the
        # demo's in-process sidecar matters, and pytest's capture handlers must keep their streams.
        for handler, previous in getattr(self.world, "_streams", []):
            if previous is not None:
                handler.setStream(previous)
        if hasattr(self.world, "_streams"):
            self.world._streams.clear()
        self.world.github.on_push(self._on_push)
        self._refs = self._remote_refs()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10)
        if self.world is not None:
            self.world.stop()

    # -- facts -------------------------------------------------------------------------------------
    @property
    def repo(self) -> str:
        from pressplay.demo.sample import REPO

        repo: str = REPO
        return repo

    @property
    def api_url(self) -> str:
        """The one address of this GitHub: git over HTTP and the REST API (like GitHub Enterprise)."""
        url: str = self.world.git_http.url if self.world.git_http is not None else self.world.github.url
        return url

    @property
    def app_id(self) -> str:
        return str(self.world.github.app_id)

    @property
    def private_key_pem(self) -> str:
        text: str = Path(self.world.github.private_key_file).read_text(encoding="utf-8")
        return text

    @property
    def agents_dir(self) -> Path:
        path: Path = self.world.agents_dir
        return path

    def pulls(self) -> list[dict[str, Any]]:
        out = []
        for pr in self.world.pulls():
            out.append(
                {
                    "repo": self.repo,
                    "number": pr["number"],
                    "title": pr["title"],
                    "head": pr["head"]["ref"],
                    "state": pr["state"],
                    "merged": bool(pr.get("merged")),
                }
            )
        return out

    # -- watcher -----------------------------------------------------------------------------------
    def _on_push(self, repo: str, branch: str, sha: str, _before: str | None) -> None:
        if repo.lower() == self.repo and branch == "main" and not self._in_remote(sha):
            with self._lock:
                self._merges.append(sha)

    def _in_remote(self, sha: str) -> bool:
        proc = subprocess.run(
            ["git", f"--git-dir={self.world.remote}", "cat-file", "-e", f"{sha}^{{commit}}"],
            capture_output=True,
            check=False,
        )
        return proc.returncode == 0

    def _remote_refs(self) -> str:
        return subprocess.run(
            ["git", f"--git-dir={self.world.remote}", "for-each-ref", "--format=%(refname) %(objectname)"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout

    def _watch(self) -> None:
        while not self._stop.wait(0.1):
            try:
                with self._lock:
                    merges, self._merges = self._merges, []
                for sha in merges:
                    self._mirror(sha)
                # Snapshot first, then mirror: a push landing during the sync is seen next time.
                refs = self._remote_refs()
                if refs != self._refs:
                    self.world.sync()
                    self._refs = refs
            except Exception as err:
                self.log(f"github watcher: {err!r}")

    def _mirror(self, sha: str) -> None:
        for pr in self.world.pulls():
            if pr.get("merged") and pr.get("merge_commit_sha") == sha:
                try:
                    main = self.world.mirror_merge(pr["number"], pr["head"]["ref"], pr["title"])
                except RuntimeError as err:  # e.g. a seeded branch with nothing to squash
                    self.log(
                        f"github: PR #{pr['number']} merged with no change to mirror ({err}); main stays"
                    )
                    self.world.sync()
                    return
                self.log(f"github: PR #{pr['number']} merged; main is {main[:12]} in the git remote")
                return
