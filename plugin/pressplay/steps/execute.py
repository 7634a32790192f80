"""Running one step call: the single home of step execution, for the sidecar, the demo, the bench
and tests alike (all in process; nothing here knows HTTP).

:func:`execute` takes what Argo asked for (the value under ``plugin.pressplay``, the workflow, the
template's declared outputs) and always returns an :class:`Outcome`, never raises:

- no or several step keys, an unknown key, arguments that are not an object → Failed, naming the
  known steps or the expected shape;
- arguments the step's model rejects → Failed with one line per field (:func:`readable_errors`);
- :class:`PermanentError` → Failed with its message; :class:`TemporaryError` → Running + its requeue;
- a transport error (recognised by type: ``ConnectionError``, ``TimeoutError``, httpx's
  ``TransportError``, urllib3's connection/protocol/timeout errors) → Running + 30 s;
- a step that returns no outcome (``None``), an output that is not a string-able value or that its
  ``@step(outputs=...)`` does not declare → Failed "step 'x' is broken: ..." naming the fix;
- any other exception → Failed "internal error ... trace <id>", logged with the trace id;
- Succeeded that lacks an output the template declares (without a default) → Failed naming it.

Every call gets a span and a metric labelled with the step, phase, repo/pr/task/agent, and one log line.
"""

from __future__ import annotations

import difflib
import functools
import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from pressplay import telemetry
from pressplay.config import PLUGIN_KEY, Settings
from pressplay.errors import PermanentError, TemporaryError
from pressplay.redact import redact
from pressplay.steps.base import (
    Failed,
    Outcome,
    OutcomeError,
    OutputError,
    Running,
    StepContext,
    Succeeded,
    WorkflowMeta,
)
from pressplay.steps.registry import Registry, RegistryError, UnknownStep, installed

__all__ = [
    "Call",
    "argument_names",
    "describe_error",
    "did_you_mean",
    "execute",
    "is_transport_error",
    "readable_errors",
]

log = logging.getLogger("pressplay.steps")

#: How long a node waits after a transport error before the step is tried again.
TRANSPORT_RETRY = timedelta(seconds=30)


@dataclass(frozen=True)
class Call:
    """One plugin call: the value under ``plugin.pressplay`` and where it comes from."""

    body: Any
    workflow: WorkflowMeta
    template_name: str = ""
    #: output parameters the template declares without a default: a Succeeded must produce each
    required_outputs: Sequence[str] = ()


def did_you_mean(name: str, known: Sequence[str]) -> str:
    """`` did you mean `x`?`` for a near miss of ``name`` among ``known`` (difflib, case-insensitive),
    else ""."""
    return _did_you_mean(name, tuple(known))


@functools.lru_cache(maxsize=512)
def _did_you_mean(name: str, known: tuple[str, ...]) -> str:
    # A pure function of its text arguments, memoised: difflib compares the name with every known
    # argument (~40 us for a step's 16), a third of a bad-args answer's CPU (docs/performance.md).
    lowered = {k.lower(): k for k in known}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return f" did you mean `{lowered[close[0]]}`?" if close else ""


def describe_error(item: ErrorDetails, model_fields: Sequence[str]) -> tuple[str, str]:
    """One pydantic error as ``(location, what is wrong and what is expected)``: the wording both the
    sidecar and ``pressplay lint`` use."""
    loc = ".".join(str(part) for part in item["loc"])
    kind = item["type"]
    if kind == "extra_forbidden":
        name = str(item["loc"][-1]) if item["loc"] else ""
        hint = did_you_mean(name, model_fields) if len(item["loc"]) == 1 else ""
        return loc, f"unknown argument;{hint} known arguments are {', '.join(model_fields)}"
    if kind == "missing":
        return loc, "required argument is missing"
    msg = item["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    given = item.get("input")
    shown = (
        f" (got {given!r})" if isinstance(given, str | int | float | bool) and len(repr(given)) < 80 else ""
    )
    return loc, f"{msg}{shown}"


def readable_errors(error: ValidationError, step_key: str, model_fields: list[str]) -> str:
    """One line per offending field: where, what is wrong, what is expected."""
    lines = []
    for item in error.errors(include_url=False):
        loc, text = describe_error(item, model_fields)
        lines.append(f"{step_key}.{loc or '(arguments)'}: {text}")
    return f"invalid arguments for step '{step_key}':\n- " + "\n- ".join(lines)


def argument_names(model: type[BaseModel]) -> list[str]:
    """The names a template writes for ``model``'s fields (aliases), sorted."""
    return sorted((info.alias or name) for name, info in model.model_fields.items())


def is_transport_error(exc: BaseException) -> bool:
    """True for network trouble that passes (a reset, a timeout, a dropped connection), by type.

    httpx (githubkit's transport) and urllib3 (the installation pool, the Kubernetes client) are
    looked up only when already imported: an exception of their types cannot exist otherwise, and the
    cheap paths of the sidecar never import them.
    """
    kinds: list[type[BaseException]] = [ConnectionError, TimeoutError]
    httpx = sys.modules.get("httpx")
    if httpx is not None:
        kinds.append(httpx.TransportError)
    exceptions = sys.modules.get("urllib3.exceptions")
    if exceptions is not None:
        kinds += [
            exceptions.ProtocolError,
            exceptions.TimeoutError,
            exceptions.NewConnectionError,
            exceptions.MaxRetryError,
        ]
    return isinstance(exc, tuple(kinds))


def execute(
    call: Call,
    settings: Settings,
    *,
    steps: Registry | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Outcome:
    """Run one call and return its outcome (see the module docstring); never raises."""
    registry = steps if steps is not None else installed()
    started = time.perf_counter()
    ctx = StepContext(settings=settings, workflow=call.workflow, template_name=call.template_name)
    if clock is not None:
        ctx.clock = clock
    step_key = "?"
    meta = call.workflow
    with telemetry.execute_span(meta.name, meta.namespace, call.template_name) as span:
        body = call.body
        outcome: Outcome
        if not isinstance(body, dict) or len(body) != 1:
            keys = sorted(body) if isinstance(body, dict) else []
            outcome = Failed(
                f"plugin.{PLUGIN_KEY} must hold exactly one step key, got {keys or type(body).__name__}; "
                f"known steps: {', '.join(registry.keys())}"
            )
        else:
            step_key, raw_args = next(iter(body.items()))
            span.set_attribute("pressplay.step", step_key)
            if isinstance(raw_args, dict) and isinstance(raw_args.get("node"), str):
                span.set_attribute("argo.node", raw_args["node"])
                ctx.labels.setdefault("node", raw_args["node"])
            outcome = _run(registry, step_key, raw_args, ctx)
        if isinstance(outcome, Succeeded):
            produced = outcome.encoded_outputs()
            missing = [name for name in call.required_outputs if name not in produced]
            if missing:
                outcome = Failed(
                    f"the template declares output(s) {', '.join(missing)} that step '{step_key}' does not "
                    f"produce; it produces: {', '.join(sorted(produced))}"
                )
        phase = "Running" if isinstance(outcome, Running) else type(outcome).__name__
        labels = {k: v for k, v in ctx.labels.items() if k != "node"}
        for key, value in labels.items():
            span.set_attribute(f"pressplay.{key}", value)
        span.set_attribute("pressplay.phase", phase)
        elapsed = time.perf_counter() - started
        telemetry.record_outcome(step_key, phase, elapsed, labels)
        if log.isEnabledFor(logging.INFO):  # the redacted detail costs a regex pass: only when logged
            log.info(
                "%s %s",
                step_key,
                phase,
                extra={
                    "step": step_key,
                    "phase": phase,
                    "duration_ms": round(elapsed * 1000, 1),
                    "workflow": meta.name,
                    "namespace": meta.namespace,
                    "node": ctx.labels.get("node", ""),
                    **labels,
                    "detail": redact(_summary_of(outcome)),
                },
            )
        return outcome


def _summary_of(outcome: Outcome) -> str:
    if isinstance(outcome, Succeeded):
        return outcome.summary
    return outcome.message[:300]


def _run(registry: Registry, step_key: str, raw_args: Any, ctx: StepContext) -> Outcome:
    try:
        spec = registry.get(step_key)
    except UnknownStep:
        return Failed(
            f"unknown step '{step_key}' under plugin.{PLUGIN_KEY};{did_you_mean(step_key, registry.keys())} "
            f"known steps: {', '.join(registry.keys())}"
        )
    except RegistryError as exc:
        return Failed(f"step '{step_key}' cannot be served by this sidecar: {exc}")
    if raw_args is None:
        raw_args = {}
    if not isinstance(raw_args, dict):
        return Failed(f"arguments of step '{step_key}' must be an object, got {type(raw_args).__name__}")
    try:
        return spec.run(raw_args, ctx)
    except ValidationError as exc:
        return Failed(readable_errors(exc, step_key, argument_names(spec.args_model)))
    except (OutcomeError, OutputError) as exc:
        # a bug of the step, not of the template: say so on the node, where the author looks first
        log.error("step %s broke its contract: %s", step_key, exc)
        text = str(exc) if isinstance(exc, OutcomeError) else f"step '{step_key}' is broken: {exc}"
        return Failed(redact(text))
    except PermanentError as exc:
        return Failed(redact(str(exc)))
    except TemporaryError as exc:
        return Running(redact(str(exc)), exc.retry_after)
    except Exception as exc:
        trace_id = telemetry.current_trace_id()
        if is_transport_error(exc):
            log.warning("transient error in step %s", step_key, exc_info=True, extra={"trace_id": trace_id})
            return Running(
                f"transient error ({type(exc).__name__}); retrying (trace {trace_id})", TRANSPORT_RETRY
            )
        log.error("step %s raised", step_key, exc_info=True, extra={"trace_id": trace_id})
        return Failed(
            f"internal error in step '{step_key}' ({type(exc).__name__}); see the sidecar log, trace {trace_id}"
        )
