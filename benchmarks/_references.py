"""Same-run ceilings: what this machine does with no Lambda emulation in the way.

Each runs in its own process, as `sluice serve` does, so a reference pays the same process
boundary as the figure it is compared with:

- the replay server: a minimal asyncio HTTP/1.1 server that answers any
  InvokeWithResponseStream with pre-encoded event-stream bytes (chunked, as sluice sends
  them). Function `first` gets one 1-byte PayloadChunk; `bulk-N` gets N chunks of 64 KiB;
  `small-N` gets N chunks of 16 bytes. A buffered Invoke gets `{"ok": true}`. Any client's
  timing against it is that client's own cost plus a do-nothing server.
- raw loopback TCP: one process writes 64 KiB blocks, another reads them.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sluice.protocol.eventstream import invoke_complete, payload_chunk

BLOCK = 64 * 1024
_SPAWN = multiprocessing.get_context("spawn")
_PAGE = os.sysconf("SC_PAGE_SIZE")
_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
    b"x-amzn-RequestId: replay\r\nX-Amz-Executed-Version: $LATEST\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n"
)
_PATH = re.compile(rb"^POST /20\d\d-\d\d-\d\d/functions/([^/]+)/(response-streaming-)?invocations")
_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%b\r\n" % (len(data), data)


_FIRST = _HEAD + _chunk(payload_chunk(b"x")) + _chunk(invoke_complete()) + b"0\r\n\r\n"
_FRAMES = {
    b"bulk": _chunk(payload_chunk(b"\0" * BLOCK)),
    b"small": _chunk(payload_chunk(b"0123456789abcdef")),
}
_END = _chunk(invoke_complete()) + b"0\r\n\r\n"
_BUFFERED = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nx-amzn-RequestId: replay\r\n"
    b'X-Amz-Executed-Version: $LATEST\r\nContent-Length: 12\r\n\r\n{"ok": true}'
)


async def _reply(writer: asyncio.StreamWriter, function: bytes) -> None:
    if function == b"first":
        writer.write(_FIRST)
        return
    kind, _, count = function.partition(b"-")
    frame = _FRAMES[kind]
    writer.write(_HEAD)
    for _ in range(int(count)):
        writer.write(frame)
        if writer.transport.get_write_buffer_size() > 1 << 20:
            await writer.drain()
    writer.write(_END)


async def _serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            path, length = _PATH.match(head), _LENGTH.search(head)
            if length:
                await reader.readexactly(int(length[1]))
            if path is None:
                writer.write(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
            elif path[2] is None:
                writer.write(_BUFFERED)
            else:
                await _reply(writer, path[1])
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def _replay_main(ports: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    server = await asyncio.start_server(_serve_connection, "127.0.0.1", 0)
    ports.put(server.sockets[0].getsockname()[1])
    async with server:
        await server.serve_forever()


def _replay_process(ports: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    asyncio.run(_replay_main(ports))


@contextmanager
def replay_server() -> Iterator[tuple[str, int]]:
    """Run the replay server in a child process; yields its address, always stops it."""
    ports: multiprocessing.Queue = _SPAWN.Queue()  # type: ignore[type-arg]
    process = _SPAWN.Process(target=_replay_process, args=(ports,), daemon=True)
    process.start()
    try:
        yield "127.0.0.1", ports.get(timeout=60)
    finally:
        process.terminate()
        process.join(10)


def _sink(ports: multiprocessing.Queue, total: int) -> None:  # type: ignore[type-arg]
    with socket.create_server(("127.0.0.1", 0)) as server:
        ports.put(server.getsockname()[1])
        conn, _ = server.accept()
        with conn:
            received = 0
            while received < total and (data := conn.recv(1 << 20)):
                received += len(data)
    ports.put(received)


def loopback_mbps(total: int) -> float:
    """MB/s of `total` bytes in 64 KiB writes from this process to a reader process."""
    ports: multiprocessing.Queue = _SPAWN.Queue()  # type: ignore[type-arg]
    reader = _SPAWN.Process(target=_sink, args=(ports, total), daemon=True)
    reader.start()
    port = ports.get(timeout=60)
    block = b"\0" * BLOCK
    with socket.create_connection(("127.0.0.1", port)) as sock:
        started = time.perf_counter()
        for _ in range(total // BLOCK):
            sock.sendall(block)
        received = ports.get(timeout=600)  # the reader's count: every byte has arrived
        elapsed = time.perf_counter() - started
    reader.join(60)
    return received / elapsed / 1e6


_BARE = {"python": [sys.executable, "-c", "pass"], "node": ["node", "-e", "0"]}


def bare_start_ms(runtime: str, runs: int = 20) -> float:
    """p50 of starting and ending the runtime's interpreter with nothing to run: the floor
    under any cold start, since every new environment starts one."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(_BARE[runtime], check=True)
        samples.append((time.perf_counter() - started) * 1000)
    return sorted(samples)[runs // 2]


_IDLE = {
    "python": [sys.executable, "-c", "import time; time.sleep(30)"],
    "node": ["node", "-e", "setTimeout(() => {}, 30000)"],
}


def bare_rss_mib(runtime: str) -> float:
    """Resident memory of the runtime's interpreter doing nothing: what any environment
    costs before its runtime client and handler are loaded."""
    with subprocess.Popen(_IDLE[runtime]) as process:
        try:
            time.sleep(0.5)
            return rss_mib(process.pid)
        finally:
            process.kill()


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/statm") as statm:
        return int(statm.read().split()[1]) * _PAGE / (1 << 20)
