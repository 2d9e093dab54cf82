"""The runtime's process: read the environment, load the handler, serve invocations forever.

Owns the process-level policy, and only this module decides it:

* configuration comes from the environment Lambda sets (`AWS_LAMBDA_RUNTIME_API`,
  `_HANDLER`, `LAMBDA_TASK_ROOT`, `AWS_LAMBDA_LOG_LEVEL`); a handler given as the first
  command-line argument wins over `_HANDLER`, as with awslambdaric;
* an init error is logged, posted to `/init/error`, and the process exits with status 1;
* a failed `GET /next` ends the process with status 1 (the Runtime API is gone or broken);
* a post the Runtime API refuses, or a connection lost while posting, is reported on stderr
  and the loop goes on: the platform has its own view of that invocation.
"""

from __future__ import annotations

import http.client
import os
import sys
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

from sluice_runtime._client import RuntimeApiClient
from sluice_runtime._errors import RuntimeApiError
from sluice_runtime._handler import load_handler
from sluice_runtime._invoke import handle_invocation
from sluice_runtime._logging import (
    install_log_handler,
    log_error,
    make_stdio_line_buffered,
    parse_log_level,
    warn,
)
from sluice_runtime._wire import SLOTS, ErrorDocument

EXIT_FAILURE = 1
_TRANSPORT_ERRORS = (OSError, http.client.HTTPException, RuntimeApiError)


@dataclass(frozen=True, **SLOTS)
class RuntimeConfig:
    """What the runtime needs from its environment."""

    api_address: str
    handler: str
    task_root: str | None = None
    log_level: str | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], argv: Sequence[str] = ()) -> RuntimeConfig:
        """Read the configuration; the handler may be empty (reported as malformed later).

        Raises:
            ValueError: `AWS_LAMBDA_RUNTIME_API` is not set.
        """
        address = environ.get("AWS_LAMBDA_RUNTIME_API")
        if not address:
            raise ValueError("AWS_LAMBDA_RUNTIME_API is not set")
        return cls(
            api_address=address,
            handler=argv[1] if len(argv) > 1 else environ.get("_HANDLER", ""),
            task_root=environ.get("LAMBDA_TASK_ROOT") or None,
            log_level=parse_log_level(environ.get("AWS_LAMBDA_LOG_LEVEL")),
        )


def prepare_process(config: RuntimeConfig) -> None:
    """Line-buffered stdio, the Lambda log handler, and the task root first on `sys.path`."""
    make_stdio_line_buffered()
    install_log_handler(config.log_level)
    if config.task_root and (not sys.path or sys.path[0] != config.task_root):
        sys.path.insert(0, config.task_root)


def initialise(client: RuntimeApiClient, handler_name: str) -> Callable[..., Any] | None:
    """Load the handler; on failure report the init error and return None."""
    try:
        return load_handler(handler_name)
    except Exception as exc:
        document = ErrorDocument.from_exception(exc)
        log_error(document)
        try:
            client.post_init_error(document)
        except _TRANSPORT_ERRORS as post_exc:
            warn(f"could not report the init error: {post_exc}")
        return None


def serve(
    client: RuntimeApiClient,
    handler: Callable[..., Any],
    environ: MutableMapping[str, str],
) -> int:
    """Handle invocations until `GET /next` fails; returns the exit status."""
    while True:
        try:
            invocation = client.next_invocation()
        except _TRANSPORT_ERRORS as exc:
            warn(f"cannot get the next invocation: {exc}")
            return EXIT_FAILURE
        try:
            handle_invocation(client, handler, invocation, environ)
        except _TRANSPORT_ERRORS as exc:
            warn(f"invocation {invocation.headers.request_id}: {exc}")


def main(argv: Sequence[str] | None = None, environ: MutableMapping[str, str] | None = None) -> int:
    """Run the runtime; returns the process exit status (only on failure)."""
    environ = os.environ if environ is None else environ
    try:
        config = RuntimeConfig.from_environ(environ, sys.argv if argv is None else argv)
    except ValueError as exc:
        warn(str(exc))
        return EXIT_FAILURE
    prepare_process(config)
    client = RuntimeApiClient(config.api_address)
    handler = initialise(client, config.handler)
    if handler is None:
        return EXIT_FAILURE
    return serve(client, handler, environ)
