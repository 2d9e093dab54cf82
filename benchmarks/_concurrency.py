"""Scenario 4: many live streams at once, each writing on a timer.

Lateness is arrival time minus write time, both read from the wall clock of this one
machine: the function writes its `time.time()` as the chunk, the client notes when the line
arrives. The reference is the same timer schedule run by threads of this process with no
server at all, i.e. what the scheduler of this machine alone adds. Server CPU is compared
with the scenario's wall time (the ratio is the share of one core the server used); memory
per environment with the runtime's bare interpreter.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from benchmarks import _references
from benchmarks._clients import LeanClient
from benchmarks._functions import function_name
from benchmarks._rows import Row, percentile, row
from benchmarks._server import BenchServer

INTERVAL_MS = 100
WARM_TICKS = 5
WARM_ROUNDS = 5
_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def _stream_lateness(address: tuple[str, int], function: str, ticks: int) -> list[float]:
    """One stream's lateness per line, in ms."""
    late: list[float] = []
    pending = b""

    def arrived(payload: bytes) -> None:
        nonlocal pending
        now = time.time()
        *lines, pending = (pending + payload).split(b"\n")
        late.extend((now - float(line)) * 1000 for line in lines)

    client = LeanClient(*address)
    try:
        body = json.dumps({"ticks": ticks, "interval_ms": INTERVAL_MS}).encode()
        client.invoke_stream(function, body, on_chunk=arrived)
    finally:
        client.close()
    if len(late) != ticks:
        raise RuntimeError(f"{function}: {len(late)} of {ticks} lines arrived")
    return late


def _timer_lateness(ticks: int) -> list[float]:
    """The reference's one thread: sleep to each tick, note how late it woke."""
    started, late = time.time(), []
    for tick in range(ticks):
        due = started + tick * INTERVAL_MS / 1000
        time.sleep(max(0.0, due - time.time()))
        late.append((time.time() - due) * 1000)
    return late


def _descendants(root: int) -> list[int]:
    """Every process below `root`, from /proc (no dependency for one tree walk)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
    found, frontier = [], [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        found += children
        frontier += children
    return found


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS_PER_S  # utime + stime


def _runs(pid: int, function: str) -> bool:
    """Whether process `pid` belongs to an environment of `function` (its Lambda variables
    say so); other functions' idle environments are not this scenario's memory."""
    with open(f"/proc/{pid}/environ", "rb") as environ:
        return f"AWS_LAMBDA_FUNCTION_NAME={function}".encode() in environ.read().split(b"\0")


def _memory_per_environment(server_pid: int, function: str, environments: int) -> float:
    total = 0.0
    for pid in _descendants(server_pid):
        try:
            if _runs(pid, function):
                total += _references.rss_mib(pid)
        except OSError:
            continue
    return total / environments


def _environments(server_pid: int, function: str) -> int:
    count = 0
    for pid in _descendants(server_pid):
        with contextlib.suppress(OSError):
            count += _runs(pid, function) and os.getpgid(pid) == pid
    return count


def _warm_up(pool: ThreadPoolExecutor, server: BenchServer, function: str, streams: int) -> None:
    """Start one environment per stream first: cold starts are scenario 5's business, and
    dozens of processes starting at once would starve everything else of CPU. Streams that
    start while others are still cold-starting may find an idle environment and reuse it,
    so rounds go on until the function has `streams` of them."""
    for _ in range(WARM_ROUNDS):
        ticks = [WARM_TICKS] * streams
        list(pool.map(lambda n: _stream_lateness(server.address, function, n), ticks))
        if _environments(server.pid, function) >= streams:
            return


def concurrency(server: BenchServer, runtime: str, streams: int, seconds: float) -> list[Row]:
    """Scenario 4: `streams` streams, one line every INTERVAL_MS for `seconds`."""
    function = function_name(runtime, "ticker")
    ticks = int(seconds * 1000 / INTERVAL_MS)
    with ThreadPoolExecutor(streams) as pool:
        _warm_up(pool, server, function, streams)
        cpu_before, started = _cpu_seconds(server.pid), time.perf_counter()
        futures = [
            pool.submit(_stream_lateness, server.address, function, ticks) for _ in range(streams)
        ]
        threading.Event().wait(seconds / 2)
        memory = _memory_per_environment(server.pid, function, streams)
        late = [ms for future in futures for ms in future.result()]
        wall, cpu = time.perf_counter() - started, _cpu_seconds(server.pid) - cpu_before
        reference = [ms for lates in pool.map(_timer_lateness, [ticks] * streams) for ms in lates]
    scenario = f"4 {streams} streams"
    return [
        row(
            f"{scenario} p99 late",
            runtime,
            "lean",
            (percentile(late, 99), "ms"),
            ("timer threads, no server", percentile(reference, 99)),
        ),
        row(f"{scenario} server CPU", runtime, "lean", (cpu, "s"), ("wall time", wall)),
        row(
            f"{scenario} memory/env",
            runtime,
            "lean",
            (memory, "MiB"),
            ("bare interpreter", _references.bare_rss_mib(runtime)),
        ),
    ]
