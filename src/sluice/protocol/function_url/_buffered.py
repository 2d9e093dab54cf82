"""A BUFFERED function URL: the function's whole result → one HTTP response.

AWS's rules ("Response payload format", https://docs.aws.amazon.com/lambda/latest/dg/
urls-invocation.html#urls-response-payload) and the recordings that pin down the details
(LocalStack `tests/aws/services/lambda_/test_lambda.py::TestLambdaURL`, AWS-validated
2025-11-24, snapshot in `test_lambda.snapshot.json`):

* a JSON object with `statusCode`: status from it (`"418"` works too), `headers`, `cookies`
  (one `Set-Cookie` line each), `body`, base64-decoded when `isBase64Encoded` is true; with no
  `content-type` header the response still says `application/json` (recorded: `{"statusCode":
  200, "body": "body123"}` → `Content-Type: application/json`, `Content-Length: 7`);
* any other JSON value: 200, `content-type: application/json`, body = that value. A JSON string
  is sent as its text without quotes (recorded: `"hello"` → `hello`, 5 bytes, although the docs'
  older example shows the quotes); everything else is sent as compact JSON (recorded:
  `{"hello": "world"}` → 17 bytes, `["hello", 3, true]` → `["hello",3,true]`, `True` → `true`);
* a function error: 502 with the body `Internal Server Error` (recorded,
  `test_lambda_url_invocation_exception`; also aws-lambda-cpp issue #200).

sluice's own choices where no source says (each inferred): a payload that is not JSON is
treated like a function error (502), since there is nothing to interpret; `"statusCode": null`
counts as no statusCode; a `statusCode` object that cannot be sent is a 502 too (status
outside 200-599, a header with CR/LF, bad base64); a `body` that is neither a string nor null
is sent as compact JSON (LocalStack does the same); the 502 says `content-type:
application/json` like the URL's other own answers (403 `{"Message":null}` is
application/json, AWS-validated `test_lambda_url_non_existing_url`); 204 and 304 responses
drop their body, which HTTP forbids them.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from sluice.protocol.function_url._shapes import (
    JSON_CONTENT_TYPE,
    HttpReply,
    MalformedResponse,
    has_header,
    response_headers,
    status_code,
)

FUNCTION_ERROR_STATUS = 502
FUNCTION_ERROR_BODY = b"Internal Server Error"
_NO_BODY_STATUSES = frozenset({204, 304})


def buffered_response(payload: bytes, function_error: bool) -> HttpReply:
    """The HTTP response a BUFFERED function URL sends for an invocation's result.

    Args:
        payload: the invocation's response payload (the function's JSON result, or the error
            document when `function_error`).
        function_error: the invocation failed (`X-Amz-Function-Error` on Invoke: a handler
            error, timeout, crash or oversized response).

    Returns:
        The reply; when sluice refused the function's answer, `problem` says why, for the log.
    """
    if function_error:
        return function_error_reply("the function returned an error")
    try:
        value = _parse(payload)
    except ValueError as exc:
        return function_error_reply(f"the function's response is not JSON: {exc}")
    if isinstance(value, dict) and value.get("statusCode") is not None:
        try:
            return _integration_reply(value)
        except MalformedResponse as exc:
            return function_error_reply(str(exc))
    return HttpReply(200, (("content-type", JSON_CONTENT_TYPE),), _value_body(value))


def function_error_reply(problem: str | None = None) -> HttpReply:
    """AWS's answer when the function failed: 502 `Internal Server Error`."""
    headers = (("content-type", JSON_CONTENT_TYPE),)
    return HttpReply(FUNCTION_ERROR_STATUS, headers, FUNCTION_ERROR_BODY, problem)


def _parse(payload: bytes) -> Any:
    """Strict JSON: UTF-8 only, no NaN/Infinity (not JSON), no nesting deep enough to crash."""
    try:
        return json.loads(payload.decode("utf-8"), parse_constant=_refuse_constant)
    except RecursionError as exc:
        raise ValueError("nested too deeply") from exc


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _integration_reply(value: dict[str, Any]) -> HttpReply:
    status = status_code(value["statusCode"])
    headers = response_headers(value.get("headers"), value.get("cookies"))
    if not has_header(headers, "content-type"):
        headers.insert(0, ("content-type", JSON_CONTENT_TYPE))
    body = _body(value.get("body"), value.get("isBase64Encoded") is True)
    return HttpReply(status, tuple(headers), b"" if status in _NO_BODY_STATUSES else body)


def _body(body: object, is_base64: bool) -> bytes:
    if body is None:
        return b""
    if not isinstance(body, str):
        if is_base64:
            raise MalformedResponse("isBase64Encoded is true but body is not a string")
        return _compact(body)
    if not is_base64:
        return _utf8(body)
    try:
        return base64.b64decode("".join(body.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedResponse(f"body is not valid base64: {exc}") from exc


def _value_body(value: Any) -> bytes:
    return _utf8(value) if isinstance(value, str) else _compact(value)


def _compact(value: Any) -> bytes:
    """JSON without insignificant whitespace, as AWS re-serialises the function's result."""
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (`"\\ud800"`): keep it escaped
        return json.dumps(value, separators=(",", ":")).encode("ascii")


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", errors="replace")  # a lone surrogate cannot be UTF-8
