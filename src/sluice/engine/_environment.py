"""One execution environment: a runtime process, its Runtime API server and its log.

The environment owns the facts the Runtime API cannot know: when the process started and
exited, which invocation its output lines belong to, and when an invocation's deadline
passes. Every way an invocation can end while it is assigned here (timeout, crash, init
error, truncation) is settled in this class, always through `Invocation.complete`, where
the first outcome wins.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time

from sluice.engine import _process, _runtimes
from sluice.engine._invocation import FunctionSpec, Invocation
from sluice.engine._states import EnvState, check_transition
from sluice.protocol import runtime as rt
from sluice.runtime_api import RuntimeApiServer

logger = logging.getLogger("sluice.engine")

# After a truncated stream, how long to wait for the process to exit before calling it a
# truncation rather than a crash (spec decision 2 prefers Runtime.ExitError when it died).
EXIT_SETTLE_SECONDS = 0.3


class Environment:
    """A function process and everything that belongs to it. See module docstring."""

    def __init__(self, spec: FunctionSpec, region: str, stop_grace: float) -> None:
        self.spec = spec
        self.region = region
        self.state = EnvState.STARTING
        self.idle_since = time.monotonic()
        self._stop_grace = stop_grace
        self._api = RuntimeApiServer(self)
        self._process: asyncio.subprocess.Process | None = None
        self._started_at = 0.0
        self._init_outcome: rt.Outcome | None = None
        self._current: Invocation | None = None
        self._handed: Invocation | None = None
        self._assigned: asyncio.Queue[Invocation] = asyncio.Queue(maxsize=1)
        self._orphan_log: list[str] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._stoppers: set[asyncio.Task[None]] = set()
        self._peak_memory_mb = 0
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
        self._assigned.put_nowait(invocation)

    def _settled(self, invocation: Invocation) -> None:
        """The outcome is settled: reusable at once (the next call may already be waiting),
        or stopped if the outcome broke the environment."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
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

    async def next_invocation(self) -> tuple[Invocation, bytes]:
        """Runtime API `next`: the runtime is ready; hand it the next assigned invocation."""
        if self._handed is not None and not self._handed.done:
            raise rt.invalid_state_transition("INVOKE", "READY")
        cold = self._handed is None
        # Init ends when the runtime first polls; only the cold-start invocation reports it.
        init_ms = (time.monotonic() - self._started_at) * 1000
        invocation = await self._assigned.get()
        if cold:
            invocation.init_duration_ms = init_ms
        self._handed = invocation
        return invocation, invocation.request.payload

    def init_failed(self, outcome: rt.Outcome) -> None:
        """Runtime API `init/error`: remembered until the process exits."""
        self._init_outcome = outcome

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
        """Peak memory of the process so far, remembered across its death."""
        if self._process is not None and self._process.returncode is None:
            current = _process.max_memory_mb(self._process.pid)
            self._peak_memory_mb = max(self._peak_memory_mb, current)
        return self._peak_memory_mb

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
