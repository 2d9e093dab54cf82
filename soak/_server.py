"""The soak's own `sluice serve`: free port, temporary data dir, always stopped.

The soak must never touch a user's server or `./.sluice/`, and its verdict includes "nothing
survives the server", so the server lives only inside `running_server`, which records how it
stopped. Its stderr goes to a file beside (not inside) the data dir: the soak counts the
warnings and tracebacks in it, and the data dir's size stays the server's own.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

from soak._functions import PACKAGES, FunctionDef, handler_of

REGION = "us-east-1"
ROLE = "arn:aws:iam::000000000000:role/soak"
# SIGTERM stops every environment with a 2 s grace; far more than that is a hang.
STOP_WAIT_SECONDS = 30


@dataclass
class SoakServer:
    """A running server: where it listens, its process, its files, and how it ended."""

    url: str
    process: subprocess.Popen[str]
    data_dir: Path
    stderr_path: Path
    exit_code: int | None = None
    stop_seconds: float = 0.0
    killed: bool = False
    url_paths: dict[str, str] = field(default_factory=dict)  # function key → URL path prefix

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def address(self) -> tuple[str, int]:
        parts = urlsplit(self.url)
        return parts.hostname or "127.0.0.1", parts.port or 80


def lambda_client(url: str, read_timeout: float = 30) -> object:
    """A Lambda client for `url` with no retries: a retry would hide a failure from the tally."""
    return boto3.client(
        "lambda",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="soak",
        aws_secret_access_key="soak",
        config=Config(retries={"max_attempts": 1}, read_timeout=read_timeout, connect_timeout=10),
    )


@contextmanager
def running_server(idle_timeout: float) -> Iterator[SoakServer]:
    """Start `sluice serve --port 0` on a temporary data dir; its first stdout line (the URL)
    is the readiness signal. Always stopped and removed, whatever the soak raised."""
    work = Path(tempfile.mkdtemp(prefix="sluice-soak-"))
    data_dir, stderr_path = work / "data", work / "server.stderr"
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "sluice", "serve", "--port", "0"),
                *("--data-dir", str(data_dir), "--idle-timeout", str(idle_timeout)),
            ],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    server = SoakServer("", process, data_dir, stderr_path)
    try:
        assert process.stdout is not None
        server.url = process.stdout.readline().strip()
        if not server.url.startswith("http://"):
            raise RuntimeError(f"sluice serve did not start: {server.url!r}")
        yield server
    finally:
        stop(server)
        shutil.rmtree(work, ignore_errors=True)


def stop(server: SoakServer) -> None:
    """SIGTERM, which stops the server and every function process it started; SIGKILL only
    if it hangs (recorded: a kill is a failed shutdown). Safe to call twice."""
    process = server.process
    if server.exit_code is not None:
        return
    started = time.monotonic()
    if process.poll() is None:
        process.terminate()
    try:
        server.exit_code = process.wait(STOP_WAIT_SECONDS)
    except subprocess.TimeoutExpired:
        server.killed = True
        process.kill()
        server.exit_code = process.wait()
    server.stop_seconds = time.monotonic() - started
    if process.stdout is not None:
        process.stdout.close()


def zip_files(files: dict[str, str]) -> bytes:
    """A deployment package: file name → source text."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, source in files.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.external_attr = 0o100644 << 16
            archive.writestr(info, source)
    return buffer.getvalue()


def deploy(server: SoakServer, client: object, name: str, function: FunctionDef) -> None:
    """CreateFunction through boto3, plus a RESPONSE_STREAM URL (auth NONE) when it has one;
    the URL is remembered by its path form, `/_sluice/url/<url-id>`."""
    runtime_id, _, files = PACKAGES[function.runtime]
    client.create_function(  # type: ignore[attr-defined]
        FunctionName=name,
        Runtime=runtime_id,
        Handler=handler_of(function),
        Role=ROLE,
        Code={"ZipFile": zip_files(files)},
        Timeout=function.timeout,
        MemorySize=128,
    )
    if function.url:
        answer = client.create_function_url_config(  # type: ignore[attr-defined]
            FunctionName=name, AuthType="NONE", InvokeMode="RESPONSE_STREAM"
        )
        url_id = (urlsplit(answer["FunctionUrl"]).hostname or "").split(".")[0]
        server.url_paths[function.key] = f"/_sluice/url/{url_id}"
