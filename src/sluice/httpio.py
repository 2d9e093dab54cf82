"""HTTP/1.1 on asyncio protocols, parsed by httptools: the one socket layer both servers share.

httptools (llhttp, Node.js's parser, in C) parses requests, chunked bodies and, which the
Runtime API needs, request trailers. It replaced h11 because every function write is a body
chunk of the Runtime API, and parsing one cost h11 3.8 µs against httptools' 0.06 µs
(measured: docs/performance.md). Responses are simple enough to write in this module: a
status line, header fields checked for what would break the framing, and RFC 9112 chunked
framing. Bytes come from the socket through `_Channel`, a protocol that queues them as they
arrived (no stream buffer to copy through), and go out with vectored writes.

Every connection has `TCP_NODELAY`: a head and a body can leave in separate writes, and with
Nagle's algorithm and delayed ACKs each would cost ~40 ms (implementation-notes.md).

The parser's callbacks turn bytes into three events, `Request`, `Data` and `EndOfMessage`,
which the connection hands out one at a time; it reads the socket only when none is waiting,
so a handler that does not read holds the peer back (TCP backpressure).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TypeAlias, cast

import httptools

READ_SIZE = 256 * 1024
# Lambda allows 1 MB for the request line and headers together (spec section 6).
MAX_HEAD_BYTES = 1024 * 1024
# How long a connection that refused a body keeps reading (and dropping) it before closing.
LINGER_SECONDS = 2.0

# A str value must be ASCII; bytes go out as they are (a value passed through from a peer,
# e.g. obs-text a runtime sent, which the parser accepted as a field value).
Headers: TypeAlias = Sequence[tuple[str, str | bytes]]
Buffer: TypeAlias = bytes | memoryview
RawHeaders: TypeAlias = list[tuple[bytes, bytes]]

_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_LAST_CHUNK = b"0\r\n\r\n"
# RFC 9110 5.1 token; a field value may not carry CR, LF or NUL (RFC 9110 5.5).
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(rb"[\x00\r\n]")


@dataclass(slots=True)
class Request:
    """A request head. Header names are lowercased; values are as sent."""

    method: bytes
    target: bytes
    headers: RawHeaders
    http_version: str = "1.1"
    keep_alive: bool = True


@dataclass(slots=True)
class Data:
    """A piece of a request body; `chunk_end` marks the last piece of a chunk."""

    data: bytes
    chunk_end: bool = False


@dataclass(slots=True)
class EndOfMessage:
    """The end of a request body; `headers` are its trailers (chunked bodies only)."""

    headers: RawHeaders = field(default_factory=list)


BodyEvent: TypeAlias = Data | EndOfMessage


class ProtocolError(Exception):
    """The peer's bytes are not an HTTP/1.1 request this server accepts."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class ConnectionLost(Exception):
    """The peer went away, or broke the framing, before the message was complete."""

    def __init__(self, message: str, *, malformed: bool = False) -> None:
        super().__init__(message)
        self.malformed = malformed


class BodyTooLarge(Exception):
    """A request body grew (or was declared to grow) past the limit the route allows."""


def _reason(status: int) -> bytes:
    """The standard reason phrase: `curl -i` and a browser's network panel show it."""
    try:
        return HTTPStatus(status).phrase.encode()
    except ValueError:
        return b""


def _field(name: str, value: str | bytes) -> bytes:
    """One header line, refusing what would end the field early or break the head.

    Raises:
        ValueError: a name that is not a token, a str value that is not ASCII, or a value
            with CR, LF or NUL.
    """
    raw = value if isinstance(value, bytes) else value.encode("ascii")
    if not _TOKEN.fullmatch(name) or _BAD_VALUE.search(raw):
        raise ValueError(f"invalid header field {name!r}: {value!r}")
    return b"%s: %s\r\n" % (name.encode("ascii"), raw)


class _Parser:
    """httptools' callbacks, queued as events; also what the head cost so far."""

    def __init__(self) -> None:
        self.events: deque[Request | Data | EndOfMessage] = deque()
        self.parser = httptools.HttpRequestParser(self)
        self.in_head = False
        self.head_size = 0
        self._url: list[bytes] = []
        self._headers: RawHeaders = []
        self._trailers: RawHeaders | None = None
        self._chunk_open = False

    def on_message_begin(self) -> None:
        self.in_head, self.head_size = True, 0
        self._url, self._headers, self._trailers = [], [], None

    def on_url(self, url: bytes) -> None:
        self._url.append(url)
        self.head_size += len(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._trailers is not None:
            self._trailers.append((name.lower(), value))
            return
        self._headers.append((name.lower(), value))
        self.head_size += len(name) + len(value) + 4

    def on_headers_complete(self) -> None:
        parser = self.parser
        self.in_head, self._trailers = False, []
        self.events.append(
            Request(
                parser.get_method(),
                b"".join(self._url),
                self._headers,
                parser.get_http_version(),
                parser.should_keep_alive(),
            )
        )

    def on_body(self, body: bytes) -> None:
        self.events.append(Data(body))
        self._chunk_open = True

    def on_chunk_complete(self) -> None:
        if not self._chunk_open:
            return
        self._chunk_open = False
        last = self.events[-1] if self.events else None
        if isinstance(last, Data):
            last.chunk_end = True
        else:  # the chunk's bytes were handed out before its CRLF arrived
            self.events.append(Data(b"", chunk_end=True))

    def on_message_complete(self) -> None:
        self.events.append(EndOfMessage(self._trailers or []))


def _header(request: Request, name: bytes) -> bytes | None:
    for key, value in request.headers:
        if key == name:
            return value
    return None


def _content_length(request: Request) -> int:
    """Content-Length as declared, 0 if absent (llhttp has already refused a malformed one)."""
    value = _header(request, b"content-length")
    return int(value) if value and value.strip().isdigit() else 0


def _declares_body(request: Request) -> bool:
    return _header(request, b"transfer-encoding") is not None or _content_length(request) > 0


class _Channel(asyncio.Protocol):
    """One connection's socket as protocol callbacks. Received bytes are queued as they
    came (asyncio's stream reader copies them into a buffer and out again, which costs a
    stream twice its size in copying); reading pauses while more than READ_SIZE waits, so
    a handler that does not read holds the peer back (TCP backpressure)."""

    def __init__(self, on_open: Callable[[_Channel], None]) -> None:
        self._on_open = on_open
        self.transport: asyncio.Transport | None = None
        self._chunks: deque[bytes] = deque()
        self._queued = 0
        self._eof = False
        self._lost = False
        self._reading_paused = False
        self._writing_paused = False
        self._readable: asyncio.Future[None] | None = None
        self._writable: asyncio.Future[None] | None = None
        self._closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # Done once the peer sends no more: a half-close or a lost connection.
        self.gone: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    # asyncio's side ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._on_open(self)

    def data_received(self, data: bytes) -> None:
        self._chunks.append(data)
        self._queued += len(data)
        if self._queued > READ_SIZE and not self._reading_paused and self.transport:
            self._reading_paused = True
            self.transport.pause_reading()
        _wake(self._readable)

    def eof_received(self) -> bool:
        """A half-close: the peer sends no more, but still reads the answer."""
        self._eof = True
        _wake(self._readable)
        _wake(self.gone)
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = self._lost = True
        _wake(self._readable)
        _wake(self._writable)
        _wake(self.gone)
        _wake(self._closed)

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        _wake(self._writable)

    # The connection's side -----------------------------------------------------------

    async def read(self) -> bytes:
        """The next bytes received, as they came; b"" once the peer has closed."""
        while not self._chunks:
            if self._eof:
                return b""
            self._readable = asyncio.get_running_loop().create_future()
            await self._readable
        data = self._chunks.popleft()
        self._queued -= len(data)
        if self._reading_paused and self._queued <= READ_SIZE // 2 and self.transport:
            self._reading_paused = False
            self.transport.resume_reading()
        return data

    async def write(self, parts: Sequence[Buffer]) -> None:
        """Write pieces in order (one vectored write with uvloop); wait while the peer
        is behind.

        Raises:
            ConnectionResetError: the connection is gone.
        """
        if self._lost or self.transport is None or self.transport.is_closing():
            raise ConnectionResetError("connection lost")
        self.transport.writelines(parts)
        while self._writing_paused and not self._lost:
            self._writable = asyncio.get_running_loop().create_future()
            await self._writable
        if self._lost:
            raise ConnectionResetError("connection lost")

    def peer(self) -> str:
        peer = self.transport.get_extra_info("peername") if self.transport else None
        return str(peer[0]) if peer else ""

    async def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            await self._closed

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


def _wake(waiter: asyncio.Future[None] | None) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(None)


class HttpConnection:
    """One server-side connection: the parser, the asyncio streams, and the state of the
    current exchange (for keep-alive)."""

    def __init__(self, channel: _Channel) -> None:
        self._channel = channel
        self._parser = _Parser()
        self._request: Request | None = None
        self._request_done = True
        self._response_done = True
        self._expects_continue = False
        self._chunked_reply = True
        self._head_only = False
        self._head_fed = 0
        self._gave_up = False
        self._upgraded = False

    @property
    def peer_host(self) -> str:
        """The client's address, as a function URL event's `sourceIp` reports it."""
        return self._channel.peer()

    async def _next_event(self) -> Request | Data | EndOfMessage | None:
        """The next parsed event; None at a clean end of input.

        Raises:
            ProtocolError: the bytes are not HTTP/1.1, or the head is over MAX_HEAD_BYTES.
        """
        events = self._parser.events
        while not events:
            if self._upgraded:
                return None  # the parser stopped after an ignored upgrade's request
            data = await self._channel.read()
            if not data:
                if self._parser.in_head or not self._request_done:
                    raise ConnectionLost("connection closed mid-request")
                return None
            self._feed(data)
        return events.popleft()

    def _feed(self, data: bytes) -> None:
        """Parse `data`. The head limit is checked twice: on what a complete head held, and
        on the bytes fed while a head is still incomplete (the parser buffers a header until
        its end, so a header that never ends must not grow memory)."""
        parser = self._parser
        try:
            parser.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._ignore_upgrade()
        except httptools.HttpParserError as exc:
            raise ProtocolError(str(exc)) from None
        self._head_fed = self._head_fed + len(data) if parser.in_head else 0
        if parser.head_size > MAX_HEAD_BYTES or self._head_fed > MAX_HEAD_BYTES:
            raise ProtocolError("request head too large", 431)

    def _ignore_upgrade(self) -> None:
        """Serve a request that asks for a protocol upgrade as a plain one, as RFC 9110 7.8
        allows and the Go servers behind the Lambda APIs do. llhttp stops parsing at the end
        of such a head and hands on the rest as the new protocol's bytes, so only a request
        without a body can be served, and nothing after it on this connection is read: its
        answer says `Connection: close`.

        Raises:
            ProtocolError: the request declares a body, which llhttp did not frame.
        """
        parsed = [event for event in self._parser.events if isinstance(event, Request)]
        # llhttp treats CONNECT as an upgrade too; a tunnel is not a request to serve.
        if not parsed or parsed[-1].method == b"CONNECT" or _declares_body(parsed[-1]):
            raise ProtocolError("protocol upgrades are not served")
        parsed[-1].keep_alive = False
        self._upgraded = True

    async def next_request(self) -> Request | None:
        """Wait for the next request head; None when the peer closed between requests.

        Raises:
            ProtocolError: the bytes are not an HTTP/1.1 request this server accepts.
        """
        event = await self._next_event()
        if event is None:
            return None
        if not isinstance(event, Request):
            raise ProtocolError("a request body without a request")
        _check_request(event)
        self._request = event
        self._request_done = False
        self._response_done = False
        self._expects_continue = event.http_version == "1.1" and (
            (_header(event, b"expect") or b"").lower() == b"100-continue"
        )
        self._chunked_reply = event.http_version != "1.0"
        self._head_only = event.method == b"HEAD"
        return event

    async def next_body_event(self) -> BodyEvent:
        """The next piece of the request body, or its end (with trailers).

        Raises:
            ConnectionLost: the peer closed or broke the framing mid-body.
        """
        if self._request_done or self._gave_up:
            return EndOfMessage()
        if self._expects_continue:
            self._expects_continue = False
            await self._write(_CONTINUE)
        try:
            event = await self._next_event()
        except ProtocolError as exc:
            raise ConnectionLost(str(exc), malformed=True) from exc
        except ConnectionError as exc:
            raise ConnectionLost(str(exc)) from exc
        if isinstance(event, EndOfMessage):
            self._request_done = True
            return event
        if isinstance(event, Data):
            return event
        raise ConnectionLost("connection closed before the end of the body")

    async def read_body(self, limit: int) -> bytes:
        """The whole request body, refusing to hold more than `limit` bytes.

        Raises:
            BodyTooLarge: the body (declared or actual) exceeds `limit`.
            ConnectionLost: the peer went away mid-body.
        """
        if self._declared_length() > limit:
            self._give_up_body()
            raise BodyTooLarge(self._declared_length())
        parts: list[bytes] = []
        size = 0
        while True:
            event = await self.next_body_event()
            if isinstance(event, EndOfMessage):
                return b"".join(parts)
            size += len(event.data)
            if size > limit:
                self._give_up_body()
                raise BodyTooLarge(size)
            parts.append(event.data)

    def _give_up_body(self) -> None:
        """Parse no more of a body refused for its size: the answer goes out at once, says
        `Connection: close`, and the connection ends after `linger`."""
        self._gave_up = True
        if self._request is not None:
            self._request.keep_alive = False

    async def linger(self) -> None:
        """After answering a refused body, drop what the peer still sends for a moment
        before closing: closing on unread bytes resets the connection, and a client still
        sending would lose the answer (RFC 9112 9.6). The same after an ignored upgrade,
        whose later bytes are never parsed."""
        if not (self._gave_up or self._upgraded):
            return
        with contextlib.suppress(TimeoutError, ConnectionError):
            async with asyncio.timeout(LINGER_SECONDS):
                while await self._channel.read():
                    pass

    def _declared_length(self) -> int:
        return 0 if self._request is None else _content_length(self._request)

    async def discard_body(self) -> None:
        """Drain what is left of a request body so the connection can be reused (a body
        refused for its size is not drained: see `_give_up_body`)."""
        self._expects_continue = False  # a peer that waits for 100 gets no body read
        with contextlib.suppress(ConnectionLost):
            while not (self._request_done or self._gave_up):
                await self.next_body_event()

    # Responses -------------------------------------------------------------------------

    def _head(self, status: int, headers: Headers, framing: tuple[str, str] | None) -> bytes:
        lines = [b"HTTP/1.1 %d %s\r\n" % (status, _reason(status))]
        lines += [_field(name, value) for name, value in headers]
        if framing is not None:
            lines.append(_field(*framing))
        if not self._keep_alive():
            lines.append(b"Connection: close\r\n")
        lines.append(b"\r\n")
        return b"".join(lines)

    def _keep_alive(self) -> bool:
        return self._request is None or self._request.keep_alive

    async def respond(self, status: int, headers: Headers, body: bytes = b"") -> None:
        """Send a complete response with a Content-Length."""
        await self._write(self.response(status, headers, body))

    def response(self, status: int, headers: Headers, body: bytes = b"") -> bytes:
        """A complete response with a Content-Length, as bytes for `send`. A HEAD request's
        answer has the same head and no body (RFC 9110 9.3.2)."""
        head = self._head(status, headers, ("Content-Length", str(len(body))))
        self._response_done = True
        return head if self._head_only else head + body

    async def start_stream(self, status: int, headers: Headers) -> None:
        """Send a response head whose body follows in chunks."""
        await self.send(self.stream_head(status, headers))

    async def send_chunk(self, data: bytes) -> None:
        """Send one body chunk at once; flow control waits for the peer to read."""
        await self.send(self.chunk(data))

    async def end_stream(self) -> None:
        await self.send(self.stream_end())

    # The three pieces of a streamed response as bytes, for a caller that joins several
    # into one `send` (one system call and one wake-up of the client instead of several).
    # An HTTP/1.0 client gets the body unframed, ended by closing the connection.

    def stream_head(self, status: int, headers: Headers) -> bytes:
        if self._chunked_reply:
            return self._head(status, headers, ("Transfer-Encoding", "chunked"))
        if self._request is not None:
            self._request.keep_alive = False
        return self._head(status, headers, None)

    def chunk(self, data: bytes) -> bytes:
        if not data or self._head_only:
            return b""
        if not self._chunked_reply:
            return data
        return b"%x\r\n%b\r\n" % (len(data), data)

    def stream_end(self) -> bytes:
        self._response_done = True
        return _LAST_CHUNK if self._chunked_reply and not self._head_only else b""

    async def send(self, data: bytes) -> None:
        """Write bytes made by the methods above; flow control waits for the peer to read."""
        await self._write(data)

    def chunk_parts(self, parts: Sequence[Buffer]) -> list[Buffer]:
        """`parts` as one body chunk, still in pieces, for `send_parts`: nothing is copied."""
        size = sum(len(part) for part in parts)
        if not size or self._head_only:
            return []
        if not self._chunked_reply:
            return list(parts)
        return [b"%x\r\n" % size, *parts, b"\r\n"]

    async def send_parts(self, parts: Sequence[Buffer]) -> None:
        """Write pieces in order, in one vectored write where the loop can (uvloop does):
        a batch of large chunks reaches the socket without being joined first."""
        if parts:
            await self._channel.write(parts)

    @property
    def peer_gone(self) -> asyncio.Future[None]:
        """Done once the peer has closed (or half-closed) the connection: for a request that
        waits long before it is answered (the Runtime API's `next`), so that what waited is
        not given to a client that left. Nothing is read to find out, so a pipelined
        request stays queued for the parser."""
        return self._channel.gone

    async def wait_peer_closed(self) -> None:
        """Return once the peer has closed the connection.

        For long-lived responses that read nothing more from the client (a log follow):
        without this, a client that left is noticed only at the next write. Whatever the
        peer sends meanwhile is dropped, so send such responses with `Connection: close`.
        """
        with contextlib.suppress(ConnectionError):
            while await self._channel.read():
                pass

    @property
    def answered(self) -> bool:
        """The response to the current request is complete."""
        return self._response_done

    @property
    def reusable(self) -> bool:
        return self._request_done and self._response_done and self._keep_alive()

    async def _write(self, data: bytes) -> None:
        if data:
            await self._channel.write((data,))

    async def close(self) -> None:
        await self._channel.close()

    def abort(self) -> None:
        """Drop the connection at once, without a clean end."""
        self._channel.abort()


def _check_request(request: Request) -> None:
    """What llhttp lets through but HTTP/1.1 (RFC 9112 3.2) and this server refuse.

    Raises:
        ProtocolError: no Host in an HTTP/1.1 request, or a target that is not ASCII.
    """
    if request.http_version == "1.1" and _header(request, b"host") is None:
        raise ProtocolError("HTTP/1.1 request without Host")
    if not request.target.isascii():
        raise ProtocolError("request target is not ASCII")


Handler: TypeAlias = Callable[[HttpConnection, Request], Awaitable[None]]
_BAD_REQUEST = [("Content-Type", "text/plain")], b"Bad request\n"


async def _serve_connection(handler: Handler, channel: _Channel) -> None:
    conn = HttpConnection(channel)
    try:
        while (request := await conn.next_request()) is not None:
            try:
                await handler(conn, request)
            except ConnectionLost as exc:
                if not exc.malformed or conn.answered:
                    raise
                # The body broke its framing before any answer: say so, like a bad head.
                await conn.respond(400, *_BAD_REQUEST)
                break
            # A handler may answer without reading the request's end (every GET does):
            # keep-alive only works once it is consumed.
            await conn.discard_body()
            if not conn.reusable:
                await conn.linger()
                break
    except ProtocolError as exc:
        with contextlib.suppress(Exception):
            await conn.respond(exc.status, *_BAD_REQUEST)
    except (ConnectionError, ConnectionLost):
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
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Channel(self._on_open), host, port)
        return int(self._server.sockets[0].getsockname()[1])

    def _on_open(self, channel: _Channel) -> None:
        task = asyncio.create_task(self._serve(channel))
        self._connections.add(task)
        task.add_done_callback(self._connections.discard)

    async def _serve(self, channel: _Channel) -> None:
        # At shutdown the connection's task is cancelled: that is its normal end.
        with contextlib.suppress(asyncio.CancelledError):
            await _serve_connection(self._handler, channel)

    async def drain(self, timeout: float) -> None:
        """Wait, at most `timeout` seconds, for every open connection to end of itself.

        A peer that exits leaves what it wrote in our socket buffers; its connections end
        only once that is read and handled, so this is how to hear all it said.
        """
        tasks = list(self._connections)
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)

    async def close(self) -> None:
        """Stop listening and end every open connection, idle keep-alives included."""
        if self._server is not None:
            self._server.close()
        tasks = list(self._connections)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
