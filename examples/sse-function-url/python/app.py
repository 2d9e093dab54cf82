"""Eight Server-Sent Events, 400 ms apart, then an `event: done`: node/index.mjs in Python.

Each event carries its number and the time it was written (ms since the epoch), so a client
can see how long it took to arrive. `streamify_response` and `HttpResponseStream` come from
sluice_runtime (linked into this folder), which gives Python handlers the streaming API that
Node handlers have through `awslambda`; `sluice-stream` runs it on AWS Lambda too.
"""

import json
import time

from sluice_runtime import HttpResponseStream, streamify_response

EVENTS = 8
INTERVAL = 0.4  # seconds


def sse(data, event=None):
    """One Server-Sent Event: an optional `event:` line, a `data:` line, a blank line."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, separators=(',', ':'))}\n\n"


def now_ms():
    return time.time_ns() // 1_000_000


@streamify_response
def handler(event, response_stream, context):
    stream = HttpResponseStream.from_(
        response_stream,
        {
            "statusCode": 200,
            "headers": {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"},
        },
    )
    for n in range(EVENTS):
        if n:
            time.sleep(INTERVAL)
        stream.write(sse({"n": n, "at": now_ms()}))
    time.sleep(INTERVAL)
    stream.write(sse({"n": EVENTS, "at": now_ms()}, event="done"))
    stream.end()
