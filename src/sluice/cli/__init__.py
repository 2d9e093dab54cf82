"""The `sluice` command: parses arguments, prints, and owns exit codes.

This package is the only place that exits the process. Server settings become typed config
here and nowhere else, read from the environment through `click`'s `envvar`; the client
commands find their endpoint as the AWS SDKs do (`sluice.client.endpoint_url`). One module
per family of commands: the server (`serve`, `demo`), stacks (`deploy`,
`delete`) and functions (`invoke`, `list`, `logs`).
"""

from __future__ import annotations

import click

from sluice import __version__
from sluice.cli import _functions, _server, _stacks


@click.group()
@click.version_option(__version__, prog_name="sluice")
def main() -> None:
    """Run and test AWS Lambda response streaming on your own machine."""


for _command in (*_server.COMMANDS, *_stacks.COMMANDS, *_functions.COMMANDS):
    main.add_command(_command)
