"""`sluice invoke`, `list` and `logs`: a function's stream, the list, and its log."""

from __future__ import annotations

import base64
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

import click

from sluice import client
from sluice.cli._common import EXIT_FAILED, endpoint_option, talking_to


@click.command()
@click.argument("function")
@click.option(
    "--payload",
    default=None,
    metavar="JSON|@FILE",
    help="The event: JSON text, or @path to read it from a file.",
)
@click.option(
    "--log-type",
    type=click.Choice(["None", "Tail"]),
    default="None",
    show_default=True,
    help="Tail: show the last 4 KB of the invocation's log.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON event per line.")
@endpoint_option
def invoke(
    function: str, payload: str | None, log_type: str, as_json: bool, endpoint_url: str | None
) -> None:
    """Invoke FUNCTION with InvokeWithResponseStream and print the stream as it arrives.

    FUNCTION is a name, an ARN, or an unambiguous part of a name (a stack's logical id).
    Exits 1 when the invocation ends with an error.
    """
    body = _read_payload(payload)
    endpoint = client.endpoint_url(endpoint_url)
    with talking_to(endpoint):
        lambda_client = client.lambda_client(endpoint)
        name = client.resolve_function(lambda_client, function)
        if name != function:
            click.echo(f"sluice: invoking {name}", err=True)
        response = lambda_client.invoke_with_response_stream(
            FunctionName=name, Payload=body, LogType=log_type
        )
        show = _print_json if as_json else _print_terminal
        complete = show(response)
    if complete.get("ErrorCode"):
        sys.exit(EXIT_FAILED)


def _print_terminal(response: dict[str, Any]) -> dict[str, Any]:
    """Chunks go to stdout as raw bytes the moment they arrive; how the stream ended goes
    to stderr, so `sluice invoke f > out` captures exactly what the function wrote."""
    complete: dict[str, Any] = {}
    last = b"\n"
    for event in response["EventStream"]:
        if "PayloadChunk" in event:
            last = event["PayloadChunk"]["Payload"] or last
            sys.stdout.buffer.write(event["PayloadChunk"]["Payload"])
            sys.stdout.buffer.flush()
        elif "InvokeComplete" in event:
            complete = event["InvokeComplete"]
    if not last.endswith(b"\n") and sys.stdout.isatty():
        click.echo()
    code = complete.get("ErrorCode")
    if code:
        click.echo(click.style(f"ErrorCode: {code}", fg="red", bold=True), err=True)
        click.echo(click.style(f"ErrorDetails: {complete.get('ErrorDetails')}", fg="red"), err=True)
    if complete.get("LogResult"):
        click.echo(click.style("LogResult:", bold=True), err=True)
        click.echo(_readable(_decode_log(complete["LogResult"])).rstrip("\n"), err=True)
    return complete


def _print_json(response: dict[str, Any]) -> dict[str, Any]:
    """One JSON object per line: the response's metadata, each event as the SDKs name it
    (payloads as text, or base64 under `PayloadBase64` when not UTF-8), log tails decoded."""
    _echo_json(
        {
            "Response": {
                "StatusCode": response.get("StatusCode"),
                "ExecutedVersion": response.get("ExecutedVersion"),
                "ResponseStreamContentType": response.get("ResponseStreamContentType"),
            }
        }
    )
    complete: dict[str, Any] = {}
    for event in response["EventStream"]:
        if "PayloadChunk" in event:
            data = event["PayloadChunk"]["Payload"]
            try:
                _echo_json({"PayloadChunk": {"Payload": data.decode("utf-8")}})
            except UnicodeDecodeError:
                encoded = base64.b64encode(data).decode()
                _echo_json({"PayloadChunk": {"PayloadBase64": encoded}})
        elif "InvokeComplete" in event:
            complete = event["InvokeComplete"]
            shown = dict(complete)
            if "LogResult" in shown:
                shown["LogResult"] = _decode_log(shown["LogResult"])
            _echo_json({"InvokeComplete": shown})
    return complete


def _echo_json(value: object) -> None:
    click.echo(json.dumps(value))
    sys.stdout.flush()


def _readable(log: str) -> str:
    """Runtimes join a multi-line record (a traceback) with `\\r` so it stays one log
    event; a terminal would print each line over the last, so show them as lines."""
    return log.replace("\r", "\n")


def _decode_log(value: str) -> str:
    return base64.b64decode(value).decode("utf-8", "replace")


def _read_payload(payload: str | None) -> bytes:
    if payload is None:
        return b"{}"
    if not payload.startswith("@"):
        return payload.encode()
    try:
        return Path(payload[1:]).read_bytes()
    except OSError as exc:
        raise click.BadParameter(
            f"cannot read {payload[1:]}: {exc.strerror}", param_hint="--payload"
        ) from None


@click.command(name="list")
@endpoint_option
def list_functions(endpoint_url: str | None) -> None:
    """List the functions the endpoint serves."""
    endpoint = client.endpoint_url(endpoint_url)
    with talking_to(endpoint):
        lambda_client = client.lambda_client(endpoint)
        pages = lambda_client.get_paginator("list_functions").paginate()
        functions = [function for page in pages for function in page["Functions"]]
    if not functions:
        click.echo(f"No functions at {endpoint}")
        return
    width = max(len(f["FunctionName"]) for f in functions)
    click.echo(
        click.style(
            f"{'NAME':<{width}}  {'RUNTIME':<16} {'MEMORY':>7} {'TIMEOUT':>8}  MODIFIED", bold=True
        )
    )
    for f in sorted(functions, key=lambda f: f["FunctionName"]):
        click.echo(
            f"{f['FunctionName']:<{width}}  {f.get('Runtime', '-'):<16} "
            f"{f['MemorySize']:>4} MB {f['Timeout']:>6} s  {f['LastModified']}"
        )


@click.command()
@click.argument("function")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new invocations' lines.")
@endpoint_option
def logs(function: str, follow: bool, endpoint_url: str | None) -> None:
    """Print FUNCTION's log: every invocation's START, output, END and REPORT lines."""
    endpoint = client.endpoint_url(endpoint_url)
    with talking_to(endpoint), contextlib.suppress(KeyboardInterrupt):
        name = client.resolve_function(client.lambda_client(endpoint), function)
        for piece in client.follow_logs(endpoint, name, follow=follow):
            sys.stdout.buffer.write(piece.replace(b"\r", b"\n"))
            sys.stdout.buffer.flush()


COMMANDS = (invoke, list_functions, logs)
