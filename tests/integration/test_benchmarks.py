"""The benchmark runner works end to end on a tiny workload; no timing is asserted here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

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


TINY = {"calls": 5, "mib": 8, "writes": 200, "streams": 2, "seconds": 0.3, "cold": 1}


def test_runner_prints_the_table_and_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    options = [f"--{name}={value}" for name, value in TINY.items()]
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", *options, "--out", str(out)],
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
    assert doc["meta"]["options"] == {**TINY, "runtime": "all"}
    rows = doc["rows"]
    for runtime in ("python", "node"):
        assert {row["scenario"] for row in rows if row["runtime"] == runtime} == {
            "1 ttfb p50",
            "1 ttfb p99",
            "2 stream 8 MiB",
            "3 200 x 16 B",
            "3 overhead per chunk",
            "4 2 streams p99 late",
            "4 2 streams server CPU",
            "4 2 streams memory/env",
            "5 cold start p50",
            "5 warm Invoke p50",
        }
        clients = {row["client"] for row in rows if row["runtime"] == runtime}
        assert clients == {"lean", "boto3", "url"}
    assert any(row["runtime"] == "AWS published" for row in rows)
    peer = [row for row in rows if row["scenario"].startswith("6 ")]
    assert len(peer) == 4 or doc["meta"]["peer_unavailable"]
    for row in rows:
        assert set(row) == ROW_KEYS
        assert row["figure"] >= 0  # server CPU in a tiny run can be under one clock tick
        assert row["reference_figure"] > 0
        assert row["ratio"] == pytest.approx(row["figure"] / row["reference_figure"])
