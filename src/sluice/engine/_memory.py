"""MemorySize enforcement: how much memory a busy environment's process group holds.

On AWS a sandbox runs in a cgroup whose limit is the function's MemorySize; a function that
outgrows it is killed and the invocation ends with `Runtime.OutOfMemory`. A cgroup of its
own would need privileges a developer's machine may not grant, so sluice measures instead.
One watcher per engine samples every busy environment every `SAMPLE_INTERVAL` seconds (idle
ones are not sampled: AWS freezes an idle sandbox), and reports the first sample over the
limit to the environment, which settles the invocation and kills the group.

What one sample counts, per process group (what `killpg` reaches):

* a group of one process: its resident set (`VmRSS`) and its peak (`VmHWM`, which the kernel
  keeps), so the leader's spike between two samples is still caught at the next one;
* a group of several: the sum of their proportional set sizes (`Pss`), which counts a page
  shared after `fork()` once across the group, as a cgroup charges it, where a sum of
  resident sets would count it in every process; the leader's peak still counts.

A child's spike that starts and ends between two samples escapes, and so does the memory of
a process that left the group (`setsid`). A sample costs one pass over `/proc` (one
`getpgid` per process on the machine) and one or two small reads per member; nothing is
measured per chunk or per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Collection

logger = logging.getLogger("sluice.engine")

SAMPLE_INTERVAL = 0.05
MIB = 1024 * 1024


def group_members(pgids: Collection[int]) -> dict[int, list[int]]:
    """The processes of each wanted group, from one pass over /proc."""
    members: dict[int, list[int]] = {pgid: [] for pgid in pgids}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        pid = int(name)
        try:
            group = members.get(os.getpgid(pid))
        except OSError:  # gone since the listing
            continue
        if group is not None:
            group.append(pid)
    return members


def _read(path: str) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.read(fd, 8192)
    finally:
        os.close(fd)


def _kib_field(text: bytes, name: bytes) -> int:
    """A `Name:   123 kB` field of a /proc status or smaps_rollup file, in bytes."""
    start = text.find(name)
    if start < 0:
        return 0
    return int(text[start + len(name) :].split(maxsplit=1)[0]) * 1024


def resident(pid: int) -> tuple[int, int]:
    """A process's resident set now and at its peak (VmRSS, VmHWM), in bytes; 0s if gone."""
    try:
        status = _read(f"/proc/{pid}/status")
    except OSError:
        return 0, 0
    return _kib_field(status, b"\nVmRSS:"), _kib_field(status, b"\nVmHWM:")


def proportional(pid: int) -> int:
    """A process's proportional set size (Pss), in bytes; 0 if gone."""
    try:
        return _kib_field(_read(f"/proc/{pid}/smaps_rollup"), b"\nPss:")
    except OSError:
        return 0


def group_usage(leader: int, members: Collection[int]) -> int:
    """What one sample counts for a group (module docstring), in bytes.

    The leader may be gone while its children still hold memory: then they are summed.
    """
    current, peak = resident(leader)
    if list(members) != [leader]:
        current = sum(proportional(pid) for pid in members)
    return max(current, peak)


class Watch:
    """One busy environment under watch: its group, its limit, the most it was seen using."""

    def __init__(self, pgid: int, limit: int, on_exceeded: Callable[[], None]) -> None:
        self.pgid = pgid
        self.limit = limit
        self.on_exceeded = on_exceeded
        self.peak = 0


class MemoryWatcher:
    """Samples every watched group on one timer, running only while something is watched."""

    def __init__(self, interval: float = SAMPLE_INTERVAL) -> None:
        self._interval = interval
        self._watches: set[Watch] = set()
        self._task: asyncio.Task[None] | None = None

    def watch(self, pgid: int, limit_bytes: int, on_exceeded: Callable[[], None]) -> Watch:
        """Sample group `pgid` until `unwatch`; call `on_exceeded` once, on the first sample
        over `limit_bytes`, and stop watching it."""
        watch = Watch(pgid, limit_bytes, on_exceeded)
        self._watches.add(watch)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())
        return watch

    def unwatch(self, watch: Watch) -> None:
        self._watches.discard(watch)

    async def _run(self) -> None:
        while self._watches:
            try:
                self.sample()
            except Exception:  # one bad sample must not end the watch of every environment
                logger.exception("could not sample the memory of function processes")
            await asyncio.sleep(self._interval)

    def sample(self) -> None:
        """Measure every watched group once."""
        watches = list(self._watches)
        members = group_members({watch.pgid for watch in watches})
        for watch in watches:
            used = group_usage(watch.pgid, members[watch.pgid])
            watch.peak = max(watch.peak, used)
            if used > watch.limit and watch in self._watches:
                self._watches.discard(watch)
                watch.on_exceeded()

    async def close(self) -> None:
        """Stop sampling: the engine is closing."""
        self._watches.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
