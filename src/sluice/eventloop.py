"""The event loop every sluice server runs on: uvloop (libuv), not asyncio's own.

Each chunk of a stream crosses the loop twice (from the runtime's socket, to the caller's),
so the loop's own cost per callback and per system call is on the hot path. uvloop's
transports are C: measured here, one 256 MiB stream went from 797 to 1074 MB/s and the
server's CPU time per warm invocation from 720 to 620 µs (docs/performance.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import uvloop

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run` on a new uvloop loop."""
    return uvloop.run(main)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A uvloop loop for a thread that runs its own (the embedded server)."""
    return uvloop.new_event_loop()
