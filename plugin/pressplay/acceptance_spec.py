"""The acceptance spec (v1): what "this task is done" means, as data the `acceptance` step evaluates.

A spec is a YAML (or JSON) document, usually ``acceptance.yaml`` in the task's folder, or given
inline in the step. It lists *criteria*; each has a ``kind``:

- ``checks``: check runs / commit statuses on the PR head have passed (named ones, or all of them);
- ``reviews``: at least ``minApprovals`` approvals and no outstanding "changes requested";
- ``deploy``: an Argo CD Application is Synced and Healthy **at the PR head** revision;
- ``http``: an HTTP(S) probe answers with the expected status (and body pattern) in time;
- ``agent``: the acceptance agent's verdict (an :class:`AgentVerdict` document) passes.

The JSON Schema of both documents is generated from these models (:func:`json_schema`) and committed
as ``schemas/acceptance-spec.v1.json``; regenerate it with ``python -m pressplay.acceptance_spec``
(a test fails when the committed file is stale), and check spec files with
``python -m pressplay.acceptance_spec check FILE...``. See ``docs/acceptance-spec.md``.
"""

from __future__ import annotations

import ipaddress
import json
import re
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import re2
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from pressplay.types import OWN_CONTEXT_PREFIX, Duration

SPEC_VERSION = 1
SCHEMA_ID = "https://pressplay.dev/schemas/acceptance-spec.v1.json"
SCHEMA_FILE = "schemas/acceptance-spec.v1.json"
#: Conclusions of a check run that count as passed unless a criterion says otherwise.
Conclusion = Literal["success", "neutral", "skipped"]
DEFAULT_PASSING_CONCLUSIONS: tuple[Conclusion, ...] = ("success", "neutral", "skipped")
#: pressplay's own status contexts start with this: a `checks` criterion never requires them.
OWN_PREFIX = OWN_CONTEXT_PREFIX
_ID_RE = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$"


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
    )


class _Criterion(_Model):
    id: str | None = Field(
        None,
        pattern=_ID_RE,
        description="Stable id of the criterion (letters, digits, `.`, `_`, `-`). Default: `<kind>-<n>`.",
    )
    name: str | None = Field(
        None, max_length=200, description="What the report calls this criterion. Default: derived from it."
    )


class ChecksCriterion(_Criterion):
    """Check runs and commit statuses on the PR head."""

    kind: Literal["checks"]
    required: list[str] = Field(
        default_factory=list,
        description=(
            "Names of check runs or commit-status contexts that must pass, exact or as glob patterns "
            "(`build (*)`), as in the `checks` step. Empty: every check run and status on the head must "
            "pass (at least one must exist)."
        ),
    )
    branch_protection: bool = Field(
        False,
        description=(
            "Also require the checks that the protection of the PR's base branch requires "
            "(read from GitHub on every evaluation)."
        ),
    )
    ignore: list[str] = Field(
        default_factory=list,
        description="Check names or glob patterns to leave out when no check is required by name.",
    )
    passing_conclusions: list[Conclusion] = Field(
        default_factory=lambda: list(DEFAULT_PASSING_CONCLUSIONS),
        description="Check-run conclusions that count as passed (`success` always does).",
    )

    @field_validator("required")
    @classmethod
    def _not_own(cls, value: list[str]) -> list[str]:
        own = [name for name in value if name.startswith(OWN_PREFIX)]
        if own:
            raise ValueError(
                f"{', '.join(own)}: pressplay's own status contexts (`{OWN_PREFIX}*`) are never waited on "
                "(the gate would wait for itself); remove them from `required`"
            )
        return value


class ReviewsCriterion(_Criterion):
    """Pull-request reviews by people with write access."""

    kind: Literal["reviews"]
    min_approvals: int = Field(
        1,
        ge=0,
        le=20,
        description=(
            "Approvals needed (latest review per reviewer; OWNER/MEMBER/COLLABORATOR only). "
            "While fewer exist the criterion is pending."
        ),
    )
    no_changes_requested: bool = Field(
        True,
        description="Fail while any reviewer's latest review requests changes.",
    )


class DeployCriterion(_Criterion):
    """An Argo CD Application deployed the PR head."""

    kind: Literal["deploy"]
    application: str = Field(
        ...,
        pattern=r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$",
        description="Name of the Argo CD Application that deploys this PR.",
    )
    namespace: str | None = Field(
        None,
        pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$",
        description="Namespace of the Application. Default: the sidecar's `PRESSPLAY_ARGOCD_NAMESPACE`.",
    )
    require_revision: bool = Field(
        True,
        description="Require the synced revision to be the PR head SHA (false: any revision).",
    )


class HttpCriterion(_Criterion):
    """An HTTP(S) probe."""

    kind: Literal["http"]
    url: str = Field(
        ...,
        max_length=2048,
        description=(
            "`http://` or `https://` URL to request (no credentials in it). Its host must resolve to public "
            "addresses, or to a range the sidecar allows (`PRESSPLAY_PROBE_ALLOW_CIDRS`); link-local and "
            "cloud metadata addresses are never probed."
        ),
        json_schema_extra={"pattern": "^https?://[^/?#@\\s]+([/?#]\\S*)?$"},
    )
    method: Literal["GET", "HEAD"] = Field("GET", description="HTTP method.")
    expect_status: Annotated[
        list[int],
        WithJsonSchema(
            {
                "anyOf": [
                    {"type": "integer", "minimum": 100, "maximum": 599},
                    {
                        "type": "array",
                        "items": {"type": "integer", "minimum": 100, "maximum": 599},
                        "minItems": 1,
                    },
                ]
            }
        ),
    ] = Field(
        default_factory=lambda: [200],
        description="Status code(s) that pass, e.g. `200` or `[200, 204]`.",
    )
    body_pattern: str | None = Field(
        None,
        max_length=1000,
        description=(
            "RE2 regular expression searched in the body (first 1 MiB); RE2 has no backreferences or "
            "lookaround, and runs in linear time."
        ),
    )
    timeout: Duration = Field(
        timedelta(seconds=10),
        description="Time allowed for the request, at most 20s (probes run in parallel).",
        json_schema_extra={"default": "10s"},
    )
    follow_redirects: bool = Field(
        False,
        description="Follow up to 5 redirects, to http/https URLs only.",
    )

    @model_validator(mode="after")
    def _body_needs_get(self) -> HttpCriterion:
        if self.body_pattern is not None and self.method == "HEAD":
            raise ValueError("bodyPattern needs method GET: a HEAD response has no body")
        return self

    @field_validator("url")
    @classmethod
    def _http_only(cls, value: str) -> str:
        check_probe_url(value)
        return value

    @field_validator("expect_status", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, int) else value

    @field_validator("expect_status")
    @classmethod
    def _statuses(cls, value: list[int]) -> list[int]:
        bad = [code for code in value if not 100 <= code <= 599]
        if bad or not value:
            raise ValueError(f"expectStatus must hold HTTP status codes between 100 and 599, got {value}")
        return value

    @field_validator("body_pattern")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            compile_pattern(value, "bodyPattern")
        return value

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, value: timedelta) -> timedelta:
        if not timedelta(0) < value <= timedelta(seconds=20):
            raise ValueError("timeout must be more than 0 and at most 20s")
        return value


class AgentItem(_Model):
    id: str = Field(..., pattern=_ID_RE, description="Id the verdict must report under.")
    description: str = Field("", max_length=2000, description="What the acceptance agent must verify.")


class AgentCriterion(_Criterion):
    """The acceptance agent's verdict."""

    kind: Literal["agent"]
    items: list[AgentItem] = Field(
        default_factory=list,
        description=(
            "What the agent must verify; each id must appear in the verdict with `passed: true`. "
            "Empty: every item the verdict reports must pass (and it must report at least one)."
        ),
    )

    @field_validator("items")
    @classmethod
    def _unique(cls, value: list[AgentItem]) -> list[AgentItem]:
        dupes = _duplicates([item.id for item in value])
        if dupes:
            raise ValueError(f"agent item ids must be unique; repeated: {', '.join(dupes)}")
        return value


Criterion = Annotated[
    ChecksCriterion | ReviewsCriterion | DeployCriterion | HttpCriterion | AgentCriterion,
    Field(discriminator="kind"),
]
KINDS = ("checks", "reviews", "deploy", "http", "agent")


class AcceptanceSpec(_Model):
    """What must hold before a task's PR is accepted (version 1)."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        title="AcceptanceSpec",
        json_schema_extra={"examples": [{"version": 1, "criteria": [{"kind": "checks"}]}]},
    )

    version: Literal[1] = Field(..., description="Spec format version; this schema is version 1.")
    description: str = Field("", max_length=2000, description="Free text shown above the report.")
    criteria: list[Criterion] = Field(..., min_length=1, description="The criteria; all must pass.")

    @model_validator(mode="after")
    def _ids(self) -> AcceptanceSpec:
        dupes = _duplicates([c.id for c in self.criteria if c.id])
        if dupes:
            raise ValueError(f"criterion ids must be unique; repeated: {', '.join(dupes)}")
        return self

    def criterion_ids(self) -> list[str]:
        """Each criterion's id: its own, or ``<kind>-<n>`` (n counts that kind from 1)."""
        seen: dict[str, int] = {}
        ids = []
        for crit in self.criteria:
            seen[crit.kind] = seen.get(crit.kind, 0) + 1
            ids.append(crit.id or f"{crit.kind}-{seen[crit.kind]}")
        return ids


class VerdictItem(_Model):
    id: str = Field(..., pattern=_ID_RE, description="The spec item's id (or the agent's own id).")
    passed: bool = Field(..., description="Whether this item holds.")
    evidence: str = Field(
        ..., min_length=1, max_length=4000, description="What the agent observed: command, output, link."
    )
    url: str | None = Field(None, max_length=2048, description="A link to the evidence, if any.")


class AgentVerdict(_Model):
    """The document the acceptance agent writes (its step's `verdict` output)."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True, title="AgentVerdict"
    )

    version: Literal[1] = Field(..., description="Verdict format version; 1.")
    summary: str = Field("", max_length=2000, description="One paragraph for humans.")
    items: list[VerdictItem] = Field(..., description="One entry per verified item.")

    @field_validator("items")
    @classmethod
    def _unique(cls, value: list[VerdictItem]) -> list[VerdictItem]:
        dupes = _duplicates([item.id for item in value])
        if dupes:
            raise ValueError(f"verdict item ids must be unique; repeated: {', '.join(dupes)}")
        return value


class SpecError(ValueError):
    """A spec or verdict document that cannot be used; the message says where and how to fix it."""


def _duplicates(values: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    dupes: list[str] = []
    for value in values:
        if value in seen and value not in dupes:
            dupes.append(value)
        seen.add(value)
    return dupes


#: The most RE2 instructions a pattern may compile to: RE2's search time is linear in the text times
#: the program, so this and the body limit bound it (a Unicode class such as ``\\pL`` is ~1200).
PATTERN_MAX_PROGRAM = 2000
#: RE2's memory budget for one pattern (program and DFA cache): a larger program is refused.
PATTERN_MAX_MEM = 8 << 20
_RE2_SYNTAX = "https://github.com/google/re2/wiki/Syntax"


def _re2_options() -> Any:
    options = re2.Options()
    options.never_capture = True  # only "does it match": the DFA answers, no submatch tracking
    options.log_errors = False
    options.max_mem = PATTERN_MAX_MEM
    return options


def compile_pattern(pattern: str, where: str = "bodyPattern") -> Any:
    """``pattern`` compiled by RE2 (linear time, no backtracking: ``(a+)+$`` cannot stall the sidecar).

    Raises ValueError naming ``where`` and the fix for a pattern RE2 does not accept (a syntax error,
    a backreference or lookaround, which are Python/PCRE only) or that compiles too large.
    """
    try:
        compiled = re2.compile(pattern, _re2_options())
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        if "too large" in str(reason):
            raise ValueError(_too_large(where, "more than RE2's memory budget")) from exc
        raise ValueError(
            f"{where} is not a valid RE2 regular expression ({reason}): write it in RE2 syntax "
            f"({_RE2_SYNTAX}); RE2 has no backreferences (`\\1`), lookaround (`(?=`, `(?<=`, `(?!`) or "
            "possessive quantifiers, so match the text itself instead"
        ) from exc
    size = max(int(compiled.programsize), int(compiled.reverseprogramsize))
    if size > PATTERN_MAX_PROGRAM:
        raise ValueError(_too_large(where, f"{size} instructions, at most {PATTERN_MAX_PROGRAM}"))
    return compiled


def _too_large(where: str, size: str) -> str:
    return (
        f"{where} is too large for RE2 ({size}): use smaller counted repetitions (`{{n,m}}`) and "
        "character classes (a Unicode class such as `\\pL` is large)"
    )


# -- which addresses a probe may reach ---------------------------------------------------------------

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
#: Cloud metadata services (AWS/GCP/Azure/OCI/DigitalOcean, the ECS task endpoints, AWS over IPv6,
#: Alibaba): never probed, whatever ``PRESSPLAY_PROBE_ALLOW_CIDRS`` allows.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "169.254.170.23", "fd00:ec2::254", "fd00:ec2::23",
              "100.100.100.200", "192.0.0.192")
)  # fmt: skip
#: Never probed, even inside an allowed range: link-local (where metadata lives), multicast, unspecified.
_NEVER = "link-local, multicast or unspecified"
REFUSED = "refused: not a public address"
_IPV4_PART = re.compile(r"^(?:0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$")
#: IPv4 addresses carried inside IPv6 ones: IPv4-compatible (::/96) and NAT64 (64:ff9b::/96).
_EMBEDDING = (
    ipaddress.ip_network("::/96"),
    ipaddress.ip_network("64:ff9b::/96"),
    ipaddress.ip_network("64:ff9b:1::/48"),
)


def literal_address(host: str) -> IPAddress | None:
    """The address ``host`` names when it is an IP literal in **any** notation a resolver accepts, else None.

    IPv4 as ``inet_aton`` reads it: decimal, hex (``0xa9fea9fe``), octal (``0251.0376.0251.0376``), one to
    four parts (``2852039166``, ``169.254.43518``), a trailing dot; IPv6 with or without brackets (a zone
    id is dropped). Raises ValueError for a numeric host no resolver could mean (``1.2.3.4.5``, ``256.1``).
    """
    name = host.strip().strip("[]")
    if "%" in name:
        name = name.split("%", 1)[0]
    if ":" in name:
        try:
            return ipaddress.IPv6Address(name)
        except ValueError:
            return None
    name = name[:-1] if name.endswith(".") else name
    parts = name.split(".")
    if not name or not all(_IPV4_PART.match(p) for p in parts):
        return None  # a DNS name (the resolver answers for it)
    numbers = [_ipv4_number(p) for p in parts]
    *head, last = numbers
    if len(numbers) > 4 or any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        raise ValueError(f"{host} is not a valid IPv4 address")
    value = last
    for i, n in enumerate(head):
        value += n << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


def _ipv4_number(part: str) -> int:
    """One part of an IPv4 address as ``inet_aton`` reads it: ``0x..`` hex, ``0..`` octal, else decimal."""
    if part[:2] in ("0x", "0X"):
        return int(part[2:], 16)
    if len(part) > 1 and part[0] == "0":
        return int(part[1:], 8)
    return int(part)


def _embedded(address: IPAddress) -> list[IPAddress]:
    """``address`` and every IPv4 address inside it (mapped, compatible, NAT64, 6to4, Teredo)."""
    found: list[IPAddress] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            found.append(address.ipv4_mapped)
        if address.sixtofour is not None:
            found.append(address.sixtofour)
        if address.teredo is not None:
            found.extend(address.teredo)
        if int(address) > 1 and any(address in net for net in _EMBEDDING):  # not :: or ::1
            found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def never_probed(address: IPAddress) -> bool:
    """Link-local (cloud metadata), multicast, unspecified or a metadata address, in any embedding."""
    return any(
        a.is_link_local or a.is_multicast or a.is_unspecified or a in METADATA_ADDRESSES
        for a in _embedded(address)
    )


def refused(address: IPAddress, allow: Sequence[IPNetwork] = ()) -> bool:
    """Whether a probe must not connect to ``address``: anything not public (loopback, private, unique
    local, shared, reserved, documentation, ...) unless inside an ``allow`` range, and whatever
    :func:`never_probed` says in any case. An IPv4 address inside an IPv6 one is judged as itself
    (mapped, compatible and NAT64 addresses only as the IPv4 address they carry)."""
    if never_probed(address):
        return True
    judged = _embedded(address)
    if isinstance(address, ipaddress.IPv6Address) and len(judged) > 1 and address.sixtofour is None:
        judged = judged[1:]  # ::ffff:a.b.c.d, ::a.b.c.d, 64:ff9b::a.b.c.d reach a.b.c.d
    for a in judged:
        public = a.is_global and not (a.is_reserved or a.is_loopback or a.is_private)
        if isinstance(a, ipaddress.IPv6Address) and a.is_site_local:
            public = False
        if not public and not any(a.version == net.version and a in net for net in allow):
            return True
    return False


def check_probe_url(value: str) -> None:
    """Raise ValueError unless ``value`` is an absolute http(s) URL a probe may be pointed at.

    The static part of the check (the probe resolves the host and checks every address again, with the
    sidecar's allowed ranges): the scheme, no credentials, a port that parses, and no IP literal that
    is never probed (link-local, metadata, multicast, unspecified), in any notation.
    """
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"only http:// and https:// URLs may be probed, got {parts.scheme or 'no'} scheme")
    if not parts.hostname:
        raise ValueError("the URL has no host, e.g. https://preview.example.com/health")
    if parts.username or parts.password:
        raise ValueError(
            "the URL carries credentials, which would end up in the PR report: probe a public URL"
        )
    try:
        _ = parts.port
    except ValueError as exc:
        raise ValueError(f"the URL's port is not a number from 0 to 65535: {exc}") from exc
    address = literal_address(parts.hostname)
    if address is not None and never_probed(address):
        raise ValueError(
            f"{parts.hostname} is a {_NEVER} address (or cloud metadata) and may not be probed: "
            "probe the service's public URL"
        )


def _location(loc: Sequence[int | str], root: str, data: Any) -> str:
    """``criteria[2].url``-style path, naming a criterion by its kind for orientation."""
    out = root
    node: Any = data
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("kind"), str):
                out += f" (kind {node['kind']})"
        else:
            if part in KINDS and isinstance(node, dict) and node.get("kind") == part:
                continue  # the discriminator's branch name adds nothing
            out += f".{part}" if out else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return out or "(document)"


def explain(error: ValidationError, root: str, data: Any) -> str:
    """One line per problem: where it is, what is wrong."""
    lines = []
    for item in error.errors(include_url=False):
        where = _location(item["loc"], root, data)
        kind = item["type"]
        msg = item["msg"].removeprefix("Value error, ")
        if kind == "extra_forbidden":
            msg = "unknown field (check the spelling; see docs/acceptance-spec.md)"
        elif kind == "missing":
            msg = "required field is missing"
        elif kind == "union_tag_invalid":
            msg = f"unknown kind; use one of {', '.join(KINDS)}"
        elif kind == "union_tag_not_found":
            msg = f"each criterion needs a `kind`: one of {', '.join(KINDS)}"
        lines.append(f"{where}: {msg}")
    return "\n".join(f"- {line}" for line in lines)


def _load_text(text: str, what: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpecError(f"{what} is not valid YAML/JSON{where}: {problem}") from exc


def parse_spec(source: str | dict[str, Any], what: str = "the acceptance spec") -> AcceptanceSpec:
    """Validate a spec given as YAML/JSON text or as a mapping; :class:`SpecError` says what to fix."""
    data = _load_text(source, what) if isinstance(source, str) else source
    if not isinstance(data, dict):
        raise SpecError(
            f"{what} must be a mapping with `version: 1` and `criteria: [...]`, got {type(data).__name__}"
        )
    if "version" not in data:
        raise SpecError(f"{what} has no `version`: add `version: 1` (the only version so far)")
    if data.get("version") != SPEC_VERSION:
        raise SpecError(f"{what} has version {data.get('version')!r}; this pressplay reads version 1 only")
    try:
        return AcceptanceSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(f"{what} is invalid:\n{explain(exc, '', data)}") from exc


def parse_verdict(source: str | dict[str, Any]) -> AgentVerdict:
    """Validate the acceptance agent's verdict document (JSON or YAML text, or a mapping)."""
    what = "the agent verdict"
    data = _load_text(source, what) if isinstance(source, str) else source
    if not isinstance(data, dict):
        raise SpecError(
            f"{what} must be a JSON object with `version: 1` and `items`, got {type(data).__name__}"
        )
    try:
        return AgentVerdict.model_validate(data)
    except ValidationError as exc:
        raise SpecError(f"{what} is invalid:\n{explain(exc, '', data)}") from exc


def json_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) of the spec, with the agent verdict under ``$defs.AgentVerdict``."""
    schema = AcceptanceSpec.model_json_schema(by_alias=True)
    verdict = AgentVerdict.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
    defs = schema.setdefault("$defs", {})
    defs.update(verdict.pop("$defs", {}))
    defs["AgentVerdict"] = verdict
    ordered: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "pressplay acceptance spec, version 1",
    }
    ordered.update({k: v for k, v in schema.items() if k != "title"})
    return ordered


def render_schema() -> str:
    """The committed file's exact text."""
    return json.dumps(json_schema(), indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m pressplay.acceptance_spec [PATH]``: write the schema to PATH (default: stdout).

    ``python -m pressplay.acceptance_spec check FILE...``: validate spec files (exit 1 on a problem).
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["check"]:
        if len(args) < 2:
            sys.stderr.write("usage: python -m pressplay.acceptance_spec check FILE...\n")
            return 2
        bad = 0
        for name in args[1:]:
            try:
                parse_spec(Path(name).read_text(encoding="utf-8"), name)
            except (OSError, SpecError) as exc:
                bad += 1
                sys.stderr.write(f"{exc}\n")
            else:
                sys.stdout.write(f"{name}: ok\n")
        return 1 if bad else 0
    text = render_schema()
    if args:
        Path(args[0]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
