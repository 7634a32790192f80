"""Secrets: with a known App private key, agent token and webhook secret planted, nothing the product
writes contains them, nor any JWT or installation token it minted.

The scenario runs ``pressplay serve`` at DEBUG with the planted values in its environment and walks
the paths where a careless implementation would leak: normal writes, GitHub refusing the App (401 on
the token exchange), 5xx, resets, rate limits, a rejected bearer token, and bad arguments. Then it
scans every file in the sandbox (HOME, TMPDIR and the logs of *every* sidecar the suite started, so
restart, fuzzing and fault runs count too), and every reply, message and output the suite saw.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from pressplay.testing.agent import make_template
from tests.reliability._secrets import EMITTED, Planted, emitted, scan_texts, scan_tree

pytestmark = pytest.mark.reliability

REPO = "secrets/api"


def _call(sidecar: Any, key: str, args: dict[str, Any], outputs: list[str] | None = None) -> Any:
    with sidecar.agent(max_sleep=0.05) as agent:
        result = agent.run(make_template(key, args, outputs=outputs))
    for reply in result.replies:
        emitted(f"secrets {key} reply", reply.body if reply.body is not None else "")
    emitted(f"secrets {key} message", result.message)
    return result


def test_no_secret_in_logs_outputs_messages_or_files(
    github: Any, planted: Planted, sandbox: Path, serve: Any
) -> None:
    gh = github
    gh.create_repo(REPO, files={"README.md": "# secrets\n"})
    gh.push(REPO, "pressplay/task-s", {"s.py": "# s\n"}, message="Task s")
    sidecar = serve(speedup=1000.0)

    # 1. GitHub refuses the App once (401 on the installation token exchange), then works.
    gh.inject_fault(r"/access_tokens$", kind="status", status=401, times=1)
    first = _call(sidecar, "pullRequest", {"repo": REPO, "head": "pressplay/task-s", "title": "Task s"})
    assert first.phase == "Failed", first.message  # a 401 is permanent: fix the App, then retry
    # 2. Normal work, through transient trouble.
    gh.inject_fault(r"/pulls", kind="status", status=502, times=1)
    gh.inject_fault(r"/comments", kind="reset", times=1)
    gh.inject_fault(r"/labels", kind="secondary", retry_after=1, times=1)
    pr = _call(
        sidecar,
        "pullRequest",
        {"repo": REPO, "head": "pressplay/task-s", "title": "Task s", "labels": ["pressplay"]},
        ["number", "url"],
    )
    assert pr.phase == "Succeeded", pr.message
    number = int(pr.outputs["number"])
    done = _call(sidecar, "comment", {"repo": REPO, "number": number, "key": "s", "body": "hello"}, ["url"])
    assert done.phase == "Succeeded", done.message
    # 3. Permanent trouble and bad input.
    for args in (
        {"repo": "secrets/missing", "number": 1, "key": "s", "body": "x"},
        {"repo": REPO, "nmber": 1},
    ):
        assert _call(sidecar, "comment", args).phase == "Failed"
    # 4. A caller with the wrong token is refused without being told the right one.
    wrong = httpx.post(
        sidecar.url + "/api/v1/template.execute",
        json={"workflow": {"metadata": {}}, "template": {"plugin": {"pressplay": {}}}},
        headers={"Authorization": "Bearer not-the-token"},
        timeout=10,
    )
    assert wrong.status_code == 403
    emitted("wrong token reply", wrong.text)
    sidecar.stop()  # flush and close its log before the scan
    gh.clear_faults()

    # Tokens the emulator minted during the whole suite are secrets too.
    planted.extra.extend(gh.issued_tokens)
    assert gh.issued_tokens, "the scenario never authenticated as the App"
    leaks = scan_tree(planted, [sandbox], skip=[planted.private_key_file]) + scan_texts(planted, EMITTED)
    logs = sorted((sandbox / "logs").glob("*.log"))
    assert logs and any(p.stat().st_size for p in logs), "no sidecar log was written: nothing was scanned"
    assert not leaks, "\n".join(sorted(set(leaks)))


def test_the_scanner_finds_what_it_looks_for(planted: Planted, tmp_path: Path) -> None:
    """A control: each kind of leak, planted on purpose, is found (so a clean scan means something)."""
    key_line = next(line for line in planted.private_key_pem.splitlines() if len(line) >= 40)
    samples = {
        "token.log": f'{{"msg": "calling with Bearer {planted.token}"}}',
        "key.txt": f"oops {key_line} oops",
        "hook.json": f'{{"secret": "{planted.webhook_secret}"}}',
        "jwt.log": "Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiI0MjQyNDIifQ.c2lnbmF0dXJlLWJ5dGVz",
        "ghs.log": "token ghs_0123456789abcdefABCDEF0123",
    }
    for name, text in samples.items():
        (tmp_path / name).write_text(text)
    leaks = scan_tree(planted, [tmp_path])
    assert {line.split(":")[0].rsplit("/", 1)[-1] for line in leaks} == set(samples)
    from tests.reliability._figures import FIGURES

    FIGURES["secret_leaks"] -= len(leaks)  # the control's own finds are not leaks of the product


def test_no_secret_leaks_when_the_key_comes_inline(
    github: Any, planted: Planted, sandbox: Path, serve: Any
) -> None:
    """plugin.yaml passes the key as PEM text in PRESSPLAY_GITHUB_PRIVATE_KEY (a sidecar cannot mount a
    volume). Run steps that way, then with a corrupted key, and scan what the sidecar wrote and said."""
    gh = github
    repo = "inline/api"
    gh.create_repo(repo, files={"README.md": "# inline\n"})
    gh.push(repo, "pressplay/task-i", {"i.py": "# i\n"}, message="Task i")
    inline = {
        "PRESSPLAY_GITHUB_PRIVATE_KEY_FILE": None,
        "PRESSPLAY_GITHUB_PRIVATE_KEY": planted.private_key_pem,
    }
    sidecar = serve(speedup=1000.0, **inline)
    ok = _call(
        sidecar, "pullRequest", {"repo": repo, "head": "pressplay/task-i", "title": "Task i"}, ["number"]
    )
    assert ok.phase == "Succeeded", ok.message
    sidecar.stop()
    lines = planted.private_key_pem.splitlines()
    corrupted = "\n".join([*lines[:5], lines[5][::-1], *lines[6:]])
    broken = serve(speedup=1000.0, **{**inline, "PRESSPLAY_GITHUB_PRIVATE_KEY": corrupted})
    bad = _call(
        broken, "comment", {"repo": repo, "number": int(ok.outputs["number"]), "key": "i", "body": "x"}
    )
    assert bad.phase == "Failed" and "PRESSPLAY_GITHUB_PRIVATE_KEY" in bad.message, bad.message
    broken.stop()
    planted.extra.extend(gh.issued_tokens)
    leaks = scan_tree(planted, [sandbox / "logs"]) + scan_texts(planted, EMITTED)
    assert not leaks, "\n".join(sorted(set(leaks)))
