"""Scenario 5: a cold start to the first byte, and a warm buffered Invoke with boto3.

A cold start is measured on functions that have never run, one call each, so every sample
pays for a new environment: process start, runtime client, handler import, then the write.
Its reference is the bare interpreter starting and exiting, the floor no emulator can go
under on this machine.
"""

from __future__ import annotations

from benchmarks._baseline import References, round_trip_ms
from benchmarks._clients import LeanClient
from benchmarks._functions import deploy, function_name
from benchmarks._rows import Row, percentile, row
from benchmarks._server import BenchServer


def cold_start(server: BenchServer, runtime: str, samples: int, refs: References) -> list[Row]:
    names = [f"{runtime}-cold-{index}" for index in range(samples)]
    for name in names:
        deploy(server, runtime, name, "first")
    lean = LeanClient(*server.address)
    try:
        cold_ms = [lean.invoke_stream(name).first_chunk * 1000 for name in names]
    finally:
        lean.close()
    return [
        row(
            "5 cold start p50",
            runtime,
            "lean",
            (percentile(cold_ms, 50), "ms"),
            ("bare interpreter start", refs.start_ms[runtime]),
        )
    ]


def warm_invoke(server: BenchServer, runtime: str, calls: int, refs: References) -> list[Row]:
    function = function_name(runtime, "buffered")
    client = server.lambda_client
    samples = round_trip_ms(
        lambda: client.invoke(FunctionName=function, Payload=b"{}"),  # type: ignore[attr-defined]
        calls,
    )
    return [
        row(
            "5 warm Invoke p50",
            runtime,
            "boto3",
            (percentile(samples, 50), "ms"),
            ("replay server (boto3)", percentile(refs.boto3_buffered_ms, 50)),
        )
    ]
