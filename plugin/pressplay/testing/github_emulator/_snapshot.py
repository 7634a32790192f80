"""JSON snapshots of the emulator's GitHub state (repositories, git objects, issues, PRs, checks, runs).

Secrets are never part of a snapshot: installation tokens, the App's key and JWTs stay in memory, so a
restored emulator issues new tokens. Hooks and scheduled actions are code and are not saved either.
"""

from __future__ import annotations

import base64
import dataclasses
from datetime import datetime
from typing import Any

from pressplay.testing.github_emulator import _model

SNAPSHOT_VERSION = 1
_TYPES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in vars(_model).values()
    if isinstance(cls, type) and dataclasses.is_dataclass(cls) and cls.__module__ == _model.__name__
}


def encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {"__t": type(value).__name__}
        out.update({f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)})
        return out
    if isinstance(value, datetime):
        return {"__dt": value.isoformat()}
    if isinstance(value, bytes):
        return {"__b": base64.b64encode(value).decode()}
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and not any(k.startswith("__") for k in value):
            return {k: encode(v) for k, v in value.items()}
        return {"__d": [[encode(k), encode(v)] for k, v in value.items()]}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    return value


def decode(value: Any) -> Any:
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__t" in value:
        cls = _TYPES.get(value["__t"])
        if cls is None:
            raise ValueError(f"unknown object type {value['__t']!r} in the snapshot")
        return cls(**{k: decode(v) for k, v in value.items() if k != "__t"})
    if "__dt" in value:
        return datetime.fromisoformat(value["__dt"])
    if "__b" in value:
        return base64.b64decode(value["__b"])
    if "__d" in value:
        return {_key(decode(k)): decode(v) for k, v in value["__d"]}
    return {k: decode(v) for k, v in value.items()}


def _key(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value
