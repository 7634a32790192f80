"""Steps registered only in tests: they exercise the framework without GitHub or Kubernetes."""

from __future__ import annotations

import threading
from datetime import timedelta

from pressplay import Outcome, PermanentError, Running, StepArgs, StepContext, Succeeded, TemporaryError, step
from pressplay.types import Repo


class EchoArgs(StepArgs):
    repo: Repo
    number: int
    text: str = "hi"


@step("testEcho", EchoArgs)
def echo(args: EchoArgs, ctx: StepContext) -> Outcome:
    """Echo the text back."""
    return Succeeded(
        {"text": args.text, "data": {"n": args.number}, "ok": True}, summary=f"echoed {args.text}"
    )


class CountArgs(StepArgs):
    key: str
    until: int = 3


_counts: dict[str, int] = {}
_lock = threading.Lock()


@step("testCountdown", CountArgs)
def countdown(args: CountArgs, ctx: StepContext) -> Outcome:
    """Running until called ``until`` times."""
    with _lock:
        _counts[args.key] = _counts.get(args.key, 0) + 1
        n = _counts[args.key]
    if n < args.until:
        return Running(f"call {n} of {args.until}", timedelta(seconds=5))
    return Succeeded({"calls": n}, summary=f"done after {n} calls")


class BoomArgs(StepArgs):
    kind: str


@step("testBoom", BoomArgs)
def boom(args: BoomArgs, ctx: StepContext) -> Outcome:
    """Raise the requested kind of error."""
    if args.kind == "permanent":
        raise PermanentError("repository acme/none not found: is the App installed?")
    if args.kind == "temporary":
        raise TemporaryError("GitHub answered 502", retry_after=42)
    if args.kind == "connection":
        raise ConnectionError("reset by peer")
    raise RuntimeError("a bug")


#: Every step above; a test module serves them with ``extra_steps`` (see tests/test_server.py).
STEPS = [echo, countdown, boom]
