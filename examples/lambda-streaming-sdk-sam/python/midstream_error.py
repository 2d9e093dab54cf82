"""MidstreamError: four words, one every 500 ms, then an exception before the fifth.

The runtime client ends the stream with error trailers, which the caller sees as the
InvokeComplete event's ErrorCode and ErrorDetails, exactly as for src/midstream-error.js.
"""

import time

from sluice_runtime import streamify_response

WORDS = ["This", "function", "is", "streaming"]


@streamify_response
def handler(event, response_stream, context):
    response_stream.set_content_type("text/plain")
    for word in WORDS:
        response_stream.write(word)
        time.sleep(0.5)
    raise Exception("This is a custom error mid-stream!")
