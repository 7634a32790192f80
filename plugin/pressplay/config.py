"""Settings of the sidecar and the CLI: flags override ``PRESSPLAY_*`` environment variables.

Every field here is a ``PRESSPLAY_<FIELD>`` variable (``PRESSPLAY_TOKEN_FILE``, ``PRESSPLAY_PORT``, ...)
and, for ``pressplay serve``, a ``--<field>`` flag.  Secrets are never held here: only the *paths* of
the mounted files that hold them.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

#: The sidecar's port. ``plugin.yaml`` declares the same number (a test keeps them equal).
DEFAULT_PORT = 17820
#: Where Argo's agent init container writes the sidecar's token (see the executor plugin contract §4).
DEFAULT_TOKEN_FILE = Path("/var/run/argo/token")
#: An allow-list entry: ``owner/name`` or ``owner/*``.
_ALLOWED_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/(?:\*|[A-Za-z0-9._-]{1,100})$")

#: Executor-plugin key under ``template.plugin`` that marks a template as ours.
PLUGIN_KEY = "pressplay"


#: Every field ``x`` is read from the environment variable ``PRESSPLAY_X`` (any case).
ENV_PREFIX = "PRESSPLAY_"


def _environment(fields: Any) -> dict[str, str]:
    """The ``PRESSPLAY_<FIELD>`` variables of this process that name a field, as ``{field: text}``."""
    found: dict[str, str] = {}
    size = len(ENV_PREFIX)
    for key, value in os.environ.items():
        if key[:size].upper() == ENV_PREFIX:
            name = key[size:].lower()
            if name in fields:
                found[name] = value
    return found


class Settings(BaseModel):
    """Runtime settings. Construct with keyword arguments to override the environment.

    A plain pydantic model that reads ``PRESSPLAY_*`` itself (in ``__init__``, like pydantic-settings'
    ``BaseSettings`` did, whose import cost every worker ~3.7 MiB and 70 modules, asyncio among them,
    for this one use): keyword arguments win over the environment, variable names are matched in any
    case, every value arrives as its text (the list fields split it on commas), defaults are validated,
    and unknown keys are ignored.
    """

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True, validate_default=True)

    def __init__(self, **values: Any) -> None:
        super().__init__(**{**_environment(type(self).model_fields), **values})

    # --- the HTTP server -------------------------------------------------------------------
    host: str = Field("127.0.0.1", description="Address to bind; the agent dials localhost.")
    port: int = Field(DEFAULT_PORT, ge=1, le=65535, description="TCP port (plugin.yaml's containerPort).")
    workers: int = Field(1, ge=1, le=32, description="gunicorn worker processes (see docs/performance.md).")
    worker_class: Literal["gthread", "gevent"] = Field(
        "gthread",
        description="gunicorn worker class: gthread (OS threads, the default) or gevent (greenlets).",
    )
    worker_connections: int = Field(
        64, ge=16, le=10000, description="gevent: concurrent connections per worker (Argo's agent opens 16)."
    )
    threads: int = Field(
        16, ge=1, le=256, description="gthread: threads per worker (workers x threads >= 16)."
    )
    token_file: Path = Field(DEFAULT_TOKEN_FILE, description="File holding the agent's bearer token.")
    token: SecretStr | None = Field(
        None, description="The bearer token itself (local use and tests; in a cluster use token_file)."
    )
    max_body_bytes: int = Field(1024 * 1024, ge=1024, description="Largest request body accepted.")
    log_level: str = Field("INFO", description="Python log level of the JSON logs.")

    # --- GitHub App ------------------------------------------------------------------------
    github_app_id: str | None = Field(None, description="The GitHub App's id (or client id).")
    github_private_key_file: Path | None = Field(
        None, description="PEM file of the GitHub App's private key, mounted from a Secret."
    )
    github_private_key: SecretStr | None = Field(
        None, description="The private key PEM itself (from a Secret via env); the file wins if both are set."
    )
    github_installation_id: int | None = Field(
        None, description="Installation id; discovered per repository when unset."
    )
    github_api_url: str = Field(
        "https://api.github.com", description="REST base URL (GHES: https://HOST/api/v3)."
    )
    github_token: SecretStr | None = Field(
        None, description="Never used: pressplay authenticates as a GitHub App only. Set = startup error."
    )
    repositories: tuple[str, ...] = Field(
        (),
        description=(
            "The repositories the sidecar acts on, comma-separated `owner/name` or `owner/*` "
            "(case-insensitive); any other repository is refused. Empty: every repository the App's "
            "installations can reach (a warning at start)."
        ),
    )

    # --- Kubernetes / Argo CD ---------------------------------------------------------------
    argocd_namespace: str = Field("argocd", description="Default namespace of Argo CD Applications.")
    argocd_url: str | None = Field(None, description="Argo CD UI base URL, for links in outputs.")
    kube_api_url: str | None = Field(
        None, description="Kubernetes API URL override (tests); otherwise in-cluster or KUBECONFIG."
    )

    # --- the acceptance step's HTTP probes ---------------------------------------------------
    probe_allow_cidrs: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = Field(
        (),
        description=(
            "Address ranges the acceptance step's HTTP probes may reach although they are not public, "
            "comma-separated CIDRs (e.g. `10.20.0.0/16` for preview environments). Empty: public "
            "addresses only. Link-local, multicast, unspecified and cloud metadata addresses are never probed."
        ),
    )

    # --- pacing of waits ----------------------------------------------------------------------
    requeue_min_seconds: int = Field(10, ge=1, description="Shortest requeue while things move.")
    requeue_max_seconds: int = Field(300, ge=1, description="Longest requeue while nothing changes.")

    @field_validator(
        "github_app_id",
        "github_private_key_file",
        "github_private_key",
        "github_installation_id",
        "github_token",
        "argocd_url",
        "kube_api_url",
        "token",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """An empty variable (common with templated manifests) means "not set", never "." or ""."""
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("repositories", mode="before")
    @classmethod
    def _repository_list(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part for part in (p.strip() for p in value.split(",")) if part]
        if isinstance(value, list | tuple):
            for item in value:
                if not isinstance(item, str) or not _ALLOWED_RE.match(item):
                    raise ValueError(
                        f"{item!r} is not a repository: write `owner/name` or `owner/*`, comma-separated"
                    )
            return tuple(value)
        return value

    @field_validator("probe_allow_cidrs", mode="before")
    @classmethod
    def _cidr_list(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part for part in (p.strip() for p in value.split(",")) if part]
        if isinstance(value, list | tuple):
            networks = []
            for item in value:
                try:
                    networks.append(ipaddress.ip_network(item, strict=False))
                except (TypeError, ValueError) as exc:
                    raise ValueError(
                        f"{item!r} is not an address range: write CIDRs such as `10.20.0.0/16` or "
                        "`fd12:3456::/48`, comma-separated"
                    ) from exc
            return tuple(networks)
        return value

    def allows(self, repo: str) -> bool:
        """Whether the allow-list (``repositories``) lets the sidecar act on ``repo``."""
        if not self.repositories:
            return True
        owner, _, name = repo.lower().partition("/")
        for item in self.repositories:
            allowed_owner, _, allowed_name = item.lower().partition("/")
            if allowed_owner == owner and allowed_name in ("*", name):
                return True
        return False

    @field_validator("github_api_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")


#: Why a sidecar with a personal access token set refuses to start.
APP_AUTH_ONLY = (
    "PRESSPLAY_GITHUB_TOKEN is set, but pressplay authenticates as a GitHub App only: "
    "unset it and set PRESSPLAY_GITHUB_APP_ID and PRESSPLAY_GITHUB_PRIVATE_KEY_FILE"
)


def startup_problem(settings: Settings) -> str | None:
    """Why a sidecar with these settings must not start, or None."""
    if settings.github_token is not None:
        return APP_AUTH_ONLY
    return None


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit (non-``None``) overrides, e.g. from CLI flags."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**clean)
