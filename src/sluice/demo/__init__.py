"""`sluice demo`: the lambda-streaming-sdk-sam pattern end to end on an embedded server.

It does what the seed pattern's README does on AWS, with Python streaming handlers: three
functions named the way CloudFormation names them, then the seed client's steps with
boto3 (the first ListFunctions page, a prefix match on
`lambda-streaming-sdk-sam-<Name>`, InvokeWithResponseStream with `LogType: Tail`, every
event printed as it arrives), then the functions are deleted. The client reaches the
server over loopback HTTP like any outside client.
"""

from __future__ import annotations

import base64
import io
import secrets
import string
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from sluice.embedded import EmbeddedServer
from sluice.server import ServerConfig

STACK = "lambda-streaming-sdk-sam"
REGION = "eu-west-1"
_SUFFIX_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True, slots=True)
class Case:
    """One of the seed's three functions and what its stream must end with."""

    name: str
    module: str
    timeout: int
    error_code: str | None
    chunks: int


CASES = (
    Case("HappyPath", "happy", 10, None, 12),
    Case("MidstreamError", "midstream_error", 10, "Unhandled", 4),
    Case("Timeout", "happy", 1, "Sandbox.Timedout", 2),
)


def physical_name(stack: str, logical_id: str) -> str:
    """`{stack}-{logicalId}-{12 alphanumerics}`, as CloudFormation names functions (spec 7.4)."""
    logical = logical_id[: max(24, 49 - len(stack))]
    suffix = "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(12))
    return f"{stack[: 49 - len(logical)]}-{logical}-{suffix}"


def _package(module: str) -> bytes:
    source = resources.files("sluice.demo").joinpath("functions", f"{module}.py").read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{module}.py", source)
    return buffer.getvalue()


def _client(url: str) -> Any:
    return boto3.client(
        "lambda",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id="sluice",
        aws_secret_access_key="sluice",
        config=Config(retries={"max_attempts": 1}, read_timeout=60),
    )


def _deploy(client: Any) -> list[str]:
    names = []
    for case in CASES:
        name = physical_name(STACK, f"{case.name}Function")
        client.create_function(
            FunctionName=name,
            Runtime=f"python3.{sys.version_info.minor}",
            Role="arn:aws:iam::000000000000:role/lambda-streaming-sdk-sam-role",
            Handler=f"{case.module}.handler",
            Code={"ZipFile": _package(case.module)},
            Timeout=case.timeout,
            MemorySize=128,
            Tags={"aws:cloudformation:stack-name": STACK},
        )
        names.append(name)
    return names


def _find(client: Any, name: str) -> str:
    """The seed client's lookup: first page of ListFunctions, first prefix match."""
    for page in client.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 50}):
        for function in page["Functions"]:
            if function["FunctionName"].startswith(f"{STACK}-{name}"):
                return str(function["FunctionArn"])
        break
    raise LookupError(f"no function starting with {STACK}-{name}")


def _run_case(client: Any, case: Case, echo: Callable[[str], None]) -> bool:
    arn = _find(client, case.name)
    echo(f"\n=== {case.name}: InvokeWithResponseStream {arn}")
    started = time.monotonic()
    response = client.invoke_with_response_stream(FunctionName=arn, LogType="Tail")
    chunks, complete = 0, {}
    for event in response["EventStream"]:
        elapsed = time.monotonic() - started
        if "PayloadChunk" in event:
            chunks += 1
            payload = event["PayloadChunk"]["Payload"].decode("utf-8", "replace")
            echo(f"{elapsed:6.2f}s  PayloadChunk  {payload}")
        elif "InvokeComplete" in event:
            complete = event["InvokeComplete"]
            echo(f"{elapsed:6.2f}s  InvokeComplete")
            echo(f"          ErrorCode:    {complete.get('ErrorCode')}")
            echo(f"          ErrorDetails: {complete.get('ErrorDetails')}")
            log = base64.b64decode(complete.get("LogResult", "")).decode("utf-8", "replace")
            echo("          LogResult:")
            for line in log.splitlines():
                echo(f"            {line}")
    return complete.get("ErrorCode") == case.error_code and chunks >= min(case.chunks, 1)


def run(echo: Callable[[str], None], data_dir: Path | None = None) -> bool:
    """Run the pattern; True when all three cases ended as the seed README describes."""
    with tempfile.TemporaryDirectory(prefix="sluice-demo-") as scratch:
        config = ServerConfig(port=0, data_dir=data_dir or Path(scratch))
        with EmbeddedServer(config) as url:
            echo(f"sluice: embedded Lambda API on {url}")
            client = _client(url)
            names = _deploy(client)
            echo(f"sluice: created {', '.join(names)}")
            try:
                results = [_run_case(client, case, echo) for case in CASES]
            finally:
                for name in names:
                    client.delete_function(FunctionName=name)
                echo("\nsluice: deleted the demo functions")
    return all(results)
