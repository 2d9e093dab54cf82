"""The response stream a streaming handler writes to, and the HTTP-integration prelude.

`ResponseStream` mirrors the Node runtime's `responseStream` (spec section 4.5): nothing
reaches the wire until the first `write()` or `end()`, so `set_content_type` works until
then; each non-empty `write()` is one HTTP chunk sent at once; after the first write the
content type is fixed. Its lifecycle::

    PENDING ──write/end──▶ STREAMING ──end──▶ ENDED
       │                      └──error trailers──▶ FAILED
       └──(runtime posts /error instead; the stream never opens)
    any state but ENDED/FAILED ──transport error──▶ BROKEN

`HttpResponseStream.from_` arranges the function-URL prelude (the metadata JSON, then eight
NUL bytes, as two chunks before the first user write, or at `end()` if nothing was
written). Generators yield `HttpResponseStream.prelude(metadata)` first for the same effect.

The stream talks to a sink (`_client.StreamingPost` in production) and knows nothing of
HTTP beyond the order of its calls.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from types import TracebackType
from typing import Any, Protocol, Union

from sluice_runtime._chunked import check_field_value
from sluice_runtime._errors import InvalidStreamingOperation
from sluice_runtime._wire import SLOTS

DEFAULT_CONTENT_TYPE = "application/octet-stream"
HTTP_INTEGRATION_CONTENT_TYPE = "application/vnd.awslambda.http-integration-response"
PRELUDE_DELIMITER = b"\x00" * 8
TOO_LATE_FOR_CONTENT_TYPE = "Cannot set content-type, too late."
WRITE_AFTER_END = "Cannot write after end."

Chunk = Union[bytes, bytearray, memoryview, str]  # noqa: UP007  (a runtime alias; 3.9 has no `|`)


class StreamSink(Protocol):
    """Where a `ResponseStream` sends its bytes (see `_client.StreamingPost`)."""

    def begin(self, content_type: str) -> None: ...
    def send(self, data: bytes) -> None: ...
    def finish(self) -> None: ...
    def fail(self, error_type: str, error_body: str) -> None: ...


class StreamState(Enum):
    """Where a response stream is in its life (see the module docstring)."""

    PENDING = "pending"
    STREAMING = "streaming"
    ENDED = "ended"
    FAILED = "failed"
    BROKEN = "broken"


def to_bytes(data: object) -> bytes:
    """What one write sends: str as UTF-8, bytes-like objects as their bytes.

    Raises:
        TypeError: anything else (no implicit JSON, unlike Node).
    """
    if isinstance(data, bytes):
        return data
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    raise TypeError(
        f"response stream data must be bytes, bytearray, memoryview or str, "
        f"not {type(data).__name__}"
    )


class ResponseStream:
    """The writable response of a streaming handler (Node's `responseStream`).

    Thread-safe: each call completes before the next starts. Writes block until the bytes
    are handed to the socket. Use as a context manager to `end()` on a clean exit; the
    runtime also ends a stream the handler left open.
    """

    def __init__(self, sink: StreamSink, content_type: str = DEFAULT_CONTENT_TYPE) -> None:
        self._sink = sink
        self._content_type = check_field_value(content_type)
        self._state = StreamState.PENDING
        self._prelude: tuple[bytes, ...] = ()
        self._lock = threading.RLock()

    @property
    def content_type(self) -> str:
        """The content type sent (or to be sent) with the response."""
        return self._content_type

    @property
    def started(self) -> bool:
        """Whether the response has gone out (after that, errors go in trailers)."""
        return self._state is not StreamState.PENDING

    @property
    def ended(self) -> bool:
        """Whether the body is complete (ended, failed with trailers or broken)."""
        return self._state in (StreamState.ENDED, StreamState.FAILED, StreamState.BROKEN)

    def set_content_type(self, content_type: str) -> None:
        """Set the response's content type; only before the first write.

        Raises:
            InvalidStreamingOperation: something was written or the stream ended already.
            ValueError: the value holds CR, LF or NUL.
        """
        with self._lock:
            if self._state is not StreamState.PENDING:
                raise InvalidStreamingOperation(TOO_LATE_FOR_CONTENT_TYPE)
            self._content_type = check_field_value(content_type)

    def write(self, data: Chunk) -> None:
        """Send `data` to the caller now, as one chunk; an empty write sends only the head.

        Raises:
            TypeError: `data` is not bytes, bytearray, memoryview or str.
            InvalidStreamingOperation: the stream has ended.
            OSError: the Runtime API connection broke (the stream is then unusable).
        """
        chunk = to_bytes(data)
        with self._lock:
            self._require_open()
            self._commit()
            self._send(chunk)

    def flush(self) -> None:
        """Nothing to do: writes are never buffered. Present for file-like use."""

    def end(self, data: Chunk | None = None) -> None:
        """Write `data` if given, then finish the response. Ending twice is harmless.

        Raises:
            InvalidStreamingOperation: `data` given after the stream ended.
            OSError: the Runtime API connection broke.
        """
        chunk = b"" if data is None else to_bytes(data)
        with self._lock:
            if self.ended and not chunk:
                return
            self._require_open()
            self._commit()
            self._send(chunk)
            self._guarded(self._sink.finish)
            self._state = StreamState.ENDED

    def __enter__(self) -> ResponseStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """End on a clean exit; on an exception leave it to the runtime (error trailers)."""
        if exc_type is None:
            self.end()

    def __repr__(self) -> str:
        return f"<ResponseStream {self._state.value} content_type={self._content_type!r}>"

    def _require_open(self) -> None:
        if self.ended:
            raise InvalidStreamingOperation(WRITE_AFTER_END)

    def _commit(self) -> None:
        """Send the head and any prelude, once, right before the first body byte."""
        if self._state is StreamState.PENDING:
            self._guarded(self._sink.begin, self._content_type)
            self._state = StreamState.STREAMING
            for piece in self._prelude:
                self._send(piece)
            self._prelude = ()

    def _send(self, chunk: bytes) -> None:
        if chunk:
            self._guarded(self._sink.send, chunk)

    def _guarded(self, action: Any, *args: Any) -> None:
        """Run a sink call; a transport failure leaves the stream BROKEN."""
        try:
            action(*args)
        except OSError:
            self._state = StreamState.BROKEN
            raise


def stream_state(stream: ResponseStream) -> StreamState:
    """The stream's lifecycle state, for the runtime."""
    return stream._state


def fail_stream(stream: ResponseStream, error_type: str, error_body: str) -> bool:
    """End a started stream with the error trailers. False if it was not streaming."""
    with stream._lock:
        if stream._state is not StreamState.STREAMING:
            return False
        stream._guarded(stream._sink.fail, error_type, error_body)
        stream._state = StreamState.FAILED
        return True


@dataclass(frozen=True, **SLOTS)
class HttpPrelude:
    """The function-URL response metadata, serialised; yield it first from a generator."""

    payload: bytes

    def chunks(self) -> tuple[bytes, bytes]:
        """The two chunks that precede the body: the JSON, then eight NUL bytes."""
        return (self.payload, PRELUDE_DELIMITER)


def _install_prelude(stream: ResponseStream, prelude: HttpPrelude) -> None:
    with stream._lock:
        stream.set_content_type(HTTP_INTEGRATION_CONTENT_TYPE)
        stream._prelude = prelude.chunks()


class HttpResponseStream:
    """Function-URL responses with status, headers and cookies (Node's `HttpResponseStream`).

    The metadata is a mapping such as
    `{"statusCode": 201, "headers": {"X-Id": "1"}, "cookies": ["a=b"]}`.
    """

    @staticmethod
    def prelude(metadata: Mapping[str, Any]) -> HttpPrelude:
        """Serialise the metadata as compact JSON (as Node's `JSON.stringify`).

        Raises:
            TypeError: `metadata` is not a mapping or not JSON serialisable.
        """
        if not isinstance(metadata, Mapping):
            raise TypeError(f"metadata must be a mapping, not {type(metadata).__name__}")
        text = json.dumps(dict(metadata), separators=(",", ":"), ensure_ascii=False)
        return HttpPrelude(text.encode("utf-8"))

    @staticmethod
    def from_(response_stream: ResponseStream, metadata: Mapping[str, Any]) -> ResponseStream:
        """Make `response_stream` an HTTP-integration response and return it.

        Sets the content type to `application/vnd.awslambda.http-integration-response` and
        sends the prelude before the first write, or at `end()` if nothing is written.

        Raises:
            InvalidStreamingOperation: something was already written.
            TypeError: `metadata` is not a JSON-serialisable mapping.
        """
        _install_prelude(response_stream, HttpResponseStream.prelude(metadata))
        return response_stream


def write_item(stream: ResponseStream, item: object) -> None:
    """Send one item a generator handler yielded: a chunk, or the prelude first of all."""
    if isinstance(item, HttpPrelude):
        _install_prelude(stream, item)
    else:
        stream.write(item)  # type: ignore[arg-type]  # to_bytes rejects the wrong types
