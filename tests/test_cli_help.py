"""``pressplay --help`` and every subcommand's: a description, help on every option, plain text (no
reStructuredText literals), exit 0; and ``pressplay github-emulator`` gives ``serve --dev`` a GitHub."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import httpx
import jwt
import pytest

from pressplay.cli import DELEGATED, build_parser, main

SUBCOMMANDS = ["serve", "plugin-configmap", "docs", *DELEGATED]


@pytest.mark.parametrize("command", ["", *SUBCOMMANDS])
def test_help_exits_0_with_a_description_in_plain_text(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [command, "--help"] if command else ["--help"]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's --help exits; a delegated command returns
        code = exc.code if isinstance(exc.code, int) else 0
    assert code == 0, command
    text = capsys.readouterr().out
    assert "``" not in text, f"{command}: reStructuredText literals in --help"
    _usage, _, rest = text.partition("\n\n")
    description = rest.split("\n\n", 1)[0]
    assert description.strip() and not description.startswith(("options:", "positional")), (
        f"{command or 'pressplay'} --help has no description"
    )
    for line in rest.splitlines():  # every option line has help: "  --flag VALUE   text"
        if re.match(r"^  -", line) and not re.search(r"\s{2,}\S", line.strip()):
            follows = rest.splitlines()[rest.splitlines().index(line) + 1 :]
            assert follows and follows[0].startswith(" " * 10), f"{command}: {line.strip()} has no help"


def test_the_parser_keeps_one_entry_per_subcommand() -> None:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert set(SUBCOMMANDS) <= set(sub.choices)  # type: ignore[arg-type]


def test_github_emulator_for_serve_dev() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "pressplay", "github-emulator", "--repo", "acme/api", "--app-id", "77"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(line.startswith("Ctrl-C") for line in lines):
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
        text = "\n".join(lines)
        url = re.search(r"GitHub emulator on (http://127\.0\.0\.1:\d+)", text)
        key = re.search(r"App private key: (\S+)", text)
        assert url and key, text
        assert "BEGIN" not in text  # the key's path, never the key
        assert f"pressplay serve --dev --github-api-url {url.group(1)} --github-app-id 77" in text
        assert oct(os.stat(key.group(1)).st_mode & 0o777) == "0o600"
        # the printed key is the App's: a JWT signed with it reads the App, and the repo is installed
        with open(key.group(1), "rb") as handle:
            token = jwt.encode({"iat": int(time.time()) - 30, "exp": int(time.time()) + 300, "iss": "77"},
                               handle.read(), "RS256")  # fmt: skip
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"}
        assert httpx.get(url.group(1) + "/app", headers=headers, timeout=10).json()["id"] == 77
        installation = httpx.get(url.group(1) + "/repos/acme/api/installation", headers=headers, timeout=10)
        assert installation.status_code == 200
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "GitHub emulator stopped" in out
    assert not os.path.exists(key.group(1))  # the throwaway key is gone


def test_github_emulator_refuses_a_bad_repo(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["github-emulator", "--repo", "api"]) == 2
    assert "--repo 'api': write owner/name" in capsys.readouterr().err
