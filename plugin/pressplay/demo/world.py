"""The demo's world: a local git remote, the GitHub and Argo CD emulators, the sidecar, CI and deploys.

- **git**: a bare repository under the state directory is the remote the agent runtime clones and
  pushes, over HTTP (:mod:`pressplay.demo.git_http`: pushes need an installation token, which
  ``pressplay git-credential`` mints for git as it does in a pod). The GitHub emulator mirrors it
  (``sync_from_git``) after every push, and a merge made through the REST API is replayed in the
  bare repository (a squash commit) so the next task starts from the merged code.
- **CI**: every push to a ``pressplay/`` branch gets two check runs, ``test`` (the sample's tests, run
  for real on the pushed tree) and ``changelog`` (``changes/task-<id>.md`` exists); they complete after
  the ``checks`` step's first poll, so the step waits once like it would on GitHub.
- **Argo CD**: a preview Application per task (``greeter-preview-task-<id>``) follows pushes to its
  branch (Progressing, then Healthy at the pushed revision).
- **state**: the bare repository, the GitHub emulator's JSON snapshot and the preview apps live in
  the state directory, so a second run resumes from what GitHub says.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from pressplay.demo import git_http
from pressplay.demo.sample import REPO, Language, project_files, write_agents_dir
from pressplay.telemetry import LOGGER_NAME

APP_PREFIX = "greeter-preview-"


def app_for(branch: str) -> str:
    """The preview Application of a task branch: ``pressplay/task-3`` → ``greeter-preview-task-3``."""
    return APP_PREFIX + re.sub(r"[^a-z0-9-]", "-", branch.rsplit("/", 1)[-1].lower())


ARGOCD_NAMESPACE = "argocd"
SNAPSHOT_FILE = "github-emulator.json"
ARGOCD_FILE = "argocd-applications.json"
CI_CHECKS = ("test", "changelog")
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "pressplay demo",
    "GIT_AUTHOR_EMAIL": "demo@pressplay.invalid",
    "GIT_COMMITTER_NAME": "pressplay demo",
    "GIT_COMMITTER_EMAIL": "demo@pressplay.invalid",
    "GIT_TERMINAL_PROMPT": "0",
}


def git(*args: str, cwd: Path | None = None, data: bytes | None = None) -> str:
    proc = subprocess.run(
        ["git", *args], cwd=cwd, input=data, capture_output=True, env={**os.environ, **_GIT_ENV}, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args[:2])} failed: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout.decode(errors="replace")


def _inside_only(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo | None:
    """tarfile's ``data`` filter, but a member it refuses (a link out of the tree an agent committed)
    is left out instead of failing CI."""
    try:
        return tarfile.data_filter(member, dest)
    except tarfile.FilterError:
        return None


class World:
    """Everything the demo runs against; use as a context manager (it stops what it started)."""

    def __init__(
        self,
        state_dir: Path,
        *,
        language: Language = "python",
        agent_command: list[str] | None = None,
        speedup: float = 200.0,
    ) -> None:
        self.state_dir = state_dir
        self.language = language
        self.agent_command = agent_command
        self.speedup = speedup
        self.remote = state_dir / "remote.git"
        self.agents_dir = state_dir / "agents"
        self.github: Any = None
        self.kube: Any = None
        self.sidecar: Any = None
        self.resumed = False
        self.git_http: git_http.GitHttpServer | None = None
        self._pending: list[tuple[str, str]] = []
        self.ci_runs: list[dict[str, Any]] = []
        self._log_file: TextIO | None = None
        self._unfinished: list[Any] = []
        self.deployed: dict[str, str] = {}
        self._streams: list[tuple[logging.StreamHandler[Any], Any]] = []

    # -- lifecycle ----------------------------------------------------------------------------
    def __enter__(self) -> World:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        from pressplay.testing.github_emulator import GitHubEmulator
        from pressplay.testing.kube_emulator import KubeEmulator, app_status
        from pressplay.testing.sidecar import Sidecar

        self.state_dir.mkdir(parents=True, exist_ok=True)
        # The state directory usually sits inside a checkout: keep it out of `git status`.
        (self.state_dir / ".gitignore").write_text("*\n", encoding="utf-8")
        fresh_remote = not self.remote.exists()
        if fresh_remote:
            self._create_remote()
        language_file = self.state_dir / "language"
        if language_file.exists():
            self.language = language_file.read_text(encoding="utf-8").strip()  # type: ignore[assignment]
        language_file.write_text(self.language, encoding="utf-8")
        write_agents_dir(self.agents_dir, self.language, self.agent_command)

        self.github = GitHubEmulator()
        restored = not fresh_remote and self._restore()
        self.github.start()
        self.resumed = restored
        if not restored:
            self.github.create_repo(REPO, files={"README.md": "placeholder\n"})
        self.github.on_push(self._on_push)
        self.github.sync_from_git(REPO, self.remote)
        self._pending.clear()

        if git_http.available():
            self.git_http = git_http.GitHttpServer(self.remote, REPO, self.github.url).start()

        self.kube = KubeEmulator().start()
        argocd_file = self.state_dir / ARGOCD_FILE
        if not fresh_remote and argocd_file.exists():
            self.deployed = json.loads(argocd_file.read_text(encoding="utf-8"))
        for app, revision in self.deployed.items():
            self.kube.add_application(app, ARGOCD_NAMESPACE, status=app_status(revision=revision))
        settings = self.github.sidecar_settings(
            kube_api_url=self.kube.url,
            argocd_namespace=ARGOCD_NAMESPACE,
            argocd_url="https://argocd.example.com",
            requeue_min_seconds=1,
        )
        self.sidecar = Sidecar(speedup=self.speedup, **settings).start()
        self._quiet_logs()

    def _quiet_logs(self) -> None:
        """The sidecar's JSON log lines go to ``sidecar.log`` in the state directory, not the console."""
        self._log_file = (self.state_dir / "sidecar.log").open("a", encoding="utf-8")
        logger = logging.getLogger(LOGGER_NAME)
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
                self._streams.append((handler, handler.setStream(self._log_file)))

    def stop(self) -> None:
        if self.github is not None and self.github.url:
            self.save()
        for part in (self.sidecar, self.kube, self.git_http, self.github):
            if part is not None:
                try:
                    part.stop()
                except Exception:  # noqa: S112 - stop everything even if one part fails
                    continue
        self.sidecar = self.kube = self.git_http = None
        if self._log_file is not None:
            for handler, previous in self._streams:
                if previous is not None:
                    handler.setStream(previous)
            self._streams.clear()
            self._log_file.close()
            self._log_file = None

    def save(self) -> None:
        """Write the GitHub emulator's snapshot and the preview apps' revisions for the next run."""
        while self._unfinished:  # CI that was still running finishes while the demo is stopped
            self._unfinished.pop(0)()
        self._write(ARGOCD_FILE, json.dumps(self.deployed))
        self._write(SNAPSHOT_FILE, json.dumps(self.github.snapshot()))

    def _write(self, name: str, text: str) -> None:
        target = self.state_dir / name
        tmp = target.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)

    def _restore(self) -> bool:
        snapshot_path = self.state_dir / SNAPSHOT_FILE
        if not snapshot_path.exists():
            return False
        self.github.restore(json.loads(snapshot_path.read_text(encoding="utf-8")))
        return True

    # -- git ----------------------------------------------------------------------------------
    def _create_remote(self) -> None:
        with tempfile.TemporaryDirectory(prefix="pressplay-demo-seed-") as tmp:
            seed = Path(tmp)
            for rel, text in project_files(self.language).items():
                target = seed / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
            git("init", "-q", "-b", "main", cwd=seed)
            git("add", "-A", cwd=seed)
            git("commit", "-q", "-m", "greeter: empty project with a backlog of three tasks", cwd=seed)
            git("clone", "-q", "--bare", str(seed), str(self.remote))

    @property
    def remote_url(self) -> str:
        """Where agent steps clone and push: the HTTP git host, else the bare repository's path."""
        return self.git_http.remote_url if self.git_http is not None else str(self.remote)

    def agent_git_env(self) -> dict[str, str]:
        """The GitHub App settings ``pressplay git-credential`` needs (paths and ids, no secret)."""
        if self.git_http is None:
            return {}
        return {
            "PRESSPLAY_GITHUB_APP_ID": str(self.github.app_id),
            "PRESSPLAY_GITHUB_PRIVATE_KEY_FILE": str(self.github.private_key_file),
            "PRESSPLAY_GITHUB_API_URL": self.git_http.url,
        }

    def agent_hidden_paths(self) -> list[Path]:
        """What the agent phase must not reach: the App key's directory, the git remote, the snapshot."""
        paths = [self.remote, self.state_dir / SNAPSHOT_FILE]
        if self.github is not None and self.github.private_key_file is not None:
            paths.append(Path(self.github.private_key_file).parent)
        return paths

    def main_sha(self) -> str:
        return git(f"--git-dir={self.remote}", "rev-parse", "refs/heads/main").strip()

    def sync(self) -> None:
        """Mirror the bare remote into the GitHub emulator; pushes start CI and the preview deploy."""
        self.github.sync_from_git(REPO, self.remote)
        pending, self._pending = self._pending, []
        for branch, sha in pending:
            self._run_ci(branch, sha)
            self._deploy(branch, sha)

    def _on_push(self, repo: str, branch: str, sha: str, _before: str | None) -> None:
        if repo.lower() == REPO and branch.startswith("pressplay/"):
            self._pending.append((branch, sha))

    def mirror_merge(self, number: int, branch: str, title: str) -> str:
        """Replay a PR's squash merge in the bare remote and mirror it; returns the new main SHA."""
        with tempfile.TemporaryDirectory(prefix="pressplay-demo-merge-") as tmp:
            work = Path(tmp)
            git("clone", "-q", str(self.remote), str(work))
            git("merge", "-q", "--squash", f"origin/{branch}", cwd=work)
            git("commit", "-q", "-m", f"{title} (#{number})", cwd=work)
            git("push", "-q", "origin", "HEAD:refs/heads/main", cwd=work)
        self.sync()
        return self.main_sha()

    # -- CI and Argo CD -----------------------------------------------------------------------
    def _tree(self, sha: str, target: Path) -> None:
        archive = subprocess.run(
            ["git", f"--git-dir={self.remote}", "archive", "--format=tar", sha],
            capture_output=True,
            check=True,
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(target, filter=_inside_only)  # noqa: S202 - the data filter, links out dropped

    def _run_ci(self, branch: str, sha: str) -> None:
        match = re.search(r"task-([A-Za-z0-9._-]+)$", branch)
        task = match.group(1) if match else ""
        runs = {name: self.github.add_check_run(REPO, sha, name, status="in_progress") for name in CI_CHECKS}
        with tempfile.TemporaryDirectory(prefix="pressplay-demo-ci-") as tmp:
            tree = Path(tmp)
            self._tree(sha, tree)
            results = {"test": self._ci_test(tree), "changelog": self._ci_changelog(tree, task)}
        self.ci_runs.append({"branch": branch, "sha": sha, **{k: v[0] for k, v in results.items()}})
        poll = rf"^/repos/{re.escape(REPO)}/commits/[^/]+/(check-runs|check-suites|status)"

        def finish() -> None:
            for name, run_id in runs.items():
                conclusion, summary = results[name]
                self.github.complete_check_run(REPO, run_id, conclusion, summary=summary)

        self._unfinished.append(finish)

        def finish_once() -> None:
            if finish in self._unfinished:
                self._unfinished.remove(finish)
                finish()

        self.github.schedule(finish_once, after_polls=1, path=poll)

    def _ci_test(self, tree: Path) -> tuple[str, str]:
        if self.language == "rust":
            argv = ["cargo", "test", "--quiet"]
            env = {**os.environ, "CARGO_TARGET_DIR": str(self.state_dir / "cargo-target")}
        else:
            argv = [sys.executable, "-m", "unittest", "discover", "-s", "tests", "-t", ".", "-q"]
            env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        proc = subprocess.run(
            argv, cwd=tree, capture_output=True, text=True, env=env, timeout=600, check=False
        )
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-20:])
        if proc.returncode == 0:
            return "success", "All tests passed."
        return "failure", f"Tests failed:\n\n```\n{tail}\n```"

    @staticmethod
    def _ci_changelog(tree: Path, task: str) -> tuple[str, str]:
        note = tree / "changes" / f"task-{task}.md"
        if note.is_file() and note.read_text(encoding="utf-8").strip():
            return "success", f"changes/task-{task}.md is there."
        return (
            "failure",
            f"The change note for Task {task} is missing: add changes/task-{task}.md (one line).",
        )

    def _deploy(self, branch: str, sha: str) -> None:
        from pressplay.testing.kube_emulator import app_status

        app = app_for(branch)
        if app not in self.deployed:
            self.kube.add_application(app, ARGOCD_NAMESPACE, status=app_status(revision=self.main_sha()))
        self.deployed[app] = sha
        self.kube.script(
            app,
            [app_status(revision=sha, health="Progressing"), app_status(revision=sha)],
            namespace=ARGOCD_NAMESPACE,
        )

    # -- people -------------------------------------------------------------------------------
    def comment_as_member(self, number: int, body: str, user: str = "octocat") -> int:
        """A trusted person's PR comment (author_association MEMBER)."""
        return int(self.github.add_comment(REPO, number, body, user=user, author_association="MEMBER"))

    def pulls(self) -> list[Mapping[str, Any]]:
        state = self.github.repo_state(REPO)
        return [
            self.github.pull(REPO, n) for n, issue in sorted(state.issues.items()) if issue.pull is not None
        ]
