"""Settings from PRESSPLAY_* variables and flags; durations and the other shared argument types.

Pacing and deadlines: tests/steps/test_waiting.py."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from pressplay.config import DEFAULT_PORT, load_settings
from pressplay.types import check_commit_sha, format_duration, is_commit_sha, parse_duration

ROOT = Path(__file__).resolve().parents[1]


def test_settings_come_from_env_and_flags_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRESSPLAY_PORT", "18001")
    monkeypatch.setenv("PRESSPLAY_TOKEN_FILE", "/tmp/tok")
    monkeypatch.setenv("PRESSPLAY_GITHUB_API_URL", "https://ghe.example.com/api/v3/")
    settings = load_settings()
    assert settings.port == 18001
    assert settings.token_file == Path("/tmp/tok")
    assert settings.github_api_url == "https://ghe.example.com/api/v3"
    assert load_settings(port=18002, host=None).port == 18002


def test_defaults_are_safe() -> None:
    settings = load_settings()
    assert settings.host == "127.0.0.1"
    assert settings.port == DEFAULT_PORT
    assert settings.token_file == Path("/var/run/argo/token")
    assert settings.workers * settings.threads >= 16, "Argo's agent sends up to 16 requests at once"


def test_serve_refuses_a_personal_access_token() -> None:
    env = {"PATH": "/usr/bin:/bin", "PRESSPLAY_GITHUB_TOKEN": "ghp_planted_secret_value"}
    result = subprocess.run(
        [sys.executable, "-m", "pressplay", "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "GitHub App only" in result.stderr
    assert "ghp_planted_secret_value" not in result.stderr + result.stdout


def test_serve_names_a_bad_setting() -> None:
    env = {"PATH": "/usr/bin:/bin", "PRESSPLAY_PORT": "eighty"}
    result = subprocess.run(
        [sys.executable, "-m", "pressplay", "serve"], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "port" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("10m", 600), ("1h30m", 5400), ("500ms", 0.5), ("90", 90), (45, 45), ("1.5h", 5400)],
)
def test_parse_duration(text: str | int, seconds: float) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("bad", ["", "ten minutes", "10x", "-5s", "5s garbage", True])
def test_parse_duration_rejects_with_a_hint(bad: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


def test_format_duration_is_go_parseable() -> None:
    assert format_duration(timedelta(seconds=30)) == "30s"
    assert format_duration(timedelta(minutes=2)) == "2m"
    assert format_duration(timedelta(seconds=150)) == "2m30s"
    assert format_duration(timedelta(hours=1, seconds=5)) == "1h0m5s"
    assert format_duration(0) == "1s"


@pytest.mark.parametrize("sha", ["a" * 40, "A" * 40, " " + "0123456789abcdef" * 4 + " "])
def test_commit_sha_is_full_and_lower_cased(sha: str) -> None:
    assert check_commit_sha(sha) == sha.strip().lower()
    assert is_commit_sha(sha.strip())


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ("abc1234", "'abc1234' looks like an abbreviated commit SHA: pass the full 40-character SHA"),
        ("a" * 39, "looks like an abbreviated commit SHA"),
        ("main", "must be a full commit SHA (40 hex characters), e.g. the pullRequest step's `headSha`"),
        ("abc", "must be a full commit SHA"),
        ("a" * 41, "must be a full commit SHA"),
        ("g" * 40, "must be a full commit SHA"),
    ],
)
def test_commit_sha_refusals_name_the_fix(bad: str, words: str) -> None:
    with pytest.raises(ValueError, match="full") as err:
        check_commit_sha(bad)
    assert words in str(err.value)
    assert "full commit SHA" in str(err.value)
    assert not is_commit_sha(bad)


def test_readme_test_command_is_what_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci/run").read_text()
    command = "python3 -m venv .venv && .venv/bin/pip install -e '.[dev]' && .venv/bin/pytest"
    assert command in readme
    assert command in ci
    first_screen = readme.split("---", 1)[0]
    assert first_screen.count("python3 -m venv") == 2


@pytest.mark.parametrize("huge", [8.64e13, 2**62, "99999999999999999h", float("inf"), "9" * 400 + "s"])
def test_absurd_durations_are_refused_not_crashed(huge: object) -> None:
    with pytest.raises(ValueError, match="longest duration allowed, 8784h"):
        parse_duration(huge)


def test_blank_variables_count_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRESSPLAY_GITHUB_PRIVATE_KEY_FILE", "")
    monkeypatch.setenv("PRESSPLAY_GITHUB_INSTALLATION_ID", " ")
    monkeypatch.setenv("PRESSPLAY_GITHUB_PRIVATE_KEY", "-----BEGIN RSA PRIVATE KEY-----")
    settings = load_settings()
    assert settings.github_private_key_file is None
    assert settings.github_installation_id is None
    assert settings.github_private_key is not None


def test_gunicorn_master_stays_light() -> None:
    """The master imports gunicorn and one module: no pydantic, Flask, OTEL or gevent (they are the workers')."""
    code = (
        "import sys, pressplay.gunicorn_app;"
        "heavy=[m for m in sys.modules if m.split('.')[0] in ('pydantic','flask','opentelemetry','githubkit','kubernetes','gevent','greenlet')];"
        "print(','.join(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_public_api_is_importable_lazily() -> None:
    import pressplay

    assert pressplay.Succeeded.__name__ == "Succeeded"
    with pytest.raises(AttributeError):
        _ = pressplay.NoSuchThing  # type: ignore[attr-defined]


def test_running_requeue_is_bounded() -> None:
    from pressplay import Running

    assert Running("x", timedelta(0)).requeue == timedelta(seconds=1)
    assert Running("x", timedelta(days=400)).requeue == timedelta(hours=1)
