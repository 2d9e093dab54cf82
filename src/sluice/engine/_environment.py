"""One execution environment: a runtime process, its Runtime API server and its log.

The environment owns the facts the Runtime API cannot know: when the process started and
exited, which invocation its output lines belong to, when an invocation's deadline passes,
and whether its processes outgrew the function's memory. Every way an invocation can end
while it is assigned here (timeout, crash, init error, truncation, out of memory) is settled
in this class, always through `Invocation.complete`, where the first outcome wins.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque

from sluice.engine import _process, _runtimes
from sluice.engine._invocation import FunctionSpec, Invocation
from sluice.engine._memory import MIB, MemoryWatcher, Watch, resident
from sluice.engine._states import EnvState, check_transition
from sluice.protocol import runtime as rt
from sluice.runtime_api import RuntimeApiServer

logger = logging.getLogger("sluice.engine")

# After a truncated stream, how long to wait for the process to exit before calling it a
# truncation rather than a crash (spec decision 2 prefers Runtime.ExitError when it died).
EXIT_SETTLE_SECONDS = 0.3
# After the process exited, how long its Runtime API connections may take to deliver what
# it wrote before dying; only a child that inherited a socket keeps one open that long.
EXIT_DRAIN_SECONDS = 0.5


class Environment:
    """A function process and everything that belongs to it. See module docstring."""

    def __init__(
        self,
        spec: FunctionSpec,
        region: str,
        stop_grace: float,
        memory: MemoryWatcher | None = None,
    ) -> None:
        self.spec = spec
        self.region = region
        self.state = EnvState.STARTING
        self.idle_since = time.monotonic()
        self._stop_grace = stop_grace
        self._memory = memory or MemoryWatcher()
        self._memory_watch: Watch | None = None
        self._api = RuntimeApiServer(self)
        self._process: asyncio.subprocess.Process | None = None
        self._started_at = 0.0
        self._init_outcome: rt.Outcome | None = None
        self._current: Invocation | None = None
        self._handed: Invocation | None = None
        # The invocation assigned but not yet handed to the runtime, and the `next` polls
        # waiting for one, oldest first.
        self._assigned: Invocation | None = None
        self._pollers: deque[asyncio.Future[None]] = deque()
        self._polled = False  # the runtime has polled `next`: its init is over
        self._init_ms = 0.0
        self._orphan_log: list[str] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._stoppers: set[asyncio.Task[None]] = set()
        self._peak_memory = 0  # bytes, the most this environment was seen using
        self.exited = asyncio.Event()

    def _set_state(self, wanted: EnvState) -> None:
        check_transition(self.state, wanted)
        self.state = wanted
        if wanted is EnvState.IDLE:
            self.idle_since = time.monotonic()

    @property
    def alive(self) -> bool:
        return self.state not in (EnvState.STOPPING, EnvState.DEAD)

    async def start(self) -> None:
        """Start the Runtime API listener and the runtime process.

        A missing bootstrap is not raised: it becomes the init error of the invocation
        that is assigned next, as on AWS.
        """
        address = await self._api.start()
        stream = _runtimes.log_stream_name(self.spec.version)
        env = _runtimes.environment(self.spec, address, self.region, stream)
        try:
            argv = _runtimes.command(self.spec)
        except _runtimes.MissingBootstrap as exc:
            document = {"errorMessage": str(exc), "errorType": "Runtime.InvalidEntrypoint"}
            self._init_outcome = rt.init_error(
                json.dumps(document).encode(), "Runtime.InvalidEntrypoint"
            )
            self.exited.set()
            return
        self._started_at = time.monotonic()
        self._process = await _process.spawn(argv, env, self.spec.code_dir)
        self._tasks.append(asyncio.create_task(self._read_output()))
        self._tasks.append(asyncio.create_task(self._watch_exit()))

    # Invocations ----------------------------------------------------------------------

    def assign(self, invocation: Invocation) -> None:
        """Give this (idle or starting) environment its next invocation."""
        self._set_state(EnvState.BUSY)
        self._current = invocation
        invocation.log.lines.extend(self._orphan_log)
        self._orphan_log.clear()
        invocation.log.add(f"START RequestId: {invocation.request_id} Version: {self.spec.version}")
        self._timer = asyncio.get_running_loop().call_later(
            self.spec.timeout, self._on_timeout, invocation
        )
        invocation.when_complete(self._settled)
        if self._init_outcome is not None or self.exited.is_set():
            self._fail_current()
            return
        self._watch_memory(invocation)
        self._assigned = invocation
        self._wake_poller()

    def _watch_memory(self, invocation: Invocation) -> None:
        """Sample the group while busy; outgrowing MemorySize ends the invocation."""
        assert self._process is not None
        self._memory_watch = self._memory.watch(
            self._process.pid,
            self.spec.memory_size * MIB,
            lambda: self._out_of_memory(invocation),
        )

    def _out_of_memory(self, invocation: Invocation) -> None:
        """Kill at once, as the kernel would: the group must not grow while it is stopped."""
        invocation.complete(rt.out_of_memory(invocation.request_id))
        if self._process is not None:
            _process.kill_group(self._process.pid)

    def _settled(self, invocation: Invocation) -> None:
        """The outcome is settled: reusable at once (the next call may already be waiting),
        or stopped if the outcome broke the environment."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._memory_watch is not None:
            self._memory.unwatch(self._memory_watch)
            self._peak_memory = max(self._peak_memory, self._memory_watch.peak)
            self._memory_watch = None
        outcome = invocation.outcome
        if self.state is EnvState.BUSY and outcome is not None and outcome.environment_survives:
            self._set_state(EnvState.IDLE)
        elif self.alive:
            # Sample now: the environment is about to be killed, and the REPORT needs it.
            # (A surviving one is sampled when the REPORT is written: one /proc read, not two.)
            self.max_memory_mb()
            self._stop_soon()

    def current_invocation(self) -> Invocation | None:
        return self._current

    async def next_invocation(
        self, poller_gone: asyncio.Future[None]
    ) -> tuple[Invocation, bytes] | None:
        """Runtime API `next`: the runtime is ready; hand it the next assigned invocation.

        Returns None, handing out nothing, once `poller_gone` completes: an invocation
        given to a connection that has closed would be lost until its timeout. The check
        and the hand-over happen in one step, so an invocation is never taken and dropped.
        Polls that wait together are served in the order they came, as RAPID parks a
        second concurrent `next` beside the first (`RuntimeReadyState.Ready` in
        `internal/lambda/core/states.go`) rather than refusing it.

        Raises:
            RuntimeApiMisuse: 403 `InvalidStateTransition` after an init error, or while
                the invocation last handed out is unfinished.
        """
        state = self._runtime_state()
        if state != "READY":
            raise rt.invalid_state_transition(state, "READY")
        if not self._polled:
            # Init ends when the runtime first polls; the cold-start invocation reports it.
            self._polled = True
            self._init_ms = (time.monotonic() - self._started_at) * 1000
        while self._assigned is None and not poller_gone.done():
            await self._wait_for_assignment(poller_gone)
        if poller_gone.done():
            if self._assigned is not None:
                self._wake_poller()  # it was meant for this poll: the next one takes it
            return None
        invocation, self._assigned = self._assigned, None
        if self._handed is None:
            invocation.init_duration_ms = self._init_ms
        self._handed = invocation
        return invocation, invocation.request.payload

    async def _wait_for_assignment(self, poller_gone: asyncio.Future[None]) -> None:
        """Wait until this poll is woken for an invocation, or its client leaves."""
        waiter = asyncio.get_running_loop().create_future()

        def wake(_: object) -> None:
            if not waiter.done():
                waiter.set_result(None)

        self._pollers.append(waiter)
        poller_gone.add_done_callback(wake)
        try:
            await waiter
        except asyncio.CancelledError:
            if self._assigned is not None and waiter.done() and not waiter.cancelled():
                self._wake_poller()  # woken, then cancelled: pass the invocation on
            raise
        finally:
            self._pollers.remove(waiter)
            poller_gone.remove_done_callback(wake)

    def _wake_poller(self) -> None:
        """Wake the oldest waiting poll; it takes the assigned invocation if still there."""
        for waiter in self._pollers:
            if not waiter.done():
                waiter.set_result(None)
                return

    def init_failed(self, outcome: rt.Outcome) -> None:
        """Runtime API `init/error`: remembered until the process exits.

        Raises:
            RuntimeApiMisuse: 403 `InvalidStateTransition` once init is over (the runtime
                polled `next`) or after an init error: RAPID accepts `/init/error` only in
                its Started state (`internal/lambda/core/states.go`), and records nothing.
        """
        if self._polled or self._init_outcome is not None:
            raise rt.invalid_state_transition(self._runtime_state(), "INIT_ERROR")
        self._init_outcome = outcome

    def _runtime_state(self) -> str:
        """The runtime's state, as the Runtime API's 403 answers name it."""
        if self._init_outcome is not None:
            return "INIT_ERROR"
        if self._handed is not None and not self._handed.done:
            return "INVOKE"
        return "READY"

    async def response_truncated(self, invocation: Invocation) -> None:
        """A streamed body stopped without its terminator: crash if the process died."""
        if self._process is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.exited.wait(), EXIT_SETTLE_SECONDS)
        if not self.exited.is_set():
            invocation.complete(rt.truncated(invocation.request_id))

    def _on_timeout(self, invocation: Invocation) -> None:
        # Settling the outcome stops the environment at once (see `_settled`): Lambda
        # resets a timed-out sandbox, so the group is killed with no grace.
        invocation.complete(rt.timed_out(invocation.request_id, self.spec.timeout))

    def _fail_current(self) -> None:
        """The process is gone (or never started): settle the current invocation."""
        invocation = self._current
        if invocation is None or invocation.done:
            return
        if self._init_outcome is not None:
            invocation.complete(self._init_outcome)
        else:
            code = self._process.returncode if self._process is not None else -9
            invocation.complete(rt.runtime_exited(invocation.request_id, code or 0))

    # Process --------------------------------------------------------------------------

    async def _read_output(self) -> None:
        assert self._process is not None
        async for line in _process.output_lines(self._process):
            self._log_target().append(line + "\n")

    def _log_target(self) -> list[str]:
        """Where an output line belongs.

        The runtime flushes its output before it posts a result and only then polls `next`,
        so a line belongs to the invocation it was last handed, while that log is open;
        before the first hand-over, to the assigned (cold-start) invocation.
        """
        for invocation in (self._handed, self._current):
            if invocation is not None and not invocation.finalized:
                return invocation.log.lines
        return self._orphan_log

    async def _watch_exit(self) -> None:
        assert self._process is not None
        await self._process.wait()
        self.exited.set()
        # The exit may be seen before bytes it sent are read: relay those first, or a
        # stream would lose its last chunks (and a URL answer 502 after a body was sent).
        await self._api.drain(EXIT_DRAIN_SECONDS)
        self._fail_current()
        if self.alive:
            self._stop_soon()

    async def stop(self, grace: float | None = None) -> None:
        """Stop the process group and the Runtime API server; safe to call twice."""
        if not self.alive:
            await self.exited.wait()
            return
        self._set_state(EnvState.STOPPING)
        if self._process is not None:
            await _process.stop(self._process, self._stop_grace if grace is None else grace)
        self.exited.set()
        self._fail_current()
        await self._api.close()
        for task in self._tasks:
            if task is not asyncio.current_task():
                task.cancel()
        self._set_state(EnvState.DEAD)

    def _stop_soon(self) -> None:
        """Stop from a synchronous callback; the task is kept so it is not collected."""
        task = asyncio.create_task(self.stop(grace=0))
        self._stoppers.add(task)
        task.add_done_callback(self._stoppers.discard)

    def max_memory_mb(self) -> int:
        """REPORT's `Max Memory Used`: the most the environment was seen using, in MB.

        That is the largest sample of its group (`_memory.py`) and the leader's own peak
        (`VmHWM`, one /proc read), remembered across its death. It never exceeds
        MemorySize: a sandbox's cgroup cannot hold more, and REPORT lines of functions AWS
        killed for memory show `Max Memory Used` equal to or just under `Memory Size`.
        """
        if self._process is not None and self._process.returncode is None:
            self._peak_memory = max(self._peak_memory, resident(self._process.pid)[1])
        if not self._peak_memory:
            return 0
        return min(self.spec.memory_size, max(1, self._peak_memory // MIB))

    async def settle_output(self) -> None:
        """Let output the runtime wrote before its last post reach the invocation's log.

        The runtime flushes before posting, so the bytes are already in the pipe; a few
        loop turns let the reader task move them into the log before END is written.
        """
        if self._process is None or self.exited.is_set():
            await asyncio.sleep(0.01)
            return
        for _ in range(3):
            await asyncio.sleep(0)
        await asyncio.sleep(0.002)
