"""A private `sluice serve` for one benchmark run: free port, temporary data dir, always stopped.

The benchmark must never touch a user's server or `./.sluice/`, and must leave no process
behind even when a scenario fails, so the server lives only inside `running_server`.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

REGION = "us-east-1"
ROLE = "arn:aws:iam::000000000000:role/bench"


@dataclass(frozen=True)
class BenchServer:
    """Where the server listens, and a boto3 client aimed at it."""

    url: str
    lambda_client: object  # botocore's generated client class has no importable type
    pid: int  # the server process: its CPU time and its children are measured

    @property
    def address(self) -> tuple[str, int]:
        parts = urlsplit(self.url)
        return parts.hostname or "127.0.0.1", parts.port or 80


def boto3_client(url: str) -> object:
    """A Lambda client for `url`: no retries (a retry would hide a failure inside a timing)."""
    return boto3.client(
        "lambda",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(retries={"max_attempts": 1}, read_timeout=600, connect_timeout=10),
    )


@contextmanager
def running_server(*options: str) -> Iterator[BenchServer]:
    """Start `sluice serve --port 0 [options]`; its first stdout line (the URL) is the readiness
    signal."""
    data_dir = tempfile.mkdtemp(prefix="sluice-bench-")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "sluice", "serve", "--port", "0", "--data-dir", data_dir, *options],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"sluice serve did not start: {url!r}")
        yield BenchServer(url, boto3_client(url), process.pid)
    finally:
        _stop(process)
        shutil.rmtree(data_dir, ignore_errors=True)


def _stop(process: subprocess.Popen[str]) -> None:
    """SIGTERM stops the server and every function process it started; SIGKILL if it hangs."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()


def zip_files(files: dict[str, str]) -> bytes:
    """The deployment package: file name → source text. Every member is executable (mode
    0755): a `provided` function's `bootstrap` must be, as on AWS, and the rest do not mind."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, source in files.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.external_attr = 0o100755 << 16
            archive.writestr(info, source)
    return buffer.getvalue()


def create_function(
    server: BenchServer, name: str, runtime: str, handler: str, files: dict[str, str]
) -> None:
    """CreateFunction through boto3, the way a user deploys (the control plane is untimed)."""
    server.lambda_client.create_function(  # type: ignore[attr-defined]
        FunctionName=name,
        Runtime=runtime,
        Handler=handler,
        Role=ROLE,
        Code={"ZipFile": zip_files(files)},
        Timeout=600,
        MemorySize=1024,
    )


def create_url(server: BenchServer, name: str) -> str:
    """A RESPONSE_STREAM function URL without auth; returns its path-form prefix
    (`/_sluice/url/<url-id>`), so one client and one Host rule serve every server."""
    answer = server.lambda_client.create_function_url_config(  # type: ignore[attr-defined]
        FunctionName=name, AuthType="NONE", InvokeMode="RESPONSE_STREAM"
    )
    return "/_sluice/url/" + (urlsplit(answer["FunctionUrl"]).hostname or "").split(".")[0]
