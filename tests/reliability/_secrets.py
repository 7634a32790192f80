"""Planted secrets and the scanner that looks for them in everything the product emitted.

A leak may be partial (one line of a PEM, a token inside a URL), so the scanner looks for every
distinctive fragment: each base64 line of the private key's body, the whole token, the whole webhook
secret, and any ``PRIVATE KEY-----`` armour at all.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tests.reliability._figures import add


@dataclass
class Planted:
    root: Path
    private_key_pem: str
    private_key_file: Path
    token: str
    webhook_secret: str
    #: Secrets discovered while running (installation tokens the emulator minted, ...).
    extra: list[str] = field(default_factory=list)

    def needles(self) -> dict[str, str]:
        found: dict[str, str] = {}
        body = [line for line in self.private_key_pem.splitlines() if line and "-----" not in line]
        for i, line in enumerate(body):
            if len(line) >= 40:
                found[line] = f"private key line {i + 1}"
        found[self.token] = "agent bearer token"
        found[self.webhook_secret] = "webhook secret"
        found["PRIVATE KEY-----"] = "PEM private key armour"
        for i, value in enumerate(self.extra):
            if len(value) >= 16:
                found[value] = f"runtime secret #{i + 1}"
        return found

    def add_key(self, path: Path) -> None:
        """Watch another private key too (a test's own emulator)."""
        self.extra.extend(
            line for line in path.read_text().splitlines() if len(line) >= 40 and "-----" not in line
        )

    def env(self) -> dict[str, str]:
        """What a sidecar process gets: the planted values wherever pressplay reads secrets."""
        return {
            "PRESSPLAY_TOKEN": self.token,
            "PRESSPLAY_GITHUB_PRIVATE_KEY_FILE": str(self.private_key_file),
            "PRESSPLAY_WEBHOOK_SECRET": self.webhook_secret,
            "GITHUB_WEBHOOK_SECRET": self.webhook_secret,
        }


def make_planted(root: Path, private_key_file: Path) -> Planted:
    """Plant a bearer token and a webhook secret; the private key is the App key pressplay signs with."""
    return Planted(
        root=root,
        private_key_pem=private_key_file.read_text(encoding="utf-8"),
        private_key_file=private_key_file,
        token="ppagent-" + secrets.token_urlsafe(24),
        webhook_secret="ppwebhook-" + secrets.token_urlsafe(24),
    )


#: Every reply body, node message and output the suite saw, for the final scan.
EMITTED: list[tuple[str, str]] = []


def emitted(where: str, payload: object) -> None:
    import json

    EMITTED.append((where, payload if isinstance(payload, str) else json.dumps(payload, default=str)))


#: Shapes of credentials nobody planted but that must never be written either.
SHAPES = {
    "a JWT": re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    "an installation token": re.compile(r"\bghs_[A-Za-z0-9]{20,}"),
    "a PEM block": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
}


def scan_texts(planted: Planted, texts: Iterable[tuple[str, str]]) -> list[str]:
    """``(where, text)`` pairs → one line per leak found ("<where>: <what>")."""
    needles = planted.needles()
    leaks: list[str] = []
    for where, text in texts:
        add("secret_scans")
        for needle, what in needles.items():
            if needle in text:
                leaks.append(f"{where}: {what}")
        for what, shape in SHAPES.items():
            if shape.search(text):
                leaks.append(f"{where}: {what}")
    add("secret_leaks", len(leaks))
    return leaks


def scan_tree(planted: Planted, roots: Iterable[Path], skip: Iterable[Path] = ()) -> list[str]:
    """Every file under ``roots`` (except ``skip``, e.g. the planted key file itself)."""
    skipped = {p.resolve() for p in skip}
    texts: list[tuple[str, str]] = []
    for root in roots:
        if not root.exists():
            continue
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            if path.resolve() in skipped:
                continue
            texts.append((str(path), path.read_bytes().decode("utf-8", "replace")))
    return scan_texts(planted, texts)
