"""What the soak measures about the server, read from /proc and the data dir.

Linux only, by design: /proc is where a leaked descriptor, thread or child process shows up
without asking the server, so a server that lies about itself cannot pass. Processes are
found two ways, because a process that escaped its parent (re-parented to init) is no
longer a descendant: by walking the parent links down from the server, and by the
`AWS_LAMBDA_FUNCTION_NAME` in each process's environment, which names this run's functions.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Proc:
    """One process: its id, parent, state letter and start time (pid reuse tells apart)."""

    pid: int
    ppid: int
    state: str
    start: int


@dataclass
class Sample:
    """The server at one moment. Sizes in bytes, RSS in KiB as /proc gives it."""

    label: str
    at: float  # seconds since the start sample (negative during warm-up)
    fds: int
    fd_kinds: dict[str, int]
    rss_kib: int
    threads: int
    processes: int
    zombies: int
    tagged: int  # this run's function processes anywhere, descendants or not
    data_bytes: int  # the data dir without logs/
    log_bytes: int
    stderr_bytes: int
    descendants: list[tuple[int, int]] = field(default_factory=list)  # (pid, start)

    def public(self) -> dict[str, object]:
        """The JSON form: the pid list is for the survivor check, not the report."""
        data = asdict(self)
        del data["descendants"]
        return data


def processes() -> dict[int, Proc]:
    """Every process now, from /proc/<pid>/stat (the command name may hold spaces and
    parentheses, so fields are counted from the last `)`)."""
    table: dict[int, Proc] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # exited while we looked
        fields = text[text.rindex(")") + 2 :].split()
        table[int(entry)] = Proc(int(entry), int(fields[1]), fields[0], int(fields[19]))
    return table


def descendants(root: int, table: dict[int, Proc]) -> list[Proc]:
    """Children, grandchildren, ... of `root`, by parent links."""
    children: dict[int, list[Proc]] = {}
    for proc in table.values():
        children.setdefault(proc.ppid, []).append(proc)
    found, queue = [], [root]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child.pid)
    return found


def tagged(prefix: str, table: dict[int, Proc]) -> list[Proc]:
    """Processes whose environment names one of this run's functions, wherever they are."""
    marker = f"AWS_LAMBDA_FUNCTION_NAME={prefix}".encode()
    found = []
    for proc in table.values():
        try:
            environ = Path(f"/proc/{proc.pid}/environ").read_bytes()
        except OSError:
            continue  # another user's, or gone
        if any(item.startswith(marker) for item in environ.split(b"\0")):
            found.append(proc)
    return found


def _status(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        return dict(line.rstrip("\n").split(":\t", 1) for line in status if ":\t" in line)


def _fd_kinds(pid: int, data_dir: Path) -> dict[str, int]:
    """Descriptors by what they point at, so a leak names its kind in the report."""
    kinds: dict[str, int] = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith(("socket:", "pipe:")):
            kind = target.split(":")[0]
        elif target.startswith("anon_inode:"):
            kind = target.removeprefix("anon_inode:").strip("[]")
        elif target.startswith(str(data_dir)):
            kind = "data dir"
        else:
            kind = "other file"
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def tree_bytes(root: Path, skip: Path | None = None) -> int:
    """Total size of the files under `root`, leaving out the folder `skip`."""
    total = 0
    for folder, dirs, files in os.walk(root):
        if skip is not None and Path(folder) == skip.parent:
            dirs[:] = [name for name in dirs if name != skip.name]
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                continue  # replaced while we looked
    return total


def sample(
    label: str, at: float, pid: int, prefix: str, data_dir: Path, stderr_path: Path
) -> Sample:
    """Measure the server `pid` now."""
    table = processes()
    family = descendants(pid, table)
    status = _status(pid)
    kinds = _fd_kinds(pid, data_dir)
    logs = data_dir / "logs"
    return Sample(
        label=label,
        at=round(at, 1),
        fds=sum(kinds.values()),
        fd_kinds=kinds,
        rss_kib=int(status["VmRSS"].split()[0]),
        threads=int(status["Threads"]),
        processes=len(family),
        zombies=sum(1 for proc in family if proc.state == "Z"),
        tagged=len(tagged(prefix, table)),
        data_bytes=tree_bytes(data_dir, skip=logs),
        log_bytes=tree_bytes(logs),
        stderr_bytes=stderr_path.stat().st_size,
        descendants=[(proc.pid, proc.start) for proc in family],
    )


def survivors(
    prefix: str, seen: set[tuple[int, int]], wait: float = 3.0
) -> list[dict[str, object]]:
    """After the server stopped: its processes still alive, by either mark (a pid seen as the
    server or its descendant, with the same start time; this run's function name in the
    environment). Polls for `wait` seconds first, since an orphan killed at the
    server's exit is reaped by init a moment later."""
    deadline = time.monotonic() + wait
    while True:
        table = processes()
        alive = {proc.pid: proc for proc in tagged(prefix, table)}
        for proc in table.values():
            if (proc.pid, proc.start) in seen:
                alive[proc.pid] = proc
        if not alive or time.monotonic() >= deadline:
            return [_describe(proc) for proc in alive.values()]
        time.sleep(0.1)


def _describe(proc: Proc) -> dict[str, object]:
    try:
        command = Path(f"/proc/{proc.pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        command = "?"
    return {"pid": proc.pid, "ppid": proc.ppid, "state": proc.state, "command": command[:200]}


def report_lines(log_dir: Path, names: dict[str, str]) -> dict[str, int]:
    """REPORT lines per function key in the server's per-function log files: one per
    invocation that reached a function, async and abandoned ones included."""
    counts = {}
    for key, name in names.items():
        path = log_dir / f"{name}.log"
        try:
            with path.open("rb") as handle:
                counts[key] = sum(1 for line in handle if line.startswith(b"REPORT RequestId:"))
        except FileNotFoundError:
            counts[key] = 0
    return counts
