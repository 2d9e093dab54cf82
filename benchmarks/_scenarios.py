"""Scenarios 1 (warm time to first byte) and 2 (one stream's throughput), through
InvokeWithResponseStream with the lean client and with boto3."""

from __future__ import annotations

import json
from collections.abc import Callable

from benchmarks._baseline import (
    CHUNKS_PER_MIB,
    References,
    best_mbps,
    checked_mbps,
    first_chunk_ms,
)
from benchmarks._clients import LeanClient, Stream, boto3_stream
from benchmarks._functions import function_name
from benchmarks._rows import Row, percentile, row
from benchmarks._server import BenchServer


def throughput_mbps(call: Callable[[bytes], Stream], mib: int) -> float:
    """MB/s at the client for one stream of `mib` MiB (best of THROUGHPUT_RUNS); a small
    stream first warms the path."""
    call(json.dumps({"chunks": CHUNKS_PER_MIB}).encode())
    body = json.dumps({"chunks": mib * CHUNKS_PER_MIB}).encode()
    return best_mbps(lambda: checked_mbps(call(body), mib))


def ttfb_rows(
    scenario: str, runtime: str, client: str, samples: list[float], ref: tuple[str, list[float]]
) -> list[Row]:
    """p50 and p99 rows of `samples` beside the same percentiles of the reference's."""
    name, reference = ref
    return [
        row(
            f"{scenario} p{q}",
            runtime,
            client,
            (percentile(samples, q), "ms"),
            (name, percentile(reference, q)),
        )
        for q in (50, 99)
    ]


def time_to_first_byte(
    server: BenchServer, runtime: str, calls: int, refs: References
) -> list[Row]:
    """Scenario 1: warm p50/p99 to the first PayloadChunk, lean client and boto3."""
    function = function_name(runtime, "first")
    lean = LeanClient(*server.address)
    try:
        lean_ms = first_chunk_ms(lambda: lean.invoke_stream(function), calls)
    finally:
        lean.close()
    boto_ms = first_chunk_ms(lambda: boto3_stream(server.lambda_client, function), calls)
    return ttfb_rows(
        "1 ttfb", runtime, "lean", lean_ms, ("replay server (lean)", refs.lean_ttfb_ms)
    ) + ttfb_rows(
        "1 ttfb", runtime, "boto3", boto_ms, ("replay server (boto3)", refs.boto3_ttfb_ms)
    )


def throughput(server: BenchServer, runtime: str, mib: int, refs: References) -> list[Row]:
    """Scenario 2: one stream of `mib` MiB in 64 KiB writes, lean client and boto3."""
    function = function_name(runtime, "bulk")
    lean = LeanClient(*server.address)
    try:
        lean_mbps = throughput_mbps(lambda body: lean.invoke_stream(function, body), mib)
    finally:
        lean.close()
    boto_mbps = throughput_mbps(
        lambda body: boto3_stream(server.lambda_client, function, body), mib
    )
    scenario = f"2 stream {mib} MiB"
    return [
        row(
            scenario, runtime, "lean", (lean_mbps, "MB/s"), ("raw loopback TCP", refs.loopback_mbps)
        ),
        row(
            scenario,
            runtime,
            "boto3",
            (boto_mbps, "MB/s"),
            ("replay server (boto3)", refs.boto3_replay_mbps),
        ),
    ]
