"""The agent CLI's model-provider credentials: is one there, what did the CLI say, what is the fix.

An agent CLI with no credentials fails in its own words (Claude Code: ``Not logged in · Please run
/login``); pressplay keeps those words and adds what the admin does about it: which key of the Secret
``pressplay-agent-credentials`` to set (the ``agent-step`` template loads that Secret, optional, into
the agent's container with ``envFrom``). Retrying such a run changes nothing, so the step stops at once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

#: The Secret the agent-step template loads into the agent container (envFrom, optional).
CREDENTIALS_SECRET = "pressplay-agent-credentials"  # noqa: S105 - a Secret name, no secret
MAX_REASON = 400

# What CLIs print when the provider refused (or never got) a credential.
_AUTH_FAILURE = re.compile(
    r"not logged in|please run /login|invalid api key|invalid x-api-key|authentication_failed|"
    r"authentication[ _]error|401 unauthorized|\b401\b.*unauthorized|incorrect api key|missing bearer|"
    r"no codex credentials|api key (?:is )?(?:missing|required|not set)",
    re.IGNORECASE,
)
# Other reasons a CLI gives that pressplay can name the fix for.
_HINTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"cannot be used with root|root/sudo privileges", re.IGNORECASE),
        "the agent container runs as root: the agent-step template runs it as UID 8738 "
        "(securityContext.runAsUser); do not override it",
    ),
)


def present(credentials: Sequence[str], env: Mapping[str, str]) -> list[str]:
    """The credential variables of ``credentials`` that are set (non-empty) in ``env``."""
    return [name for name in credentials if env.get(name, "").strip()]


def fix(credentials: Sequence[str]) -> str:
    """What to do when the CLI has no credentials: the Secret key(s) to set."""
    if not credentials:
        return (
            f"give the agent CLI its model-provider credentials in the Secret `{CREDENTIALS_SECRET}` "
            "(loaded into the agent container by the agent-step template); see docs/agent-image.md"
        )
    first, others = credentials[0], credentials[1:]
    alternatives = f" (or {', '.join(others)})" if others else ""
    return (
        f"set {first}{alternatives} in the Secret `{CREDENTIALS_SECRET}` in the workflows' namespace, e.g. "
        f"`kubectl create secret generic {CREDENTIALS_SECRET} --from-literal={first}=<key>`: the agent-step "
        "template loads it into the agent container (docs/agent-image.md)"
    )


def reason(tail: Sequence[str]) -> str:
    """The CLI's own last words: a JSON ``result``/``error`` line it printed last, else its last lines."""
    for line in reversed(tail):
        text = line.strip()
        if not text.startswith("{"):
            continue
        try:
            event = json.loads(text)
        except ValueError:
            continue
        if isinstance(event, dict):
            for key in ("result", "error", "message"):
                value = event.get(key)
                if isinstance(value, str) and value.strip():
                    return _clip(value.strip())
                if isinstance(value, dict) and isinstance(value.get("message"), str):
                    return _clip(value["message"].strip())
    lines = [line.strip() for line in tail if line.strip()][-3:]
    return _clip(" / ".join(lines))


def auth_failed(tail: Sequence[str]) -> bool:
    """Whether the CLI's output says the provider refused, or never got, a credential."""
    return any(_AUTH_FAILURE.search(line) for line in tail[-60:])


def hints(tail: Sequence[str]) -> list[str]:
    """Fixes pressplay knows for other reasons the CLI gave."""
    found: list[str] = []
    for pattern, hint in _HINTS:
        if any(pattern.search(line) for line in tail[-60:]) and hint not in found:
            found.append(hint)
    return found


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"
