"""Fixtures that start real sluice servers on 127.0.0.1 and always stop them."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

REGION = "eu-west-1"


@dataclass
class RunningServer:
    """A `sluice serve` subprocess and the URL it printed."""

    process: subprocess.Popen[str]
    url: str
    data_dir: Path

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()
        finally:
            if self.process.stdout is not None:
                self.process.stdout.close()


def _without_credentials(env: dict[str, str] | os._Environ[str]) -> dict[str, str]:
    """The server accepts AWS_IAM signatures by the key in its environment; tests sign with
    the default `test`/`test`, whatever the machine running them has configured."""
    secret = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
    return {key: value for key, value in env.items() if key not in secret}


def serve_command(data_dir: Path, *extra: str) -> list[str]:
    """`sluice serve` on a free port with its own data dir, as every test starts it."""
    return [
        sys.executable,
        "-m",
        "sluice",
        "serve",
        "--port",
        "0",
        "--data-dir",
        str(data_dir),
        *extra,
    ]


def start_server(
    data_dir: Path, *extra: str, cwd: Path | None = None, stderr: IO[str] | None = None
) -> RunningServer:
    """Start `sluice serve` on a free port; the URL line on stdout is the readiness signal.
    Its stderr goes to `stderr` when given, else to the test's."""
    process = subprocess.Popen(
        serve_command(data_dir, *extra),
        stdout=subprocess.PIPE,
        text=True,
        env={**_without_credentials(os.environ), "PYTHONUNBUFFERED": "1"},
        cwd=cwd,
        stderr=stderr,
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    if not url.startswith("http://127.0.0.1:"):
        process.kill()
        raise RuntimeError(f"server did not start: {url!r}")
    return RunningServer(process, url, data_dir)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("data"), "--idle-timeout", "60")
    yield running
    assert running.stop() == 0


def client_for(url: str, read_timeout: float = 60):
    return boto3.client(
        "lambda",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}, read_timeout=read_timeout),
    )


@pytest.fixture(scope="session")
def lambda_client(server: RunningServer):
    return client_for(server.url)


def make_zip(files: dict[str, str | bytes], executable: tuple[str, ...] = ()) -> bytes:
    """A deployment package; names in `executable` get mode 0755."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o100755 if name in executable else 0o100644) << 16
            archive.writestr(info, content)
    return buffer.getvalue()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create_function(client, name: str, files: dict[str, str | bytes], **config) -> dict:
    """CreateFunction with sensible defaults; `config` overrides any member."""
    runtime = config.pop("Runtime", "python3.12")
    executable = ("bootstrap",) if runtime.startswith("provided") else ()
    params = {
        "FunctionName": name,
        "Runtime": runtime,
        "Role": "arn:aws:iam::000000000000:role/lambda-role",
        "Handler": "app.handler",
        "Code": {"ZipFile": make_zip(files, executable)},
        "Timeout": 10,
        **config,
    }
    return client.create_function(**params)


def run_sluice(
    *args: str, url: str | None, cwd: Path | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run the `sluice` CLI as a user would: the test's own AWS_* variables are dropped and
    the endpoint, if any, is given only through AWS_ENDPOINT_URL."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    if url:
        env["AWS_ENDPOINT_URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "sluice", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=cwd,
        input=stdin,
        check=False,
    )


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    """What a refused boto3 call said: the AWS error code, the HTTP status, the message."""
    response = excinfo.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Message"],
    )
