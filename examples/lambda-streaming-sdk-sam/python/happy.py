"""HappyPath (and Timeout): twelve words, one every 500 ms, as src/happy.js does in Node.

`streamify_response` comes from sluice_runtime, sluice's runtime client for Python, which
gives Python handlers the streaming API Node handlers have through `awslambda`.
"""

import time

from sluice_runtime import streamify_response

WORDS = [
    "This",
    "function",
    "is",
    "streaming",
    "its",
    "response",
    "word",
    "by",
    "word",
    "and",
    "is",
    "finished!",
]


@streamify_response
def handler(event, response_stream, context):
    response_stream.set_content_type("text/plain")
    for word in WORDS:
        response_stream.write(word)
        time.sleep(0.5)
    response_stream.end()
