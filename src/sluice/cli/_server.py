"""`sluice serve` and `sluice demo`: the commands that run a server in this process."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import signal
import sys
from pathlib import Path

import botocore.exceptions
import click

from sluice import eventloop
from sluice.cli._common import EXIT_CONFIG, fail, warn
from sluice.errors import ConfigError, SluiceError
from sluice.protocol.sigv4 import Credentials
from sluice.server import LambdaServer, ServerConfig


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=3001,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on (0 picks a free one).",
)
@click.option(
    "--data-dir",
    default=".sluice",
    show_default=True,
    type=click.Path(path_type=Path),
    envvar="SLUICE_DATA_DIR",
    help="Where functions, code and logs are kept.",
)
@click.option(
    "--account-id",
    default="000000000000",
    show_default=True,
    envvar="SLUICE_ACCOUNT_ID",
    help="Account id used in ARNs.",
)
@click.option(
    "--concurrency",
    default=10,
    show_default=True,
    type=click.IntRange(1, 1000),
    help="Execution environments per function before 429 TooManyRequests.",
)
@click.option(
    "--idle-timeout",
    default=300.0,
    show_default=True,
    type=click.FloatRange(0.05),
    help="Seconds an idle environment is kept warm.",
)
@click.option(
    "--max-stream-mib",
    default=200,
    show_default=True,
    type=click.IntRange(1, 4096),
    help="Largest streamed response in MiB (an AWS quota: 200 MiB unless raised).",
)
@click.option(
    "--access-key-id",
    default="test",
    show_default=True,
    envvar="AWS_ACCESS_KEY_ID",
    help="Key whose SigV4 signatures AWS_IAM function URLs accept (env AWS_ACCESS_KEY_ID).",
)
@click.option(
    "--secret-access-key",
    default="test",
    envvar="AWS_SECRET_ACCESS_KEY",
    help="Its secret (env AWS_SECRET_ACCESS_KEY; default: test).",
)
def serve(
    host: str,
    port: int,
    data_dir: Path,
    account_id: str,
    concurrency: int,
    idle_timeout: float,
    max_stream_mib: int,
    access_key_id: str,
    secret_access_key: str,
) -> None:
    """Serve the Lambda API until SIGINT, SIGTERM or SIGHUP."""
    if not (len(account_id) == 12 and account_id.isdigit()):
        raise click.BadParameter("must be 12 digits", param_hint="--account-id")
    if not _is_loopback(host):
        warn(
            f"listening on {host}: sluice has no authentication; "
            "anyone who can reach it can run code"
        )
    config = ServerConfig(
        host=host,
        port=port,
        data_dir=data_dir,
        account_id=account_id,
        concurrency_limit=concurrency,
        idle_timeout=idle_timeout,
        max_stream_response=max_stream_mib * 1024 * 1024,
        # The same variables the SDKs sign with, so a shell's own client is let in.
        credentials=(
            Credentials(access_key_id, secret_access_key, os.environ.get("AWS_SESSION_TOKEN")),
        ),
        # This process is the server and nothing else: processes functions orphan are
        # re-parented to it, so none outlives it (engine/_registry.py).
        adopt_orphans=True,
    )
    logging.basicConfig(level=logging.WARNING, format="sluice: %(levelname)s: %(message)s")
    try:
        eventloop.run(_serve(config))
    except ConfigError as exc:
        click.echo(f"sluice: {exc}", err=True)
        sys.exit(EXIT_CONFIG)


@click.command()
@click.option(
    "--runtime",
    type=click.Choice(["node", "python"]),
    default=None,
    help="Which edition of the stack to run (default: node when Node.js is here).",
)
@click.option(
    "--example-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="The lambda-streaming-sdk-sam example folder (default: the checkout's).",
)
def demo(runtime: str | None, example_dir: Path | None) -> None:
    """Run the lambda-streaming-sdk-sam pattern end to end on an embedded server:
    deploy the example stack, run its SDK client, delete the stack. Needs a checkout of
    sluice (the example lives in its examples/ folder) or --example-dir."""
    from sluice import demo as pattern

    try:
        ok = pattern.run(click.echo, example_dir or pattern.EXAMPLE, runtime)
    except ConfigError as exc:
        fail(str(exc), EXIT_CONFIG)
    except (SluiceError, botocore.exceptions.ClientError) as exc:
        fail(f"demo: {exc}")
    if not ok:
        fail("demo: an outcome differed from the pattern's README")


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


async def _serve(config: ServerConfig) -> None:
    server = LambdaServer(config, warn=warn)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in _STOP_SIGNALS:
        # A hang-up (the terminal went away) stops functions too, unless `nohup` asked
        # for it to be ignored; dying of it would leave them running.
        if sig != signal.SIGHUP or signal.getsignal(sig) != signal.SIG_IGN:
            loop.add_signal_handler(sig, stop.set)
    url = await server.start()
    click.echo(f"sluice: Lambda API listening on {url}  (data: {config.data_dir})", err=True)
    click.echo(url)
    sys.stdout.flush()
    try:
        await stop.wait()
    finally:
        click.echo("sluice: stopping function processes", err=True)
        with contextlib.suppress(Exception):
            await server.close()


COMMANDS = (serve, demo)
