"""The one secret scrubber: every log line, output, report and error message passes through it.

It masks what is shaped like a secret — PEM private keys (the whole block, across lines), GitHub
tokens (``ghp_``, ``gho_``, ``ghu_``, ``ghs_``, ``ghr_``, ``ghv_``, ``github_pat_``), JWTs, the
credentials inside URLs, ``Authorization`` header values, model-provider keys (``sk-...``) — plus any
exact value registered with :func:`register` (:func:`register_environment` registers every secret of a
process's environment at start, and the contents of the secret files it names).

:func:`redact` works on a whole text. Output that arrives line by line (a child process's log) goes
through a :class:`StreamRedactor`, which remembers that it is inside a PEM block, so a key printed over
many lines is masked line after line, not only its ``BEGIN`` line.

A leaf module: it imports nothing from pressplay.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping

__all__ = ["MASK", "StreamRedactor", "redact", "redact_lines", "register", "register_environment", "scrub"]

MASK = "[redacted]"
_PEM_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")
_PEM_END = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY-----")
_PATTERNS = (
    re.compile(
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)", re.DOTALL
    ),
    re.compile(r"\bgh[opsuvr]_[A-Za-z0-9_]{16,}"),
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}"),
    re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+(?=@)"),
    re.compile(r"(?i)(?<=authorization)(\s*[:=]\s*)(?:bearer|token|basic)\s+\S+"),
    re.compile(r"\bsk-(?:ant-)?[A-Za-z0-9_-]{20,}"),
)
#: A line inside a PEM block: base64, a ``Proc-Type:``/``DEK-Info:`` header, or blank, with any short
#: log prefix in front (``[agent] ``, a timestamp, a JSON string's quote) and punctuation after.
_PEM_BODY = re.compile(
    r"^(?:.{0,40}[^A-Za-z0-9+/=])?(?:[A-Za-z0-9+/=]{4,}|(?:Proc-Type|DEK-Info|Comment): .*)?[^A-Za-z0-9+/=]{0,8}$"
)
#: Names of variables whose values are secrets (matched anywhere in the name, case-insensitive).
_SECRET_NAME = re.compile(
    r"TOKEN|SECRET|PASSWORD|PASSWD|PRIVATE_KEY|API_KEY|APIKEY|ACCESS_KEY|CREDENTIAL|AUTHORIZATION|_KEY$|^KEY$",
    re.I,
)
#: A secret file named by such a variable is read at most this far.
_MAX_SECRET_FILE = 64 * 1024

_known: set[str] = set()
_lock = threading.Lock()
#: ``_known``, longest first, rebuilt when a secret is registered (read on every redaction, lock-free)
_longest_first: tuple[str, ...] = ()


def register(secret: str) -> None:
    """Mask this exact value from now on (values shorter than 8 characters are ignored).

    A multi-line value also registers each of its lines of 16 characters or more, so the value is
    masked when it is printed line by line.
    """
    secret = secret.strip()
    values = [secret]
    if "\n" in secret:  # not the PEM armor lines: they are no secret, and the PEM pattern needs them
        values += [s for line in secret.splitlines() if len(s := line.strip()) >= 16 and "-----" not in s]
    global _longest_first
    with _lock:
        _known.update(v for v in values if len(v) >= 8)
        _longest_first = tuple(sorted(_known, key=len, reverse=True))


def register_environment(environ: Mapping[str, str]) -> list[str]:
    """Register every secret of ``environ``; returns the names whose values were registered.

    A variable is a secret when its name says so (``*TOKEN*``, ``*SECRET*``, ``*PASSWORD*``,
    ``*API_KEY*``, ``*PRIVATE_KEY*``, ``*CREDENTIAL*``, ``*AUTHORIZATION*``, ``*_KEY``). When such a name ends in
    ``_FILE`` (``PRESSPLAY_GITHUB_PRIVATE_KEY_FILE``) and the value is a readable file, the file's
    contents are registered too.
    """
    names: list[str] = []
    for name, value in environ.items():
        if not value or not _SECRET_NAME.search(name.removesuffix("_FILE").removesuffix("_PATH")):
            continue
        if name.endswith(("_FILE", "_PATH")):
            try:
                with open(value, "rb") as handle:
                    content = handle.read(_MAX_SECRET_FILE).decode("utf-8", errors="replace")
            except OSError:
                continue
            if content.strip():
                register(content)
                names.append(name)
            continue
        register(value)
        names.append(name)
    return sorted(names)


def _registered(text: str) -> str:
    for secret in _longest_first:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def redact(text: str) -> str:
    """``text`` with every secret-shaped part and every registered value replaced by :data:`MASK`."""
    for pattern in _PATTERNS:
        text = pattern.sub(r"\g<1>" + MASK if pattern.groups else MASK, text)
    return _registered(text)


class StreamRedactor:
    """Redacts a stream line by line while remembering state across lines.

    Inside a PEM private key block (from its ``BEGIN`` line to its ``END`` line, or to the first line
    that is not PEM body) every line becomes :data:`MASK`. Every other line goes through
    :func:`redact`. Thread-safe per instance is not needed: one instance per stream.
    """

    def __init__(self) -> None:
        self._in_pem = False

    def line(self, line: str) -> str:
        """The redacted form of one line (without its newline)."""
        if self._in_pem:
            end = _PEM_END.search(line)
            if end is not None:
                self._in_pem = False
                rest = line[end.end() :]
                return MASK + (redact(rest) if rest.strip() else "")
            if _PEM_BODY.match(line) or _PEM_BEGIN.search(line):
                return MASK
            self._in_pem = False  # not a key line: the block was cut short; this line is ordinary
        begin = _PEM_BEGIN.search(line)
        if begin is not None and not _PEM_END.search(line, begin.end()):
            self._in_pem = True
            return redact(line[: begin.start()]) + MASK
        return redact(line)

    def lines(self, lines: Iterable[str]) -> list[str]:
        return [self.line(line) for line in lines]


def redact_lines(lines: Iterable[str]) -> list[str]:
    """Lines of one stream, redacted with a fresh :class:`StreamRedactor`."""
    return StreamRedactor().lines(lines)


#: The name the client layers use; the same function.
scrub = redact
