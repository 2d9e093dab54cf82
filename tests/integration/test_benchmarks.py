"""The benchmark runner works end to end on a tiny workload; no timing is asserted here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ROW_KEYS = {
    "scenario",
    "runtime",
    "client",
    "figure",
    "unit",
    "reference",
    "reference_figure",
    "ratio",
}


def test_runner_prints_the_table_and_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--calls", "5", "--mib", "1", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.startswith("scenario")
    doc = json.loads(out.read_text())
    assert set(doc) == {"meta", "references", "rows"}
    assert doc["references"]["loopback_tcp_mbps"] > 0
    assert doc["references"]["replay_boto3_ttfb_p50_ms"] > 0
    assert doc["meta"]["options"] == {"calls": 5, "mib": 1, "runtime": "all"}
    rows = doc["rows"]
    assert {(row["runtime"], row["client"]) for row in rows} == {
        (runtime, client) for runtime in ("python", "node") for client in ("lean", "boto3")
    }
    assert {row["scenario"] for row in rows} == {"1 ttfb p50", "1 ttfb p99", "2 stream 1 MiB"}
    for row in rows:
        assert set(row) == ROW_KEYS
        assert row["figure"] > 0
        assert row["reference_figure"] > 0
        assert row["ratio"] > 0
