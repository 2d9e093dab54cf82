"""One invocation, from the `GET /next` answer to the response or error the runtime posts.

Rules (spec sections 4.3 and 4.4, Node's behaviour where AWS has no Python streaming):

* a plain handler's value is posted as the buffered response; any exception becomes an
  error document, logged as `[ERROR] ...` and posted to `/error`;
* a streaming handler's failure *before* the first byte went out is posted to `/error`
  exactly like a plain handler's; *after* it, the error is logged first and then sent as
  the `Lambda-Runtime-Function-Error-Type`/`-Body` trailers (type = exception class name,
  body = base64 of the same error document);
* a stream the handler left open is ended for it; a value returned by a streaming handler is
  ignored with a warning, as Node does.

Transport problems (`OSError`, `http.client.HTTPException`, `RuntimeApiError`) from posting
propagate to the bootstrap loop, which reports them and carries on.
"""

from __future__ import annotations

import base64
import inspect
import logging
import os
from collections.abc import AsyncIterator, Callable, Iterator, MutableMapping
from typing import Any

from sluice_runtime._client import RuntimeApiClient
from sluice_runtime._context import LambdaContext, context_for
from sluice_runtime._errors import RuntimeFault
from sluice_runtime._handler import (
    CONTENT_TYPE_ATTR,
    HIGH_WATER_MARK_ATTR,
    HandlerKind,
    handler_kind,
)
from sluice_runtime._logging import log_error, set_current_invocation
from sluice_runtime._stream import (
    DEFAULT_CONTENT_TYPE,
    ResponseStream,
    StreamState,
    fail_stream,
    stream_state,
    write_item,
)
from sluice_runtime._wire import (
    ErrorDocument,
    Invocation,
    InvocationHeaders,
    decode_event,
    encode_result,
)

TRACE_ENV = "_X_AMZN_TRACE_ID"
IGNORED_RETURN_WARNING = "Streaming handlers ignore return values."

logger = logging.getLogger("sluice_runtime")


def _resolve(value: Any) -> Any:
    """Run a coroutine (from an `async def` handler) to completion; other values pass."""
    if inspect.iscoroutine(value):
        return _asyncio().run(value)
    return value


def _asyncio() -> Any:
    """asyncio, imported on the first async handler's call: importing it (with the
    subprocess and concurrent.futures modules it pulls in) took 10 ms of every Python cold
    start, about an eighth of it, for handlers that never use it (docs/performance.md)."""
    import asyncio

    return asyncio


def _begin(invocation: InvocationHeaders, environ: MutableMapping[str, str]) -> None:
    """Point logs and the X-Ray variable at this invocation, as awslambdaric does."""
    set_current_invocation(invocation.request_id, invocation.tenant_id)
    if invocation.trace_id is not None:
        environ[TRACE_ENV] = invocation.trace_id
    else:
        environ.pop(TRACE_ENV, None)


def handle_invocation(
    client: RuntimeApiClient,
    handler: Callable[..., Any],
    invocation: Invocation,
    environ: MutableMapping[str, str] | None = None,
) -> None:
    """Run the handler for one event and post its outcome."""
    environ = os.environ if environ is None else environ
    headers = invocation.headers
    _begin(headers, environ)
    try:
        context = context_for(headers, environ)
        event = decode_event(invocation.body, headers.content_type)
    except RuntimeFault as exc:
        report_error(client, headers, exc)
        return
    if handler_kind(handler) is HandlerKind.BUFFERED:
        _run_buffered(client, handler, headers, event, context)
    else:
        _run_streaming(client, handler, headers, event, context)


def report_error(client: RuntimeApiClient, headers: InvocationHeaders, exc: Exception) -> None:
    """Log an invocation error and post it to `/error`."""
    document = ErrorDocument.from_exception(exc, headers.request_id)
    log_error(document)
    client.post_error(headers, document)


def _run_buffered(
    client: RuntimeApiClient,
    handler: Callable[..., Any],
    headers: InvocationHeaders,
    event: object,
    context: LambdaContext,
) -> None:
    try:
        body, content_type = encode_result(_resolve(handler(event, context)))
    except Exception as exc:
        report_error(client, headers, exc)
        return
    client.post_response(headers, body, content_type)


def _pump(items: Iterator[object], stream: ResponseStream) -> None:
    """Write every item of a generator handler, closing the generator however it ends."""
    try:
        for item in items:
            write_item(stream, item)
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()


async def _pump_async(items: AsyncIterator[object], stream: ResponseStream) -> None:
    """`_pump` for async generators."""
    try:
        async for item in items:
            write_item(stream, item)
    finally:
        aclose = getattr(items, "aclose", None)
        if aclose is not None:
            await aclose()


def call_streaming(
    handler: Callable[..., Any],
    kind: HandlerKind,
    event: object,
    stream: ResponseStream,
    context: LambdaContext,
) -> object:
    """Call a streaming handler the way its kind needs; return what it returned."""
    if kind is HandlerKind.GENERATOR:
        _pump(handler(event, context), stream)
        return None
    if kind is HandlerKind.ASYNC_GENERATOR:
        _asyncio().run(_pump_async(handler(event, context), stream))
        return None
    return _resolve(handler(event, stream, context))


def _run_streaming(
    client: RuntimeApiClient,
    handler: Callable[..., Any],
    headers: InvocationHeaders,
    event: object,
    context: LambdaContext,
) -> None:
    post = client.open_stream(headers, high_water_mark=getattr(handler, HIGH_WATER_MARK_ATTR, None))
    stream = ResponseStream(post, getattr(handler, CONTENT_TYPE_ATTR, None) or DEFAULT_CONTENT_TYPE)
    try:
        try:
            returned = call_streaming(handler, handler_kind(handler), event, stream, context)
            if returned is not None:
                logger.warning(IGNORED_RETURN_WARNING)
            stream.end()
        except Exception as exc:
            _report_stream_error(client, headers, stream, exc)
        if stream_state(stream) in (StreamState.ENDED, StreamState.FAILED):
            post.read_response()
    finally:
        post.close()


def error_trailer_body(document: ErrorDocument) -> str:
    """The `Lambda-Runtime-Function-Error-Body` trailer: base64 of the error document."""
    return base64.b64encode(document.to_json()).decode("ascii")


def _report_stream_error(
    client: RuntimeApiClient, headers: InvocationHeaders, stream: ResponseStream, exc: Exception
) -> None:
    """Before the first byte: `/error`. After: log, then the error trailers."""
    if not stream.started:
        report_error(client, headers, exc)
        return
    document = ErrorDocument.from_exception(exc, headers.request_id)
    log_error(document)
    if stream_state(stream) is StreamState.STREAMING:
        fail_stream(stream, document.error_type, error_trailer_body(document))
