"""Every execution environment this process runs, in memory and in the data dir.

In memory, the registry gives the stop policy (`_process.stop`) each environment's
`Sandbox`, and tells the orphan reaper which children are environment leaders (asyncio
waits for those; nobody else may).

On disk, each environment of a server is one small file, `<data-dir>/run/<pid>.json`
(leader pid, its start time, the boot id, the log stream name), written at spawn through a
temp file and a rename and removed once its processes are gone. A server that died without
stopping its functions (SIGKILL, the OOM killer) leaves these files behind, and the next
server on the same data dir (the store's lock says the old one is dead) stops whatever they
still name before it listens. They are not fsynced: they only matter while the processes
they name may still run, and those do not survive a crash of the machine either; a file
from an earlier boot is discarded. The file of a spawn is found by its working directory,
the function's code folder inside the data dir, so the engine needs no extra plumbing.

`sluice serve` also makes itself a child subreaper (Linux): a process orphaned anywhere
below it is re-parented to the server rather than to init, so nothing a function starts can
escape the server's view, and the server reaps the ones that exit and kills the ones left
at shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import logging
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from sluice.engine._sandbox import (
    ProcStat,
    Sandbox,
    children,
    descendants,
    read_stat,
    reap,
    terminate,
)

_logger = logging.getLogger("sluice.engine")

MARKER_VARIABLE = "AWS_LAMBDA_LOG_STREAM_NAME"
_PR_SET_CHILD_SUBREAPER = 36
_TMP_PREFIX = ".tmp-"
# How often the subreaper collects orphans that ended and records the ones running (an
# orphan younger than this is not yet on disk if the server is killed).
REAP_INTERVAL = 0.5


@dataclass(frozen=True, slots=True)
class _Entry:
    sandbox: Sandbox
    data_dir: Path | None
    file: Path | None


_live: dict[int, _Entry] = {}
# Adopted orphans still running: pid -> (start time, its record in the data dir).
_orphans: dict[int, tuple[int, Path | None]] = {}
_run_dirs: dict[Path, Path] = {}
_spawning = 0
_adopting = False


# -- spawn and stop ---------------------------------------------------------------------


@contextlib.contextmanager
def spawning() -> Iterator[None]:
    """Around a spawn: until the new leader is registered, the reaper must not mistake it
    (it may already have exited) for an orphan."""
    global _spawning  # noqa: PLW0603
    _spawning += 1
    try:
        yield
    finally:
        _spawning -= 1


def register(pid: int, env: Mapping[str, str], cwd: str) -> Sandbox | None:
    """Remember a just-spawned leader; None if it is already gone (nothing to track)."""
    stat = read_stat(pid)
    if stat is None:
        return None
    marker = env.get(MARKER_VARIABLE)
    sandbox = Sandbox(pid, stat.start, f"{MARKER_VARIABLE}={marker}".encode() if marker else b"")
    data_dir = _owner(Path(cwd))
    file = _write_record(_run_dirs[data_dir], sandbox, "env") if data_dir else None
    _live[pid] = _Entry(sandbox, data_dir, file)
    return sandbox


def sandbox(pid: int) -> Sandbox | None:
    entry = _live.get(pid)
    return entry.sandbox if entry is not None else None


def unregister(pid: int) -> None:
    """The environment's processes are gone: forget it, and its file."""
    entry = _live.pop(pid, None)
    if entry is not None and entry.file is not None:
        with contextlib.suppress(OSError):
            entry.file.unlink()


def _owner(cwd: Path) -> Path | None:
    """The attached data dir holding this code folder, if any."""
    for data_dir in _run_dirs:
        if cwd.is_relative_to(data_dir):
            return data_dir
    return None


# -- the data dir's run/ folder ---------------------------------------------------------


def attach(data_dir: Path) -> int:
    """Start recording spawns under `data_dir` (absolute); first stop what a dead server
    left running there. Returns how many processes were stopped. Call it only while
    holding the data dir (the store's lock)."""
    run = data_dir / "run"
    run.mkdir(exist_ok=True)
    stopped = _recover(run)
    _run_dirs[data_dir] = run
    return stopped


def detach(data_dir: Path) -> int:
    """Stop recording under `data_dir`; kill any of its environments still registered
    (none, after an orderly engine shutdown). Returns how many processes that killed."""
    _run_dirs.pop(data_dir, None)
    killed = 0
    for pid, entry in list(_live.items()):
        if entry.data_dir == data_dir:
            killed += entry.sandbox.kill()
            unregister(pid)
    return killed


def _write_record(run: Path, sandbox: Sandbox, kind: str) -> Path | None:
    record = {
        "pid": sandbox.leader,
        "start": sandbox.start,
        "boot": boot_id(),
        "marker": sandbox.marker.decode(),
    }
    final = run / f"{kind}-{sandbox.leader}.json"
    try:
        fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, dir=run)
        with os.fdopen(fd, "w") as handle:
            json.dump(record, handle)
        os.replace(tmp, final)
    except OSError as exc:
        _logger.warning("could not record process %s in %s: %s", sandbox.leader, run, exc)
        return None
    return final


def _recover(run: Path) -> int:
    """Kill what the records in `run` still name, and remove every record."""
    boot = boot_id()
    sandboxes = [box for path in run.iterdir() if (box := _read_record(path, boot))]
    stopped = 0
    if sandboxes:
        stopped = terminate(
            lambda procs: set().union(*(box.members(procs) for box in sandboxes)), spare=()
        )
    for path in run.iterdir():
        with contextlib.suppress(OSError):
            path.unlink()
    return stopped


def _read_record(path: Path, boot: str) -> Sandbox | None:
    """The sandbox a record of this boot names; None for an older record, a temp file or
    anything that is not a record."""
    if path.name.startswith(_TMP_PREFIX):
        return None
    try:
        record = json.loads(path.read_text())
        pid, start, marker = record["pid"], record["start"], record["marker"]
        if record["boot"] != boot or not all(isinstance(n, int) for n in (pid, start)):
            return None
        return Sandbox(pid, start, marker.encode())
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def boot_id() -> str:
    """Changes with every boot: a record from an earlier one names no process of ours."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


# -- orphans ----------------------------------------------------------------------------


def adopt_orphans() -> bool:
    """Become a child subreaper (Linux `prctl`), so processes orphaned below this one are
    re-parented here, not to init. Process-wide: only a program that owns its process
    (`sluice serve`) should ask. Returns whether it worked."""
    global _adopting  # noqa: PLW0603
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        _adopting = libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        _adopting = False
    return _adopting


def _adopted_children() -> list[ProcStat]:
    """Our children that came to us as orphans: not environment leaders and not in our
    session (the server's own helpers, like `node --version`, stay in it; nothing a
    function starts can join it)."""
    session = os.getsid(0)
    found = []
    for pid in children(os.getpid()):
        stat = read_stat(pid)
        if stat is not None and pid not in _live and stat.sid != session:
            found.append(stat)
    return found


def reap_adopted() -> None:
    """Collect the exit status of adopted orphans that ended, so they leave no zombies,
    and keep a record of the ones still running, so a server that dies leaves them to be
    found. Skipped while a spawn is in flight: its leader is not registered yet."""
    if _spawning:
        return
    running: dict[int, int] = {}
    for stat in _adopted_children():
        if stat.zombie:
            reap(stat.pid)
        else:
            running[stat.pid] = stat.start
    _record_orphans(running)


def _record_orphans(running: Mapping[int, int]) -> None:
    """Bring the orphan records in line with `running` (pid -> start time)."""
    for pid, (start, file) in list(_orphans.items()):
        if running.get(pid) != start:
            del _orphans[pid]
            if file is not None:
                with contextlib.suppress(OSError):
                    file.unlink()
    run = next(iter(_run_dirs.values()), None)
    for pid, start in running.items():
        if pid not in _orphans:
            box = Sandbox(pid, start, b"")
            _orphans[pid] = (start, _write_record(run, box, "orphan") if run else None)


async def reap_forever() -> None:
    """`reap_adopted` every `REAP_INTERVAL` seconds, until cancelled."""
    while True:
        await asyncio.sleep(REAP_INTERVAL)
        try:
            reap_adopted()
        except Exception:  # /proc surprises must not end the reaping for good
            _logger.exception("could not reap adopted processes")


def stop_adopted() -> int:
    """At shutdown, after every environment is stopped: kill whatever was adopted and is
    still running, with everything below it. Returns how many processes that killed."""
    if not _adopting:
        return 0

    def select(procs: dict[int, ProcStat]) -> set[int]:
        return descendants([stat.pid for stat in _adopted_children()], procs)

    killed = terminate(select, spare=set(_live))
    _record_orphans({})
    return killed
