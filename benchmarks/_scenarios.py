"""What is measured: scenario 1 (warm time to first byte) and 2 (one stream's throughput).

Every figure becomes a `Row` that names its same-run reference, so the table reads as ratios:
for times, figure / reference (1.0 is as fast as the reference, higher is slower); for
throughput, figure / reference (1.0 is the machine's ceiling, lower is slower).
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass

from benchmarks import _references
from benchmarks._clients import LeanClient, Stream, boto3_stream
from benchmarks._server import BenchServer, boto3_client, create_function

WARMUP_CALLS = 10
CHUNKS_PER_MIB = 1024 * 1024 // _references.BLOCK

PYTHON_CODE = """\
from sluice_runtime import streamify_response

BLOCK = b"\\0" * 65536


@streamify_response
def first(event, response_stream, context):
    response_stream.write(b"x")


@streamify_response
def bulk(event, response_stream, context):
    for _ in range(event["chunks"]):
        response_stream.write(BLOCK)
"""
NODE_CODE = """\
const BLOCK = Buffer.alloc(65536);

exports.first = awslambda.streamifyResponse(async (event, responseStream) => {
  responseStream.write('x');
  responseStream.end();
});

exports.bulk = awslambda.streamifyResponse(async (event, responseStream) => {
  for (let i = 0; i < event.chunks; i++) {
    if (!responseStream.write(BLOCK)) {
      await new Promise((resolve) => responseStream.once('drain', resolve));
    }
  }
  responseStream.end();
});
"""
# runtime → (Lambda runtime id, file name, source)
RUNTIMES = {
    "python": (f"python3.{sys.version_info.minor}", "app.py", PYTHON_CODE),
    "node": ("nodejs20.x", "index.js", NODE_CODE),
}


@dataclass(frozen=True)
class Row:
    """One line of the table and of the JSON `rows` list."""

    scenario: str
    runtime: str
    client: str
    figure: float
    unit: str
    reference: str
    reference_figure: float
    ratio: float


@dataclass(frozen=True)
class References:
    """The ceilings, measured once per run and shared by every runtime's rows.

    `lean_replay_mbps` is in no row (the lean client's stream figure is compared with raw
    TCP, as issue 5 asks); it is reported to show whether the lean client itself is the limit.
    """

    lean_ttfb_ms: list[float]
    boto3_ttfb_ms: list[float]
    lean_replay_mbps: float
    boto3_replay_mbps: float
    loopback_mbps: float

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
        }


def function_name(runtime: str, kind: str) -> str:
    return f"{runtime}-{kind}"


def deploy(server: BenchServer, runtime: str) -> None:
    """Create the runtime's `first` and `bulk` functions from one package."""
    runtime_id, file_name, source = RUNTIMES[runtime]
    module = file_name.split(".")[0]
    for kind in ("first", "bulk"):
        name = function_name(runtime, kind)
        create_function(server, name, runtime_id, f"{module}.{kind}", {file_name: source})


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile: p99 of 200 samples is the 198th smallest, a real sample."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def first_chunk_ms(call: Callable[[], Stream], calls: int) -> list[float]:
    """Time to the first PayloadChunk over `calls` calls, after WARMUP_CALLS unrecorded ones."""
    for _ in range(WARMUP_CALLS):
        call()
    return [call().first_chunk * 1000 for _ in range(calls)]


def throughput_mbps(call: Callable[[bytes], Stream], mib: int) -> float:
    """MB/s at the client for one stream of `mib` MiB; a small stream first warms the path."""
    call(json.dumps({"chunks": CHUNKS_PER_MIB}).encode())
    stream = call(json.dumps({"chunks": mib * CHUNKS_PER_MIB}).encode())
    if stream.payload_bytes != mib * 1024 * 1024:
        raise RuntimeError(f"got {stream.payload_bytes} bytes, wanted {mib} MiB")
    return _mbps(stream)


def measure_references(calls: int, mib: int) -> References:
    """Replay-server round trips for both clients, boto3's replay ceiling, raw loopback TCP."""
    with _references.replay_server() as (host, port):
        lean = LeanClient(host, port)
        boto = boto3_client(f"http://{host}:{port}")
        try:
            lean_ms = first_chunk_ms(lambda: lean.invoke_stream("first"), calls)
            boto_ms = first_chunk_ms(lambda: boto3_stream(boto, "first"), calls)
            bulk = f"bulk-{mib * CHUNKS_PER_MIB}"
            lean_mbps = _mbps(lean.invoke_stream(bulk))
            boto_mbps = _mbps(boto3_stream(boto, bulk))
        finally:
            lean.close()
    loopback = _references.loopback_mbps(mib * 1024 * 1024)
    return References(lean_ms, boto_ms, lean_mbps, boto_mbps, loopback)


def _mbps(stream: Stream) -> float:
    return stream.payload_bytes / stream.total / 1e6


def _ttfb_rows(runtime: str, client: str, samples: list[float], ref: list[float]) -> list[Row]:
    name = "replay server (lean)" if client == "lean" else "replay server (boto3)"
    rows = []
    for q in (50, 99):
        figure, reference = percentile(samples, q), percentile(ref, q)
        rows.append(_row(f"1 ttfb p{q}", runtime, client, (figure, "ms"), (name, reference)))
    return rows


def _row(
    scenario: str, runtime: str, client: str, figure: tuple[float, str], ref: tuple[str, float]
) -> Row:
    """A row whose ratio is figure / reference, in the figure's unit."""
    (value, unit), (name, reference) = figure, ref
    return Row(scenario, runtime, client, value, unit, name, reference, value / reference)


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
    return _ttfb_rows(runtime, "lean", lean_ms, refs.lean_ttfb_ms) + _ttfb_rows(
        runtime, "boto3", boto_ms, refs.boto3_ttfb_ms
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
        _row(
            scenario, runtime, "lean", (lean_mbps, "MB/s"), ("raw loopback TCP", refs.loopback_mbps)
        ),
        _row(
            scenario,
            runtime,
            "boto3",
            (boto_mbps, "MB/s"),
            ("replay server (boto3)", refs.boto3_replay_mbps),
        ),
    ]
