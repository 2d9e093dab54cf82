"""The Runtime API server one execution environment talks to (spec section 4).

Each environment gets its own listener on 127.0.0.1, so a request id can only ever refer
to that environment's current invocation. This module turns the runtime's HTTP calls into
calls on two small interfaces, `Environment` and `Invocation` below; it knows nothing
of the Lambda API, processes or SAM, and the engine's classes satisfy the interfaces
structurally.

Protocol rules enforced here (spec 4.1, 4.4):

* `/response` and `/error` must name the current request id (else 400 InvalidRequestID)
  and may be used once per invocation (else 403 InvalidStateTransition);
* `next` waits for an invocation and gets it only while its connection is open; it and
  `/init/error` are refused (403 InvalidStateTransition) where the environment's state
  does not allow them: `/init/error` only before the first `next`;
* `Lambda-Runtime-Function-Response-Mode` must be absent (buffered) or exactly
  `streaming`, else 400 InvalidFunctionResponseMode and the invocation fails;
* a buffered body over 6 291 556 bytes gets 413 and `Function.ResponseSizeTooLarge`;
* error trailers are read whether or not a `Trailer:` header announced them;
* a streaming body that stops without its terminator is reported to the environment,
  which decides between `Runtime.ExitError` and `Runtime.TruncatedResponse`.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Protocol

from sluice import httpio
from sluice.errors import RuntimeApiMisuse
from sluice.protocol import runtime as rt
from sluice.protocol.eventstream import MAX_CHUNK_PAYLOAD

_ROUTE = re.compile(
    rf"^{re.escape(rt.API_PREFIX)}/runtime/(?:invocation/(?P<id>[^/]+)/(?P<kind>response|error)"
    r"|(?P<other>invocation/next|init/error))$"
)
_ACCEPTED = json.dumps({"status": "OK"}).encode()
# Error posts carry a document, not a response: a generous cap keeps memory bounded.
MAX_ERROR_BODY = 1024 * 1024


class Invocation(Protocol):
    request_id: str
    responded: bool
    max_response: int

    @property
    def done(self) -> bool: ...

    def headers(self) -> rt.InvocationHeaders: ...

    def start(self, content_type: str) -> None: ...

    async def write(self, data: bytes) -> bool: ...

    def complete(self, outcome: rt.Outcome) -> bool: ...


class Environment(Protocol):
    async def next_invocation(
        self, poller_gone: asyncio.Future[None]
    ) -> tuple[Invocation, bytes] | None: ...

    def current_invocation(self) -> Invocation | None: ...

    def init_failed(self, outcome: rt.Outcome) -> None: ...

    async def response_truncated(self, invocation: Invocation) -> None: ...


def _header(request: httpio.Request, name: str) -> str | None:
    wanted = name.encode()
    for key, value in request.headers:
        if key == wanted:
            return value.decode("latin-1")
    return None


def _trailers(end: httpio.EndOfMessage) -> dict[str, str]:
    return {k.decode().lower(): v.decode("latin-1") for k, v in end.headers}


class RuntimeApiServer:
    """Serves one environment's Runtime API on 127.0.0.1, on a port picked by the OS."""

    def __init__(self, environment: Environment) -> None:
        self._env = environment
        self._http = httpio.HttpServer(self._handle)
        self.port = 0

    async def start(self) -> str:
        """Listen and return the `host:port` for `AWS_LAMBDA_RUNTIME_API`."""
        self.port = await self._http.start("127.0.0.1", 0)
        return f"127.0.0.1:{self.port}"

    async def drain(self, timeout: float) -> None:
        """Handle what a runtime that exited sent before it died (see `HttpServer.drain`)."""
        await self._http.drain(timeout)

    async def close(self) -> None:
        """Stop listening and cut every open connection (the process is gone or going)."""
        await self._http.close()

    async def _handle(self, conn: httpio.HttpConnection, request: httpio.Request) -> None:
        try:
            await self._route(conn, request)
        except RuntimeApiMisuse as exc:
            await conn.discard_body()
            headers = [("Content-Type", "application/json")]
            await conn.respond(exc.status, headers, rt.misuse_body(exc))

    async def _route(self, conn: httpio.HttpConnection, request: httpio.Request) -> None:
        path = request.target.decode("latin-1").split("?", 1)[0]
        match = _ROUTE.match(path)
        method = request.method.decode()
        if match is None or method != ("GET" if match["other"] == "invocation/next" else "POST"):
            raise rt.unknown_route()
        if match["other"] == "invocation/next":
            await self._next(conn)
        elif match["other"] == "init/error":
            body = await self._small_body(conn)
            self._env.init_failed(rt.init_error(body, _header(request, rt.ERROR_TYPE_HEADER)))
            await self._accepted(conn)
        else:
            invocation = self._claim(match["id"])
            if match["kind"] == "error":
                await self._error(conn, request, invocation)
            else:
                await self._response(conn, request, invocation)

    async def _next(self, conn: httpio.HttpConnection) -> None:
        """Long-poll: the answer waits for an invocation, which only a runtime still
        connected may take; a poll whose client left ends with the connection, unanswered."""
        handed = await self._env.next_invocation(conn.peer_gone)
        if handed is None:
            raise httpio.ConnectionLost("the runtime left before an invocation came")
        invocation, payload = handed
        await conn.respond(200, invocation.headers().to_headers(), payload)

    async def _error(
        self, conn: httpio.HttpConnection, request: httpio.Request, invocation: Invocation
    ) -> None:
        """`/error`: the handler failed before responding. An oversized document still
        fails the invocation, with the type the header gave, so the caller is not left
        waiting for the timeout."""
        error_type = _header(request, rt.ERROR_TYPE_HEADER)
        try:
            body = await self._small_body(conn)
        except RuntimeApiMisuse:
            message = f"Error document exceeded {MAX_ERROR_BODY} bytes"
            invocation.complete(rt.function_error(message.encode(), error_type))
            raise
        invocation.complete(rt.function_error(body, error_type))
        await self._accepted(conn)

    def _claim(self, request_id: str) -> Invocation:
        """The current invocation, if the runtime may still answer it."""
        invocation = self._env.current_invocation()
        if invocation is None or invocation.request_id != request_id:
            raise rt.invalid_request_id()
        if invocation.responded or invocation.done:
            raise rt.invalid_state_transition("RESPONSE_SENT", "RESPONSE_SENT")
        invocation.responded = True
        return invocation

    async def _small_body(self, conn: httpio.HttpConnection) -> bytes:
        try:
            return await conn.read_body(MAX_ERROR_BODY)
        except httpio.BodyTooLarge:
            raise rt.payload_too_large(MAX_ERROR_BODY) from None

    async def _accepted(self, conn: httpio.HttpConnection) -> None:
        await conn.respond(202, [("Content-Type", "application/json")], _ACCEPTED)

    async def _response(
        self, conn: httpio.HttpConnection, request: httpio.Request, invocation: Invocation
    ) -> None:
        mode = _header(request, rt.RESPONSE_MODE_HEADER)
        content_type = _header(request, "content-type") or "application/octet-stream"
        if mode is None:
            await self._buffered(conn, invocation, content_type)
        elif mode == "streaming":  # case-sensitive, as RAPID's switch (spec 4.4)
            chunked = "chunked" in (_header(request, "transfer-encoding") or "").lower()
            await self._streaming(conn, invocation, content_type, chunked)
        else:
            invocation.complete(rt.invalid_mode(invocation.request_id))
            raise rt.invalid_response_mode()

    async def _buffered(
        self, conn: httpio.HttpConnection, invocation: Invocation, content_type: str
    ) -> None:
        try:
            body = await conn.read_body(rt.MAX_BUFFERED_RESPONSE)
        except httpio.BodyTooLarge:
            invocation.complete(rt.too_large(rt.MAX_BUFFERED_RESPONSE))
            raise rt.payload_too_large(rt.MAX_BUFFERED_RESPONSE) from None
        invocation.start(content_type)
        if await invocation.write(body):
            invocation.complete(rt.SUCCESS)
        await self._accepted(conn)

    async def _streaming(
        self,
        conn: httpio.HttpConnection,
        invocation: Invocation,
        content_type: str,
        chunked: bool,
    ) -> None:
        """Forward the body as it comes, one event per HTTP chunk the runtime sent.

        The parser hands over a chunk in as many pieces as the socket reads took; pieces are
        joined up to the chunk's end (spec decision 9), but never beyond
        MAX_CHUNK_PAYLOAD, so a huge chunk streams on instead of filling memory.
        """
        invocation.start(content_type)
        forwarding = True
        pending = bytearray()
        while True:
            try:
                event = await conn.next_body_event()
            except httpio.ConnectionLost:
                if pending and forwarding:
                    await invocation.write(bytes(pending))
                await self._env.response_truncated(invocation)
                raise
            if isinstance(event, httpio.EndOfMessage):
                break
            pending += event.data
            if event.chunk_end or not chunked or len(pending) >= MAX_CHUNK_PAYLOAD:
                if forwarding:
                    forwarding = await invocation.write(bytes(pending))
                pending.clear()
        trailers = _trailers(event)
        error_type = trailers.get(rt.ERROR_TYPE_HEADER)
        if error_type is not None or rt.ERROR_BODY_HEADER in trailers:
            invocation.complete(
                rt.trailer_error(error_type or "", trailers.get(rt.ERROR_BODY_HEADER))
            )
        else:
            invocation.complete(rt.SUCCESS)
        await self._accepted(conn)
