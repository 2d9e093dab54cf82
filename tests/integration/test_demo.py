"""`sluice demo`, the README's first command, end to end in its own process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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


PYTHON_STACK = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  HappyPathFunction:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
"""


def fake_example(folder: Path, client: str, template: str = PYTHON_STACK) -> Path:
    for name in ("template.yaml", "template-python.yaml"):
        (folder / name).write_text(template)
    (folder / "app.py").write_text("def handler(event, context):\n    return 1\n")
    (folder / "client.py").write_text(client)
    return folder


def run_demo(example: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sluice", "demo", "--runtime=python", f"--example-dir={example}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_failing_client_fails_the_demo_and_the_stack_is_still_deleted(tmp_path):
    result = run_demo(fake_example(tmp_path, "import sys\nprint('boom')\nsys.exit(3)\n"))
    assert result.returncode == 1
    assert "| boom" in result.stdout
    assert "the example client exited with status 3" in result.stdout
    assert "missing from the client's output, Happy path streaming example" in result.stdout
    assert "deleted stack lambda-streaming-sdk-sam (1 functions)" in result.stdout
    assert "an outcome differed from the pattern's README" in result.stderr


def test_a_template_error_is_one_line(tmp_path):
    broken = PYTHON_STACK.replace("Handler: app.handler", "Handler: !GetAtt Nowhere.Arn")
    result = run_demo(fake_example(tmp_path, "print('never runs')\n", broken))
    assert result.returncode == 1
    assert result.stderr.startswith("sluice: demo: Resource HappyPathFunction, property Handler")
    assert "Traceback" not in result.stderr
