"""Function output as AWS's Python runtime writes it: log records, error reports, stdio.

Owns three things, all copied from awslambdaric's text log format (spec section 3.1):

* the root logger handler, `[LEVEL]\\t<UTC time>.<ms>Z\\t<request id>\\t<message>`, one
  record per line (newlines inside a record become `\\r`), level from `AWS_LAMBDA_LOG_LEVEL`
  or Python's default WARNING;
* the `[ERROR] Type: message` report of a failed init or invoke, its traceback on the same
  line after `\\r` separators, indentation turned into no-break spaces;
* stdout and stderr made line-buffered, and flushed before every post, so that every
  `print` reaches the pipe before the response that follows it.

`print` output itself is never reformatted.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from typing import TextIO

from sluice_runtime._wire import ErrorDocument

LOG_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s"
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"
RECORD_SEPARATOR = "\r"
_INDENT = " "
_LOG_INDENT = "\u00a0"  # awslambdaric's ERROR_LOG_IDENT: NO-BREAK SPACE


class _CurrentInvocation:
    """The request id log records are stamped with; the last one stays until the next."""

    request_id = ""
    tenant_id: str | None = None


def set_current_invocation(request_id: str, tenant_id: str | None = None) -> None:
    """Stamp later log records with this invocation's ids."""
    _CurrentInvocation.request_id = request_id
    _CurrentInvocation.tenant_id = tenant_id


class RequestIdFilter(logging.Filter):
    """Adds `aws_request_id` (and `tenant_id`) to every record the handler sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Stamp the record; never drops it."""
        record.aws_request_id = _CurrentInvocation.request_id
        record.tenant_id = _CurrentInvocation.tenant_id
        return True


class LambdaLogFormatter(logging.Formatter):
    """The Lambda text format in UTC, one physical line per record."""

    converter = time.gmtime

    def __init__(self) -> None:
        super().__init__(LOG_FORMAT, DATE_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        """Format, then fold the record's own newlines (tracebacks too) into `\\r`."""
        return super().format(record).replace("\n", RECORD_SEPARATOR)


class LambdaLogHandler(logging.Handler):
    """Writes records to stdout (looked up at each record, as awslambdaric does)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__()
        self._stream = stream
        self.setFormatter(LambdaLogFormatter())
        self.addFilter(RequestIdFilter())

    def emit(self, record: logging.LogRecord) -> None:
        """Write one line and flush it."""
        try:
            line = self.format(record) + "\n"
            stream = self._stream or sys.stdout
            stream.write(line)
            stream.flush()
        except Exception:
            self.handleError(record)


def parse_log_level(value: str | None) -> str | None:
    """`AWS_LAMBDA_LOG_LEVEL` as a logging level name, or None when unset or unknown.

    Lambda's `TRACE` has no Python level; like awslambdaric it becomes `DEBUG`.
    """
    if not value:
        return None
    name = {"TRACE": "DEBUG"}.get(value.upper(), value.upper())
    return name if isinstance(logging.getLevelName(name), int) else None


def install_log_handler(
    level: str | None, stream: TextIO | None = None, root: logging.Logger | None = None
) -> LambdaLogHandler:
    """Attach the Lambda handler to the root logger; set its level only when one is given."""
    root = root or logging.getLogger()
    handler = LambdaLogHandler(stream)
    if level:
        root.setLevel(level)
    root.addHandler(handler)
    return handler


def _nbsp_indent(line: str) -> str:
    stripped = line.lstrip(_INDENT)
    return _LOG_INDENT * (len(line) - len(stripped)) + stripped


def error_report_lines(document: ErrorDocument) -> list[str]:
    """awslambdaric's `log_error` lines: `[ERROR] Type: message`, then the traceback."""
    head = "[ERROR]"
    if document.error_type:
        head += " " + document.error_type
    if document.error_message:
        head += (":" if document.error_type else "") + " " + document.error_message
    lines = [head, "Traceback (most recent call last):"]
    for element in document.stack_trace:
        if element == "":
            lines.append("")
        else:
            lines.extend(_nbsp_indent(line) for line in element.splitlines())
    return lines


def format_error_report(document: ErrorDocument) -> str:
    """The report as one output line: the lines joined by `\\r`, newline-terminated."""
    return RECORD_SEPARATOR.join(error_report_lines(document)) + "\n"


def log_error(document: ErrorDocument, stream: TextIO | None = None) -> None:
    """Write the error report to stdout (or `stream`) and flush it."""
    stream = stream or sys.stdout
    stream.write(format_error_report(document))
    stream.flush()


def make_stdio_line_buffered() -> None:
    """Line-buffer stdout and stderr, so output leaves the process as it is printed."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(line_buffering=True)


def flush_stdio() -> None:
    """Push pending output into the pipe; called before anything is posted."""
    for stream in (sys.stdout, sys.stderr):
        # A closed stream, or one replaced by None or by an object without flush: skip it.
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.flush()


def warn(message: str) -> None:
    """Report a runtime problem (not the function's) on stderr."""
    flush_stdio()
    sys.stderr.write(f"sluice_runtime: {message}\n")
    sys.stderr.flush()
