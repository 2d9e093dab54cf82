"""A RESPONSE_STREAM function URL: the function's byte stream → an HTTP head and body pieces.

Theory of operation. `ResponseStreamParser` is fed the stream's bytes exactly as the runtime
delivered them (h11 style: `feed(bytes)` returns events, `close()` says the stream ended) and
yields one `StreamHead`, then `BodyChunk`s. It holds bytes back only while it is still reading
the prelude; after that every feed becomes one chunk, at once, never merged with another
(spec decision 9 applies to URLs as to PayloadChunks).

Which streams carry a prelude: those whose content type is
`application/vnd.awslambda.http-integration-response`, the type `awslambda.HttpResponseStream
.from` sets (spec section 4.5, S5/S6). Such a stream starts with the JSON of the metadata,
then eight NUL bytes, then the body; Lambda strips both and sends `statusCode` (default 200),
`headers` and `cookies` (each a `Set-Cookie` line) to the client (spec section 5, S20/S30).
Unknown keys are ignored: LocalStack's AWS-validated `test_function_url_with_response_streaming`
sends `{"status": 200, ...}` and gets 200. The delimiter is found wherever the chunks split it:
a JSON text cannot hold a raw NUL byte (RFC 8259 section 7: control characters must be
escaped), so the first eight NULs in a row end the prelude. Any other content type gets 200
with that content type and every byte is body (spec section 5).

What sluice decides where AWS says nothing (spec Part 1 has no row for these; all inferred):

* a malformed prelude (not UTF-8 JSON, not an object, bad statusCode, a header that cannot be
  sent) raises MalformedResponse: nothing has reached the client yet, so the server answers
  502 `Internal Server Error`, as for a function error, and logs the message;
* a stream that ends before the delimiter raises MalformedResponse too. That includes a stream
  that wrote nothing after `HttpResponseStream.from`, which on AWS leaves the client waiting
  until the function times out (aws-lambda-nodejs-runtime-interface-client issue #95); a
  502 now is more useful than a hang;
* a prelude longer than `max_prelude` (1 MiB by default, the same cap as a request's head,
  spec section 6) raises MalformedResponse as soon as the length is certain, so a function that
  never writes the delimiter cannot make the server buffer without end;
* a prelude with no `content-type` header gets none: no source says what AWS adds.

After MalformedResponse the parser stays failed: the stream cannot be resynchronised.
"""

from __future__ import annotations

import enum
import json
from typing import NoReturn

from sluice.protocol.function_url._shapes import (
    BodyChunk,
    MalformedResponse,
    StreamHead,
    media_type,
    response_headers,
    status_code,
)

HTTP_INTEGRATION_CONTENT_TYPE = "application/vnd.awslambda.http-integration-response"
PRELUDE_DELIMITER = b"\x00" * 8
MAX_PRELUDE_BYTES = 1024 * 1024
# What a stream says when the function never set a content type (Node RIC default, S5/S6).
DEFAULT_STREAM_CONTENT_TYPE = "application/octet-stream"

StreamEvent = StreamHead | BodyChunk


class _State(enum.Enum):
    HEAD_PENDING = "head_pending"  # no prelude: the head is known, not yet handed out
    PRELUDE = "prelude"  # reading the prelude
    BODY = "body"
    FAILED = "failed"
    CLOSED = "closed"


class ResponseStreamParser:
    """Splits a streamed function response into its HTTP head and body pieces.

    Args:
        content_type: the stream's content type as the runtime reported it (None if unset).
        max_prelude: the most prelude JSON bytes accepted before MalformedResponse.
    """

    def __init__(self, content_type: str | None, *, max_prelude: int = MAX_PRELUDE_BYTES) -> None:
        self._content_type = content_type or DEFAULT_STREAM_CONTENT_TYPE
        self._max_prelude = max_prelude
        self._buffer = bytearray()
        self._searched = 0  # the delimiter does not start before this offset of _buffer
        self._error: str | None = None
        self._has_prelude = media_type(content_type) == HTTP_INTEGRATION_CONTENT_TYPE
        self._state = _State.PRELUDE if self._has_prelude else _State.HEAD_PENDING

    @property
    def has_prelude(self) -> bool:
        """Whether the stream's content type announces an HTTP-integration prelude."""
        return self._has_prelude

    @property
    def head_done(self) -> bool:
        """Whether the StreamHead has been handed out (so the status can no longer change)."""
        return self._state is _State.BODY or (self._state is _State.CLOSED and not self._error)

    def feed(self, data: bytes) -> list[StreamEvent]:
        """Take the next bytes of the stream; return the events they complete.

        Without a prelude the first call returns the head (even for `b""`, so a server may call
        `feed(b"")` to learn the head early) and then a chunk; later calls return one chunk per
        non-empty feed. With a prelude, calls return nothing until the delimiter has arrived,
        then the head and the bytes that followed the delimiter in that same feed.

        Raises:
            MalformedResponse: the prelude is malformed or too long, or the parser had failed.
            RuntimeError: `feed` after `close` (a bug in the caller).
        """
        if self._state is _State.CLOSED:
            raise RuntimeError("feed() after close()")
        if self._state is _State.FAILED:
            raise MalformedResponse(f"the response stream already failed: {self._error}")
        if self._state is _State.HEAD_PENDING:
            self._state = _State.BODY
            return [self._plain_head(), *_chunk(data)]
        if self._state is _State.BODY:
            return _chunk(data)
        return self._feed_prelude(data)

    def close(self) -> list[StreamEvent]:
        """The stream ended (the runtime finished its response); return any last events.

        Returns the head of an empty stream without a prelude; otherwise nothing.

        Raises:
            MalformedResponse: the stream ended before the prelude's delimiter.
        """
        state, self._state = self._state, _State.CLOSED
        if state is _State.HEAD_PENDING:
            return [self._plain_head()]
        if state is _State.PRELUDE:
            if not self._buffer:
                self._fail("the response stream ended without a prelude (nothing was written)")
            self._fail(
                f"the response stream ended after {len(self._buffer)} bytes,"
                " before the 8 NUL bytes that end the prelude"
            )
        return []

    def _plain_head(self) -> StreamHead:
        return StreamHead(200, (("content-type", self._content_type),))

    def _feed_prelude(self, data: bytes) -> list[StreamEvent]:
        self._buffer += data
        end = self._buffer.find(PRELUDE_DELIMITER, self._searched)
        if end < 0:
            # The delimiter may have begun in the last 7 bytes; search again from there.
            self._searched = max(0, len(self._buffer) - len(PRELUDE_DELIMITER) + 1)
            if self._searched > self._max_prelude:
                self._fail(f"the prelude is longer than {self._max_prelude} bytes")
            return []
        if end > self._max_prelude:
            self._fail(f"the prelude is longer than {self._max_prelude} bytes ({end})")
        prelude = bytes(self._buffer[:end])
        rest = bytes(self._buffer[end + len(PRELUDE_DELIMITER) :])
        self._buffer = bytearray()
        head = self._parse_prelude(prelude)
        self._state = _State.BODY
        return [head, *_chunk(rest)]

    def _parse_prelude(self, prelude: bytes) -> StreamHead:
        try:
            metadata = json.loads(prelude.decode("utf-8"), parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as exc:
            self._fail(f"the prelude is not JSON: {exc}")
        if not isinstance(metadata, dict):
            self._fail("the prelude must be a JSON object")
        try:
            raw_status = metadata.get("statusCode")
            status = 200 if raw_status is None else status_code(raw_status)
            headers = response_headers(metadata.get("headers"), metadata.get("cookies"))
        except MalformedResponse as exc:
            self._fail(f"bad prelude: {exc}")
        return StreamHead(status, tuple(headers))

    def _fail(self, message: str) -> NoReturn:
        self._state = _State.FAILED
        self._error = message
        self._buffer = bytearray()
        raise MalformedResponse(message)


def _chunk(data: bytes) -> list[StreamEvent]:
    return [BodyChunk(bytes(data))] if data else []


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")
