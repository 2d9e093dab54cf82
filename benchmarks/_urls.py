"""Function URLs: scenario 2's throughput through a URL, and scenario 6, the peer.

The peer comparison runs one stdlib runtime (`_peer_runtime`) on both servers, sluice and
cargo-lambda, with the same client, so each ratio is sluice / cargo-lambda for the same
function. Time to first byte is measured on a keep-alive connection (what a client that
calls again does) and on a new connection per call (a browser's first request), because
cargo-lambda leaves Nagle's algorithm on and the two differ by its delayed-ACK wait there.
AWS's published streaming bandwidth (first 6 MB uncapped, then 2 MB/s) is a row of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from benchmarks._baseline import CHUNKS_PER_MIB, References, best_mbps, checked_mbps, first_chunk_ms
from benchmarks._clients import Stream
from benchmarks._functions import function_name
from benchmarks._peer import PeerUnavailable, PeerUrl, cargo_lambda_peer, deploy_to_sluice
from benchmarks._rows import Row, percentile, row
from benchmarks._server import BenchServer, create_url
from benchmarks._url_client import UrlClient, url_get

PIECE = 16
# AWS Lambda quotas, response streaming: the first 6 MB at full speed, then 2 MB/s.
AWS_UNCAPPED_BYTES = 6_000_000
AWS_CAPPED_BYTES_PER_S = 2_000_000


@dataclass(frozen=True)
class UrlFigures:
    """One server's figures for the URL workloads (ms, MB/s, writes/s)."""

    ttfb_keepalive_ms: list[float]
    ttfb_new_ms: list[float]
    stream_mbps: float
    small_writes_per_s: float


def url_throughput(server: BenchServer, runtime: str, mib: int, refs: References) -> list[Row]:
    """Scenario 2 through the runtime's own function URL (its `bulk` handler)."""
    prefix = create_url(server, function_name(runtime, "bulk"))
    client = UrlClient(*server.address)
    try:
        figure = _stream_mbps(lambda query: client.get(f"{prefix}/?{query}"), mib)
    finally:
        client.close()
    return [
        row(
            f"2 stream {mib} MiB",
            runtime,
            "url",
            (figure, "MB/s"),
            ("raw loopback TCP", refs.loopback_mbps),
        )
    ]


def aws_published(mib: int, sluice_mbps: float, sluice_name: str) -> list[Row]:
    """What a `mib` MiB stream would average on AWS at the published bandwidth; no row when
    the stream fits in the uncapped part, whose speed AWS does not publish."""
    size = mib * 1024 * 1024
    if size <= AWS_UNCAPPED_BYTES:
        return []
    figure = size / ((size - AWS_UNCAPPED_BYTES) / AWS_CAPPED_BYTES_PER_S) / 1e6
    return [
        row(
            f"2 stream {mib} MiB",
            "AWS published",
            "any",
            (figure, "MB/s"),
            (sluice_name, sluice_mbps),
        )
    ]


def peer_rows(
    server: BenchServer, calls: int, mib: int, writes: int
) -> tuple[list[Row], str | None]:
    """Scenario 6: the URL workloads on sluice and on cargo-lambda; the reason, if the peer
    could not run, instead of its rows."""
    ours = measure_url(deploy_to_sluice(server, "stdlib-peer"), calls, mib, writes)
    try:
        with cargo_lambda_peer() as url:
            theirs = measure_url(url, calls, mib, writes)
    except PeerUnavailable as exc:
        return [], exc.reason
    pairs = [
        (
            "6 url ttfb p50 keep-alive",
            "ms",
            _p50(ours.ttfb_keepalive_ms),
            _p50(theirs.ttfb_keepalive_ms),
        ),
        ("6 url ttfb p50 new conn", "ms", _p50(ours.ttfb_new_ms), _p50(theirs.ttfb_new_ms)),
        (f"6 url stream {mib} MiB", "MB/s", ours.stream_mbps, theirs.stream_mbps),
        (
            f"6 url {writes} x {PIECE} B",
            "writes/s",
            ours.small_writes_per_s,
            theirs.small_writes_per_s,
        ),
    ]
    rows = [
        row(scenario, "stdlib", "url", (figure, unit), ("cargo-lambda", reference))
        for scenario, unit, figure, reference in pairs
    ]
    return rows, None


def measure_url(url: PeerUrl, calls: int, mib: int, writes: int) -> UrlFigures:
    """The URL workloads against one server's function URL."""
    with _client(url) as client:
        keepalive = first_chunk_ms(lambda: client.get(url.path("first")), calls)
        stream = _stream_mbps(lambda query: client.get(url.path(query)), mib)
        small = client.get(url.path(f"writes={writes}&size={PIECE}"))
    if small.payload_bytes != writes * PIECE:
        raise RuntimeError(f"got {small.payload_bytes} bytes, wanted {writes * PIECE}")
    new = first_chunk_ms(lambda: url_get(url.host, url.port, url.path("first")), calls)
    return UrlFigures(keepalive, new, stream, writes / small.total)


@contextmanager
def _client(url: PeerUrl) -> Iterator[UrlClient]:
    client = UrlClient(url.host, url.port)
    try:
        yield client
    finally:
        client.close()


def _stream_mbps(get: Callable[[str], Stream], mib: int) -> float:
    """MB/s of a `mib` MiB body (best of THROUGHPUT_RUNS) after a 1 MiB warm-up; `get` takes
    the query string."""
    get(f"chunks={CHUNKS_PER_MIB}")
    return best_mbps(lambda: checked_mbps(get(f"chunks={mib * CHUNKS_PER_MIB}"), mib))


def _p50(samples: list[float]) -> float:
    return percentile(samples, 50)
