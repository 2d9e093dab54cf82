"""The engine: functions' execution environments and the life of each invocation.

It owns which environment serves an invocation (warm reuse first, then a new process up to
the function's concurrency limit, else `TooManyRequests`), the START/END/REPORT log lines,
and stopping idle or broken environments. It knows nothing of HTTP routes or SAM: the
server hands it an `InvokeRequest` and reads the returned `Invocation`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sluice.engine import _memory, _runtimes
from sluice.engine._environment import Environment
from sluice.engine._invocation import (
    FunctionSpec,
    Invocation,
    InvocationLog,
    InvokeRequest,
    StreamStart,
)
from sluice.engine._runtimes import RESERVED_VARIABLES, SUPPORTED_RUNTIMES
from sluice.engine._states import EnvState
from sluice.errors import TooManyRequests
from sluice.protocol import runtime as rt

__all__ = [
    "RESERVED_VARIABLES",
    "SUPPORTED_RUNTIMES",
    "Engine",
    "EngineConfig",
    "EnvState",
    "Environment",
    "FunctionSpec",
    "Invocation",
    "InvocationLog",
    "InvokeRequest",
    "StreamStart",
]

_logger = logging.getLogger("sluice.engine")

# Throttled async (Event) invocations are retried, as Lambda's internal queue does.
_ASYNC_RETRY_SECONDS = 0.2
# A bare function name, as the Lambda API allows it; it also names the function's log file.
_FUNCTION_NAME = re.compile(r"[a-zA-Z0-9_-]{1,140}")
# At shutdown, how long invocations of stopped environments get to write END/REPORT.
_SHUTDOWN_FINALIZE_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Engine settings; all have the defaults `sluice serve` uses."""

    log_dir: Path
    concurrency_limit: int = 10
    idle_timeout: float = 300.0
    stop_grace: float = 2.0
    max_stream_response: int = rt.MAX_STREAMED_RESPONSE


def _append(path: Path, data: bytes) -> None:
    """Append with bare system calls: every invocation does this, and a buffered text file
    costs five more (fstat, lseek, ioctl, fcntl) and two Python objects per call. O_APPEND
    keeps concurrent appends whole."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


class Engine:
    """Runs invocations in per-function pools of environments. See module docstring."""

    def __init__(self, config: EngineConfig, warn: Callable[[str], None] = _logger.warning) -> None:
        self.config = config
        self._warn = warn
        self._envs: dict[str, list[Environment]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._reaper: asyncio.Task[None] | None = None
        self._warned: set[str] = set()
        # Event invocations waiting for an environment, by function: see `drop_events`.
        self._queued: dict[str, set[object]] = {}
        self._closing = False
        self._log_written = asyncio.Event()
        self._memory = _memory.MemoryWatcher()
        config.log_dir.mkdir(parents=True, exist_ok=True)

    def start(self) -> None:
        self._reaper = asyncio.create_task(self._reap_idle())

    async def invoke(self, request: InvokeRequest) -> Invocation:
        """Start an invocation; the caller reads its events.

        Raises:
            TooManyRequests: every environment the function may have is busy.
        """
        env = await self._acquire(request)
        limit = self.config.max_stream_response if request.streaming else rt.MAX_BUFFERED_RESPONSE
        invocation = Invocation(request, limit)
        env.assign(invocation)
        self._spawn_task(self._supervise(env, invocation))
        return invocation

    def invoke_async(
        self, request: InvokeRequest, settled: Callable[[], None] | None = None
    ) -> None:
        """Queue an Event invocation; it runs in the background, retried while throttled.

        `settled` is called once it has run, whatever its outcome (sluice runs an event
        once: no retries of a function error), so the caller can drop its durable copy.
        It is not called for an event the engine's `close` interrupts or `drop_events`
        drops: the first must run again at the next start, the second never.
        """
        token = object()
        self._queued.setdefault(request.function.name, set()).add(token)
        self._spawn_task(self._run_async(request, token, settled))

    def drop_events(self, name: str) -> int:
        """Forget the function's queued Event invocations not yet started (it was deleted);
        returns how many there were, and warns: they were accepted, and will not run."""
        dropped = len(self._queued.pop(name, ()))
        if dropped:
            self._warn(f"dropped {dropped} pending Event invocation(s) of deleted function {name}")
        return dropped

    async def _run_async(
        self, request: InvokeRequest, token: object, settled: Callable[[], None] | None
    ) -> None:
        try:
            invocation = await self._start_queued(request, token)
            if invocation is None:
                return
            invocation.detach()
            await invocation.wait_finalized()
        except Exception:  # it could not run: that is its outcome
            _logger.exception("event invocation of %s failed", request.function.name)
        if settled is not None and not self._closing:
            settled()

    async def _start_queued(self, request: InvokeRequest, token: object) -> Invocation | None:
        """Start a queued event once an environment is free; None if it was dropped or the
        engine is closing (the environments it stops free slots nothing must take)."""
        name = request.function.name
        try:
            while token in self._queued.get(name, ()) and not self._closing:
                try:
                    return await self.invoke(request)
                except TooManyRequests:
                    await asyncio.sleep(_ASYNC_RETRY_SECONDS)
            return None
        finally:
            queued = self._queued.get(name)
            if queued is not None:
                queued.discard(token)
                if not queued:
                    del self._queued[name]

    async def _acquire(self, request: InvokeRequest) -> Environment:
        spec = request.function
        if spec.runtime not in self._warned:
            await self._warn_version(spec)
        envs = self._envs.setdefault(spec.name, [])
        envs[:] = [env for env in envs if env.alive]
        for env in envs:
            if env.state is not EnvState.IDLE:
                continue
            if env.spec.revision == spec.revision:
                return env
            self._spawn_task(env.stop())  # warm, but for code or configuration now replaced
        if len(envs) >= self.config.concurrency_limit:
            raise TooManyRequests("Rate Exceeded.")
        env = Environment(spec, request.region, self.config.stop_grace, self._memory)
        envs.append(env)
        await env.start()
        return env

    async def _warn_version(self, spec: FunctionSpec) -> None:
        """Once per runtime. Asking `node --version` blocks, so it runs off the loop that
        carries every stream."""
        self._warned.add(spec.runtime)
        message = await asyncio.to_thread(_runtimes.version_warning, spec)
        if message:
            self._warn(message)

    async def _supervise(self, env: Environment, invocation: Invocation) -> None:
        """Wait for the outcome, close the log with END/REPORT, release the environment.

        Whatever fails while closing the log, the invocation is still finalized and its log
        kept: a caller waiting for the log tail (`LogType: Tail`) must not wait forever.
        """
        try:
            outcome = await invocation.wait_done()
            await env.settle_output()
            self._close_log(env, invocation, outcome)
        except Exception:
            _logger.exception("could not close the log of invocation %s", invocation.request_id)
        finally:
            invocation.mark_finalized()
        self._append_function_log(invocation)

    def _close_log(self, env: Environment, invocation: Invocation, outcome: rt.Outcome) -> None:
        duration = (time.monotonic() - invocation.started_at) * 1000
        if outcome.kind is rt.OutcomeKind.TIMEOUT:
            duration = max(duration, env.spec.timeout * 1000)
        report = (
            f"REPORT RequestId: {invocation.request_id}\tDuration: {duration:.2f} ms"
            f"\tBilled Duration: {math.ceil(duration)} ms"
            f"\tMemory Size: {env.spec.memory_size} MB"
            f"\tMax Memory Used: {env.max_memory_mb()} MB"
        )
        if invocation.init_duration_ms is not None:
            report += f"\tInit Duration: {invocation.init_duration_ms:.2f} ms"
        report += outcome.report_status() + "\t"
        invocation.log.add(f"END RequestId: {invocation.request_id}")
        invocation.log.add(report)

    def _append_function_log(self, invocation: Invocation) -> None:
        """Keep every invocation's log per function: `<data-dir>/logs/<function>.log`."""
        path = self.log_file(invocation.request.function.name)
        try:
            _append(path, invocation.log.text().encode("utf-8", "replace"))
        except OSError as exc:
            self._warn(f"could not write {path}: {exc}")
        self._log_written.set()
        self._log_written = asyncio.Event()

    def log_file(self, name: str) -> Path:
        """Where a function's log is kept.

        Raises:
            ValueError: `name` is not a plain function name (a path would escape the folder).
        """
        if not _FUNCTION_NAME.fullmatch(name):
            raise ValueError(f"not a function name: {name!r}")
        return self.config.log_dir / f"{name}.log"

    async def log_written(self) -> None:
        """Return once the next invocation's log has been appended to its function's file."""
        await self._log_written.wait()

    async def forget(self, name: str) -> None:
        """Stop every environment of a function (deleted or updated)."""
        envs = self._envs.pop(name, [])
        await asyncio.gather(*(env.stop() for env in envs))

    async def _reap_idle(self) -> None:
        interval = max(0.05, min(1.0, self.config.idle_timeout / 4))
        while True:
            await asyncio.sleep(interval)
            cutoff = time.monotonic() - self.config.idle_timeout
            for envs in self._envs.values():
                for env in envs:
                    if env.state is EnvState.IDLE and env.idle_since < cutoff:
                        self._spawn_task(env.stop())

    def _spawn_task(self, coro: object) -> None:
        task = asyncio.create_task(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Stop every environment (SIGTERM, grace, SIGKILL) and background task."""
        self._closing = True  # events cut short here are not settled: they run again
        if self._reaper is not None:
            self._reaper.cancel()
        envs = [env for group in self._envs.values() for env in group]
        await asyncio.gather(*(env.stop() for env in envs), return_exceptions=True)
        # Stopped environments settle their invocations; let the logs close (END/REPORT)
        # so in-flight streams still end with an InvokeComplete.
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=_SHUTDOWN_FINALIZE_SECONDS)
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._memory.close()
