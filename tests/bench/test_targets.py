"""``python -m bench`` prints each of issue 16's targets with its verdict and, where measured, its floor."""

from __future__ import annotations

from typing import Any

import pytest
from bench.__main__ import print_targets, targets


def _report() -> dict[str, Any]:
    return {
        "machine": {"loadavg_at_start": [0.1, 0.1, 0.1]},
        "loadavg_at_end": [1.0, 1.0, 1.0],
        "steal": 0.0,
        "overhead": {
            "ratios": {
                "not-mine@16": {"cpu_vs_flask": 1.1, "target": 1.2, "passed": True, "steal": 0.0},
                "poll-304@16": {
                    "cpu_vs_flask": 5.0,
                    "target": 2.0,
                    "passed": False,
                    "steal": 0.0,
                    "floor": 2.5,
                },
                "poll-304-lean@16": {
                    "cpu_vs_flask": 3.0,
                    "target": 1.75,
                    "passed": False,
                    "steal": 0.0,
                    "floor": 1.7,
                },
            }
        },
        "footprint": {
            "cold_start_s": {"median": 0.3},
            "idle": {"rss_mib": 67.0},
            "flask_noop_idle": {"rss_mib": 55.0},
            "github_loaded": {"rss_mib": 91.0},
            "targets": {"cold_start_median_s": 0.5, "idle_rss_mib": 63.0, "github_loaded_rss_mib": 79.0},
            "floors": {"idle_rss_mib": 64.0, "github_loaded_rss_mib": 82.0},
        },
    }


def test_each_target_has_its_verdict_and_a_floor_says_whether_the_target_can_be_met() -> None:
    rows = {row["what"].split(" ")[0]: row for row in targets(_report())}
    assert rows["not-mine@16"]["passed"] is True and rows["not-mine@16"]["floor"] is None
    assert rows["poll-304@16"]["reachable"] is False
    assert rows["poll-304-lean@16"]["reachable"] is True
    assert rows["idle"]["floor"] == 64.0 and rows["idle"]["reachable"] is False
    assert rows["cold"]["passed"] is True and "floor" not in rows["cold"]


def test_the_printout_names_the_targets_below_their_floor_and_what_is_ours(
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = _report()
    report["targets"] = targets(report)
    print_targets(report)
    out = capsys.readouterr().out
    assert "2 of 6 targets met; 3 below the floor of the required stack" in out
    poll = next(line for line in out.splitlines() if "poll-304@16" in line)
    assert "FAIL" in poll and "floor 2.5 (+2.5 ours): target below its floor" in poll
    lean = next(line for line in out.splitlines() if "poll-304-lean@16" in line)
    assert "floor 1.7 (+1.3 ours)" in lean and "below its floor" not in lean
