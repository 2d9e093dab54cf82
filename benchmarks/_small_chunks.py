"""Scenario 3: many tiny writes, as a model streaming tokens does.

Two figures: writes per second delivered (the function's 16-byte writes over the time from
the call to the end of the stream) and bytes on the wire per PayloadChunk beyond its payload
(event-stream headers, prelude and CRCs, chunked framing; the HTTP head and InvokeComplete
are spread over all chunks). sluice forwards what the runtime sends as it arrives, so under
load several writes can share one PayloadChunk; the chunk count is in the JSON.
"""

from __future__ import annotations

import json

from benchmarks._baseline import References
from benchmarks._clients import LeanClient
from benchmarks._functions import function_name
from benchmarks._rows import Row, row
from benchmarks._server import BenchServer

PIECE = 16
_REPLAY = "replay server (lean)"


def small_chunks(server: BenchServer, runtime: str, writes: int, refs: References) -> list[Row]:
    function = function_name(runtime, "small")
    lean = LeanClient(*server.address)
    try:
        lean.invoke_stream(function, json.dumps({"writes": 1000}).encode())
        stream = lean.invoke_stream(function, json.dumps({"writes": writes}).encode())
    finally:
        lean.close()
    if stream.payload_bytes != writes * PIECE:
        raise RuntimeError(f"got {stream.payload_bytes} bytes, wanted {writes * PIECE}")
    overhead = (stream.wire_bytes - stream.payload_bytes) / stream.chunks
    return [
        row(
            f"3 {writes} x {PIECE} B",
            runtime,
            "lean",
            (writes / stream.total, "writes/s"),
            (_REPLAY, refs.small_chunks_per_s),
        ),
        row(
            "3 overhead per chunk",
            runtime,
            "lean",
            (overhead, "B"),
            (_REPLAY, refs.small_overhead_bytes),
        ),
    ]
