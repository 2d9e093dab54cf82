"""Which processes belong to an execution environment, and killing all of them.

Killing the environment's process group is not enough: a handler can start a child in a
session of its own (`subprocess.Popen(..., start_new_session=True)`, `setsid`, a daemon's
double fork), and that child leaves the group. On AWS it dies with the sandbox anyway; here
it would outlive the environment and the server. So an environment is recognised by what
its processes carry, read from /proc (Linux):

* the leader itself, by pid and start time;
* its session: everything the leader starts that did not call `setsid` stays in the
  leader's session (and so in no one else's), even once its parent is gone;
* its `AWS_LAMBDA_LOG_STREAM_NAME`, which is random per environment (128 bits) and which
  children inherit with the rest of the environment, across `setsid` and re-parenting;
  no extra variable is needed, so a function sees nothing but Lambda's own;
* descent: any process whose parent belongs (which catches a child started with a
  cleared environment while its parent is alive), and processes seen as members before.

Every rule only admits processes that started no earlier than the leader, and the session
rule is dropped when the leader's pid now names another process (pid reuse), so a stranger
is never taken for a member. Killing freezes first: members get SIGSTOP, /proc is read again
until no new member appears (a stopped process cannot fork, and a child forked while the
signal was on its way still names its stopped parent), then all get SIGKILL. That is what a
cgroup freezer gives, without needing cgroups.

What escapes: a process that left the session, cleared its environment and lost its parent
(a daemon double-forked with `env={...}`) carries nothing that names its environment.
`sluice serve` adopts such orphans and kills them at its shutdown (`_registry`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

# Freeze rounds before giving up on a process that forks faster than we can stop it.
_MAX_FREEZE_ROUNDS = 50
# How long `terminate` waits for killed processes to disappear.
_GONE_SECONDS = 2.0
_GONE_POLL = 0.01

Identity = tuple[int, int]
"""(pid, start time in clock ticks since boot): a process, immune to pid reuse."""


@dataclass(frozen=True, slots=True)
class ProcStat:
    """The fields of /proc/<pid>/stat that membership needs."""

    pid: int
    state: str
    ppid: int
    pgid: int
    sid: int
    start: int

    @property
    def identity(self) -> Identity:
        return (self.pid, self.start)

    @property
    def zombie(self) -> bool:
        return self.state in ("Z", "X")


def read_stat(pid: int) -> ProcStat | None:
    """One process's stat, or None if it is gone. Fields are counted from the last `)`
    because the command name may hold spaces and parentheses."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2 :].split()
    return ProcStat(
        pid=pid,
        state=fields[0].decode(),
        ppid=int(fields[1]),
        pgid=int(fields[2]),
        sid=int(fields[3]),
        start=int(fields[19]),
    )


def snapshot() -> dict[int, ProcStat]:
    """Every process now; none where there is no /proc (then nothing is tracked)."""
    procs: dict[int, ProcStat] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return procs
    for name in names:
        if name.isdigit() and (stat := read_stat(int(name))) is not None:
            procs[stat.pid] = stat
    return procs


def environ_has(pid: int, entry: bytes) -> bool:
    """Whether the process was started with `entry` (`KEY=VALUE`) in its environment.

    Another user's process cannot be read, and so is never ours.
    """
    try:
        with open(f"/proc/{pid}/environ", "rb") as handle:
            return entry in handle.read().split(b"\0")
    except OSError:
        return False


def children(pid: int) -> list[int]:
    """The direct children of `pid`, from every thread's `children` file, or a full scan
    where the kernel lacks CONFIG_PROC_CHILDREN."""
    found: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as handle:
                found.extend(int(child) for child in handle.read().split())
    except FileNotFoundError:
        return [stat.pid for stat in snapshot().values() if stat.ppid == pid]
    except OSError:
        return []
    return found


def descendants(roots: Iterable[int], procs: dict[int, ProcStat]) -> set[int]:
    """`roots` and everything below them by parent links."""
    by_parent: dict[int, list[int]] = {}
    for stat in procs.values():
        by_parent.setdefault(stat.ppid, []).append(stat.pid)
    found = set(roots)
    queue = list(found)
    while queue:
        for child in by_parent.get(queue.pop(), ()):
            if child not in found:
                found.add(child)
                queue.append(child)
    return found


@dataclass(frozen=True, slots=True)
class Sandbox:
    """One execution environment's processes, recognisable after its leader is gone.

    `leader` and `start` identify the process sluice spawned; `marker` is the
    `AWS_LAMBDA_LOG_STREAM_NAME=...` entry of its environment (empty: match none). An
    adopted orphan is recorded the same way, as the leader of a sandbox without a marker.
    """

    leader: int
    start: int
    marker: bytes

    def members(self, procs: dict[int, ProcStat], seen: Collection[Identity] = ()) -> set[int]:
        """The pids of this environment's processes in `procs` (see module docstring)."""
        leader = procs.get(self.leader)
        session_ok = leader is None or leader.start == self.start
        found: set[int] = set()
        for stat in procs.values():
            if stat.start < self.start:
                continue
            if (
                stat.identity == (self.leader, self.start)
                or (session_ok and stat.sid == self.leader)
                or stat.identity in seen
                or (self.marker and not stat.zombie and environ_has(stat.pid, self.marker))
            ):
                found.add(stat.pid)
        found = descendants(found, procs)
        found.discard(os.getpid())
        found.discard(1)
        return found

    def survey(self) -> set[Identity]:
        """The members now, remembered by identity so they can be found again once their
        parent is gone and their environment changed."""
        procs = snapshot()
        return {procs[pid].identity for pid in self.members(procs) if pid in procs}

    def kill(self, seen: Collection[Identity] = (), spare: Collection[int] = ()) -> int:
        """Kill every member; returns how many were alive. `spare` are pids not to reap
        (the leader, which asyncio waits for)."""
        return terminate(lambda procs: self.members(procs, seen), spare={self.leader, *spare})


def terminate(select: Callable[[dict[int, ProcStat]], set[int]], spare: Collection[int]) -> int:
    """Freeze whatever `select` picks until nothing new appears, then SIGKILL it all and
    wait (bounded) for it to go. Zombies that are our children and not in `spare` are
    reaped. Returns the number of live processes killed."""
    frozen: dict[int, int] = {}
    dead: dict[int, int] = {}
    for _ in range(_MAX_FREEZE_ROUNDS):
        procs = snapshot()
        picked = [procs[pid] for pid in select(procs) if pid in procs]
        dead.update(stat.identity for stat in picked if stat.zombie)
        fresh = [s for s in picked if not s.zombie and frozen.get(s.pid) != s.start]
        if not fresh:
            break
        for stat in fresh:
            _signal(stat.identity, signal.SIGSTOP)
            frozen[stat.pid] = stat.start
    for identity in frozen.items():
        _signal(identity, signal.SIGKILL)
    _wait_gone({**dead, **frozen}, set(spare))
    return len(frozen)


def _signal(identity: Identity, sig: int) -> None:
    """Signal the process `identity` names, never one that took its pid since: through a
    pidfd (Linux 5.3+), opened before the start time is checked, where there is one."""
    pid, start = identity
    with contextlib.suppress(ProcessLookupError, PermissionError):
        try:
            fd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            fd = -1
        try:
            stat = read_stat(pid)
            if stat is None or stat.start != start:
                return
            if fd >= 0:
                signal.pidfd_send_signal(fd, sig)
            else:
                os.kill(pid, sig)
        finally:
            if fd >= 0:
                os.close(fd)


def _wait_gone(frozen: dict[int, int], spare: set[int]) -> None:
    """Until every killed process is gone or a zombie; reap the zombies that are ours."""
    me = os.getpid()
    deadline = time.monotonic() + _GONE_SECONDS
    pending = dict(frozen)
    while pending and time.monotonic() < deadline:
        for pid, start in list(pending.items()):
            stat = read_stat(pid)
            if stat is None or stat.start != start:
                del pending[pid]
            elif stat.zombie:
                if stat.ppid == me and pid not in spare:
                    reap(pid)
                del pending[pid]
        if pending:
            time.sleep(_GONE_POLL)


def reap(pid: int) -> None:
    """Collect a zombie child's exit status; it may have been collected already."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
