"""MidstreamError: four words, then an exception, as the seed's midstream-error.js."""

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
