"""`sluice demo`, the README's first command, end to end in its own process."""

from __future__ import annotations

import subprocess
import sys


def test_demo_runs_the_three_cases():
    result = subprocess.run(
        [sys.executable, "-m", "sluice", "demo"],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.count("PayloadChunk") >= 12 + 4 + 2
    assert "ErrorDetails: This is a custom error mid-stream!" in out
    assert "ErrorCode:    Sandbox.Timedout" in out
    assert "ErrorDetails: Task timed out after 1.00 seconds" in out
    assert out.count("REPORT RequestId:") == 3
    assert "deleted the demo functions" in out
    assert "Traceback" not in result.stderr and "pending" not in result.stderr
