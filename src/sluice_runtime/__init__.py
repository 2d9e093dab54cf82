"""A Lambda runtime client for Python with response streaming, on the standard library only.

Run it as the function's process: `python -m sluice_runtime` (on AWS, from a managed Python
runtime's `AWS_LAMBDA_EXEC_WRAPPER` script that execs `"$1" -m sluice_runtime`, with this
package in the function's code). It loads `_HANDLER`
and serves the Lambda Runtime API exactly as AWS's `awslambdaric` does for plain handlers::

    def handler(event, context):          # or async def
        return {"statusCode": 200}        # JSON-serialisable; bytes are posted as is

Streaming (AWS has no Python API for it; this mirrors Node's `awslambda.streamifyResponse`)::

    from sluice_runtime import HttpResponseStream, streamify_response

    @streamify_response
    def handler(event, response_stream, context):    # or async def
        response_stream.set_content_type("text/plain")  # only before the first write
        response_stream.write("hello ")                  # str (UTF-8) or bytes-like
        response_stream.end(b"world")                    # optional, see below

    @streamify_response(content_type="text/plain")
    def handler(event, context):                     # a generator: each item is one chunk
        yield "hello "
        yield b"world"

    @streamify_response
    def handler(event, response_stream, context):    # a function-URL response
        stream = HttpResponseStream.from_(response_stream, {"statusCode": 201})
        stream.write("created")

    @streamify_response
    async def handler(event, context):               # an async generator with metadata
        yield HttpResponseStream.prelude({"statusCode": 201, "headers": {"X-A": "b"}})
        yield "created"

Behaviour worth knowing:

* Every `write()` is sent at once as one HTTP chunk; an empty write sends only the
  response head (and the prelude, if any), which commits the content type.
* Unlike Node, a stream the handler leaves open is ended for it when the handler returns.
  A streaming handler's return value is ignored, with the warning Node gives.
* `HttpResponseStream.from_` sends the metadata JSON and eight NUL bytes as two chunks
  before the first write, or at `end()` when nothing is written (no hang, unlike AWS).
  A generator gets the same by yielding `HttpResponseStream.prelude(...)` first; yielding
  it later raises `InvalidStreamingOperation`.
* An exception before anything was sent is reported like a plain handler's; after, the
  body ends with the `Lambda-Runtime-Function-Error-Type`/`-Body` trailers.
* `response_stream` is also a context manager that ends the stream on a clean exit.
"""

from __future__ import annotations

from sluice_runtime._context import LambdaContext
from sluice_runtime._errors import InvalidStreamingOperation
from sluice_runtime._handler import streamify_response
from sluice_runtime._stream import HttpPrelude, HttpResponseStream, ResponseStream

__all__ = [
    "HttpPrelude",
    "HttpResponseStream",
    "InvalidStreamingOperation",
    "LambdaContext",
    "ResponseStream",
    "streamify_response",
]

__version__ = "0.1.0"
