"""`pressplay git-credential` waits out GitHub trouble that passes (a 502, a rate limit) before git
gives up: git asks once, and a push container that fails is a Failed node Argo does not retry, so
the first 502 used to stop a task (docs/engine.md, "Defects the engine found")."""

from __future__ import annotations

import pytest

from pressplay.agent.credential import MAX_WAIT, TEMPORARY_ATTEMPTS, answer
from pressplay.config import Settings
from pressplay.errors import PermanentError, TemporaryError

REQUEST = {"protocol": "https", "host": "github.com", "path": "acme/api.git"}


def settings() -> Settings:
    return Settings(repositories="acme/api")


def test_a_502_then_a_token() -> None:
    calls: list[str] = []
    waits: list[float] = []

    def minter(_s: Settings, repo: str, permission: str) -> str:
        calls.append(permission)
        if len(calls) < 3:
            raise TemporaryError("GitHub answered 502", retry_after=90)
        return "ghs_token"

    out, err = answer("get", REQUEST, settings(), repo="acme/api", minter=minter, sleep=waits.append)
    assert err is None and "password=ghs_token" in out
    assert len(calls) == 3 and waits == [MAX_WAIT, MAX_WAIT]


def test_gives_up_after_the_last_try_naming_it() -> None:
    waits: list[float] = []

    def minter(_s: Settings, _repo: str, _permission: str) -> str:
        raise TemporaryError("GitHub answered 503", retry_after=2)

    out, err = answer("get", REQUEST, settings(), repo="acme/api", minter=minter, sleep=waits.append)
    assert out == "" and err is not None
    assert f"after {TEMPORARY_ATTEMPTS} tries" in err and "503" in err
    assert waits == [2.0] * (TEMPORARY_ATTEMPTS - 1)


@pytest.mark.parametrize("error", [PermanentError("the App is not installed on acme/api"), ValueError("bad")])
def test_other_failures_are_not_retried(error: Exception) -> None:
    calls = 0

    def minter(_s: Settings, _repo: str, _permission: str) -> str:
        nonlocal calls
        calls += 1
        raise error

    _out, err = answer("get", REQUEST, settings(), repo="acme/api", minter=minter, sleep=lambda _s: None)
    assert calls == 1 and err is not None and "no token for acme/api" in err
