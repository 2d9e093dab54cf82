"""The event loop every sluice server runs on: uvloop (libuv), not asyncio's own.

Each chunk of a stream crosses the loop twice (from the runtime's socket, to the caller's),
so the loop's own cost per callback and per system call is on the hot path. uvloop's
transports are C: measured here, one 256 MiB stream went from 797 to 1074 MB/s and the
server's CPU time per warm invocation from 720 to 620 µs (docs/performance.md).

Blocking calls (surveying and killing a stopped environment's processes, fsyncing a code
upload) go to `asyncio.to_thread`. Its pool starts a worker only when every worker is busy
and never stops one, so the server's thread count rises with the most stops that ever
overlapped. Capping the pool at `BLOCKING_THREADS` makes that rise a known bound (the soak
allows exactly it) instead of CPython's default of min(32, CPUs + 4).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import uvloop

T = TypeVar("T")

BLOCKING_THREADS = 4


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run` on a new uvloop loop."""
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(main)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A uvloop loop whose blocking-call pool holds at most `BLOCKING_THREADS` workers."""
    loop = uvloop.new_event_loop()
    loop.set_default_executor(
        ThreadPoolExecutor(max_workers=BLOCKING_THREADS, thread_name_prefix="sluice-blocking")
    )
    return loop
