"""`sluice demo`: the lambda-streaming-sdk-sam pattern end to end on an embedded server.

It does what the pattern's README does on AWS: deploy the example's SAM template as a stack,
run the example's SDK client (unmodified, with only AWS_ENDPOINT_URL pointing here), then
delete the stack. The client runs as its own process and reaches the server over loopback
HTTP like any outside client; its lines are shown as they arrive, stamped with the time
since the client started, so the 500 ms pace of the stream is visible.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sluice import client, deploy
from sluice.embedded import EmbeddedServer
from sluice.errors import ConfigError
from sluice.server import ServerConfig

STACK = "lambda-streaming-sdk-sam"
REGION = "eu-west-1"
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "lambda-streaming-sdk-sam"

# What the client must print for the three functions to have ended as the README says.
EXPECTED = (
    "Error Code: Unhandled",
    "Details: This is a custom error mid-stream!",
    "Error Code: Sandbox.Timedout",
    "Details: Task timed out after 1.00 seconds",
)


def choose(example: Path, runtime: str | None) -> tuple[Path, list[str]]:
    """The template and client command to run: the Node.js stack and the Node SDK client
    when Node.js is here (as the pattern has it), else the Python edition with boto3.

    Raises:
        ConfigError: the example folder is missing, or Node.js was asked for but is absent.
    """
    if not (example / "template.yaml").is_file():
        raise ConfigError(
            f"no example at {example}: the demo runs the example of a sluice checkout "
            "(give its folder with --example-dir)"
        )
    node = shutil.which("node")
    if runtime == "node" and node is None:
        raise ConfigError("--runtime node needs Node.js on the PATH")
    python_client = [sys.executable, str(example / "client.py")]
    if runtime == "python" or node is None:
        return example / "template-python.yaml", python_client
    if (example / "node_modules" / "@aws-sdk" / "client-lambda").is_dir():
        return example / "template.yaml", [node, str(example / "index.mjs")]
    return example / "template.yaml", python_client


def run(
    echo: Callable[[str], None],
    example: Path = EXAMPLE,
    runtime: str | None = None,
    data_dir: Path | None = None,
) -> bool:
    """Run the pattern; True when all three cases ended as the pattern's README describes."""
    template, command = choose(example, runtime)
    with tempfile.TemporaryDirectory(prefix="sluice-demo-") as scratch:
        config = ServerConfig(port=0, data_dir=data_dir or Path(scratch))
        with EmbeddedServer(config) as url:
            echo(f"sluice: embedded Lambda API on {url}")
            lambda_client = client.lambda_client(url, REGION)
            echo(f"sluice: deploying {template.name} as stack {STACK}")
            result = deploy.deploy(lambda_client, template, STACK)
            for change in result.functions:
                echo(f"  {change.action} {change.physical_name}")
            try:
                output = _run_client(command, url, echo)
            finally:
                deleted = deploy.delete(lambda_client, STACK)
                echo(f"\nsluice: deleted stack {STACK} ({len(deleted)} functions)")
    return all(expected in output for expected in EXPECTED) and output.count("REPORT") == 3


def _run_client(command: list[str], url: str, echo: Callable[[str], None]) -> str:
    """Run the example client with the endpoint in AWS_ENDPOINT_URL and nothing else
    changed; placeholder credentials are added only when none are configured."""
    env = {**os.environ, "AWS_ENDPOINT_URL": url}
    if "AWS_ACCESS_KEY_ID" not in env and "AWS_PROFILE" not in env:
        env |= {"AWS_ACCESS_KEY_ID": "sluice", "AWS_SECRET_ACCESS_KEY": "sluice"}
    echo(f"sluice: AWS_ENDPOINT_URL={url} {' '.join(Path(part).name for part in command)}\n")
    lines = []
    started = time.monotonic()
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            echo(f"{time.monotonic() - started:6.2f}s | {line.rstrip()}")
    return "".join(lines)
