"""``settings``: one repository's run settings, read from the ConfigMap the admin keeps them in.

The first step of every shipped flow (press-play, task, pr-remediation, ci-remediation,
issue-triage), so a run gets the same agent image, model, prompt text, deploy and merge settings
however it was started: by hand (``argo submit``), by the merge Sensor, by a PR comment or a failed
check. The Sensors pass ids only; the settings are read here, from Kubernetes, at run time.

Where a value comes from, first match wins:

1. the run's own argument, when not empty (``argo submit -p model=...`` overrides one run);
2. the repository's entry in ``runs.yaml`` (``repositories: {acme/widgets: {...}}``, case-insensitive),
   then an ``owner/*`` entry;
3. ``runs.yaml``'s ``defaults``;
4. built in: the agent image is the ConfigMap's ``agentImage`` (the shipped image, which a kustomize
   ``images:`` entry updates), ``argocdNamespace: argocd``, ``mergeMethod: squash``, ``gates: auto``,
   everything else empty.

It also checks, before any agent pod asks for one, that ``pressplay-concurrency`` holds the
``agents`` key and the repository's key (``owner.name`` in lower case): Argo's semaphore fails a node
whose key is missing when the pod is about to start (``prepAcquire``), which would be hours into a
press-play. Here it is a Failed first step naming the key to add.

Read-only and stateless: two calls give the same answer; an edit of the ConfigMap applies to the next
run. The prompt text is output base64-encoded (``promptModB64``): text in clear would be templated
again by Argo where a later step receives it.
"""

from __future__ import annotations

import base64
import re
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from pressplay.errors import PermanentError
from pressplay.steps.base import Failed, Outcome, StepArgs, StepContext, Succeeded, step
from pressplay.types import Repo

#: The ConfigMap keys this step reads.
RUNS_KEY = "runs.yaml"
IMAGE_KEY = "agentImage"
BUILT_IN = {"argocdNamespace": "argocd", "mergeMethod": "squash", "gates": "auto"}
OUTPUTS = (
    "image",
    "model",
    "promptModB64",
    "deployWorkflow",
    "argocdApp",
    "argocdNamespace",
    "mergeMethod",
    "gates",
    "repoKey",
    "source",
)

_IMAGE_RE = re.compile(r"^[a-z0-9][a-z0-9._/:@-]{0,510}$", re.IGNORECASE)
_MODEL_RE = re.compile(r"^[A-Za-z0-9._:/@\[\]-]{0,200}$")
_WORKFLOW_RE = re.compile(r"^[A-Za-z0-9._/-]{0,200}$")
_DNS_SUBDOMAIN_RE = re.compile(r"^(?:[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?)?$")
_DNS_LABEL_RE = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)?$")
_GATES_RE = re.compile(r"^[a-z0-9,-]{0,200}$")
_CONFIG_MAP_RE = re.compile(r"^(?:[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?)?$")


def _matching(pattern: re.Pattern[str], example: str) -> Any:
    def check(value: str) -> str:
        if not pattern.match(value):
            raise ValueError(f"{value!r} is not valid here: write e.g. {example}")
        return value

    return check


def _validated(pattern: re.Pattern[str], example: str) -> AfterValidator:
    return AfterValidator(_matching(pattern, example))


Image = Annotated[str, _validated(_IMAGE_RE, "`ghcr.io/acme/agent:1.2.0`")]
Model = Annotated[str, _validated(_MODEL_RE, "`claude-sonnet-4-5`")]
WorkflowFile = Annotated[str, _validated(_WORKFLOW_RE, "`deploy.yml`")]
AppName = Annotated[str, _validated(_DNS_SUBDOMAIN_RE, "`widgets-staging` (an Argo CD Application name)")]
Namespace = Annotated[str, _validated(_DNS_LABEL_RE, "`argocd`")]
Gates = Annotated[str, _validated(_GATES_RE, "`auto`, `python` or `rust,python`")]
MergeMethod = Literal["", "merge", "squash", "rebase"]


class RunSettings(BaseModel):
    """One entry of ``runs.yaml`` (``defaults`` or a repository's): every key optional."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    image: Image | None = Field(
        None, description="The agent container's image (the `main` container of agent-step)."
    )
    model: Model | None = Field(None, description="Model for every agent; empty = each profile's model.")
    prompt_mod: str | None = Field(None, description="Text put in front of every agent prompt.")
    deploy_workflow: WorkflowFile | None = Field(
        None, description="GitHub Actions workflow file to dispatch per task; empty = none."
    )
    argocd_app: AppName | None = Field(
        None, description="Argo CD Application to wait for per task; empty = none."
    )
    argocd_namespace: Namespace | None = Field(None, description="Namespace of that Application.")
    merge_method: MergeMethod | None = Field(None, description="`merge`, `squash` or `rebase`.")
    gates: Gates | None = Field(
        None, description="Gate presets for the agents (PRESSPLAY_GATES); `auto` detects."
    )


class RunsDocument(BaseModel):
    """The ``runs.yaml`` key of the settings ConfigMap."""

    model_config = ConfigDict(extra="forbid")

    defaults: RunSettings = Field(default_factory=RunSettings)
    repositories: dict[str, RunSettings] = Field(default_factory=dict)

    @field_validator("repositories")
    @classmethod
    def _names(cls, value: dict[str, RunSettings]) -> dict[str, RunSettings]:
        for name in value:
            owner, _, repo = name.partition("/")
            if not owner or not repo or "/" in repo:
                raise ValueError(f"{name!r} is not a repository: write `owner/name` or `owner/*`")
        return value

    def resolve(self, repo: str) -> tuple[dict[str, str], list[str]]:
        """The merged settings for ``repo`` (camelCase keys, set values only) and the entries used."""
        merged: dict[str, str] = {}
        used = ["defaults"]
        _apply(merged, self.defaults)
        owner = repo.split("/", 1)[0].lower()
        by_name = {name.lower(): (name, entry) for name, entry in self.repositories.items()}
        for key in (f"{owner}/*", repo.lower()):
            found = by_name.get(key)
            if found is not None:
                _apply(merged, found[1])
                used.append(found[0])
        return merged, used


def _apply(merged: dict[str, str], entry: RunSettings) -> None:
    for name, value in entry.model_dump(by_alias=True, exclude_none=True).items():
        merged[name] = str(value)


class SettingsArgs(StepArgs):
    """Arguments of the ``settings`` step. Every override: empty = take it from the settings."""

    repo: Repo = Field(description="Repository as `owner/name`, e.g. `acme/api`.")
    config_map: str = Field(
        "pressplay-settings",
        description="The settings ConfigMap, in the Workflow's namespace (key `runs.yaml`, key `agentImage`).",
    )
    concurrency_config_map: str = Field(
        "pressplay-concurrency",
        description=(
            "The semaphore ConfigMap whose `agents` key and repository key (`owner.name`, lower case) must "
            "exist; empty = do not check."
        ),
    )
    model: Model = Field("", description="This run's model (`-p model=`); empty = from the settings.")
    prompt_mod: str = Field(
        "", description="This run's prompt text (`-p prompt_mod=`); empty = from the settings."
    )
    deploy_workflow: WorkflowFile = Field(
        "", description="This run's deploy workflow; empty = from the settings."
    )
    argocd_app: AppName = Field("", description="This run's Argo CD Application; empty = from the settings.")
    argocd_namespace: Namespace = Field(
        "", description="This run's Application namespace; empty = from the settings."
    )
    merge_method: MergeMethod = Field("", description="This run's merge method; empty = from the settings.")
    gates: Gates = Field("", description="This run's gate presets; empty = from the settings.")

    @field_validator("config_map", "concurrency_config_map")
    @classmethod
    def _config_map(cls, value: str) -> str:
        if not _CONFIG_MAP_RE.match(value):
            raise ValueError(f"{value!r} is not a ConfigMap name: lower-case letters, digits, '-' and '.'")
        return value


def repo_key(repo: str) -> str:
    """The repository's key in pressplay-concurrency and in mutex names: ``Acme/Widgets`` → ``acme.widgets``."""
    return repo.replace("/", ".").lower()


def parse_runs(text: str, where: str) -> RunsDocument:
    """``runs.yaml`` → :class:`RunsDocument`; a clear :class:`PermanentError` naming the key otherwise."""
    try:
        raw = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise PermanentError(
            f'{where} is not YAML{at}: fix the ConfigMap (docs/install.md, "Run settings")'
        ) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise PermanentError(f"{where} must be a mapping with `defaults` and `repositories`")
    try:
        return RunsDocument.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"`{'.'.join(str(p) for p in err['loc'])}`: "
            + (
                "unknown key (valid: " + ", ".join(_valid_keys()) + ")"
                if err["type"] == "extra_forbidden"
                else err["msg"]
            )
            for err in exc.errors()
        )
        raise PermanentError(f"{where}: {problems}") from None


def _valid_keys() -> list[str]:
    return [field.alias or name for name, field in RunSettings.model_fields.items()]


@step("settings", SettingsArgs, permissions={}, outputs=OUTPUTS)
def settings(args: SettingsArgs, ctx: StepContext) -> Outcome:
    """Resolve the run settings of ``repo`` (run argument > repository entry > defaults > built in)."""
    namespace = ctx.workflow.namespace
    kube = ctx.kube
    data = kube.get_config_map(namespace, args.config_map)
    if data is None:
        return Failed(
            f"ConfigMap {args.config_map} not found in namespace {namespace}: install pressplay's core there "
            "(`kubectl apply -k manifests/core`, docs/install.md) or pass the right `configMap`"
        )
    where = f"ConfigMap {namespace}/{args.config_map} key {RUNS_KEY}"
    merged, used = parse_runs(data.get(RUNS_KEY, ""), where).resolve(args.repo)
    overrides = {
        name: str(value)
        for name, value in args.model_dump(
            by_alias=True,
            include={
                "model",
                "prompt_mod",
                "deploy_workflow",
                "argocd_app",
                "argocd_namespace",
                "merge_method",
                "gates",
            },
        ).items()
        if value
    }
    if overrides:
        used.append("run arguments (" + ", ".join(sorted(overrides)) + ")")
    resolved = {**BUILT_IN, **{k: v for k, v in merged.items() if v != ""}, **overrides}
    # An empty value in runs.yaml means "none" for the optional parts, not "the built-in".
    for name, value in merged.items():
        if value == "" and name not in overrides and name not in BUILT_IN:
            resolved[name] = ""
    image = resolved.get("image") or data.get(IMAGE_KEY, "").strip()
    if not image:
        return Failed(
            f"no agent image: ConfigMap {namespace}/{args.config_map} has no `{IMAGE_KEY}` and {RUNS_KEY} sets "
            "no `image`; re-apply manifests/core (it ships `agentImage`) or set `defaults.image`"
        )
    if not _IMAGE_RE.match(image):
        return Failed(
            f"`{IMAGE_KEY}` of ConfigMap {namespace}/{args.config_map} is not an image reference: {image!r}"
        )
    key = repo_key(args.repo)
    if args.concurrency_config_map:
        problem = _concurrency_problem(ctx, namespace, args.concurrency_config_map, key)
        if problem:
            return Failed(problem)
    ctx.label(repo=args.repo)
    prompt_mod = resolved.get("promptMod", "")
    outputs = {
        "image": image,
        "model": resolved.get("model", ""),
        "promptModB64": base64.b64encode(prompt_mod.encode()).decode() if prompt_mod else "",
        "deployWorkflow": resolved.get("deployWorkflow", ""),
        "argocdApp": resolved.get("argocdApp", ""),
        "argocdNamespace": resolved.get("argocdNamespace", "") or BUILT_IN["argocdNamespace"],
        "mergeMethod": resolved.get("mergeMethod", "") or BUILT_IN["mergeMethod"],
        "gates": resolved.get("gates", "") or BUILT_IN["gates"],
        "repoKey": key,
        "source": " < ".join(used),
    }
    return Succeeded(outputs, summary=f"settings for {args.repo} from {outputs['source']}")


def _concurrency_problem(ctx: StepContext, namespace: str, name: str, key: str) -> str:
    data = ctx.kube.get_config_map(namespace, name)
    fix_file = "manifests/concurrency/pressplay-concurrency.yaml"
    if data is None:
        return (
            f"ConfigMap {name} not found in namespace {namespace}: agent pods could never start (Argo's "
            f"semaphores read their limits there); apply manifests/core ({fix_file})"
        )
    missing = [k for k in ("agents", key) if k not in data]
    if missing:
        adds = ", ".join(f'`{k}: "2"`' for k in missing)
        return (
            f"ConfigMap {namespace}/{name} has no key {', '.join(missing)}: Argo would fail the first agent step "
            f"when its pod is about to start (semaphore key not found). Add {adds} to {fix_file} and re-apply, "
            f"or `kubectl -n {namespace} patch configmap {name} --type merge -p "
            + '\'{"data":{'
            + ",".join(f'"{k}":"2"' for k in missing)
            + "}}'`"
        )
    for k in ("agents", key):
        value = data[k].strip()
        if not value.isdigit() or int(value) < 1:
            return (
                f'ConfigMap {namespace}/{name} key {k} is {value!r}: write a positive whole number, e.g. "2"'
            )
    return ""
