"""What every client command shares: the endpoint option and one way to fail."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import NoReturn

import botocore.exceptions
import click

from sluice import client
from sluice.errors import SluiceError

EXIT_FAILED = 1
EXIT_CONFIG = 2


def warn(message: str) -> None:
    click.echo(f"sluice: warning: {message}", err=True)


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    click.echo(f"sluice: {message}", err=True)
    sys.exit(code)


endpoint_option = click.option(
    "--endpoint-url",
    default=None,
    metavar="URL",
    help=(
        "Lambda endpoint (default: AWS_ENDPOINT_URL_LAMBDA, else AWS_ENDPOINT_URL, "
        f"else {client.DEFAULT_ENDPOINT})."
    ),
)


@contextlib.contextmanager
def talking_to(endpoint: str) -> Iterator[None]:
    """Turn the errors a client command can meet into one line on stderr and exit 1."""
    try:
        yield
    except client.CONNECTION_ERRORS:
        fail(str(client.unreachable(endpoint)))
    except botocore.exceptions.ClientError as exc:
        error = exc.response.get("Error", {})
        fail(f"{error.get('Code', 'Error')}: {error.get('Message', exc)}")
    except SluiceError as exc:
        fail(str(exc))
