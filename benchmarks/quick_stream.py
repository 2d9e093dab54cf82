"""Quick numbers for one machine: warm time to first chunk and one large stream's speed.

Run: `.venv/bin/python benchmarks/quick_stream.py [--calls 200] [--mib 256]`. It starts
`sluice serve` on a free port in a temporary data dir, creates two Python streaming
functions, and prints, for boto3 as the client: p50/p99 time from sending
InvokeWithResponseStream to the first PayloadChunk on a warm environment, and MB/s of one
stream written in 64 KiB chunks. A reference measured in the same run, raw bytes through a
loopback socket between two processes, is printed beside the throughput as a ratio.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile

import boto3
from botocore.config import Config

FIRST = """\
from sluice_runtime import streamify_response

@streamify_response
def handler(event, response_stream, context):
    response_stream.write(b"x")
"""
BULK = """\
from sluice_runtime import streamify_response

@streamify_response
def handler(event, response_stream, context):
    block = b"\\0" * 65536
    for _ in range(event["chunks"]):
        response_stream.write(block)
"""


def _zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    return buffer.getvalue()


def _sink(port_queue: multiprocessing.Queue, total: int) -> None:  # type: ignore[type-arg]
    with socket.create_server(("127.0.0.1", 0)) as server:
        port_queue.put(server.getsockname()[1])
        conn, _ = server.accept()
        received = 0
        while received < total:
            data = conn.recv(1 << 20)
            if not data:
                break
            received += len(data)
        conn.close()


def raw_loopback_mbps(total: int) -> float:
    """Reference: one process writes 64 KiB blocks, another reads them, over TCP loopback."""
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    reader = multiprocessing.Process(target=_sink, args=(queue, total))
    reader.start()
    port = queue.get()
    block = b"\0" * 65536
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        for _ in range(total // len(block)):
            sock.sendall(block)
    reader.join()
    return total / (time.perf_counter() - started) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--mib", type=int, default=256)
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="sluice-bench-")
    server = subprocess.Popen(
        [sys.executable, "-m", "sluice", "serve", "--port", "0", "--data-dir", data_dir],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        client = boto3.client(
            "lambda",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",
            config=Config(retries={"max_attempts": 1}, read_timeout=300),
        )
        runtime = f"python3.{sys.version_info.minor}"
        for name, source in (("first", FIRST), ("bulk", BULK)):
            client.create_function(
                FunctionName=name,
                Runtime=runtime,
                Handler="app.handler",
                Role="arn:aws:iam::000000000000:role/bench",
                Code={"ZipFile": _zip(source)},
                Timeout=300,
            )
        ttfb = []
        for index in range(args.calls + 10):
            started = time.perf_counter()
            stream = client.invoke_with_response_stream(FunctionName="first")["EventStream"]
            next(iter(stream))
            elapsed = time.perf_counter() - started
            for _ in stream:
                pass
            if index >= 10:  # warm-up
                ttfb.append(elapsed * 1000)
        ttfb.sort()
        print(
            f"warm time to first chunk (boto3, {args.calls} calls): "
            f"p50 {statistics.median(ttfb):.2f} ms, p99 {ttfb[int(len(ttfb) * 0.99) - 1]:.2f} ms"
        )
        chunks = args.mib * 16
        started = time.perf_counter()
        stream = client.invoke_with_response_stream(
            FunctionName="bulk", Payload=f'{{"chunks": {chunks}}}'
        )["EventStream"]
        received = sum(len(e["PayloadChunk"]["Payload"]) for e in stream if "PayloadChunk" in e)
        mbps = received / (time.perf_counter() - started) / 1e6
        reference = raw_loopback_mbps(received)
        print(
            f"one stream of {args.mib} MiB in 64 KiB chunks (boto3): {mbps:.0f} MB/s; "
            f"raw loopback socket {reference:.0f} MB/s; ratio {mbps / reference:.2f}"
        )
    finally:
        server.terminate()
        server.wait(30)
        if server.stdout is not None:
            server.stdout.close()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
