"""Compliance gates: run the profile's gates in order and summarise them into a report.

A gate passes when its command exits 0 within its timeout. The report keeps, per gate, the findings a
person (or the next agent attempt) acts on - compiler/clippy diagnostics, ``path:line:col`` lint lines,
failing tests, rustfmt diffs - plus the last lines of output, all bounded in size and redacted.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from pressplay.agent.process import run_streaming
from pressplay.agent.profile import Gate

MAX_FINDINGS = 40
TAIL_LINES = 40
MAX_LINE = 400
_FINDING_RE = re.compile(
    r"^(?:(?:error|warning)(?:\[[\w:-]+\])?: |"  # rustc / clippy
    r"\s*--> |"  # rustc location lines
    r"[^\s:]+:\d+(?::\d+)?: |"  # path:line[:col]: (ruff, flake8, mypy, compilers, custom linters)
    r"FAILED |ERROR |E\s{3}|"  # pytest
    r"Diff in |"  # rustfmt --check
    r"test .* \.\.\. FAILED|"  # cargo test
    r"(?:FAIL|ERROR): )"  # unittest
)


@dataclass
class GateResult:
    name: str
    command: str
    passed: bool
    exit_code: int | None = None
    timed_out: bool = False
    skipped: str | None = None
    seconds: float = 0.0
    findings: list[str] = field(default_factory=list)
    tail: list[str] = field(default_factory=list)

    def headline(self) -> str:
        if self.skipped:
            return f"{self.name}: skipped ({self.skipped})"
        if self.passed:
            return f"{self.name}: passed"
        if self.timed_out:
            return f"{self.name}: timed out after {self.seconds:.0f}s"
        found = f", {len(self.findings)} finding(s)" if self.findings else ""
        return f"{self.name}: failed (exit {self.exit_code}{found})"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "command": self.command,
            "passed": self.passed,
            "exitCode": self.exit_code,
            "timedOut": self.timed_out,
            "skipped": self.skipped,
            "seconds": round(self.seconds, 2),
            "findings": self.findings,
            "tail": self.tail,
        }


@dataclass
class GateReport:
    results: list[GateResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failed(self) -> list[GateResult]:
        return [r for r in self.results if not r.passed]

    def summary(self) -> str:
        if not self.results:
            return "no gates configured"
        if self.passed:
            ran = [r.name for r in self.results if not r.skipped]
            return f"gates passed: {', '.join(ran) or 'none ran'}"
        return "gates failed: " + "; ".join(r.headline() for r in self.failed)

    def to_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "summary": self.summary(),
            "gates": [r.to_json() for r in self.results],
        }

    def markdown(self) -> str:
        """The report as Markdown: for the agent's next attempt and for a PR comment."""
        lines = [f"**{self.summary()}**", ""]
        for result in self.results:
            mark = "✅" if result.passed else "❌"
            lines.append(f"- {mark} `{result.command}` - {result.headline()}")
        for result in self.failed:
            body = result.findings or result.tail
            lines += ["", f"### {result.name}", "", "```text", *body, "```"]
        return "\n".join(lines)


def _clip(line: str) -> str:
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 1] + "…"


def findings_of(lines: Sequence[str]) -> list[str]:
    """The diagnostic lines of a gate's output (at most :data:`MAX_FINDINGS`)."""
    found = [_clip(line) for line in lines if _FINDING_RE.match(line)]
    return found[:MAX_FINDINGS]


def run_gates(
    gates: Sequence[Gate],
    *,
    cwd: Path,
    env: Mapping[str, str],
    sink: TextIO | None,
    stop_on_failure: bool = False,
) -> GateReport:
    """Run every gate (all of them by default, so one report shows every problem at once)."""
    report = GateReport()
    for gate in gates:
        command = shlex.join(gate.run)
        if gate.if_exists and not (cwd / gate.if_exists).exists():
            report.results.append(
                GateResult(
                    gate.name, command, passed=True, skipped=f"no {gate.if_exists} in the working directory"
                )
            )
            continue
        if sink is not None:
            sink.write(f"[gate {gate.name}] $ {command}\n")
            sink.flush()
        result = run_streaming(
            gate.run,
            cwd=cwd,
            env=env,
            timeout=gate.timeout.total_seconds(),
            sink=sink,
            prefix=f"[gate {gate.name}] ",
        )
        gate_result = GateResult(
            name=gate.name,
            command=command,
            passed=result.ok,
            exit_code=result.exit_code,
            timed_out=result.timed_out,
            seconds=result.seconds,
            findings=[] if result.ok else findings_of(result.tail),
            tail=[] if result.ok else [_clip(line) for line in result.tail[-TAIL_LINES:]],
        )
        if result.not_found:
            gate_result.findings = [result.describe()]
        report.results.append(gate_result)
        if sink is not None:
            sink.write(f"[gate {gate.name}] {gate_result.headline()}\n")
            sink.flush()
        if stop_on_failure and not gate_result.passed:
            break
    return report
