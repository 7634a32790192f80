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
        description="`http://` or `https://` URL to request (no credentials in it).",
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
        description="Python regular expression searched in the body (first 1 MiB).",
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
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"bodyPattern is not a valid regular expression: {exc}") from exc
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


def check_probe_url(value: str) -> None:
    """Raise ValueError unless ``value`` is an absolute http(s) URL that is not a link-local address."""
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
        address = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return
    if address.is_link_local or address.is_multicast or address.is_unspecified:
        raise ValueError(
            f"{parts.hostname} is a link-local/multicast/unspecified address and may not be probed"
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
