"""Scrub secrets from text before it reaches a log, an output file or a report.

Covers GitHub token formats (``ghs_``, ``ghp_``, ``gho_``, ``ghu_``, ``ghr_``, ``github_pat_``), JWTs,
PEM private keys, credentials inside URLs, model provider keys (``sk-...``), plus any exact value registered with :func:`register`.
"""

from __future__ import annotations

import re
import threading

MASK = "***"
_PATTERNS = (
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.DOTALL),
    re.compile(r"\bgh[pousr]_[A-Za-z0-9_]{20,}"),
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}"),
    re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+(?=@)"),
    re.compile(r"\bsk-(?:ant-)?[A-Za-z0-9_-]{20,}"),  # model provider API keys (Anthropic, OpenAI)
)
_known: set[str] = set()
_lock = threading.Lock()


def register(secret: str) -> None:
    """Mask this exact value from now on (values shorter than 8 characters are ignored)."""
    if len(secret) >= 8:
        with _lock:
            _known.add(secret)


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(MASK, text)
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for secret in known:
        text = text.replace(secret, MASK)
    return text
