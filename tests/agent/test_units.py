"""Profiles, options, prompts, the credential helper protocol, redaction and the CLI."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from pressplay.agent import cli
from pressplay.agent.credential import answer, read_request, remote_url_for
from pressplay.agent.credential import main as credential_main
from pressplay.agent.gates import findings_of
from pressplay.agent.options import AgentOptions
from pressplay.agent.profile import PRESETS, Profile, ProfileError, load_profile, load_profiles
from pressplay.agent.prompt import PromptError, find_task_prompt
from pressplay.config import Settings
from pressplay.redact import redact, register


def test_rust_preset_is_the_issue_gates() -> None:
    profile = Profile.model_validate({"name": "rex", "gates": ["rust"]})
    assert [list(g.run) for g in profile.gates] == [
        ["cargo", "fmt", "--check"],
        ["cargo", "clippy", "--all-targets", "--", "-D", "warnings", "-W", "clippy::pedantic"],
        ["cargo", "test"],
    ]
    assert set(PRESETS) >= {"rust", "python"}


def test_profile_rejects_unknown_placeholders_and_presets() -> None:
    with pytest.raises(ValidationError, match="unknown placeholder"):
        Profile.model_validate({"command": ["claude", "{modle}"]})
    with pytest.raises(ValidationError, match="unknown gate preset 'cobol'"):
        Profile.model_validate({"gates": ["cobol"]})
    with pytest.raises(ValidationError, match="never uses \\{prompt_file\\}"):
        Profile.model_validate({"command": ["codex", "exec"], "prompt": "file"})


def test_profile_argv_fills_each_element_without_a_shell() -> None:
    profile = Profile.model_validate(
        {
            "name": "a",
            "command": ["claude", "-p", "--model", "{model}", "--append-system-prompt", "{system_prompt}"],
        }
    )
    argv = profile.argv({"model": "m1", "system_prompt": "be; careful $(x)"})
    assert argv == ["claude", "-p", "--model", "m1", "--append-system-prompt", "be; careful $(x)"]
    assert profile.separate_system_prompt
    with pytest.raises(ProfileError, match="set `model` in the profile"):
        profile.argv({"model": "", "system_prompt": "x"})


def test_load_profiles_errors_name_the_file_and_field(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="mount the agents ConfigMap"):
        load_profiles(tmp_path)
    (tmp_path / "agents.yaml").write_text("agents:\n  a:\n    comand: [x]\n")
    with pytest.raises(ProfileError, match="agent 'a': comand"):
        load_profiles(tmp_path)
    (tmp_path / "agents.yaml").write_text("a:\n  command: [x]\n  timeout: 5m\n")
    (tmp_path / "a_system-prompt.md").write_text("sys")
    profile = load_profile(tmp_path, "a")
    assert profile.system_prompt == "sys"
    assert profile.timeout.total_seconds() == 300
    with pytest.raises(ProfileError, match=r"known: a\)"):
        load_profile(tmp_path, "b")


def test_options_from_env_and_flags() -> None:
    env = {
        "PRESSPLAY_REPO": "acme/api",
        "PRESSPLAY_BRANCH": "pressplay/task-7",
        "PRESSPLAY_AGENT": "author",
        "PRESSPLAY_TASK_ID": "7",
        "PRESSPLAY_CONTEXT_FILES": "/in/comment.md\n/in/logs.txt",
        "PRESSPLAY_PROMPT_MOD": "be brief",
        "PRESSPLAY_GITHUB_APP_ID": "1",  # a sidecar setting: ignored here
    }
    options = AgentOptions.from_sources({"agent": "linter", "context_files": None}, env)
    assert options.agent == "linter"
    assert options.context_files == (Path("/in/comment.md"), Path("/in/logs.txt"))
    assert options.step_key == "linter"
    assert options.base == "main"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("branch", "a b", "not a branch name"),
        ("branch", "x/../y", "not a branch name"),
        ("branch", "main", "never commits to its base"),
        ("task_id", "1;rm", "not a plain name"),
        ("working_directory", "../etc", "inside the repository"),
        ("remote_url", "https://x:ghs_abc@github.com/a/b.git", "must not carry credentials"),
        ("repo", "nope", "owner/name"),
    ],
)
def test_options_reject_bad_input(field: str, value: str, message: str) -> None:
    raw = {"repo": "acme/api", "branch": "pressplay/task-7", "agent": "author", "task_id": "7", field: value}
    with pytest.raises(ValidationError, match=message):
        AgentOptions.model_validate(raw)


def test_task_prompt_lookup_order(tmp_path: Path) -> None:
    tasks = {
        "master": {"tasks": [{"id": 3, "title": "Add X", "description": "Do X.", "testStrategy": "Test X."}]}
    }
    (tmp_path / ".taskmaster" / "tasks").mkdir(parents=True)
    (tmp_path / ".taskmaster" / "tasks" / "tasks.json").write_text(json.dumps(tasks))
    text, source = find_task_prompt(tmp_path, "3", ".", None) or ("", "")
    assert source == ".taskmaster/tasks/tasks.json"
    assert "Add X" in text and "## Test strategy\n\nTest X." in text
    (tmp_path / ".taskmaster" / "docs" / "task-3").mkdir(parents=True)
    (tmp_path / ".taskmaster" / "docs" / "task-3" / "prompt.md").write_text("Taskmaster prompt")
    assert find_task_prompt(tmp_path, "3", ".", None) == (
        "Taskmaster prompt",
        ".taskmaster/docs/task-3/prompt.md",
    )
    assert find_task_prompt(tmp_path, "4", ".", None) is None
    (tmp_path / "task").mkdir()
    (tmp_path / "task" / "prompt.md").write_text("Local prompt")
    assert find_task_prompt(tmp_path, "3", ".", None) == ("Local prompt", "task/prompt.md")
    with pytest.raises(PromptError, match="does not exist"):
        find_task_prompt(tmp_path, "3", ".", "nope.md")


def test_credential_helper_answers_only_for_the_task_repository() -> None:
    settings = Settings(github_api_url="https://api.github.com", github_app_id="1")
    minted: list[tuple[str, str]] = []

    def minter(_settings: Settings, repo: str, permission: str) -> str:
        minted.append((repo, permission))
        return "ghs_" + "t" * 36

    request = read_request(io.StringIO("protocol=https\nhost=github.com\npath=acme/api.git\n\n"))
    out, err = answer("get", request, settings, repo="acme/api", minter=minter)
    assert err is None
    assert out == f"username=x-access-token\npassword=ghs_{'t' * 36}\n\n"
    assert minted == [("acme/api", "write")]
    _, err = answer("get", request, settings, repo="acme/api", permission="read", minter=minter)
    assert minted[-1] == ("acme/api", "read")
    # another host, another repository of the installation, another scheme: no credentials, a reason
    for other in (
        {"protocol": "https", "host": "gitlab.com", "path": "acme/api.git"},
        {"protocol": "https", "host": "github.com", "path": "acme/secret.git"},
        {"protocol": "https", "host": "github.com", "path": "acme/api.git/../secret.git"},
        {"protocol": "http", "host": "github.com", "path": "acme/api.git"},
        {"url": "https://github.com/acme/other.git"},
    ):
        out, err = answer("get", other, settings, repo="acme/api", minter=minter)
        assert out == "" and err is not None and "no credentials" in err, other
    assert len(minted) == 2
    # a repository outside the settings' allow-list gets nothing, even for its own URL
    listed = Settings(
        github_api_url="https://api.github.com", github_app_id="1", repositories="acme/web,octo/*"
    )
    out, err = answer("get", request, listed, repo="acme/api", minter=minter)
    assert out == "" and err is not None and "not in the repositories" in err
    assert answer("get", {**request, "path": "octo/x.git"}, listed, repo="octo/x", minter=minter)[1] is None
    assert answer("store", request, settings, repo="acme/api", minter=minter) == ("", None)
    assert answer("erase", request, settings, repo="acme/api", minter=minter) == ("", None)
    _, err = answer(
        "get", {"protocol": "https", "host": "github.com"}, settings, repo="acme/api", minter=minter
    )
    assert err is not None and "useHttpPath" in err

    def broken(_settings: Settings, _repo: str, _permission: str) -> str:
        raise RuntimeError(
            "no installation; key -----BEGIN RSA PRIVATE KEY-----abc-----END RSA PRIVATE KEY-----"
        )

    _, err = answer("get", request, settings, repo="acme/api", minter=broken)
    assert err is not None and "no token for acme/api" in err and "abc" not in err


def test_credential_helper_cli_usage_and_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert credential_main([]) == 2
    assert "usage" in capsys.readouterr().err
    assert credential_main(["--repo", "not a repo", "get"]) == 2
    # git runs the helper as a separate process: a foreign host gets an empty answer and a reason
    proc = subprocess.run(
        [sys.executable, "-I", "-m", "pressplay.agent.credential", "--repo", "a/b", "get"],
        input="protocol=https\nhost=example.com\npath=a/b.git\n\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.stdout == "" and "no credentials" in proc.stderr


def test_remote_urls() -> None:
    assert remote_url_for("acme/api", "https://api.github.com") == "https://github.com/acme/api.git"
    assert (
        remote_url_for("acme/api", "https://ghe.example.com/api/v3") == "https://ghe.example.com/acme/api.git"
    )
    assert remote_url_for("acme/api", "http://127.0.0.1:9000") == "http://127.0.0.1:9000/acme/api.git"


def test_redaction() -> None:
    register("hunter2-very-secret")
    text = (
        "token ghs_abcdefghijklmnopqrstuvwxyz0123456789 jwt eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiIxMjM0In0.c2lnbmF0dXJlX2hlcmU "
        "url https://x-access-token:abc123@github.com/a/b.git and hunter2-very-secret"
    )
    cleaned = redact(text)
    for secret in ("ghs_abc", "eyJhbGci", "abc123", "hunter2"):
        assert secret not in cleaned


def test_findings_of_clippy_and_linters() -> None:
    lines = [
        "   Compiling demo v0.1.0",
        "warning: this could be a `const fn`",
        "  --> src/lib.rs:3:1",
        "error: could not compile `demo` (lib) due to 1 previous error",
        "app.py:3:1: F401 `os` imported but unused",
        "noise",
    ]
    assert findings_of(lines) == [lines[1], lines[2], lines[3], lines[4]]


def test_cli_reports_bad_input_by_flag_and_variable(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = cli.main(["run", "--repo", "acme/api", "--branch", "bad branch", "--agent", "a", "--task-id", "1"])
    assert code == 2
    err = capsys.readouterr().err
    assert "branch (--branch or PRESSPLAY_BRANCH)" in err
    (tmp_path / "agents.yaml").write_text("agents:\n  rex:\n    command: [claude]\n    gates: [rust]\n")
    assert cli.main(["profiles", "--agents-dir", str(tmp_path)]) == 0
    assert "rex: claude; fmt, clippy, test" in capsys.readouterr().out


def test_stream_redactor_masks_a_pem_block_line_by_line_and_resumes_after_it(tmp_path: Path) -> None:
    from pressplay.redact import MASK, StreamRedactor, register_environment

    lines = [
        "before ghs_" + "a" * 36,
        "[agent] -----BEGIN OPENSSH PRIVATE KEY-----",
        "[agent] b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
        '"QyNTUxOQAAACBvZ2VzdCBrZXkgZm9yIHRlc3RzIG9ubHkgYmFzZTY0IGJvZHkgaGVyZQ==",',
        "",
        "-----END OPENSSH PRIVATE KEY----- trailing ghp_" + "b" * 36,
        "agent: done",
    ]
    out = StreamRedactor().lines(lines)
    assert out[0] == f"before {MASK}"
    assert out[1] == f"[agent] {MASK}"
    assert out[2:5] == [MASK, MASK, MASK]
    assert out[5] == f"{MASK} trailing {MASK}"
    assert out[6] == "agent: done"
    # a block cut short: the first line that is not key material ends it
    cut = StreamRedactor().lines(
        ["-----BEGIN RSA PRIVATE KEY-----", "MIIEowIBAAKCAQEA0Z3VS5JJcds3", "error: bye"]
    )
    assert cut == [MASK, MASK, "error: bye"]
    # secrets of the environment, by name, and the contents of secret files it names
    key_file = tmp_path / "svc.key"
    key_file.write_text("line-one-of-a-secret-file\nline-two-of-a-secret-file\n")
    names = register_environment(
        {
            "SERVICE_PASSWORD": "correct-horse-battery",
            "DB_CREDENTIALS_FILE": str(key_file),
            "GIT_AUTHOR_NAME": "pressplay[bot]",
            "PRESSPLAY_GITHUB_APP_ID": "123456789",
            "SHORT_TOKEN": "abc",
        }
    )
    assert names == ["DB_CREDENTIALS_FILE", "SERVICE_PASSWORD", "SHORT_TOKEN"]
    text = redact("pw correct-horse-battery; line-two-of-a-secret-file; pressplay[bot] 123456789")
    assert text == f"pw {MASK}; {MASK}; pressplay[bot] 123456789"


_HOSTILE = "Please fix {{ x }} ${{ secrets.TOKEN }} {{=sprig.upper('x')}} {{workflow.name}} é — 🚀"


def test_base64_context_reaches_the_prompt_byte_for_byte(tmp_path: Path) -> None:
    """Event text comes base64 (Argo never templates it); the agent reads it as written."""
    import base64

    from pressplay.agent.prompt import assemble

    (tmp_path / "task").mkdir()
    (tmp_path / "task" / "prompt.md").write_text("Do the task.")
    encoded = tmp_path / "event.b64"
    encoded.write_text(base64.b64encode(_HOSTILE.encode()).decode() + "\n")
    blank = tmp_path / "blank.b64"
    blank.write_text("\n")  # the Sensor had no text: the artifact holds only the newline
    plain = tmp_path / "event.md"
    plain.write_text("\n")
    prompt = assemble(
        root=tmp_path,
        task_id="7",
        workdir=".",
        system_prompt="s",
        prompt_mod="",
        prompt_path=None,
        context_files=[plain, encoded, blank],
    )
    assert _HOSTILE in prompt.user
    assert prompt.user.count("## Context:") == 1


def test_a_context_file_that_is_not_base64_is_named(tmp_path: Path) -> None:
    from pressplay.agent.prompt import assemble

    bad = tmp_path / "event.b64"
    bad.write_text("{{ not base64 }}")
    with pytest.raises(PromptError, match=r"context file event\.b64 is not valid base64"):
        assemble(
            root=tmp_path,
            task_id="7",
            workdir=".",
            system_prompt="s",
            prompt_mod="",
            prompt_path=None,
            context_files=[bad],
        )


def test_summary_is_also_written_base64_after_redaction(tmp_path: Path) -> None:
    import base64

    from pressplay.agent.runtime import write_output_values

    token = "ghs_" + "b" * 36
    register(token)
    write_output_values({"summary": f"{_HOSTILE} {token}", "summaryB64": "ignored"}, tmp_path)
    summary = (tmp_path / "summary").read_text()
    assert token not in summary and _HOSTILE in summary
    assert base64.b64decode((tmp_path / "summary-b64").read_text()).decode() == summary


def test_agent_written_files_are_also_handed_on_base64(tmp_path: Path) -> None:
    """The verdict and the task the agent wrote go to the outputs as written (redacted) and base64:
    templates hand the base64 form on ({b64: ...}), never the agent's text in clear."""
    import base64

    from pressplay.agent.runtime import _collect_agent_files

    scratch, outputs = tmp_path / "scratch", tmp_path / "out"
    scratch.mkdir()
    outputs.mkdir()
    verdict = '{"version": 1, "summary": "ok {{ x }} ${{ secrets.X }}", "items": []}'
    (scratch / "verdict.json").write_text(verdict)
    _collect_agent_files(scratch, outputs)
    assert (outputs / "verdict.json").read_text() == verdict
    assert base64.b64decode((outputs / "verdict.json.b64").read_text()).decode() == verdict
    assert not (outputs / "task.json.b64").exists()
