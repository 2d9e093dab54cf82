"""Runtime API values on the wire: header names, invocation headers, the error document, JSON.

This module owns the typed values the runtime exchanges with the Lambda Runtime API
(shared spec, section 4): what a `GET /next` answer says about an invocation, the JSON error
document awslambdaric's `make_error` builds, and how events and results become bytes.
It knows nothing of sockets or of the user's handler.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from sluice_runtime._errors import (
    MARSHAL_ERROR,
    UNMARSHAL_ERROR,
    RuntimeApiError,
    RuntimeFault,
    user_stack_trace,
)

# `slots=True` needs Python 3.10; on 3.9 the values are merely frozen.
SLOTS: dict[str, bool] = {"slots": True} if sys.version_info >= (3, 10) else {}

API_PREFIX = "/2018-06-01"

REQUEST_ID = "Lambda-Runtime-Aws-Request-Id"
DEADLINE_MS = "Lambda-Runtime-Deadline-Ms"
INVOKED_FUNCTION_ARN = "Lambda-Runtime-Invoked-Function-Arn"
TRACE_ID = "Lambda-Runtime-Trace-Id"
CLIENT_CONTEXT = "Lambda-Runtime-Client-Context"
COGNITO_IDENTITY = "Lambda-Runtime-Cognito-Identity"
TENANT_ID = "Lambda-Runtime-Aws-Tenant-Id"
INVOCATION_ID = "Lambda-Runtime-Invocation-Id"
ERROR_TYPE = "Lambda-Runtime-Function-Error-Type"
ERROR_BODY = "Lambda-Runtime-Function-Error-Body"
RESPONSE_MODE = "Lambda-Runtime-Function-Response-Mode"

JSON_CONTENT_TYPE = "application/json"
ERROR_CONTENT_TYPE = "application/vnd.aws.lambda.error+json"
# awslambdaric posts a handler's `bytes` result verbatim with this type.
BYTES_CONTENT_TYPE = "application/unknown"


class _Headers(Protocol):
    def get(self, name: str, default: None = None) -> str | None: ...


@dataclass(frozen=True, **SLOTS)
class InvocationHeaders:
    """What a `GET /next` answer says about one invocation (spec section 4.2).

    Only the request id and the deadline are required: without them the runtime can neither
    answer nor tell the handler how long it has.
    """

    request_id: str
    deadline_ms: int
    invoked_function_arn: str = ""
    trace_id: str | None = None
    client_context: str | None = None
    cognito_identity: str | None = None
    tenant_id: str | None = None
    invocation_id: str | None = None
    content_type: str | None = JSON_CONTENT_TYPE

    def __post_init__(self) -> None:
        if not self.request_id:
            raise ValueError("the invocation has no request id")

    @classmethod
    def from_http(cls, headers: _Headers) -> InvocationHeaders:
        """Read the headers of a `GET /next` answer; absent or empty optional ones are None.

        Raises:
            RuntimeApiError: the request id or a numeric deadline is missing.
        """
        deadline = headers.get(DEADLINE_MS) or ""
        try:
            return cls(
                request_id=headers.get(REQUEST_ID) or "",
                deadline_ms=int(deadline),
                invoked_function_arn=headers.get(INVOKED_FUNCTION_ARN) or "",
                trace_id=headers.get(TRACE_ID) or None,
                client_context=headers.get(CLIENT_CONTEXT) or None,
                cognito_identity=headers.get(COGNITO_IDENTITY) or None,
                tenant_id=headers.get(TENANT_ID) or None,
                invocation_id=headers.get(INVOCATION_ID) or None,
                content_type=headers.get("Content-Type") or None,
            )
        except ValueError as exc:
            raise RuntimeApiError(f"malformed GET /next answer: {exc}") from None

    def reply_headers(self) -> list[tuple[str, str]]:
        """Headers every answer about this invocation carries (the invocation id echo)."""
        return [(INVOCATION_ID, self.invocation_id)] if self.invocation_id else []


@dataclass(frozen=True, **SLOTS)
class Invocation:
    """One event to handle: its headers and the raw event body."""

    headers: InvocationHeaders
    body: bytes


@dataclass(frozen=True, **SLOTS)
class ErrorDocument:
    """The error body of `/error`, `/init/error` and the streaming error trailer.

    Same keys, order and defaults as awslambdaric's `make_error`; `request_id` is "" for
    init errors.
    """

    error_message: str
    error_type: str
    request_id: str = ""
    stack_trace: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not all(isinstance(line, str) for line in self.stack_trace):
            raise TypeError("stack_trace must hold strings")

    @classmethod
    def from_exception(cls, exc: BaseException, request_id: str = "") -> ErrorDocument:
        """Describe an exception as awslambdaric does: class name, `str()`, trimmed trace.

        A `RuntimeFault` reports its AWS error type and, when it has one, its own trace.
        """
        if isinstance(exc, RuntimeFault):
            trace = exc.stack_trace
            if trace is None:
                trace = tuple(user_stack_trace(exc.__traceback__))
            return cls(exc.message, exc.error_type, request_id, trace)
        trace = tuple(user_stack_trace(exc.__traceback__))
        return cls(_safe_str(exc), type(exc).__name__, request_id, trace)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object, keys in awslambdaric's order."""
        return {
            "errorMessage": self.error_message,
            "errorType": self.error_type,
            "requestId": self.request_id,
            "stackTrace": list(self.stack_trace),
        }

    def to_json(self) -> bytes:
        """The UTF-8 JSON text posted to the Runtime API."""
        return encode_json(self.to_dict())


def _safe_str(exc: BaseException) -> str:
    """`str(exc)`, surviving user exceptions whose `__str__` itself fails."""
    try:
        return str(exc)
    except Exception:
        return f"<unprintable {type(exc).__name__} object>"


def _json_default(value: object) -> object:
    """Encode Decimals (boto3's DynamoDB numbers) as numbers, as awslambdaric does."""
    if isinstance(value, Decimal) and value.is_finite():
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def encode_json(value: object) -> bytes:
    """JSON as awslambdaric writes it on Python 3.12+: non-ASCII kept, NaN allowed."""
    return json.dumps(value, ensure_ascii=False, default=_json_default).encode("utf-8")


def encode_result(value: object) -> tuple[bytes, str]:
    """Turn a plain handler's return value into the `/response` body and its content type.

    Raises:
        RuntimeFault: `Runtime.MarshalError` when the value is not JSON serialisable.
    """
    if isinstance(value, bytes):
        return value, BYTES_CONTENT_TYPE
    try:
        return encode_json(value), JSON_CONTENT_TYPE
    except Exception as exc:  # json raises TypeError, ValueError, RecursionError...
        raise RuntimeFault(MARSHAL_ERROR, f"Unable to marshal response: {exc}", []) from None


def decode_event(body: bytes, content_type: str | None) -> object:
    """Parse the event: JSON unless the Runtime API said the event is something else.

    Raises:
        RuntimeFault: `Runtime.UnmarshalError` for a JSON event that does not parse.
    """
    media_type = (content_type or JSON_CONTENT_TYPE).split(";", 1)[0].strip().lower()
    if media_type != JSON_CONTENT_TYPE:
        return body
    try:
        return json.loads(body)
    except ValueError as exc:
        raise RuntimeFault(UNMARSHAL_ERROR, f"Unable to unmarshal input: {exc}", []) from None
