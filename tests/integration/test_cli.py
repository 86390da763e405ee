"""The documented command line, run as a real process (each run costs ~1-2 s: keep few)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.integration._helpers import (
    EXAMPLE_SCENARIO,
    PROJECT_ROOT,
    assert_no_rows,
    example_data,
    nothing_written,
    table_counts,
)

NOW = "2026-11-26T12:00:00Z"


def _run(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.update(DATABASE_URL=database_url, ZENMUX_NOW=NOW)
    env.pop("ZENMUX_CLOCK", None)
    return subprocess.run(
        [sys.executable, "-m", "zenmux_refunds", *args],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )


def test_scenario_load_then_clock_show(database_url):
    loaded = _run(database_url, "scenario", "load", str(EXAMPLE_SCENARIO))
    assert loaded.returncode == 0, loaded.stderr
    assert "loaded scenario" in loaded.stdout
    assert "8 accounts" in loaded.stdout
    counts = table_counts(database_url)
    assert counts["account"] == 8 and counts["refund"] == 3

    shown = _run(database_url, "clock", "show")
    assert shown.returncode == 0, shown.stderr
    assert "2026-11-26 12:00 UTC" in shown.stdout


def test_malformed_file_exits_2_names_the_field_and_loads_nothing(database_url, tmp_path):
    broken = example_data()
    broken["accounts"][3]["usage"][2]["amount"] = "500.00"  # overdraws paul's wallet
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken), encoding="utf-8")
    result = _run(database_url, "scenario", "load", str(path))
    assert result.returncode == 2
    assert "accounts[3].usage[2].amount" in result.stderr
    assert "Traceback" not in result.stderr
    assert table_counts(database_url)["account"] in (None, 0)
    assert_no_rows(database_url)


def test_scenario_check_validates_without_writing(database_url, tmp_path):
    ok = _run(database_url, "scenario", "check", str(EXAMPLE_SCENARIO))
    assert ok.returncode == 0, ok.stderr
    assert "valid" in ok.stdout and "8 accounts" in ok.stdout
    assert nothing_written(database_url)

    broken = example_data()
    broken["accounts"][3]["topups"][0]["paid_at"] = "2026-11-24T10:00:00"  # no zone
    path = tmp_path / "naive.json"
    path.write_text(json.dumps(broken), encoding="utf-8")
    bad = _run(database_url, "scenario", "check", str(path))
    assert bad.returncode == 2
    assert "accounts[3].topups[0].paid_at" in bad.stderr
    assert nothing_written(database_url)


def test_invalid_json_gives_line_and_column(database_url, tmp_path):
    path = tmp_path / "bad.json"
    # line 2: `"accounts": [}` -> the `}` at column 14 is where a value was expected
    path.write_text('{"now": "2026-11-26T12:00:00Z",\n"accounts": [}\n', encoding="utf-8")
    result = _run(database_url, "scenario", "load", str(path))
    assert result.returncode == 2
    assert "not valid JSON" in result.stderr
    assert "line 2" in result.stderr and "column 14" in result.stderr
    assert "Traceback" not in result.stderr
    assert_no_rows(database_url)


def test_clock_show_on_a_fresh_database_does_not_crash(database_url):
    """No scenario loaded, no schema yet: the command still answers (it once crashed with
    "no such table: clocksetting")."""
    result = _run(database_url, "clock", "show")
    assert "Traceback" not in result.stderr
    assert result.returncode == 0, result.stderr
    assert "2026-11-26 12:00 UTC" in result.stdout  # ZENMUX_NOW
