"""InvokeWithResponseStream through the AWS SDK for JavaScript v3 (tests/node/stream-client.mjs).

boto3 creates the functions; a Node process finds them with `paginateListFunctions` and
streams them, so sluice is checked against a second, independent event-stream client.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import RunningServer, create_function, unique
from tests.integration.test_python_runtime import STREAMING

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
SCRIPT = NODE_DIR / "stream-client.mjs"
NODE_TIMEOUT = 60

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or shutil.which("npm") is None,
    reason="node and npm must be on PATH to run the AWS SDK for JavaScript client",
)


@pytest.fixture(scope="module")
def node_client() -> Path:
    """The client script, with its node_modules installed from package-lock.json."""
    if not (NODE_DIR / "node_modules" / "@aws-sdk" / "client-lambda").is_dir():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"],
            cwd=NODE_DIR,
            check=True,
            timeout=600,
        )
    return SCRIPT


def run_node(server: RunningServer, script: Path, *args: str) -> tuple[int, list[dict], str]:
    """Run the client against `server`; returns exit status, JSON lines and stderr."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(
        AWS_ENDPOINT_URL=server.url,
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
    )
    completed = subprocess.run(
        ["node", str(script), *args],
        cwd=NODE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT,
        check=False,
    )
    lines = [json.loads(line) for line in completed.stdout.splitlines() if line.strip()]
    return completed.returncode, lines, completed.stderr


def stream(server: RunningServer, script: Path, prefix: str, **event) -> dict:
    """Invoke the first function named `prefix...`; head, chunks, arrival times, complete."""
    status, lines, stderr = run_node(server, script, prefix, json.dumps(event))
    assert status == 0, (lines, stderr)
    head, events = lines[0], lines[1:]
    completes = [line["complete"] for line in events if "complete" in line]
    assert len(completes) == 1 and "complete" in events[-1], events
    chunks = [line for line in events if "chunk" in line]
    return {
        "head": head,
        "chunks": [line["chunk"] for line in chunks],
        "arrivals": [line["t"] / 1000 for line in chunks],
        "complete": completes[0],
    }


def test_chunks_arrive_paced_with_logs(server, lambda_client, node_client):
    name = unique("node-stream")
    create_function(lambda_client, name, {"app.py": STREAMING})
    words = ["This ", "function ", "is ", "streaming "]
    result = stream(server, node_client, name, words=words, pause=0.3)
    assert result["head"] == {"contentType": "text/plain", "status": 200}
    assert result["chunks"][:4] == words
    assert result["chunks"][4:] == ["count=1"]
    gaps = [later - earlier for earlier, later in itertools.pairwise(result["arrivals"][:4])]
    assert all(gap > 0.15 for gap in gaps), gaps
    complete = result["complete"]
    assert "ErrorCode" not in complete and "ErrorDetails" not in complete
    log = complete["LogResult"]
    assert "START RequestId:" in log
    assert "END RequestId:" in log
    assert "REPORT RequestId:" in log


def test_mid_stream_exception(server, lambda_client, node_client):
    name = unique("node-fail")
    create_function(lambda_client, name, {"app.py": STREAMING})
    result = stream(server, node_client, name, words=["This ", "function ", "x"], fail_at=2)
    assert result["chunks"] == ["This ", "function "]
    complete = result["complete"]
    assert complete["ErrorCode"] == "Unhandled"
    assert complete["ErrorDetails"] == "This is a custom error mid-stream!"
    assert "ValueError" in complete["LogResult"]


def test_timeout_mid_stream(server, lambda_client, node_client):
    name = unique("node-late")
    create_function(lambda_client, name, {"app.py": STREAMING}, Timeout=1)
    result = stream(
        server, node_client, name, words=["This ", "function ", "is ", "late"], pause=0.45
    )
    assert result["chunks"][:2] == ["This ", "function "] and len(result["chunks"]) <= 3
    complete = result["complete"]
    assert complete["ErrorCode"] == "Sandbox.Timedout"
    assert complete["ErrorDetails"] == "Task timed out after 1.00 seconds"
    assert "Status: timeout" in complete["LogResult"]


def test_missing_function_is_resource_not_found(server, node_client):
    status, lines, stderr = run_node(server, node_client, "--name", unique("node-missing"), "{}")
    assert status != 0, (lines, stderr)
    error = lines[-1]["error"]
    assert error["name"] == "ResourceNotFoundException", (lines, stderr)
    assert error["status"] == 404
    assert error["message"].startswith("Function not found: arn:aws:lambda:eu-west-1:")


def test_unknown_prefix_exits_non_zero(server, node_client):
    status, lines, stderr = run_node(server, node_client, unique("node-nobody"), "{}")
    assert status != 0, (lines, stderr)
    assert lines[-1]["error"]["name"] == "NoMatchingFunction"
