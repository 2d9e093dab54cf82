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
import threading
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

CLIENT_TIMEOUT = 120.0
# The titles the example clients print before each case, and the lines each case must show
# for it to have ended as the pattern's README says.
EXPECTED = {
    "Happy path streaming example": ("finished!", "Logs: START RequestId: "),
    "Midstream error example": (
        "Error Code: Unhandled",
        "Details: This is a custom error mid-stream!",
    ),
    "Timeout example": (
        "Error Code: Sandbox.Timedout",
        "Details: Task timed out after 1.00 seconds",
    ),
}


def choose(example: Path, runtime: str | None) -> tuple[Path, list[str]]:
    """The template and client command to run: the Node.js stack and the Node SDK client
    when Node.js is here (as the pattern has it), else the Python edition with boto3.

    Raises:
        ConfigError: the example folder is missing, or Node.js (or the Node client's
            packages) was asked for but is absent.
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
    if runtime == "node":
        raise ConfigError(f"the Node client needs its packages: run `npm ci` in {example}")
    return example / "template.yaml", python_client


def run(
    echo: Callable[[str], None],
    example: Path = EXAMPLE,
    runtime: str | None = None,
    data_dir: Path | None = None,
) -> bool:
    """Run the pattern; True when all three cases ended as the pattern's README describes.

    Raises:
        ConfigError: see `choose`.
        DeployError: the example stack could not be deployed.
    """
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
    return _as_expected(output, echo)


def _as_expected(output: list[str], echo: Callable[[str], None]) -> bool:
    """Each case's section of the client's output holds the lines its ending must show."""
    sections: dict[str, list[str]] = {}
    current: list[str] = []
    for line in output:
        current = sections.setdefault(line, []) if line in EXPECTED else current
        current.append(line)
    missing = [
        f"{title}: {wanted!r}"
        for title, lines in EXPECTED.items()
        for wanted in lines
        if not any(line.startswith(wanted) for line in sections.get(title, []))
    ]
    for problem in missing:
        echo(f"sluice: missing from the client's output, {problem}")
    return not missing


def _run_client(command: list[str], url: str, echo: Callable[[str], None]) -> list[str]:
    """Run the example client against the embedded server; returns its output lines.

    Only the endpoint variables point it here, as for any SDK client. The user's own
    endpoint overrides, profile and credentials are dropped so that it can never reach a
    real account, and placeholder credentials are given instead.

    A client that fails or runs past CLIENT_TIMEOUT (then killed) is reported, and its
    output is returned as far as it got, which will then lack what `_as_expected` wants.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_IGNORE_CONFIGURED"))
        and key not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
    }
    env |= {"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "sluice"}
    env |= {"AWS_SECRET_ACCESS_KEY": "sluice"}
    echo(f"sluice: AWS_ENDPOINT_URL={url} {' '.join(Path(part).name for part in command)}\n")
    lines: list[str] = []
    started = time.monotonic()
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    ) as process:
        timer = threading.Timer(CLIENT_TIMEOUT, process.kill)
        timer.start()
        try:
            assert process.stdout is not None
            for line in process.stdout:
                lines.append(line.rstrip("\n"))
                echo(f"{time.monotonic() - started:6.2f}s | {lines[-1]}")
        finally:
            timer.cancel()
    if process.returncode != 0:
        late = f" (stopped after {CLIENT_TIMEOUT:.0f} s)" if process.returncode < 0 else ""
        echo(f"sluice: the example client exited with status {process.returncode}{late}")
    return lines
