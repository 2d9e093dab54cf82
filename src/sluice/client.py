"""The client side of the CLI: which endpoint to talk to, and a boto3 Lambda client for it.

`sluice deploy`, `invoke`, `list` and `logs` reach the server over HTTP through the public
Lambda API, like any other client, so they work against any running sluice (and the
Lambda-API ones against AWS itself).
"""

from __future__ import annotations

import http.client
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.exceptions
from botocore.config import Config

from sluice.errors import FunctionLookupFailed, ServerUnreachable

DEFAULT_ENDPOINT = "http://127.0.0.1:3001"
DEFAULT_REGION = "us-east-1"
# What botocore raises when nothing listens at the endpoint or it hangs up on us.
CONNECTION_ERRORS = (
    botocore.exceptions.EndpointConnectionError,
    botocore.exceptions.ConnectionClosedError,
)
_LOCAL_CREDENTIALS = {"aws_access_key_id": "sluice", "aws_secret_access_key": "sluice"}


def endpoint_url(explicit: str | None) -> str:
    """`--endpoint-url`, else the variables the AWS SDKs read, else sluice's default address."""
    for candidate in (
        explicit,
        os.environ.get("AWS_ENDPOINT_URL_LAMBDA"),
        os.environ.get("AWS_ENDPOINT_URL"),
    ):
        if candidate:
            return candidate.rstrip("/")
    return DEFAULT_ENDPOINT


def lambda_client(endpoint: str, region: str | None = None) -> Any:
    """A boto3 Lambda client for `endpoint` that never retries and never times out a stream.

    A local server needs no real credentials: when none are configured, placeholder ones
    are used so requests can still be signed.
    """
    session = boto3.Session()
    credentials = {} if session.get_credentials() is not None else _LOCAL_CREDENTIALS
    return session.client(
        "lambda",
        endpoint_url=endpoint,
        region_name=region or session.region_name or DEFAULT_REGION,
        config=Config(retries={"max_attempts": 1}, read_timeout=900, connect_timeout=5),
        **credentials,
    )


def resolve_function(lambda_client: Any, function: str) -> str:
    """The function a user means: its exact name or ARN, else the one function whose name
    starts with `function` or holds it between dashes (a stack's logical id), so
    `sluice invoke HappyPathFunction` finds `stack-HappyPathFunction-Ab12Cd34Ef56`.

    Raises:
        FunctionLookupFailed: no function, or several, match.
    """
    try:
        lambda_client.get_function_configuration(FunctionName=function)
    except botocore.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
    else:
        return function
    pages = lambda_client.get_paginator("list_functions").paginate()
    names = [f["FunctionName"] for page in pages for f in page["Functions"]]
    matches = [n for n in names if n.startswith(function) or f"-{function}-" in n]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise FunctionLookupFailed(f"no function named {function}, and none whose name contains it")
    raise FunctionLookupFailed(f"{function} could mean any of: {', '.join(sorted(matches))}")


def unreachable(endpoint: str) -> ServerUnreachable:
    """The error for an endpoint where nothing listens, with the command that fixes it."""
    return ServerUnreachable(
        f"no Lambda endpoint answers at {endpoint}. Start one with `sluice serve` "
        "(or point --endpoint-url / AWS_ENDPOINT_URL at a running one)"
    )


def follow_logs(endpoint: str, function: str, *, follow: bool) -> Iterator[bytes]:
    """The function's log as the server keeps it, in pieces as they are written.

    This is sluice's own route (`/_sluice/logs/...`), not a Lambda API call: on AWS the
    same lines go to CloudWatch Logs.

    Raises:
        ServerUnreachable: nothing listens at `endpoint`, or it stopped mid-way.
        FunctionLookupFailed: the server refused (it knows no log of that function).
    """
    query = "?follow=true" if follow else ""
    url = f"{endpoint}/_sluice/logs/{urllib.parse.quote(function, safe='')}{query}"
    try:
        response = urllib.request.urlopen(url, timeout=None if follow else 30)
    except urllib.error.HTTPError as exc:
        raise FunctionLookupFailed(_error_message(exc)) from exc
    except urllib.error.URLError as exc:
        raise unreachable(endpoint) from exc
    with response:
        try:
            while piece := response.read1(65536):
                yield piece
        except (http.client.HTTPException, ConnectionError) as exc:
            raise ServerUnreachable(f"the server at {endpoint} stopped sending the log") from exc


def _error_message(exc: urllib.error.HTTPError) -> str:
    try:
        document = json.loads(exc.read())
    except ValueError:
        return f"{exc.code} {exc.reason}"
    return str(document.get("message") or document.get("Message") or exc.reason)
