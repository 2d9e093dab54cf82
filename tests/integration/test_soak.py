"""The soak runs end to end on a few seconds of load; no timing is asserted here.

The real run is ten minutes (docs/reliability.md); this one checks that the script starts
its server, drives every action, settles, judges, stops the server and reports.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHORT = ["--seconds", "5", "--warmup", "2", "--interval", "1.5", "--idle-timeout", "1"]
FIGURES = {
    "open fds",
    "threads",
    "child processes",
    "function processes anywhere",
    "RSS MiB",
    "data dir without logs KiB",
    "logs KiB",
    "server stderr KiB",
}


def test_short_soak_passes_prints_the_tables_and_writes_json(tmp_path):
    out = tmp_path / "soak.json"
    result = subprocess.run(
        [sys.executable, "-m", "soak", *SHORT, "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.startswith("metric")
    assert result.stdout.rstrip().endswith("verdict: PASS")
    doc = json.loads(out.read_text())
    assert doc["verdict"] == "pass"
    assert {figure["metric"] for figure in doc["figures"]} == FIGURES
    assert [sample["label"] for sample in doc["samples"] if sample["label"] != "load"] == [
        "start",
        "end",
    ]
    assert all(check["ok"] for check in doc["checks"].values())
    assert doc["survivors"] == []
    assert doc["server"]["exit_code"] == 0
    # Every path ran at least once (the warm-up pass), with the outcome it must have.
    outcomes = doc["outcomes"]
    assert len(outcomes) == 27
    for name, outcome in outcomes.items():
        assert outcome["counts"].get(outcome["expected"], 0) >= 1, name
        assert set(outcome["counts"]) == {outcome["expected"]}, name
    assert outcomes["stream py-timeout"]["expected"] == "Sandbox.Timedout"
    assert outcomes["stream node-crash"]["expected"] == "Runtime.ExitError"
    assert outcomes["stream py-error"]["expected"] == "Unhandled"
    assert doc["reports"]["owed"] == doc["reports"]["found"]
