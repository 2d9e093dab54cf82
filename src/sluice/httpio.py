"""HTTP/1.1 over asyncio streams, parsed by h11: the one socket layer both servers share.

h11 does the parsing (requests, chunked bodies and, which the Runtime API needs, request
trailers in `EndOfMessage.headers`); this module only moves its bytes. It sets
`TCP_NODELAY` on every connection: h11 emits a head and a body separately, and with
Nagle's algorithm and delayed ACKs each would cost ~40 ms (implementation-notes.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from http import HTTPStatus
from typing import TypeAlias

import h11

READ_SIZE = 256 * 1024
# Lambda allows 1 MB for the request line and headers together (spec section 6).
MAX_HEAD_BYTES = 1024 * 1024

# A str value must be ASCII (h11 encodes it so); bytes go out as they are, e.g. a value
# passed through from a peer, which h11 validated as a field value when it was received.
Headers: TypeAlias = Sequence[tuple[str, str | bytes]]
BodyEvent: TypeAlias = h11.Data | h11.EndOfMessage


def _head(status: int, headers: Headers) -> h11.Response:
    """A response head with the standard reason phrase (h11 sends none, and `curl -i` or a
    browser's network panel shows the status line)."""
    try:
        reason = HTTPStatus(status).phrase.encode()
    except ValueError:
        reason = b""
    return h11.Response(status_code=status, headers=headers, reason=reason)


class ConnectionLost(Exception):
    """The peer went away before the message was complete."""


class BodyTooLarge(Exception):
    """A request body grew past the limit the route allows."""


class HttpConnection:
    """One server-side connection: an h11 state machine and its asyncio streams."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)
        self._head_only = False
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    @property
    def peer_host(self) -> str:
        """The client's address, as a function URL event's `sourceIp` reports it."""
        peer = self._writer.get_extra_info("peername")
        return str(peer[0]) if peer else ""

    async def _next_event(self) -> object:
        while True:
            event = self._h11.next_event()
            if event is not h11.NEED_DATA:
                return event
            if self._h11.they_are_waiting_for_100_continue:
                await self._write(self._h11.send(h11.InformationalResponse(status_code=100)))
            data = await self._reader.read(READ_SIZE)
            self._h11.receive_data(data)

    async def next_request(self) -> h11.Request | None:
        """Wait for the next request head; None when the peer closed between requests.

        Raises:
            h11.RemoteProtocolError: the bytes are not HTTP/1.1.
        """
        if self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE:
            self._h11.start_next_cycle()
        if self._head_only:
            self._answer_head_only(False)
        event = await self._next_event()
        if isinstance(event, h11.Request):
            if event.method == b"HEAD":
                self._answer_head_only(True)
            return event
        return None

    def _answer_head_only(self, head_only: bool) -> None:
        """A HEAD response carries headers only (RFC 9110, 9.3.2), and h11 refuses body bytes
        on one: every body writer drops them. `chunk` is swapped once per request instead of
        testing the method in it, so the per-chunk path stays one h11 call."""
        self._head_only = head_only
        if head_only:
            self.chunk = _no_chunk  # type: ignore[method-assign]
        else:
            self.__dict__.pop("chunk", None)

    async def next_body_event(self) -> BodyEvent:
        """The next piece of the request body, or its end (with trailers).

        Raises:
            ConnectionLost: the peer closed or broke the framing mid-body.
        """
        try:
            event = await self._next_event()
        except (h11.RemoteProtocolError, ConnectionError) as exc:
            raise ConnectionLost(str(exc)) from exc
        if isinstance(event, h11.Data | h11.EndOfMessage):
            return event
        raise ConnectionLost("connection closed before the end of the body")

    async def read_body(self, limit: int) -> bytes:
        """The whole request body, refusing to hold more than `limit` bytes.

        Raises:
            BodyTooLarge: the body (declared or actual) exceeds `limit`.
            ConnectionLost: the peer went away mid-body.
        """
        parts: list[bytes] = []
        size = 0
        while True:
            event = await self.next_body_event()
            if isinstance(event, h11.EndOfMessage):
                return b"".join(parts)
            size += len(event.data)
            if size > limit:
                raise BodyTooLarge(size)
            parts.append(bytes(event.data))

    async def discard_body(self) -> None:
        """Drain what is left of a request body so the connection can be reused."""
        if self._h11.their_state is not h11.SEND_BODY:
            return
        with contextlib.suppress(ConnectionLost):
            while not isinstance(await self.next_body_event(), h11.EndOfMessage):
                pass

    async def respond(self, status: int, headers: Headers, body: bytes = b"") -> None:
        """Send a complete response with a Content-Length."""
        await self._write(self.response(status, headers, body))

    def response(self, status: int, headers: Headers, body: bytes = b"") -> bytes:
        """A complete response with a Content-Length, as bytes for `send`. To a HEAD request,
        the head alone, its Content-Length still the body's (what a GET would get)."""
        full = [*headers, ("Content-Length", str(len(body)))]
        parts = [self._h11.send(_head(status, full))]
        if body and not self._head_only:
            parts.append(self._h11.send(h11.Data(data=body)))
        parts.append(self._h11.send(h11.EndOfMessage()))
        return b"".join(part or b"" for part in parts)

    async def start_stream(self, status: int, headers: Headers) -> None:
        """Send a response head whose body follows in chunks."""
        await self.send(self.stream_head(status, headers))

    async def send_chunk(self, data: bytes) -> None:
        """Send one body chunk at once; flow control waits for the peer to read."""
        await self.send(self.chunk(data))

    async def end_stream(self) -> None:
        await self.send(self.stream_end())

    # The three pieces of a chunked response as bytes, for a caller that joins several
    # into one `send` (one system call and one wake-up of the client instead of several).

    def stream_head(self, status: int, headers: Headers) -> bytes:
        full = [*headers, ("Transfer-Encoding", "chunked")]
        return self._h11.send(_head(status, full)) or b""

    def chunk(self, data: bytes) -> bytes:
        return (self._h11.send(h11.Data(data=data)) or b"") if data else b""

    def stream_end(self) -> bytes:
        return self._h11.send(h11.EndOfMessage()) or b""

    async def send(self, data: bytes) -> None:
        """Write bytes made by the methods above; flow control waits for the peer to read."""
        await self._write(data)

    @contextlib.asynccontextmanager
    async def watch_peer(self) -> AsyncIterator[asyncio.Future[None]]:
        """A future that completes if the peer closes (or resets) the connection while
        the block runs: for a request that waits long before it is answered (the Runtime
        API's `next`), so that what waited is not given to a client that left.

        Unlike `wait_peer_closed`, what the peer sends meanwhile is kept for h11 (a
        pipelined request). On leaving, the watcher has let go of the socket, so the
        connection can read its next request.
        """
        watcher = asyncio.ensure_future(self._wait_peer_gone())
        try:
            yield watcher
        finally:
            watcher.cancel()
            try:
                await watcher
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise

    async def _wait_peer_gone(self) -> None:
        """Return once the peer has closed; past MAX_HEAD_BYTES of pipelined data the peer
        is plainly there, and reading stops until the watcher is cancelled."""
        kept = 0
        try:
            while data := await self._reader.read(READ_SIZE):
                self._h11.receive_data(data)
                kept += len(data)
                if kept > MAX_HEAD_BYTES:
                    await asyncio.Future()
        except ConnectionError:
            pass

    async def wait_peer_closed(self) -> None:
        """Return once the peer has closed the connection.

        For long-lived responses that read nothing more from the client (a log follow):
        without this, a client that left is noticed only at the next write. Whatever the
        peer sends meanwhile is dropped, so send such responses with `Connection: close`.
        """
        with contextlib.suppress(ConnectionError):
            while await self._reader.read(READ_SIZE):
                pass

    @property
    def reusable(self) -> bool:
        return self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE

    async def _write(self, data: bytes | None) -> None:
        if data:
            self._writer.write(data)
            await self._writer.drain()

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(Exception):
            await self._writer.wait_closed()

    def abort(self) -> None:
        """Drop the connection at once, without a clean end."""
        transport = self._writer.transport
        transport.abort()


def _no_chunk(data: bytes) -> bytes:
    """`HttpConnection.chunk` while answering a HEAD request."""
    return b""


Handler: TypeAlias = Callable[[HttpConnection, h11.Request], Awaitable[None]]


async def _serve_connection(
    handler: Handler, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    conn = HttpConnection(reader, writer)
    try:
        while (request := await conn.next_request()) is not None:
            await handler(conn, request)
            # A handler may answer without reading the request's end (every GET does):
            # h11 only reaches DONE, and keep-alive only works, once it is consumed.
            await conn.discard_body()
            if not conn.reusable:
                break
    except h11.RemoteProtocolError as exc:
        with contextlib.suppress(Exception):
            status = exc.error_status_hint
            await conn.respond(status, [("Content-Type", "text/plain")], b"Bad request\n")
    except (ConnectionError, ConnectionLost, asyncio.IncompleteReadError):
        pass
    finally:
        await conn.close()


class HttpServer:
    """A listener plus the connections it accepted, so closing it closes them all."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def start(self, host: str, port: int) -> int:
        """Listen on host:port (port 0 picks a free one); returns the bound port."""
        self._server = await asyncio.start_server(self._on_connect, host, port, limit=READ_SIZE)
        return int(self._server.sockets[0].getsockname()[1])

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        # The outermost frame of the connection's task: at shutdown the task is cancelled,
        # and Python 3.11's stream callback would log a cancelled task as an error.
        try:
            with contextlib.suppress(asyncio.CancelledError):
                await _serve_connection(self._handler, reader, writer)
        finally:
            self._connections.discard(task)

    async def close(self) -> None:
        """Stop listening and end every open connection, idle keep-alives included."""
        if self._server is not None:
            self._server.close()
        tasks = list(self._connections)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
