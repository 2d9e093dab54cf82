"""The HTTP vocabulary both invoke modes end in, and the checks on what a function wrote.

A BUFFERED payload and a RESPONSE_STREAM prelude both describe an HTTP response in JSON:
`statusCode`, `headers` (an object), `cookies` (a list, each one a `Set-Cookie` line). The
helpers here turn those JSON values into header lines that can go on the wire as they are,
or raise `MalformedResponse`: httpio refuses a CR or LF in a header value, so a function must not
be able to smuggle one in, and the framing headers (`Content-Length`, `Transfer-Encoding`, ...)
belong to the server, which knows how the body is actually sent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sluice.errors import CodecError

Headers = tuple[tuple[str, str], ...]

JSON_CONTENT_TYPE = "application/json"

# Chosen by the server for the body it actually sends, never taken from a function (RFC 9110
# section 7.6.1 lists the hop-by-hop fields; Content-Length must match what is written).
FRAMING_HEADERS = frozenset(
    {
        "connection",
        "content-length",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_STATUS_TEXT = re.compile(r"[0-9]{3}")


class MalformedResponse(CodecError):
    """A function's HTTP answer (BUFFERED payload or streamed prelude) that cannot be sent.

    The message says what is wrong in words for the function's author; it never quotes the
    whole payload, which may be megabytes.
    """


@dataclass(frozen=True, slots=True)
class HttpReply:
    """A complete HTTP response: what a BUFFERED invoke, an error or a preflight becomes.

    Attributes:
        status: the status code.
        headers: header lines in order, names lower-cased, repeated names kept (`set-cookie`).
        body: the body bytes; the server frames them (Content-Length or chunks).
        problem: when sluice refused the function's answer, why (for the log); else None.
    """

    status: int
    headers: Headers
    body: bytes
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class StreamHead:
    """The status line and headers of a streamed response, before any body bytes."""

    status: int
    headers: Headers


@dataclass(frozen=True, slots=True)
class BodyChunk:
    """Body bytes of a streamed response, exactly as one write of the function delivered them."""

    data: bytes


def media_type(content_type: str | None) -> str:
    """`Text/HTML; charset=utf-8` → `text/html`: the part that decides, compared lower-case."""
    if not content_type:
        return ""
    return content_type.split(";", 1)[0].strip().lower()


def header_values(headers: Iterable[tuple[str, str]], name: str) -> list[str]:
    """Every value of header `name` (case-insensitive), in the order they were sent."""
    wanted = name.lower()
    return [value for key, value in headers if key.lower() == wanted]


def status_code(value: object) -> int:
    """A function's `statusCode` as an int, or MalformedResponse.

    AWS accepts the code as a number or as a string of digits: `"418"` gives a 418 (LocalStack's
    AWS-validated `test_lambda_url_headers_and_status`). 1xx codes are refused because they
    cannot end a response, and anything outside 200-599 is not an HTTP status.
    """
    if isinstance(value, bool):
        raise MalformedResponse(f"statusCode must be a number, not {json.dumps(value)}")
    if isinstance(value, int):
        code = value
    elif isinstance(value, str) and _STATUS_TEXT.fullmatch(value.strip()):
        code = int(value)
    else:
        raise MalformedResponse(f"statusCode must be an integer from 200 to 599: {value!r:.60}")
    if not 200 <= code <= 599:
        raise MalformedResponse(f"statusCode must be from 200 to 599, not {code}")
    return code


def response_headers(headers: object, cookies: object) -> list[tuple[str, str]]:
    """Header lines from a function's `headers` object and `cookies` list.

    Names are lower-cased (HTTP/2, which AWS's front door speaks, allows nothing else); number
    and boolean values become their JSON text, `null` values are skipped; each cookie becomes
    one `set-cookie` line, after the headers, as the urls-invocation "Cookies" example shows.
    Framing headers are dropped (see FRAMING_HEADERS).

    Raises:
        MalformedResponse: `headers` is not an object, `cookies` not a list of strings, or a
            name or value could not be sent (not a token; CR, LF or another control byte).
    """
    lines = [(_header_name(name), _header_value(name, value)) for name, value in _items(headers)]
    lines.extend(("set-cookie", _header_value("set-cookie", c)) for c in _cookies(cookies))
    return [(name, value) for name, value in lines if name not in FRAMING_HEADERS]


def has_header(headers: Sequence[tuple[str, str]], name: str) -> bool:
    """Whether a header line named `name` (already lower-case) is present."""
    return any(key == name for key, _ in headers)


def _items(headers: object) -> list[tuple[str, object]]:
    if headers is None:
        return []
    if not isinstance(headers, dict):
        raise MalformedResponse("headers must be a JSON object")
    return [(str(name), value) for name, value in headers.items() if value is not None]


def _cookies(cookies: object) -> list[str]:
    if cookies is None:
        return []
    if not isinstance(cookies, list) or not all(isinstance(c, str) for c in cookies):
        raise MalformedResponse("cookies must be a JSON array of strings")
    return cookies


def _header_name(name: str) -> str:
    if not _TOKEN.fullmatch(name):
        raise MalformedResponse(f"header name is not an HTTP token: {name!r:.60}")
    return name.lower()


def _header_value(name: str, value: object) -> str:
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool | int | float):
        text = json.dumps(value)
    else:
        raise MalformedResponse(f"header {name!r:.60} must be a string, number or boolean")
    text = text.strip(" \t")
    if _CONTROL.search(text):
        raise MalformedResponse(f"header {name!r:.60} holds a control character (CR, LF, NUL...)")
    return text
