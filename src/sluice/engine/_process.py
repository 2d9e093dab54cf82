"""Function processes: started in their own process group, stopped with escalation.

Killing the whole group (not just the leader) covers runtimes that fork: a `bootstrap`
shell script, a handler that spawns children. A child that left the group (its own session)
is found through `_sandbox` and killed too, so "no process left behind" holds for it as
well. Every spawn is registered (`_registry`), in the data dir too, so a server that dies
without stopping its functions leaves a list the next one works through.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator, Mapping, Sequence

from sluice.engine import _registry

# AWS caps one log event at 256 KB; a longer line is cut there instead of held in memory.
MAX_LOG_LINE = 256 * 1024


async def spawn(
    argv: Sequence[str], env: Mapping[str, str], cwd: str
) -> asyncio.subprocess.Process:
    """Start a function process as the leader of a new session and process group.

    stdout and stderr share one pipe so the log keeps the order the function wrote in.
    """
    with _registry.spawning():
        process = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=dict(env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
            limit=MAX_LOG_LINE,
        )
        _registry.register(process.pid, env, cwd)
    return process


def kill_group(pid: int, sig: int = signal.SIGKILL) -> None:
    """Signal every process in the group led by `pid`; a vanished group is not an error."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


async def stop(process: asyncio.subprocess.Process, grace: float) -> int:
    """The one stop policy: SIGTERM to the group, `grace` seconds, then SIGKILL to the group
    and to every other process of the environment.

    The final kill happens even when the leader exited in time, for children it left. The
    environment's processes are surveyed before the SIGTERM, while parent links still show
    who started whom. Returns the leader's exit status once every process is gone.
    """
    sandbox = _registry.sandbox(process.pid)
    seen = await asyncio.to_thread(sandbox.survey) if sandbox is not None else set()
    if process.returncode is None and grace > 0:
        kill_group(process.pid, signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), grace)
    kill_group(process.pid, signal.SIGKILL)
    if sandbox is not None:
        await asyncio.to_thread(sandbox.kill, seen)
    status = await process.wait()
    _registry.unregister(process.pid)
    return status


async def output_lines(process: asyncio.subprocess.Process) -> AsyncIterator[str]:
    """The process's output, line by line, with over-long lines cut at MAX_LOG_LINE."""
    stream = process.stdout
    assert stream is not None
    while True:
        try:
            raw = await stream.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            if exc.partial:
                yield exc.partial.decode("utf-8", "replace")
            return
        except asyncio.LimitOverrunError as exc:
            raw = await stream.readexactly(exc.consumed)
        yield raw.decode("utf-8", "replace").rstrip("\n")
