"""Function URLs as pure functions over values and bytes: no sockets, no asyncio.

Theory of operation. A function URL sits between a plain HTTP client and an invocation:

    HTTP request ──request_event──► payload format 2.0 event ──► invocation
    BUFFERED result ──buffered_response──► HttpReply
    RESPONSE_STREAM bytes ──ResponseStreamParser──► StreamHead, BodyChunk, BodyChunk, ...
    Cors settings ──preflight_reply / cors_headers──► the browser's answers

plus the names: `new_url_id`, `function_url` (what `FunctionUrl` says) and `parse_host` (which
URL a Host header names). This package owns those translations and every AWS rule they follow,
each cited where it is applied (spec section 5 for the streaming parts). It must not know about
sockets, the engine, the store or how the server routes requests; callers move the bytes and
decide when a response starts. Header lines are (lower-case name, value) pairs throughout.
"""

from sluice.protocol.function_url._buffered import (
    FUNCTION_ERROR_BODY,
    FUNCTION_ERROR_STATUS,
    buffered_response,
    function_error_reply,
)
from sluice.protocol.function_url._cors import (
    CorsConfig,
    cors_headers,
    is_preflight,
    preflight_reply,
)
from sluice.protocol.function_url._event import (
    ANONYMOUS_ACCOUNT,
    TEXT_MEDIA_TYPES,
    IamCaller,
    encode_body,
    event_time,
    is_text_content_type,
    query_parameters,
    request_cookies,
    request_event,
)
from sluice.protocol.function_url._shapes import (
    BodyChunk,
    Headers,
    HttpReply,
    MalformedResponse,
    StreamHead,
)
from sluice.protocol.function_url._stream import (
    DEFAULT_STREAM_CONTENT_TYPE,
    HTTP_INTEGRATION_CONTENT_TYPE,
    MAX_PRELUDE_BYTES,
    PRELUDE_DELIMITER,
    ResponseStreamParser,
    StreamEvent,
)
from sluice.protocol.function_url._urls import (
    DEFAULT_HOST_SUFFIX,
    URL_ID_LENGTH,
    domain_name,
    function_url,
    new_url_id,
    parse_host,
)

__all__ = [
    "ANONYMOUS_ACCOUNT",
    "DEFAULT_HOST_SUFFIX",
    "DEFAULT_STREAM_CONTENT_TYPE",
    "FUNCTION_ERROR_BODY",
    "FUNCTION_ERROR_STATUS",
    "HTTP_INTEGRATION_CONTENT_TYPE",
    "MAX_PRELUDE_BYTES",
    "PRELUDE_DELIMITER",
    "TEXT_MEDIA_TYPES",
    "URL_ID_LENGTH",
    "BodyChunk",
    "CorsConfig",
    "Headers",
    "HttpReply",
    "IamCaller",
    "MalformedResponse",
    "ResponseStreamParser",
    "StreamEvent",
    "StreamHead",
    "buffered_response",
    "cors_headers",
    "domain_name",
    "encode_body",
    "event_time",
    "function_error_reply",
    "function_url",
    "is_preflight",
    "is_text_content_type",
    "new_url_id",
    "parse_host",
    "preflight_reply",
    "query_parameters",
    "request_cookies",
    "request_event",
]
