"""The one secret scrubber: every log line, output, report and error message passes through it.

It masks what is shaped like a secret — PEM private keys (the whole block, across lines), GitHub
tokens (``ghp_``, ``gho_``, ``ghu_``, ``ghs_``, ``ghr_``, ``ghv_``, ``github_pat_``), JWTs, the
credentials inside URLs, ``Authorization`` header values, model-provider keys (``sk-...``) — plus any
exact value registered with :func:`register` (e.g. every secret in a pod's environment at start).
A leaf module: it imports nothing from pressplay.
"""

from __future__ import annotations

import re
import threading

__all__ = ["MASK", "redact", "register", "scrub"]

MASK = "[redacted]"
_PATTERNS = (
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.DOTALL),
    re.compile(r"\bgh[opsuvr]_[A-Za-z0-9_]{16,}"),
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}"),
    re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+(?=@)"),
    re.compile(r"(?i)(?<=authorization)(\s*[:=]\s*)(?:bearer|token|basic)\s+\S+"),
    re.compile(r"\bsk-(?:ant-)?[A-Za-z0-9_-]{20,}"),
)
_known: set[str] = set()
_lock = threading.Lock()


def register(secret: str) -> None:
    """Mask this exact value from now on (values shorter than 8 characters are ignored)."""
    if len(secret) >= 8:
        with _lock:
            _known.add(secret)


def redact(text: str) -> str:
    """``text`` with every secret-shaped part and every registered value replaced by :data:`MASK`."""
    for pattern in _PATTERNS:
        text = pattern.sub(r"\g<1>" + MASK if pattern.groups else MASK, text)
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for secret in known:
        text = text.replace(secret, MASK)
    return text


#: The name the client layers use; the same function.
scrub = redact
