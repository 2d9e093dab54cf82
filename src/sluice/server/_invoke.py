"""Invoke and InvokeWithResponseStream on the wire.

The rule that shapes this module: anything wrong with the *request* (unknown function,
payload too large, throttling, bad headers) is an ordinary AWS error response, decided
before any function runs. Once the invocation is dispatched, every ending, including
function errors, timeouts and crashes, is reported the way AWS does: inside the 200
response (`X-Amz-Function-Error` for Invoke, `InvokeComplete` for a stream).

Streaming: the response head is sent when the runtime starts its response (so the
`Content-Type` can be the function's stream content type, spec decision 3); each chunk the
runtime sends becomes its own `PayloadChunk` at once (decision 9); the end is one
`InvokeComplete`. A caller that disconnects does not stop the function.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping

from sluice import httpio
from sluice.engine import Engine, FunctionSpec, Invocation, InvokeRequest, StreamStart
from sluice.errors import InvalidRequestContent, RequestTooLarge, ValidationFailed
from sluice.protocol import eventstream
from sluice.protocol import runtime as rt
from sluice.server._context import RequestContext

# Spec decision 7 and section 6.
MAX_SYNC_PAYLOAD = 6_291_456
MAX_ASYNC_PAYLOAD = 1_048_576
MAX_CLIENT_CONTEXT = 3583
# The `TenantId` shape of the service model (botocore `lambda/2015-03-31`): 1-256 characters.
TENANT_ID_PATTERN = r"[a-zA-Z0-9\._:\/=+\-@ ]+"
_TENANT_ID = re.compile(TENANT_ID_PATTERN)
MAX_TENANT_ID = 256


def too_large(limit: int) -> RequestTooLarge:
    return RequestTooLarge(
        f"Request must be smaller than {limit} bytes for the InvokeFunction operation"
    )


def check_payload(payload: bytes) -> bytes:
    """The event JSON; an empty body is the empty object, as Lambda passes it."""
    if not payload.strip():
        return b"{}"
    try:
        json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidRequestContent(
            f"Could not parse request body into json: Could not parse payload into json: {exc}"
        ) from None
    return payload


def client_context(value: str | None) -> str | None:
    """X-Amz-Client-Context is base64 JSON; the runtime receives it decoded (spec 1.1), in
    the form a header can carry (`rt.client_context_header`).

    JSON nested deeper than the parser's stack (RecursionError) is refused like bad JSON.
    """
    if value is None:
        return None
    if len(value) > MAX_CLIENT_CONTEXT:
        raise InvalidRequestContent("Client context must be less than 3583 bytes")
    try:
        decoded = base64.b64decode(value, validate=True).decode()
        return rt.client_context_header(decoded, json.loads(decoded))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        raise InvalidRequestContent(
            "Client context must be a valid Base64-encoded JSON object."
        ) from None


def tenant_id(value: str | None) -> str | None:
    """X-Amz-Tenant-Id, checked against the model as AWS checks every member: the runtime
    gets it in a header, where only these characters are safe anyway."""
    if value is None:
        return None
    constraints = []
    if not _TENANT_ID.fullmatch(value):
        constraints.append(f"Member must satisfy regular expression pattern: {TENANT_ID_PATTERN}")
    if not value:
        constraints.append("Member must have length greater than or equal to 1")
    if len(value) > MAX_TENANT_ID:
        constraints.append(f"Member must have length less than or equal to {MAX_TENANT_ID}")
    if constraints:
        raise _violations(value, "tenantId", constraints)
    return value


def _violations(value: str, member: str, constraints: list[str]) -> ValidationFailed:
    """AWS's message for one member that breaks one or more constraints."""
    count = f"{len(constraints)} validation error{'s' if len(constraints) > 1 else ''}"
    found = "; ".join(
        f"Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"
        for constraint in constraints
    )
    return ValidationFailed(f"{count} detected: {found}")


def _choice(value: str | None, member: str, allowed: tuple[str, ...]) -> str:
    chosen = value or allowed[0]
    if chosen not in allowed:
        raise ValidationFailed(
            f"1 validation error detected: Value '{chosen}' at '{member}' failed to satisfy "
            f"constraint: Member must satisfy enum value set: [{', '.join(allowed)}]"
        )
    return chosen


def build_request(
    ctx: RequestContext,
    spec: FunctionSpec,
    headers: Mapping[str, str],
    payload: bytes,
    *,
    streaming: bool,
    qualifier: str | None,
) -> tuple[InvokeRequest, str]:
    """Validate the invoke headers and payload; returns the request and invocation type."""
    types = ("RequestResponse", "DryRun") if streaming else ("RequestResponse", "Event", "DryRun")
    invocation_type = _choice(headers.get("x-amz-invocation-type"), "invocationType", types)
    log_type = _choice(headers.get("x-amz-log-type"), "logType", ("None", "Tail"))
    request = InvokeRequest(
        function=spec,
        payload=check_payload(payload),
        invoked_arn=ctx.function_arn(spec.name, qualifier),
        region=ctx.region,
        streaming=streaming,
        log_tail=log_type == "Tail",
        client_context=client_context(headers.get("x-amz-client-context")),
        tenant_id=tenant_id(headers.get("x-amz-tenant-id")),
    )
    return request, invocation_type


def _base_headers(ctx: RequestContext, content_type: str) -> list[tuple[str, str | bytes]]:
    """The head of an invoke answer. The runtime's `Content-Type` goes back as the bytes it
    posted (read as latin-1), bytes 0x80-0xFF included: RAPID, written in Go, accepts and
    forwards such obs-text in header values, and httpio sends bytes as they are (a str it
    would encode as ASCII, and refuse)."""
    return [
        ("Content-Type", content_type.encode("latin-1")),
        ("x-amzn-RequestId", ctx.request_id),
        ("X-Amz-Executed-Version", "$LATEST"),
    ]


async def invoke_buffered(
    ctx: RequestContext, conn: httpio.HttpConnection, engine: Engine, request: InvokeRequest
) -> None:
    """Invoke (RequestResponse): 200 with the payload, or the error document (decision 6)."""
    invocation = await engine.invoke(request)
    content_type = "application/json"
    parts: list[bytes] = []
    async for event in invocation.events():
        if isinstance(event, StreamStart):
            content_type = event.content_type
        elif isinstance(event, bytes):
            parts.append(event)
    outcome = invocation.outcome
    assert outcome is not None
    body = b"".join(parts)
    if outcome.failed:
        content_type, body = "application/json", outcome.document or b"{}"
    headers = _base_headers(ctx, content_type)
    if outcome.failed:
        headers.append(("X-Amz-Function-Error", "Unhandled"))
    if request.log_tail:
        log = await invocation.wait_finalized()
        headers.append(("X-Amz-Log-Result", base64.b64encode(log.tail()).decode()))
    await conn.respond(200, headers, body)


async def invoke_stream(
    ctx: RequestContext, conn: httpio.HttpConnection, engine: Engine, request: InvokeRequest
) -> None:
    """InvokeWithResponseStream: PayloadChunks as they come, then one InvokeComplete."""
    invocation = await engine.invoke(request)
    try:
        await _relay(ctx, conn, invocation)
    except (ConnectionError, OSError):
        invocation.detach()
        conn.abort()


async def _relay(ctx: RequestContext, conn: httpio.HttpConnection, invocation: Invocation) -> None:
    """Each batch of events goes out in one vectored write: what waited together leaves
    together, and the function's bytes reach the socket uncopied (only checksummed)."""
    started = False
    async for batch in invocation.batches():
        out: list[httpio.Buffer] = []
        frames: list[httpio.Buffer] = []
        for event in batch:
            if isinstance(event, StreamStart):
                out.append(conn.stream_head(200, _base_headers(ctx, event.content_type)))
                started = True
            elif isinstance(event, bytes):
                frames += eventstream.payload_chunk_parts(event)
        outcome = batch[-1]
        if isinstance(outcome, rt.Outcome):
            if not started:
                out.append(conn.stream_head(200, _base_headers(ctx, "application/octet-stream")))
            if invocation.request.log_tail and frames:
                # The log tail waits for END/REPORT; what the function wrote does not.
                await conn.send_parts([*out, *conn.chunk_parts(frames)])
                out, frames = [], []
            frames.append(await _complete_event(invocation, outcome))
            out += [*conn.chunk_parts(frames), conn.stream_end()]
        else:
            out += conn.chunk_parts(frames)
        await conn.send_parts(out)


async def _complete_event(invocation: Invocation, outcome: rt.Outcome) -> bytes:
    """Spec decisions 1, 2: the InvokeComplete for an outcome, with the log tail if asked."""
    log_result = None
    if invocation.request.log_tail:
        log = await invocation.wait_finalized()
        log_result = base64.b64encode(log.tail()).decode()
    return eventstream.invoke_complete(
        error_code=outcome.stream_code,
        error_details=outcome.error_message if outcome.failed else None,
        log_result=log_result,
    )
