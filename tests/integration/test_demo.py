"""`sluice demo`, the README's first command, end to end in its own process."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("runtime", ["node", "python"])
def test_demo_deploys_runs_the_client_and_deletes(runtime):
    result = subprocess.run(
        [sys.executable, "-m", "sluice", "demo", "--runtime", runtime],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert out.count("created lambda-streaming-sdk-sam-") == 3
    assert "| finished!" in out
    assert "| Error Code: Unhandled" in out
    assert "| Details: This is a custom error mid-stream!" in out
    assert "| Error Code: Sandbox.Timedout" in out
    assert "| Details: Task timed out after 1.00 seconds" in out
    assert "deleted stack lambda-streaming-sdk-sam (3 functions)" in out
    assert "Traceback" not in result.stderr


def test_demo_without_the_example_says_where_it_looked(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "sluice", "demo", "--example-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert f"no example at {tmp_path}" in result.stderr
