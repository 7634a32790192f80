"""Route templates for metrics and spans: ``/repos/acme/web/pulls/7`` → ``/repos/{owner}/{repo}/pulls/{number}``.

Keeps metric cardinality bounded: owners, repositories, numbers, SHAs, branch names and file paths
never become label values.
"""

from __future__ import annotations

import re

_SHA = re.compile(r"^[0-9a-f]{40}$")
#: segment after which the rest of the path is one free-form value (refs, file paths, names)
_REST_IS_VALUE = {
    "branches": "{branch}",
    "contents": "{path}",
    "compare": "{basehead}",
    "heads": "{branch}",
    "tags": "{tag}",
}
_NAMED_NEXT = {
    "labels": "{name}",
    "commits": "{ref}",
    "statuses": "{sha}",
    "workflows": "{workflow_id}",
    "installations": "{installation_id}",
}
_TAIL_AFTER_REF = {"status", "statuses", "check-runs", "check-suites"}


def route_template(path: str) -> str:
    """The route template of an API path (query string and base URL prefix already removed)."""
    path = path.split("?", 1)[0]
    parts = [p for p in path.split("/") if p]
    out: list[str] = []
    i = 0
    if len(parts) >= 3 and parts[0] == "repos":
        out = ["repos", "{owner}", "{repo}"]
        i = 3
    while i < len(parts):
        seg = parts[i]
        prev = out[-1] if out else ""
        if prev in _REST_IS_VALUE and not prev.startswith("{"):
            out.append(_REST_IS_VALUE[prev])
            break
        if prev == "commits" and not prev.startswith("{"):
            # commits/{ref}[/status|/statuses|/check-runs|/check-suites]; a ref may contain slashes
            rest = parts[i:]
            tail = rest[-1] if len(rest) > 1 and rest[-1] in _TAIL_AFTER_REF else None
            out.append("{ref}")
            if tail:
                out.append(tail)
            break
        if prev == "ref" or prev == "refs":
            out.append("{ref}")
            break
        if prev in _NAMED_NEXT and seg not in {"comments", "status"}:
            out.append(_NAMED_NEXT[prev])
        elif seg.isdigit():
            out.append("{id}" if prev not in {"pulls", "issues"} else "{number}")
        elif _SHA.match(seg):
            out.append("{sha}")
        else:
            out.append(seg)
        i += 1
    return "/" + "/".join(out)
