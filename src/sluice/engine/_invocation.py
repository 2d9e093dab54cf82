"""One invocation's life, from the caller's request to its single outcome.

An `Invocation` is a channel with two ends. The runtime side (the Runtime API server)
calls `start`, `write` and `complete`; the caller side (the Lambda API server) iterates
`events()`. Rules that hold whatever the order of events:

* the first outcome wins (a timeout racing a late response, a crash racing a trailer);
* chunks are delivered in order, one event per chunk the runtime sent, never merged;
* at most `HIGH_WATER` bytes wait in memory: `write` blocks the runtime's connection
  beyond that, so a slow caller slows the function down (TCP backpressure) instead of
  growing the server;
* a caller that goes away (`detach`) does not stop the function: as on AWS it runs on to
  its end or timeout, and what it writes is dropped.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from sluice.protocol import runtime as rt

HIGH_WATER = 1024 * 1024


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """What the engine needs to know to run a function; built from the stored record."""

    name: str
    runtime: str
    handler: str
    code_dir: str
    timeout: float
    memory_size: int
    environment: tuple[tuple[str, str], ...]
    revision: str
    version: str = "$LATEST"


@dataclass(frozen=True, slots=True)
class InvokeRequest:
    """One call to Invoke or InvokeWithResponseStream, as the engine sees it."""

    function: FunctionSpec
    payload: bytes
    invoked_arn: str
    region: str
    streaming: bool
    log_tail: bool = False
    client_context: str | None = None
    tenant_id: str | None = None


@dataclass(frozen=True, slots=True)
class StreamStart:
    """The runtime began its response; carries the content type it declared."""

    content_type: str


Event = StreamStart | bytes | rt.Outcome


@dataclass(slots=True)
class InvocationLog:
    """The log lines of one invocation, START to REPORT."""

    lines: list[str] = field(default_factory=list)

    def add(self, line: str) -> None:
        self.lines.append(line if line.endswith("\n") else line + "\n")

    def text(self) -> str:
        return "".join(self.lines)

    def tail(self, limit: int = 4096) -> bytes:
        """Spec 3.1: the last 4 KB of the log, cut by bytes (possibly mid-line). Text that
        UTF-8 cannot hold (a lone surrogate) becomes `?` rather than failing the call."""
        return self.text().encode("utf-8", "replace")[-limit:]


class Invocation:
    """The channel between a runtime's response and the caller. See module docstring."""

    def __init__(self, request: InvokeRequest, max_response: int) -> None:
        self.request = request
        self.request_id = str(uuid.uuid4())
        self.trace_id = rt.new_trace_id()
        self.max_response = max_response
        self.log = InvocationLog()
        self.started_at = time.monotonic()
        self.deadline_ms = int((time.time() + request.function.timeout) * 1000)
        self.outcome: rt.Outcome | None = None
        self.responded = False
        self.init_duration_ms: float | None = None
        self._size = 0
        self._pending: deque[Event] = deque()
        self._pending_bytes = 0
        self._readable = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()
        self._done = asyncio.Event()
        self._detached = False
        self.finalized = False
        self._finalized = asyncio.Event()
        self._on_complete: list[Callable[[Invocation], None]] = []

    @property
    def done(self) -> bool:
        return self.outcome is not None

    def headers(self) -> rt.InvocationHeaders:
        return rt.InvocationHeaders(
            request_id=self.request_id,
            deadline_ms=self.deadline_ms,
            invoked_function_arn=self.request.invoked_arn,
            trace_id=self.trace_id,
            client_context=self.request.client_context,
            tenant_id=self.request.tenant_id,
        )

    # Runtime side ---------------------------------------------------------------------

    def start(self, content_type: str) -> None:
        """The runtime began its response (buffered or streaming)."""
        self.responded = True
        self._push(StreamStart(content_type or "application/octet-stream"))

    async def write(self, data: bytes) -> bool:
        """Forward one chunk; False once the response size limit is crossed.

        Crossing the limit completes the invocation with `Function.ResponseSizeTooLarge`
        (spec decision 2); bytes up to the limit are still delivered.
        """
        if self.done:
            return False
        room = self.max_response - self._size
        if len(data) > room:
            if room:
                self._push(data[:room])
            self._size = self.max_response
            self.complete(rt.too_large(self.max_response))
            return False
        self._size += len(data)
        if data:
            self._push(data)
        await self._writable.wait()
        return True

    def complete(self, outcome: rt.Outcome) -> bool:
        """Settle the invocation; only the first outcome counts. True if this one did."""
        if self.done:
            return False
        self.outcome = outcome
        self._push(outcome)
        self._done.set()
        self._writable.set()
        for callback in self._on_complete:
            callback(self)
        return True

    def when_complete(self, callback: Callable[[Invocation], None]) -> None:
        """Run `callback` synchronously as soon as the outcome is settled."""
        self._on_complete.append(callback)

    async def wait_done(self) -> rt.Outcome:
        await self._done.wait()
        assert self.outcome is not None
        return self.outcome

    def mark_finalized(self) -> None:
        """END and REPORT are in the log: the tail is final."""
        self.finalized = True
        self._finalized.set()

    async def wait_finalized(self) -> InvocationLog:
        """The complete log, once the engine has closed it with END and REPORT."""
        await self._finalized.wait()
        return self.log

    # Caller side ----------------------------------------------------------------------

    async def events(self) -> AsyncIterator[Event]:
        """Everything the runtime sent, in order, ending with the outcome."""
        async for batch in self.batches():
            for event in batch:
                yield event

    async def batches(self) -> AsyncIterator[list[Event]]:
        """The same events, as lists of whatever waited when the caller woke up.

        A caller that sends each list in one write makes one system call (and one wake-up
        of its client) where per-event writes made several: the response head, the first
        chunk and the outcome of a short stream usually arrive together. The outcome, when
        present, is the last event of the last list.
        """
        while True:
            while not self._pending:
                self._readable.clear()
                await self._readable.wait()
            batch = list(self._pending)
            self._pending.clear()
            self._pending_bytes = 0
            self._writable.set()
            yield batch
            if isinstance(batch[-1], rt.Outcome):
                return

    def detach(self) -> None:
        """The caller left: drop buffered and future chunks, never block the runtime."""
        self._detached = True
        self._pending.clear()
        self._pending_bytes = 0
        self._writable.set()

    def _push(self, event: Event) -> None:
        if self._detached and not isinstance(event, rt.Outcome):
            return
        self._pending.append(event)
        if isinstance(event, bytes):
            self._pending_bytes += len(event)
            if self._pending_bytes > HIGH_WATER and not self.done:
                self._writable.clear()
        self._readable.set()
