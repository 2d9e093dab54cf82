"""Runtime API messages and the rules for how an invocation ended, as pure values.

This module owns two things the rest of sluice must agree on:

* the headers of a `GET /next` answer (spec section 4.2) and the error answers the Runtime
  API gives a runtime that breaks the protocol (section 4.1);
* `Outcome`: one value per way an invocation can end, built by one factory per case. Every
  decision of Part 1 of `shared/spec/aws-streaming.md` about error codes and details lives
  in these factories, so the streaming API, buffered Invoke and the logs cannot disagree.

It knows nothing of sockets, processes or the Lambda API's routes.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import time
from dataclasses import dataclass
from enum import Enum

from sluice.errors import RuntimeApiMisuse

API_PREFIX = "/2018-06-01"
RESPONSE_MODE_HEADER = "lambda-runtime-function-response-mode"
ERROR_TYPE_HEADER = "lambda-runtime-function-error-type"
ERROR_BODY_HEADER = "lambda-runtime-function-error-body"

# Spec section 6 / 2.4: the buffered response limit is 6 MiB + 100 bytes.
MAX_BUFFERED_RESPONSE = 6_291_556
# Spec decision 2: streamed responses stop at 200 MiB (configurable by the server).
MAX_STREAMED_RESPONSE = 200 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class InvocationHeaders:
    """What the runtime learns about an invocation from `GET /next` (spec 4.2)."""

    request_id: str
    deadline_ms: int
    invoked_function_arn: str
    trace_id: str
    client_context: str | None = None
    cognito_identity: str | None = None
    tenant_id: str | None = None

    def to_headers(self) -> list[tuple[str, str]]:
        """Render the headers; optional ones only when set, as RIE does.

        `Content-Type` is always sent: AWS's C++ runtime client crashes without it.
        """
        headers = [
            ("Content-Type", "application/json"),
            ("Lambda-Runtime-Aws-Request-Id", self.request_id),
            ("Lambda-Runtime-Deadline-Ms", str(self.deadline_ms)),
            ("Lambda-Runtime-Invoked-Function-Arn", self.invoked_function_arn),
            ("Lambda-Runtime-Trace-Id", self.trace_id),
        ]
        optional = (
            ("Lambda-Runtime-Client-Context", self.client_context),
            ("Lambda-Runtime-Cognito-Identity", self.cognito_identity),
            ("Lambda-Runtime-Aws-Tenant-Id", self.tenant_id),
        )
        headers.extend((name, value) for name, value in optional if value)
        return headers


def client_context_header(text: str, value: object) -> str:
    """The caller's client context (`text`, parsed as `value`) as `Lambda-Runtime-Client-Context`.

    AWS passes the decoded JSON text as it is (spec 1.1, RIE's `rie/handlers.go`), and sluice
    does too when that text can be a header value: one line of printable ASCII without
    surrounding spaces. Other JSON (line breaks, non-ASCII text) is sent re-serialised as
    one line of ASCII, `\\u` escapes included: the same JSON value, which is what runtime
    clients read from the header (awslambdaric and the Node.js client parse it; how AWS
    sends raw UTF-8 there is not documented, and clients decode header bytes differently).
    """
    if text.isascii() and text.isprintable() and text == text.strip():
        return text
    return json.dumps(value, separators=(",", ":"))


def new_trace_id(now: float | None = None) -> str:
    """An X-Ray trace header in the shape Lambda passes to runtimes."""
    epoch = int(time.time() if now is None else now)
    return f"Root=1-{epoch:08x}-{os.urandom(12).hex()};Parent={os.urandom(8).hex()};Sampled=0"


def misuse_body(exc: RuntimeApiMisuse) -> bytes:
    """The Runtime API's error document for a runtime that broke the protocol."""
    return json.dumps({"errorMessage": exc.message, "errorType": exc.error_type}).encode()


def invalid_request_id() -> RuntimeApiMisuse:
    return RuntimeApiMisuse(400, "InvalidRequestID", "Invalid request ID")


def invalid_state_transition(current: str, wanted: str) -> RuntimeApiMisuse:
    return RuntimeApiMisuse(
        403,
        "InvalidStateTransition",
        f"State transition from {current} to {wanted} failed for runtime.",
    )


def invalid_response_mode() -> RuntimeApiMisuse:
    return RuntimeApiMisuse(400, "InvalidFunctionResponseMode", "Invalid function response mode")


def payload_too_large(limit: int) -> RuntimeApiMisuse:
    return RuntimeApiMisuse(
        413, "RequestEntityTooLarge", f"Exceeded maximum allowed payload size ({limit} bytes)."
    )


def unknown_route() -> RuntimeApiMisuse:
    return RuntimeApiMisuse(404, "InvalidURL", "Unknown Runtime API path")


class OutcomeKind(Enum):
    """The ways an invocation ends; only SUCCESS is not an error."""

    SUCCESS = "success"
    FUNCTION_ERROR = "function_error"
    INIT_ERROR = "init_error"
    TIMEOUT = "timeout"
    RUNTIME_EXIT = "runtime_exit"
    TRUNCATED = "truncated"
    TOO_LARGE = "too_large"
    OUT_OF_MEMORY = "out_of_memory"


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one invocation ended, in every form a caller may need it.

    Attributes:
        kind: the case.
        error_type: `errorType` of the error document (None on success).
        error_message: the human text; becomes `ErrorDetails` on a stream.
        document: the buffered Invoke body for an error (JSON bytes).
        stream_code: `InvokeComplete.ErrorCode`.
    """

    kind: OutcomeKind
    error_type: str | None = None
    error_message: str | None = None
    document: bytes | None = None
    stream_code: str | None = None

    @property
    def failed(self) -> bool:
        return self.kind is not OutcomeKind.SUCCESS

    @property
    def environment_survives(self) -> bool:
        """A handler error keeps the environment warm; platform failures reset it."""
        return self.kind in (OutcomeKind.SUCCESS, OutcomeKind.FUNCTION_ERROR)

    def report_status(self) -> str:
        """The tail of the REPORT line: `Status: timeout` as AWS prints it since 2025."""
        if self.kind is OutcomeKind.TIMEOUT:
            return "\tStatus: timeout"
        if self.failed and self.kind is not OutcomeKind.FUNCTION_ERROR:
            return f"\tStatus: error\tError Type: {self.error_type}"
        return ""


SUCCESS = Outcome(OutcomeKind.SUCCESS)


def _platform(kind: OutcomeKind, error_type: str, request_id: str, message: str) -> Outcome:
    """Errors sluice detects itself: buffered body says `RequestId: <id> Error: <msg>`."""
    document = {
        "errorType": error_type,
        "errorMessage": f"RequestId: {request_id} Error: {message}",
    }
    return Outcome(kind, error_type, message, json.dumps(document).encode(), error_type)


def timed_out(request_id: str, timeout_seconds: float) -> Outcome:
    """Spec decision 2: `Sandbox.Timedout`, `Task timed out after 1.00 seconds`."""
    message = f"Task timed out after {timeout_seconds:.2f} seconds"
    return _platform(OutcomeKind.TIMEOUT, "Sandbox.Timedout", request_id, message)


def exit_reason(returncode: int) -> str:
    """Spec decision 2: how Lambda words a runtime's exit."""
    if returncode == 0:
        return "Runtime exited without providing a reason"
    if returncode < 0:
        signal_names = {9: "killed", 15: "terminated", 11: "segmentation fault", 6: "aborted"}
        return f"Runtime exited with error: signal: {signal_names.get(-returncode, -returncode)}"
    return f"Runtime exited with error: exit status {returncode}"


def runtime_exited(request_id: str, returncode: int) -> Outcome:
    """Spec decision 2: the runtime process ended before completing the invocation."""
    reason = exit_reason(returncode)
    return _platform(OutcomeKind.RUNTIME_EXIT, "Runtime.ExitError", request_id, reason)


def out_of_memory(request_id: str) -> Outcome:
    """The environment outgrew the function's MemorySize and was killed (engine/_memory.py).

    AWS names this `Runtime.OutOfMemory`: REPORT lines of killed functions end with the fields
    `Status: error` and `Error Type: Runtime.OutOfMemory` (nasa-gcn/gcn.nasa.gov PR #3628), the
    Telemetry API's `platform.runtimeDone` and `platform.report` carry that `errorType`
    (Datadog's Lambda extension counts out-of-memory kills by it). The message is inferred:
    the sandbox is SIGKILLed, and before AWS named the type the same kill read `Runtime
    exited with error: signal: killed` (awslabs/amazon-s3-find-and-forget PR #283).
    """
    return _platform(OutcomeKind.OUT_OF_MEMORY, "Runtime.OutOfMemory", request_id, exit_reason(-9))


def truncated(request_id: str) -> Outcome:
    """Spec decision 2: a streamed body that ended without its chunked terminator."""
    message = "Response stream ended before the runtime finished it"
    return _platform(OutcomeKind.TRUNCATED, "Runtime.TruncatedResponse", request_id, message)


def invalid_mode(request_id: str) -> Outcome:
    """Spec 4.4: a response-mode header other than `streaming` fails the invocation."""
    message = "Invalid function response mode"
    return _platform(
        OutcomeKind.RUNTIME_EXIT, "Runtime.InvalidResponseModeHeader", request_id, message
    )


def too_large(limit: int) -> Outcome:
    """Spec decision 2 and section 2.4, with the wording of the real buffered error."""
    message = f"Response payload size exceeded maximum allowed payload size ({limit} bytes)."
    document = {"errorMessage": message, "errorType": "Function.ResponseSizeTooLarge"}
    return Outcome(
        OutcomeKind.TOO_LARGE,
        "Function.ResponseSizeTooLarge",
        message,
        json.dumps(document).encode(),
        "Function.ResponseSizeTooLarge",
    )


# A lone UTF-16 surrogate: a JSON escape such as `\udc80` decodes to one, and no UTF-8 text
# (the log file, the log tail) can hold it.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _text(value: object) -> str:
    """A JSON value as text that encodes as UTF-8 anywhere it goes later.

    Lone surrogates become U+FFFD, as Go's encoding/json (RAPID's) decodes them; the posted
    document itself is kept as it was.
    """
    return _LONE_SURROGATE.sub("\ufffd", str(value))


def _read_document(body: bytes, header_type: str | None) -> tuple[str, str, bytes]:
    """Make sense of whatever error body a runtime sent: JSON document or plain text.

    A body too deeply nested for the parser (RecursionError) is as unreadable as bad
    syntax, so it is kept as text like any other body that is not a JSON object.
    """
    try:
        parsed = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError, RecursionError):
        parsed = None
    if isinstance(parsed, dict):
        error_type = _text(parsed.get("errorType") or header_type or "Unknown")
        message = parsed.get("errorMessage")
        return error_type, _text(message) if message is not None else "", body
    text = body.decode("utf-8", "replace")
    error_type = header_type or "Unknown"
    document = json.dumps({"errorMessage": text, "errorType": error_type}).encode()
    return error_type, text, document


def function_error(body: bytes, header_type: str | None) -> Outcome:
    """A handler error the runtime reported through `/error` (before any byte streamed).

    Spec decision 1 applies as for trailers: `ErrorCode: Unhandled` with the message.
    """
    error_type, message, document = _read_document(body, header_type)
    return Outcome(OutcomeKind.FUNCTION_ERROR, error_type, message, document, "Unhandled")


def trailer_error(header_type: str, encoded_body: str | None) -> Outcome:
    """Spec decisions 1 and 6: an error sent in the streaming response's trailers.

    The body is base64 by contract, but runtimes differ (spec 4.4), so text that is not
    valid base64 is taken as it is.
    """
    raw = (encoded_body or "").strip()
    try:
        body = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        body = raw.encode()
    return function_error(body, header_type or None)


def init_error(body: bytes, header_type: str | None) -> Outcome:
    """An error the runtime reported through `/init/error` (e.g. `Runtime.ImportModuleError`).

    Our decision (docs/behavior.md): like the platform errors, the stream's `ErrorCode` is the
    error type itself, so a caller can tell a broken deployment from a failing handler.
    """
    error_type, message, document = _read_document(body, header_type)
    return Outcome(OutcomeKind.INIT_ERROR, error_type, message, document, error_type)
