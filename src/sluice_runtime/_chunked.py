"""HTTP/1.1 chunked framing of a request body, written straight onto a socket.

`http.client` can send a chunked body only from an iterable it drains itself, and it
cannot send trailers at all. The streaming `/response` needs both, and it needs every
`write()` of the handler on the wire at once, so this module frames the body by hand:
one `sendall` per chunk, nothing buffered, and a last chunk that may carry trailers
(spec section 4.4). It knows nothing of Lambda beyond that.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence

LAST_CHUNK = b"0\r\n\r\n"

_FORBIDDEN_IN_FIELDS = ("\r", "\n", "\x00")


def check_field_value(value: str) -> str:
    """Refuse header or trailer values that would break the framing (CR, LF, NUL).

    Raises:
        ValueError: the value holds one of those characters.
    """
    if any(char in value for char in _FORBIDDEN_IN_FIELDS):
        raise ValueError(f"invalid character in HTTP field value {value!r}")
    return value


def frame_chunk(data: bytes) -> bytes:
    """One chunk: hex size, CRLF, the data, CRLF. Empty data would end the body: refused.

    Raises:
        ValueError: `data` is empty.
    """
    if not data:
        raise ValueError("an empty chunk would end the body")
    return b"%x\r\n%s\r\n" % (len(data), data)


def frame_last_chunk(trailers: Sequence[tuple[str, str]] = ()) -> bytes:
    """The zero-size chunk that ends the body, with optional trailer fields.

    Raises:
        ValueError: a trailer name or value holds CR, LF or NUL.
        UnicodeEncodeError: a trailer is not Latin-1 (HTTP field text).
    """
    fields = b"".join(
        f"{check_field_value(name)}: {check_field_value(value)}\r\n".encode("latin-1")
        for name, value in trailers
    )
    return b"0\r\n" + fields + b"\r\n"


class ChunkedBodyWriter:
    """Writes one chunked body onto a connected socket whose request head is already sent."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def write(self, data: bytes) -> None:
        """Send `data` as one chunk now; empty data sends nothing (it is not the end)."""
        if data:
            self._sock.sendall(frame_chunk(data))

    def close(self, trailers: Sequence[tuple[str, str]] = ()) -> None:
        """Send the last chunk, with trailers if any, ending the body."""
        self._sock.sendall(frame_last_chunk(trailers))
