"""The step framework: arguments, context, outcomes and the two error kinds.

A step is a plain function of ``(args, ctx)`` registered under its key with :func:`step`::

    class HelloArgs(StepArgs):
        name: str

    @step("hello", HelloArgs)
    def hello(args: HelloArgs, ctx: StepContext) -> Outcome:
        return Succeeded({"greeting": f"hello {args.name}"}, summary=f"greeted {args.name}")

It returns :class:`Succeeded`, :class:`Failed` or :class:`Running`, or raises
:class:`PermanentError` (→ Failed) or :class:`TemporaryError` (→ Running + requeue);
:mod:`pressplay.steps.execute` runs it and :mod:`pressplay.wire` turns the outcome into Argo's wire
format, so steps never see HTTP. A step is served once its package names it in the
``pressplay.steps`` entry-point group (:mod:`pressplay.steps.registry`).
"""

from __future__ import annotations

__all__ = [
    "Failed",
    "Outcome",
    "OutcomeError",
    "OutputError",
    "PermanentError",
    "PressplayError",
    "Running",
    "StepArgs",
    "StepContext",
    "StepSpec",
    "Succeeded",
    "TemporaryError",
    "WorkflowMeta",
    "step",
]

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from pressplay.config import Settings
from pressplay.errors import PermanentError, PressplayError, TemporaryError

if TYPE_CHECKING:
    from pressplay.github import ScopedGitHub
    from pressplay.kube import KubeClients

OutputValue = str | int | float | bool | list[Any] | dict[str, Any] | None


class OutcomeError(TypeError):
    """A step returned something that is not an outcome, or an undeclared output (a bug of the step)."""


class OutputError(TypeError):
    """An outcome's output cannot become an Argo parameter; the message names the key and the fix."""


_OUTPUT_TYPES = (str, int, float, bool, list, dict, type(None))


def _check_outputs(outputs: Mapping[str, OutputValue], kind: str) -> None:
    """Refuse, at construction, an output Argo cannot carry (names the key and the accepted types)."""
    if not isinstance(outputs, Mapping):
        raise OutputError(f"{kind} outputs must be a mapping of name -> value, not {type(outputs).__name__}")
    for name, value in outputs.items():
        if not isinstance(name, str) or not name:
            raise OutputError(f"{kind} output names are non-empty strings; got {name!r}")
        if not isinstance(value, _OUTPUT_TYPES):
            raise OutputError(
                f"{kind} output {name!r} is of type {type(value).__name__}: Argo output parameters are strings, "
                "so give a str, int, float, bool, None, or a list/dict of those (JSON-encoded); convert "
                f"it first (e.g. str(value) or value.isoformat())"
            )


def _encode(value: OutputValue) -> str:
    """Argo output values are strings: JSON-encode anything structured (objects would become "")."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)


@dataclass(frozen=True)
class Succeeded:
    """Final success. ``outputs`` become output parameters (strings; structures JSON-encoded)."""

    outputs: Mapping[str, OutputValue] = field(default_factory=dict)
    summary: str = ""

    def __post_init__(self) -> None:
        _check_outputs(self.outputs, "Succeeded")

    def encoded_outputs(self) -> dict[str, str]:
        out = {name: _encode(value) for name, value in self.outputs.items()}
        out.setdefault("summary", self.summary)
        return out


@dataclass(frozen=True)
class Failed:
    """Final failure. ``message`` says what is wrong and what to do about it."""

    message: str
    outputs: Mapping[str, OutputValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_outputs(self.outputs, "Failed")

    def encoded_outputs(self) -> dict[str, str]:
        out = {name: _encode(value) for name, value in self.outputs.items()}
        out.setdefault("summary", self.message)
        return out


#: Longest pause between two polls of a waiting node: a wait still looks at least this often.
MAX_REQUEUE = timedelta(hours=1)


@dataclass(frozen=True)
class Running:
    """Not finished: Argo calls again after ``requeue`` (1 s to 1 h) with the same template."""

    message: str
    requeue: timedelta = timedelta(seconds=30)

    def __post_init__(self) -> None:
        if self.requeue.total_seconds() < 1:
            object.__setattr__(self, "requeue", timedelta(seconds=1))
        elif self.requeue > MAX_REQUEUE:
            object.__setattr__(self, "requeue", MAX_REQUEUE)


Outcome = Succeeded | Failed | Running


class StepArgs(BaseModel):
    """Base of every step's argument model: camelCase keys, unknown keys rejected, immutable."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
    )

    node: str | None = Field(None, description="Pass `{{node.name}}`: it names the node in logs and traces.")

    #: argument attribute -> correlation label; a step model may override it.
    correlation: ClassVar[Mapping[str, str]] = {
        "repo": "repo",
        "number": "pr",
        "task": "task",
        "agent": "agent",
    }

    def labels(self) -> dict[str, str]:
        """The correlation labels (repo, pr, task, agent) this call carries, for spans and logs."""
        found: dict[str, str] = {}
        for attr, label in self.correlation.items():
            value = getattr(self, attr, None)
            if value not in (None, ""):
                found[label] = str(value)
        return found


@dataclass(frozen=True)
class WorkflowMeta:
    name: str
    namespace: str
    uid: str = ""


@dataclass
class StepContext:
    """What a step may use besides its arguments. Clients are built lazily and shared per process."""

    settings: Settings
    workflow: WorkflowMeta
    template_name: str = ""
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    labels: dict[str, str] = field(default_factory=dict)
    #: the GitHub permissions of the running step (its ``@step(permissions=...)``); None: all
    permissions: Mapping[str, str] | None = None

    def now(self) -> datetime:
        return self.clock()

    # Plain lazy attributes, not functools.cached_property: on Python 3.11 its lock is one per class,
    # shared by every StepContext of every thread (~7 % of a 304 poll under 16 clients). A context
    # belongs to one call on one thread, so nothing here needs a lock.
    _github: ScopedGitHub | None = field(default=None, init=False, repr=False, compare=False)
    _kube: KubeClients | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def github(self) -> ScopedGitHub:
        """GitHub for this step: ``ctx.github.repo(name)`` is a client whose token is narrowed to that
        repository and to the step's declared permissions (and refused outside the allow-list)."""
        if self._github is None:
            from pressplay.github import ScopedGitHub, clients_for

            self._github = ScopedGitHub(clients_for(self.settings), self.permissions)
        return self._github

    @property
    def kube(self) -> KubeClients:
        """The Kubernetes clients for this sidecar's settings (built on first use, shared per process)."""
        if self._kube is None:
            from pressplay.kube import clients_for

            self._kube = clients_for(self.settings)
        return self._kube

    def label(self, **labels: object) -> None:
        """Add correlation labels found while running (e.g. the PR number a step just opened)."""
        for key, value in labels.items():
            if value not in (None, ""):
                self.labels[key] = str(value)


A = TypeVar("A", bound=StepArgs)


@dataclass(frozen=True)
class StepSpec(Generic[A]):
    """A registered step: its key, argument model and function."""

    key: str
    args_model: type[A]
    func: Callable[[A, StepContext], Outcome]
    summary: str = ""
    #: GitHub App permissions the step's tokens get (None: every permission of the installation)
    permissions: Mapping[str, str] | None = None
    #: the output parameters the step may produce besides ``summary`` (None: not declared, not checked)
    outputs: tuple[str, ...] | None = None

    def produces(self) -> tuple[str, ...] | None:
        """Every output a template may declare for this step (``summary`` included), or None."""
        if self.outputs is None:
            return None
        return tuple(sorted({*self.outputs, "summary"}))

    def run(self, raw_args: Mapping[str, Any], ctx: StepContext) -> Outcome:
        """Validate raw arguments (raises pydantic.ValidationError) and run the step.

        Raises :class:`OutcomeError` when the step returns something other than an outcome, or an
        output its ``@step(outputs=...)`` does not declare: a bug of the step, named with the fix."""
        args = self.args_model.model_validate(raw_args)
        ctx.labels.update(args.labels())
        if self.permissions is not None and ctx.permissions is None:
            ctx.permissions = self.permissions
        outcome: object = self.func(args, ctx)
        if not isinstance(outcome, Succeeded | Failed | Running):
            raise OutcomeError(
                f"step {self.key!r} ({self.func.__module__}.{self.func.__qualname__}) returned "
                f"{type(outcome).__name__}, not an outcome: return Succeeded(...), Failed(...) or "
                "Running(...) on every path (or raise PermanentError / TemporaryError)"
            )
        declared = self.produces()
        if declared is not None and not isinstance(outcome, Running):
            extra = sorted(set(outcome.outputs) - set(declared))
            if extra:
                raise OutcomeError(
                    f"step {self.key!r} produced output(s) {', '.join(extra)} that its "
                    f"@step(outputs=...) does not declare ({', '.join(declared)}): add them there, so "
                    "`pressplay lint` accepts templates that read them"
                )
        return outcome


F = TypeVar("F", bound=Callable[..., Outcome])


def step(
    key: str,
    args_model: type[A],
    *,
    permissions: Mapping[str, str] | None = None,
    outputs: Sequence[str] | None = None,
) -> Callable[[Callable[[A, StepContext], Outcome]], StepSpec[A]]:
    """Make ``func`` the step ``key`` with the argument model ``args_model``.

    ``permissions``: the GitHub App permissions the step needs (``{"pull_requests": "write"}``);
    its installation tokens are minted with those alone (``metadata: read`` is always included).

    ``outputs``: the output parameters the step produces (``summary`` is always there). Declared,
    ``pressplay lint`` refuses a template that declares an output the step never produces, and an
    outcome carrying an undeclared output is refused (:class:`OutcomeError`), so the list cannot drift.

    The decorator only builds the :class:`StepSpec`; a step is served once its package names it in
    the ``pressplay.steps`` entry-point group under the same key (see :mod:`pressplay.steps.registry`).
    """

    names = _output_names(key, outputs)

    def build(func: Callable[[A, StepContext], Outcome]) -> StepSpec[A]:
        doc = (func.__doc__ or "").strip().splitlines()
        return StepSpec(
            key=key,
            args_model=args_model,
            func=func,
            summary=doc[0] if doc else "",
            permissions=dict(permissions) if permissions is not None else None,
            outputs=names,
        )

    return build


def _output_names(key: str, outputs: Sequence[str] | None) -> tuple[str, ...] | None:
    if outputs is None:
        return None
    if isinstance(outputs, str):
        raise TypeError(f"@step({key!r}, outputs=...) takes a list of names, not the string {outputs!r}")
    names = tuple(outputs)
    bad = [name for name in names if not isinstance(name, str) or not name]
    if bad:
        raise TypeError(f"@step({key!r}, outputs=...): output names are non-empty strings; got {bad!r}")
    return names
