"""The same-run references, measured once per run and shared by every runtime's rows."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from benchmarks import _references
from benchmarks._clients import LeanClient, Stream, boto3_stream
from benchmarks._rows import percentile
from benchmarks._server import boto3_client

WARMUP_CALLS = 10
# Throughput is the best of this many runs, figure and reference alike. One 256 MiB run lasts
# a fraction of a second, so on a shared machine a single run measures the neighbours as much
# as the code: raw loopback alone ranged 1.6-3.6 GB/s between single runs on one day.
THROUGHPUT_RUNS = 3
CHUNKS_PER_MIB = 1024 * 1024 // _references.BLOCK


@dataclass(frozen=True)
class References:
    """What the machine does with no Lambda emulation in the way.

    `lean_replay_mbps` is in no row (the lean client's stream figure is compared with raw
    TCP, as issue 5 asks); it is reported to show whether the lean client itself is the limit.
    """

    lean_ttfb_ms: list[float]
    boto3_ttfb_ms: list[float]
    lean_replay_mbps: float
    boto3_replay_mbps: float
    loopback_mbps: float
    small_chunks_per_s: float  # the lean client decoding pre-encoded 16-byte chunks
    small_overhead_bytes: float  # their bytes on the wire per chunk beyond the payload
    boto3_buffered_ms: list[float]
    start_ms: dict[str, float]  # runtime → p50 of starting its bare interpreter

    def summary(self) -> dict[str, float]:
        """The figures as printed and written to JSON (p50/p99 instead of every sample)."""
        return {
            "replay_lean_ttfb_p50_ms": percentile(self.lean_ttfb_ms, 50),
            "replay_lean_ttfb_p99_ms": percentile(self.lean_ttfb_ms, 99),
            "replay_boto3_ttfb_p50_ms": percentile(self.boto3_ttfb_ms, 50),
            "replay_boto3_ttfb_p99_ms": percentile(self.boto3_ttfb_ms, 99),
            "replay_lean_mbps": self.lean_replay_mbps,
            "replay_boto3_mbps": self.boto3_replay_mbps,
            "loopback_tcp_mbps": self.loopback_mbps,
            "replay_lean_small_chunks_per_s": self.small_chunks_per_s,
            "replay_small_overhead_bytes": self.small_overhead_bytes,
            "replay_boto3_invoke_p50_ms": percentile(self.boto3_buffered_ms, 50),
            **{f"{runtime}_bare_start_p50_ms": ms for runtime, ms in self.start_ms.items()},
        }


def first_chunk_ms(call: Callable[[], Stream], calls: int) -> list[float]:
    """Time to the first PayloadChunk over `calls` calls, after WARMUP_CALLS unrecorded ones."""
    for _ in range(WARMUP_CALLS):
        call()
    return [call().first_chunk * 1000 for _ in range(calls)]


def round_trip_ms(call: Callable[[], object], calls: int) -> list[float]:
    """Whole-call times over `calls` calls, after WARMUP_CALLS unrecorded ones."""
    for _ in range(WARMUP_CALLS):
        call()
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def mbps(stream: Stream) -> float:
    return stream.payload_bytes / stream.total / 1e6


def checked_mbps(stream: Stream, mib: int) -> float:
    """MB/s of a stream that must have carried `mib` MiB."""
    if stream.payload_bytes != mib * 1024 * 1024:
        raise RuntimeError(f"got {stream.payload_bytes} bytes, wanted {mib} MiB")
    return mbps(stream)


def best_mbps(run: Callable[[], float]) -> float:
    """The best of THROUGHPUT_RUNS runs: what the path sustains when nothing else interferes."""
    return max(run() for _ in range(THROUGHPUT_RUNS))


def measure(calls: int, mib: int, small_writes: int) -> References:
    """Replay-server round trips and ceilings for both clients, raw loopback TCP, and the
    bare interpreters' start-up."""
    with _references.replay_server() as (host, port):
        lean = LeanClient(host, port)
        boto = boto3_client(f"http://{host}:{port}")
        try:
            lean_ms = first_chunk_ms(lambda: lean.invoke_stream("first"), calls)
            boto_ms = first_chunk_ms(lambda: boto3_stream(boto, "first"), calls)
            bulk = f"bulk-{mib * CHUNKS_PER_MIB}"
            lean_mbps = best_mbps(lambda: mbps(lean.invoke_stream(bulk)))
            boto_mbps = best_mbps(lambda: mbps(boto3_stream(boto, bulk)))
            small = lean.invoke_stream(f"small-{small_writes}")
            invoke_ms = round_trip_ms(
                lambda: boto.invoke(FunctionName="buffered", Payload=b"{}"),  # type: ignore[attr-defined]
                calls,
            )
        finally:
            lean.close()
    return References(
        lean_ms,
        boto_ms,
        lean_mbps,
        boto_mbps,
        best_mbps(lambda: _references.loopback_mbps(mib * 1024 * 1024)),
        small.chunks / small.total,
        (small.wire_bytes - small.payload_bytes) / small.chunks,
        invoke_ms,
        {runtime: _references.bare_start_ms(runtime) for runtime in ("python", "node")},
    )
