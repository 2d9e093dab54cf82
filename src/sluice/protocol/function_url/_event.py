"""An HTTP request → the payload format 2.0 event a function URL hands to the function.

The shape is the one in "Invoking Lambda function URLs" → "Request payload format"
(https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html#urls-payloads), checked
against events real function URLs delivered (AuthType NONE, 2022-2024, reproduced in public
repositories, e.g. aws-powertools/powertools-lambda-python `tests/events/
lambdaFunctionUrlEventWithHeaders.json`). Where the two differ, the recordings win:

* `requestContext.accountId` is `"anonymous"` for AuthType NONE, and NONE events have no
  `authentication` or `authorizer` key; for AWS_IAM (no recording found) sluice follows the
  docs' example: the function owner's account, `authentication: null` and an `authorizer.iam`
  block describing the caller;
* keys the docs call "null or excluded" (`pathParameters`, `stageVariables`) are excluded;
  `cookies`, `queryStringParameters` and `body` are absent when the request has none.

Multi-valued headers and query parameters are joined with "," (the docs' `"value1,value2"`);
Cookie headers become the `cookies` list and are not repeated in `headers` (API Gateway payload
2.0, "Format 2.0 includes a new cookies field"). Which bodies are text: see `encode_body`.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from sluice.protocol.function_url._shapes import header_values, media_type
from sluice.protocol.function_url._urls import domain_name

ANONYMOUS_ACCOUNT = "anonymous"

# The only bodies passed as text (isBase64Encoded false): text/* and these three. Measured on
# real AWS for payload 2.0 (ministackorg/ministack PR #766: everything else, including a missing
# Content-Type and application/x-www-form-urlencoded, arrives base64) and seen on a real function
# URL (a 2024 curl POST of application/x-www-form-urlencoded arrived with isBase64Encoded true,
# and LeanerCloud/CUDly PR #1483 had to decode it).
TEXT_MEDIA_TYPES = frozenset({"application/json", "application/xml", "application/javascript"})

# Connection-level fields that describe the client's hop, not the request; AWS's front door
# terminates that hop (no recorded event carries them). RFC 9110 section 7.6.1.
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "transfer-encoding", "upgrade"}
)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True, slots=True)
class IamCaller:
    """Who signed an AWS_IAM request, as `requestContext.authorizer.iam` reports it."""

    access_key: str
    account_id: str
    caller_id: str
    user_arn: str
    user_id: str
    principal_org_id: str | None = None

    def to_event(self) -> dict[str, Any]:
        """The `iam` block, keys in the docs' order; `cognitoIdentity` is always null there."""
        return {
            "accessKey": self.access_key,
            "accountId": self.account_id,
            "callerId": self.caller_id,
            "cognitoIdentity": None,
            "principalOrgId": self.principal_org_id,
            "userArn": self.user_arn,
            "userId": self.user_id,
        }


def request_event(
    *,
    method: str,
    raw_path: str,
    raw_query_string: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    source_ip: str,
    url_id: str,
    region: str,
    request_id: str,
    time_epoch_ms: int,
    account_id: str = ANONYMOUS_ACCOUNT,
    iam: IamCaller | None = None,
    protocol: str = "HTTP/1.1",
    server_port: int | None = None,
    trace_id: str | None = None,
) -> dict[str, Any]:
    """The event for one function URL request.

    Args:
        method: the request method, as sent.
        raw_path: the path as sent (still percent-encoded), e.g. `/my/path`.
        raw_query_string: what followed `?`, without it; `""` when there was none.
        headers: every header line as (name, value), repeated names repeated, in order.
        body: the request body; empty when there was none.
        source_ip: the peer address of the TCP connection.
        url_id: the URL's id (also `apiId` and `domainPrefix`).
        region: the URL's region, for `domainName`.
        request_id: the invocation's request id.
        time_epoch_ms: when the request arrived, in Unix milliseconds.
        account_id: the function owner's account; used only with `iam`, since AuthType NONE
            events say `"anonymous"`.
        iam: the verified caller of an AWS_IAM URL; None for AuthType NONE.
        protocol: the request's HTTP version as `HTTP/1.1`.
        server_port: when given, add the `x-forwarded-*` headers AWS's front door adds
            (`proto` is `http`: sluice serves plain HTTP).
        trace_id: when given, the `x-amzn-trace-id` header AWS's front door adds.
    """
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": raw_query_string,
    }
    cookies = request_cookies(headers)
    if cookies:
        event["cookies"] = cookies
    event["headers"] = _event_headers(headers, source_ip, server_port, trace_id)
    if raw_query_string:
        event["queryStringParameters"] = query_parameters(raw_query_string)
    http = {
        "method": method,
        "path": raw_path,
        "protocol": protocol,
        "sourceIp": source_ip,
        "userAgent": ",".join(header_values(headers, "user-agent")),
    }
    event["requestContext"] = _request_context(
        http, url_id, region, request_id, time_epoch_ms, account_id, iam
    )
    if body:
        content_type = ",".join(header_values(headers, "content-type")) or None
        event["body"], event["isBase64Encoded"] = encode_body(body, content_type)
    else:
        event["isBase64Encoded"] = False
    return event


def encode_body(body: bytes, content_type: str | None) -> tuple[str, bool]:
    """The `body` text and `isBase64Encoded` for a request body.

    Text media types (text/*, TEXT_MEDIA_TYPES) pass as a string; everything else, and a
    text type whose bytes are not UTF-8 (a JSON string cannot hold them unchanged), is base64.
    """
    if is_text_content_type(content_type):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode("ascii"), True


def is_text_content_type(content_type: str | None) -> bool:
    """Whether AWS hands a body of this Content-Type to the function as text."""
    kind = media_type(content_type)
    return kind.startswith("text/") or kind in TEXT_MEDIA_TYPES


def request_cookies(headers: Sequence[tuple[str, str]]) -> list[str]:
    """Every `name=value` pair of every Cookie header, in order (`a=1; b=2` → two items)."""
    values = header_values(headers, "cookie")
    pairs = (part.strip(" \t") for value in values for part in value.split(";"))
    return [pair for pair in pairs if pair]


def query_parameters(raw_query_string: str) -> dict[str, str]:
    """Decoded query parameters, repeated names joined with "," (`a=1&a=2` → `{"a": "1,2"}`).

    Percent-escapes are decoded and `+` is read as a space, as an HTML form encodes it
    (inferred: no source shows AWS's handling of `+`); a name without `=` has the value "".
    """
    joined: dict[str, list[str]] = {}
    for name, value in parse_qsl(raw_query_string, keep_blank_values=True):
        joined.setdefault(name, []).append(value)
    return {name: ",".join(values) for name, values in joined.items()}


def event_time(time_epoch_ms: int) -> str:
    """`requestContext.time`: `12/Mar/2020:19:03:58 +0000`, always UTC, English month names."""
    t = time.gmtime(time_epoch_ms // 1000)
    day = f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year:04d}"
    return f"{day}:{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"


def _event_headers(
    headers: Sequence[tuple[str, str]],
    source_ip: str,
    server_port: int | None,
    trace_id: str | None,
) -> dict[str, str]:
    joined: dict[str, list[str]] = {}
    for name, value in headers:
        key = name.lower()
        if key != "cookie" and key not in _HOP_BY_HOP:
            joined.setdefault(key, []).append(value)
    if server_port is not None:
        # A proxy appends the peer to any X-Forwarded-For the client sent (inferred; the
        # recorded events show only the single-address case).
        joined["x-forwarded-for"] = [*joined.get("x-forwarded-for", []), source_ip]
        joined["x-forwarded-port"] = [str(server_port)]
        joined["x-forwarded-proto"] = ["http"]
    if trace_id is not None:
        joined["x-amzn-trace-id"] = [trace_id]
    return {name: _join(name, values) for name, values in joined.items()}


def _join(name: str, values: list[str]) -> str:
    separator = ", " if name == "x-forwarded-for" else ","
    return separator.join(values)


def _request_context(
    http: dict[str, str],
    url_id: str,
    region: str,
    request_id: str,
    time_epoch_ms: int,
    account_id: str,
    iam: IamCaller | None,
) -> dict[str, Any]:
    context: dict[str, Any] = {"accountId": ANONYMOUS_ACCOUNT, "apiId": url_id}
    if iam is not None:
        context["accountId"] = account_id
        context["authentication"] = None
        context["authorizer"] = {"iam": iam.to_event()}
    context["domainName"] = domain_name(url_id, region)
    context["domainPrefix"] = url_id
    context["http"] = http
    context["requestId"] = request_id
    context["routeKey"] = "$default"
    context["stage"] = "$default"
    context["time"] = event_time(time_epoch_ms)
    context["timeEpoch"] = time_epoch_ms
    return context
