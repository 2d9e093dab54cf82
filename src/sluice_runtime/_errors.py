"""The errors this runtime raises or reports, and the trimming of their tracebacks.

Exception tree::

    Exception
     ├── RuntimeFault                    reported with an AWS `errorType` (`Runtime.*`)
     │    └── InvalidStreamingOperation  `Runtime.InvalidStreamingOperation` (public)
     └── RuntimeApiError                 the Runtime API answered something unusable

A `RuntimeFault` plays the part of awslambdaric's `FaultException`: its `error_type` is the
`errorType` of the error document, where any other exception reports its class name.
`RuntimeApiError` never reaches user code: a failed `GET /next` ends the process, a refused
post is reported on stderr and the loop goes on.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Sequence
from types import TracebackType

MALFORMED_HANDLER_NAME = "Runtime.MalformedHandlerName"
IMPORT_MODULE_ERROR = "Runtime.ImportModuleError"
USER_CODE_SYNTAX_ERROR = "Runtime.UserCodeSyntaxError"
HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
BUILT_IN_MODULE_CONFLICT = "Runtime.BuiltInModuleConflict"
MARSHAL_ERROR = "Runtime.MarshalError"
UNMARSHAL_ERROR = "Runtime.UnmarshalError"
CONTEXT_UNMARSHAL_ERROR = "Runtime.LambdaContextUnmarshalError"
INVALID_STREAMING_OPERATION = "Runtime.InvalidStreamingOperation"


class RuntimeFault(Exception):
    """An error reported with an AWS error type instead of the exception's class name.

    `stack_trace` None means "use the traceback"; a list (even empty) is reported as is,
    as awslambdaric does for its own faults.
    """

    def __init__(
        self, error_type: str, message: str, stack_trace: Sequence[str] | None = None
    ) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.stack_trace = None if stack_trace is None else tuple(stack_trace)


class InvalidStreamingOperation(RuntimeFault):
    """A response stream was used out of order (e.g. content type set after a write)."""

    def __init__(self, message: str) -> None:
        super().__init__(INVALID_STREAMING_OPERATION, message)


class RuntimeApiError(Exception):
    """The Runtime API refused a request or answered in a way the runtime cannot use."""


_RUNTIME_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_ASYNCIO_DIR = os.path.join(os.path.dirname(os.path.abspath(os.__file__)), "asyncio") + os.sep


def _is_runtime_frame(filename: str) -> bool:
    """True for frames of this package or of asyncio's runner, which sit above user code."""
    path = os.path.abspath(filename)
    return path.startswith((_RUNTIME_DIR, _ASYNCIO_DIR))


def user_stack_trace(tb: TracebackType | None) -> list[str]:
    """Format a traceback the way awslambdaric reports it, minus the runtime's own frames.

    Like awslambdaric, only the leading runtime frames go; when every frame is the runtime's,
    all are kept so the trace is never empty for a runtime bug.
    """
    # Plain tuples, as awslambdaric passes them: no 3.11 `^^^` position markers.
    frames = [(f.filename, f.lineno, f.name, f.line) for f in traceback.extract_tb(tb)]
    for index, (filename, *_) in enumerate(frames):
        if not _is_runtime_frame(filename):
            return traceback.format_list(frames[index:])
    return traceback.format_list(frames)
