"""The HTTP side of the Lambda Runtime API (spec section 4), on `http.client` alone.

`RuntimeApiClient` keeps one keep-alive connection for `next`, buffered `response`,
`error` and `init/error`. A streaming `response`, `StreamingPost`, borrows that connection
and hands it back once the server has answered (a fresh one per invocation cost a connect,
an accept and a close on the path of every call); only a stream with its own send buffer
size (`highWaterMark`) gets a connection of its own. Its head is sent only when the stream
commits (first write or end), and its body is framed by `_chunked`. Before every post and
every chunk the client flushes stdout and stderr: the server attributes output lines to
invocations by arrival time.

Errors: a status other than the expected one raises `RuntimeApiError`; transport failures
surface as `OSError` or `http.client.HTTPException`. What to do about them is the
bootstrap's call, not this module's.
"""

from __future__ import annotations

import http.client
import socket
from collections.abc import Callable, Sequence
from urllib.parse import quote

from sluice_runtime._chunked import ChunkedBodyWriter, check_field_value
from sluice_runtime._errors import RuntimeApiError
from sluice_runtime._logging import flush_stdio
from sluice_runtime._wire import (
    API_PREFIX,
    ERROR_BODY,
    ERROR_CONTENT_TYPE,
    ERROR_TYPE,
    RESPONSE_MODE,
    ErrorDocument,
    Invocation,
    InvocationHeaders,
)

Headers = Sequence[tuple[str, str]]
ConnectionFactory = Callable[[str], http.client.HTTPConnection]

# A keep-alive connection the server closed while the handler ran fails with one of these
# on its next use; the request never reached the server, so it is sent once more.
_STALE_CONNECTION = (
    http.client.RemoteDisconnected,
    BrokenPipeError,
    ConnectionResetError,
    ConnectionAbortedError,
)
_TRAILER_NAMES = f"{ERROR_TYPE}, {ERROR_BODY}"


def _set_nodelay(sock: socket.socket) -> None:
    """Disable Nagle: heads, chunks and small posts must leave at once, not after 40 ms."""
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class RuntimeApiConnection(http.client.HTTPConnection):
    """An `HTTPConnection` with `TCP_NODELAY` set as soon as it connects."""

    def connect(self) -> None:
        """Connect, then disable Nagle's algorithm."""
        super().connect()
        _set_nodelay(self.sock)


def _excerpt(body: bytes) -> str:
    """The start of an error answer, for a one-line report."""
    return body[:300].decode("utf-8", "replace")


def _is_success(status: int) -> bool:
    return 200 <= status < 300


def header_safe(value: str) -> str:
    """An error type usable as a header value: ASCII, escaped if the class name is not."""
    return check_field_value(value.encode("ascii", "backslashreplace").decode("ascii"))


def invocation_path(invocation: InvocationHeaders, action: str) -> str:
    """`/2018-06-01/runtime/invocation/{id}/{action}`, the id quoted as one path segment."""
    return f"{API_PREFIX}/runtime/invocation/{quote(invocation.request_id, safe='')}/{action}"


class RuntimeApiClient:
    """Requests to the Runtime API at `host:port` over one keep-alive connection."""

    def __init__(
        self,
        address: str,
        *,
        flush: Callable[[], None] = flush_stdio,
        connection_factory: ConnectionFactory = RuntimeApiConnection,
    ) -> None:
        self._address = address
        self._flush = flush
        self._new_connection = connection_factory
        self._conn: http.client.HTTPConnection | None = None

    def next_invocation(self) -> Invocation:
        """Long-poll `GET /next` for the next event.

        Raises:
            RuntimeApiError: an answer other than 200, or one without request id or deadline.
        """
        status, headers, body = self._exchange("GET", f"{API_PREFIX}/runtime/invocation/next")
        if status != 200:
            raise RuntimeApiError(f"GET /next answered {status}: {_excerpt(body)}")
        return Invocation(InvocationHeaders.from_http(headers), body)

    def post_response(self, invocation: InvocationHeaders, body: bytes, content_type: str) -> None:
        """Post a buffered result."""
        headers = [("Content-Type", content_type), *invocation.reply_headers()]
        self._post(invocation_path(invocation, "response"), body, headers)

    def post_error(self, invocation: InvocationHeaders, document: ErrorDocument) -> None:
        """Post an invocation error, before any response byte was sent."""
        headers = [*_error_headers(document), *invocation.reply_headers()]
        self._post(invocation_path(invocation, "error"), document.to_json(), headers)

    def post_init_error(self, document: ErrorDocument) -> None:
        """Report that the handler could not be loaded; the process exits after this."""
        path = f"{API_PREFIX}/runtime/init/error"
        self._post(path, document.to_json(), _error_headers(document))

    def open_stream(
        self, invocation: InvocationHeaders, *, high_water_mark: int | None = None
    ) -> StreamingPost:
        """Prepare a streaming `/response`; nothing is sent until it begins."""
        if high_water_mark or self._conn is None:
            connection, release = self._new_connection(self._address), None
        else:
            connection, release, self._conn = self._conn, self._give_back, None
        return StreamingPost(
            connection,
            invocation_path(invocation, "response"),
            invocation.reply_headers(),
            flush=self._flush,
            high_water_mark=high_water_mark,
            release=release,
        )

    def _give_back(self, connection: http.client.HTTPConnection) -> None:
        """A borrowed connection whose exchange ended cleanly is the keep-alive one again."""
        self.close()
        self._conn = connection

    def close(self) -> None:
        """Close the keep-alive connection, if open."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _post(self, path: str, body: bytes, headers: Headers) -> None:
        self._flush()
        status, _, answer = self._exchange("POST", path, body, headers)
        if not _is_success(status):
            raise RuntimeApiError(f"POST {path} answered {status}: {_excerpt(answer)}")

    def _exchange(
        self, method: str, path: str, body: bytes | None = None, headers: Headers = ()
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        """One request and its whole answer; retried once on a connection gone stale."""
        reused = self._conn is not None
        try:
            return self._round_trip(method, path, body, headers)
        except _STALE_CONNECTION:
            if not reused:
                raise
        return self._round_trip(method, path, body, headers)

    def _round_trip(
        self, method: str, path: str, body: bytes | None, headers: Headers
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        if self._conn is None:
            self._conn = self._new_connection(self._address)
        try:
            self._conn.request(method, path, body=body, headers=dict(headers))
            answer = self._conn.getresponse()
            data = answer.read()
        except BaseException:
            self.close()
            raise
        if answer.will_close:
            self.close()
        return answer.status, answer.headers, data


def _error_headers(document: ErrorDocument) -> list[tuple[str, str]]:
    return [
        ("Content-Type", ERROR_CONTENT_TYPE),
        (ERROR_TYPE, header_safe(document.error_type)),
    ]


class StreamingPost:
    """One streaming `POST /response` (spec section 4.4) on its own connection.

    Lifecycle: `begin` (connect, send the head) → `send`* → `finish` or `fail` (last chunk,
    with error trailers for `fail`) → `read_response` → `close`. `close` is always safe.
    """

    def __init__(
        self,
        connection: http.client.HTTPConnection,
        path: str,
        extra_headers: Headers = (),
        *,
        flush: Callable[[], None] = flush_stdio,
        high_water_mark: int | None = None,
        release: Callable[[http.client.HTTPConnection], None] | None = None,
    ) -> None:
        self._conn = connection
        self._path = path
        self._extra_headers = list(extra_headers)
        self._flush = flush
        self._high_water_mark = high_water_mark
        self._release = release
        self._handed_back = False
        self._writer: ChunkedBodyWriter | None = None

    def head(self, content_type: str) -> list[tuple[str, str]]:
        """The request headers besides `Host`: streaming mode, chunked, trailers announced."""
        return [
            (RESPONSE_MODE, "streaming"),
            ("Content-Type", content_type),
            ("Transfer-Encoding", "chunked"),
            ("Trailer", _TRAILER_NAMES),
            *self._extra_headers,
        ]

    def begin(self, content_type: str) -> None:
        """Connect if needed and send the request head; a borrowed keep-alive connection
        the server has closed meanwhile is replaced once (nothing of the body was sent)."""
        self._flush()
        try:
            self._send_head(content_type)
        except _STALE_CONNECTION:
            if self._release is None:
                raise
            self._conn.close()
            self._send_head(content_type)
        self._writer = ChunkedBodyWriter(self._conn.sock)

    def _send_head(self, content_type: str) -> None:
        conn = self._conn
        if conn.sock is None:
            conn.connect()
        if self._high_water_mark:
            conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self._high_water_mark)
        conn.putrequest("POST", self._path, skip_accept_encoding=True)
        for name, value in self.head(content_type):
            conn.putheader(name, value)
        conn.endheaders()

    def send(self, data: bytes) -> None:
        """Send one chunk now (empty data sends nothing)."""
        self._flush()
        self._body().write(data)

    def finish(self) -> None:
        """End the body cleanly."""
        self._flush()
        self._body().close()

    def fail(self, error_type: str, error_body: str) -> None:
        """End the body with the error trailers; `error_body` is already base64."""
        self._flush()
        self._body().close([(ERROR_TYPE, header_safe(error_type)), (ERROR_BODY, error_body)])

    def read_response(self) -> None:
        """Read the Runtime API's answer to the finished request, then close.

        Raises:
            RuntimeApiError: the answer is not a 2xx (e.g. 413 for an oversized stream).
        """
        try:
            answer = self._conn.getresponse()
            data = answer.read()
        except BaseException:
            self.close()
            raise
        if self._release is not None and not answer.will_close:
            self._release(self._conn)
            self._handed_back = True
        self.close()
        if not _is_success(answer.status):
            raise RuntimeApiError(f"POST {self._path} answered {answer.status}: {_excerpt(data)}")

    def close(self) -> None:
        """Drop the connection unless it was handed back (idempotent)."""
        if not self._handed_back:
            self._conn.close()

    def _body(self) -> ChunkedBodyWriter:
        if self._writer is None:
            raise RuntimeError("the streaming response has not begun")
        return self._writer
