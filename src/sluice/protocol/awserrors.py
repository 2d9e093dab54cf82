"""The single table that turns sluice's exceptions into AWS Lambda API errors.

Everything that answers a Lambda API caller with an error goes through `render_error`, so
the code, status, `x-amzn-ErrorType` header and the spelling of the message member
(`Message` for some shapes, `message` for most) are decided here and nowhere else. The
table is checked against botocore's Lambda service model in the tests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sluice import errors


@dataclass(frozen=True, slots=True)
class AwsError:
    """How one kind of refusal looks on the wire."""

    code: str
    status: int
    message_member: str = "message"


# Keyed by exception class; `render_error` walks the MRO so subclasses inherit a row.
ERROR_TABLE: dict[type[errors.ApiError], AwsError] = {
    errors.FunctionNotFound: AwsError("ResourceNotFoundException", 404, "Message"),
    errors.ResourceNotFound: AwsError("ResourceNotFoundException", 404, "Message"),
    errors.FunctionExists: AwsError("ResourceConflictException", 409),
    errors.FunctionUrlExists: AwsError("ResourceConflictException", 409),
    errors.InvalidParameter: AwsError("InvalidParameterValueException", 400),
    # Not in Lambda's model, but what the service answers for constraint violations
    # ("1 validation error detected: ..."); botocore reads the code from the header.
    errors.ValidationFailed: AwsError("ValidationException", 400),
    errors.InvalidRequestContent: AwsError("InvalidRequestContentException", 400),
    # The model says InvalidZipFileException/502, but the service answers a bad zip with
    # InvalidParameterValueException "Could not unzip uploaded file. ..." (400).
    errors.InvalidZipFile: AwsError("InvalidParameterValueException", 400),
    # Spec decision 7: the wire code is RequestEntityTooLargeException, not the modelled
    # RequestTooLargeException (real messages: spec section 6, source S22).
    errors.RequestTooLarge: AwsError("RequestEntityTooLargeException", 413),
    errors.TooManyRequests: AwsError("TooManyRequestsException", 429),
    errors.ServiceFailure: AwsError("ServiceException", 500, "Message"),
}

_SERVICE_FAILURE = ERROR_TABLE[errors.ServiceFailure]


def lookup(exc: errors.ApiError) -> AwsError:
    """Find the table row for an exception, most specific class first."""
    for cls in type(exc).__mro__:
        row = ERROR_TABLE.get(cls)  # type: ignore[call-overload]
        if row is not None:
            return row
    return _SERVICE_FAILURE


def render_error(exc: errors.ApiError, request_id: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """Build status, headers and JSON body for an API error, as the Lambda service sends them.

    Returns:
        The HTTP status, the response headers (without Content-Length) and the body bytes.
    """
    row = lookup(exc)
    document: dict[str, object] = {"Type": "User" if row.status < 500 else "Service"}
    document[row.message_member] = exc.message
    headers = [
        ("Content-Type", "application/json"),
        ("x-amzn-RequestId", request_id),
        ("x-amzn-ErrorType", row.code),
    ]
    if isinstance(exc, errors.TooManyRequests):
        document["Reason"] = "ReservedFunctionConcurrentInvocationLimitExceeded"
        headers.append(("Retry-After", str(exc.retry_after_seconds)))
    return row.status, headers, json.dumps(document).encode()
