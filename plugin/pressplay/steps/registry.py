"""Every step pressplay serves, from one source: the ``pressplay.steps`` entry-point group.

A step is named once, in its package's metadata, and its module's ``@step`` decorator must say the
same key. pressplay's own steps are listed in its ``pyproject.toml``::

    [project.entry-points."pressplay.steps"]
    checks = "pressplay.steps.checks:checks"

and a step shipped in another installed package is served, linted and documented the same way with
no edit to pressplay: that package declares ``notBefore = "mypkg.not_before:not_before"`` in the
same group. ``pressplay serve``, ``pressplay lint``, ``pressplay docs`` and the test kit all read
:func:`installed`.

Step modules are imported on first use (``Registry.get``); :meth:`Registry.load_all` imports them
all and reports every problem at once — a key declared by two packages, a module that does not
import, an object that is not a step, or a decorator key that differs from the entry's name — each
naming the package, so ``pressplay serve`` refuses to start rather than fail a node hours later.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from pressplay.steps.base import StepSpec

__all__ = [
    "GROUP",
    "Registry",
    "RegistryError",
    "StepEntry",
    "UnknownStep",
    "get_step",
    "installed",
    "known_steps",
]

#: The entry-point group every step is declared in.
GROUP = "pressplay.steps"


class UnknownStep(KeyError):
    """No step is registered under this key."""


class RegistryError(RuntimeError):
    """The installed steps cannot be served as they are; the message names each package and the fix."""


@dataclass(frozen=True)
class StepEntry:
    """One declared step: its key, where it lives (``module:attr``) and the package that declares it."""

    key: str
    value: str
    package: str
    _entry: EntryPoint | None = field(default=None, compare=False, repr=False)
    _spec: StepSpec[Any] | None = field(default=None, compare=False, repr=False)

    def load(self) -> StepSpec[Any]:
        """Import the step; raises :class:`RegistryError` naming the package when it is not right."""
        if self._spec is not None:
            obj: object = self._spec
        else:
            assert self._entry is not None
            try:
                obj = self._entry.load()
            except Exception as exc:
                raise RegistryError(
                    f"step {self.key!r} of package {self.package!r} does not import ({self.value}): "
                    f"{type(exc).__name__}: {exc}; fix or uninstall {self.package}"
                ) from exc
        if not isinstance(obj, StepSpec):
            raise RegistryError(
                f"step {self.key!r} of package {self.package!r} points at {self.value}, which is not a step "
                f"({type(obj).__name__}); point the entry at the function decorated with @step"
            )
        if obj.key != self.key:
            raise RegistryError(
                f"package {self.package!r} declares step {self.key!r} as {self.value}, but its @step "
                f"decorator says {obj.key!r}; make the entry point's name and the decorator's key the same"
            )
        return obj


class Registry:
    """A fixed set of steps by key. Build one with :func:`installed` (or :meth:`with_steps` in tests)."""

    def __init__(self, entries: Iterable[StepEntry]) -> None:
        self._entries: dict[str, StepEntry] = {}
        problems: list[str] = []
        for entry in entries:
            other = self._entries.get(entry.key)
            if other is not None:
                if other.value == entry.value and other.package == entry.package:
                    continue  # the same distribution seen twice on sys.path
                problems.append(
                    f"step {entry.key!r} is declared by two packages: {other.package!r} ({other.value}) "
                    f"and {entry.package!r} ({entry.value}); uninstall one or rename its step"
                )
                continue
            self._entries[entry.key] = entry
        if problems:
            raise RegistryError("; ".join(problems))
        self._loaded: dict[str, StepSpec[Any]] = {}
        self._lock = threading.Lock()

    def keys(self) -> list[str]:
        """Every step key, sorted."""
        return sorted(self._entries)

    def entries(self) -> Mapping[str, StepEntry]:
        return dict(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def get(self, key: str) -> StepSpec[Any]:
        """The step ``key``, importing its module on first use. Raises :class:`UnknownStep` or
        :class:`RegistryError`."""
        spec = self._loaded.get(key)
        if spec is not None:
            return spec
        entry = self._entries.get(key)
        if entry is None:
            raise UnknownStep(key)
        spec = entry.load()
        with self._lock:
            self._loaded[key] = spec
        return spec

    def load_all(self) -> dict[str, StepSpec[Any]]:
        """Import every step; one :class:`RegistryError` lists every step that cannot be served."""
        problems: list[str] = []
        for key in self.keys():
            try:
                self.get(key)
            except RegistryError as exc:
                problems.append(str(exc))
        if problems:
            raise RegistryError("; ".join(problems))
        return dict(self._loaded)

    def with_steps(self, *specs: StepSpec[Any], package: str = "(in process)") -> Registry:
        """This registry plus steps given in process (tests, embedding); a duplicate key is an error."""
        extra = [
            StepEntry(spec.key, f"{spec.func.__module__}:{spec.func.__qualname__}", package, _spec=spec)
            for spec in specs
        ]
        return Registry([*self._entries.values(), *extra])


def _discover() -> list[StepEntry]:
    found = []
    for ep in entry_points(group=GROUP):
        package = ep.dist.name if ep.dist is not None else "(unknown package)"
        found.append(StepEntry(ep.name, ep.value, package, _entry=ep))
    return found


@lru_cache(maxsize=1)
def installed() -> Registry:
    """The steps of every installed package (read once per process)."""
    return Registry(_discover())


def known_steps() -> list[str]:
    """The keys of the installed steps, sorted."""
    return installed().keys()


def get_step(key: str) -> StepSpec[Any]:
    """The installed step ``key`` (imported on first use)."""
    return installed().get(key)
