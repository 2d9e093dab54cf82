"""The peer for the function-URL workloads: cargo-lambda's emulator, in the same run.

Issue 5 asks for the function URL workloads to run against a peer too. cargo-lambda (PyPI
`cargo-lambda`, a native binary) serves function URLs for a runtime started by someone else
(`cargo lambda watch --only-lambda-apis`), so both servers run the same function: the stdlib
runtime in `_peer_runtime.py`, deployed to sluice as a `provided.al2023` package and started
here, pointed at cargo-lambda. A difference in the figures is then a difference between the
servers, not between runtimes.

What cargo-lambda (1.9.2) needs and does, found by running it:

- `cargo` on PATH and a Cargo.toml with a target in its working directory: it runs
  `cargo metadata` before it listens, even with `--only-lambda-apis`. A package without
  dependencies and an empty `src/main.rs` is enough, and nothing is compiled.
- Its Runtime API is `http://<addr>/.rt` (a scheme and a path, which `_peer_runtime`
  accepts); a runtime polling `/.rt/2018-06-01/...` serves the default function `_`, whose
  URL is `/lambda-url/_/` (it is also what any other path falls back to).
- It relays a streamed body chunk by chunk, but reads the prelude and the 8 NUL bytes as two
  separate body frames and insists on a `cookies` field in the prelude (see the runtime).
- It leaves Nagle on for the connections it accepts, so on a keep-alive connection a write
  that follows the response head waits for the client's delayed ACK: about 40 ms to the
  first body byte on Linux, where a fresh connection (quick ACKs) sees well under 1 ms.
  That is the server's behaviour, not the client's, so it is measured, not worked around.
- When its port is taken it exits with status 0 and no message; the first call tells.

The peer lives only inside `cargo_lambda_peer`, and both of its processes are stopped with
their process groups on the way out, however it is left.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from benchmarks._clients import BenchError
from benchmarks._server import BenchServer, create_function, create_url
from benchmarks._url_client import url_get

RUNTIME_FILE = "peer_runtime.py"
BOOTSTRAP = f'#!/bin/sh\nexec python3 "$LAMBDA_TASK_ROOT/{RUNTIME_FILE}"\n'
FUNCTION = "_"  # cargo-lambda's default function: what a runtime without a name serves
START_SECONDS = 60
CHECK_SECONDS = 15  # the runtime starts in well under a second; a dead one never answers
STOP_SECONDS = 10
_CARGO_TOML = '[package]\nname = "sluice-bench-peer"\nversion = "0.1.0"\nedition = "2021"\n'
_RUNTIME_SOURCE = Path(__file__).with_name("_peer_runtime.py")


class PeerUnavailable(RuntimeError):
    """The peer cannot run here; the reason is meant to be printed as "unavailable: reason"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PeerUrl:
    """Where the peer's function URL is: GET `http://host:port{prefix}/?query`."""

    host: str
    port: int
    prefix: str

    def path(self, query: str) -> str:
        """The path and query of a call: `{prefix}/?{query}`."""
        return f"{self.prefix}/?{query}"


def runtime_files() -> dict[str, str]:
    """The `provided.al2023` package of the same runtime: file name → text."""
    return {"bootstrap": BOOTSTRAP, RUNTIME_FILE: _RUNTIME_SOURCE.read_text()}


def deploy_to_sluice(server: BenchServer, name: str) -> PeerUrl:
    """Create the runtime as a sluice function with a RESPONSE_STREAM URL; where it is."""
    create_function(server, name, "provided.al2023", "peer", runtime_files())
    host, port = server.address
    return PeerUrl(host, port, create_url(server, name))


@contextlib.contextmanager
def cargo_lambda_peer() -> Iterator[PeerUrl]:
    """Start cargo-lambda and the runtime, check one call end to end, yield the URL.

    Raises:
        PeerUnavailable: cargo-lambda, cargo or python3 missing, or the peer did not come up.
    """
    cargo_lambda, python = _require_tools()
    workdir = Path(tempfile.mkdtemp(prefix="sluice-bench-peer-"))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        _write_project(workdir)
        port = _free_port()
        processes.append(_start_emulator(cargo_lambda, workdir, port))
        _wait_listening(processes[0], port, workdir / "emulator.log")
        processes.append(_start_runtime(python, workdir, port))
        url = PeerUrl("127.0.0.1", port, f"/lambda-url/{FUNCTION}")
        _check(url, processes, workdir)
        yield url
    finally:
        for process in reversed(processes):
            _stop(process)
        shutil.rmtree(workdir, ignore_errors=True)


def _require_tools() -> tuple[str, str]:
    """(cargo-lambda, python3) paths; the venv's own bin counts even when not activated."""
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    cargo_lambda = shutil.which("cargo-lambda", path=search)
    if cargo_lambda is None:
        raise PeerUnavailable("cargo-lambda is not installed (pip install cargo-lambda)")
    if shutil.which("cargo") is None:
        raise PeerUnavailable("cargo is not on PATH (cargo-lambda runs `cargo metadata`)")
    # The interpreter sluice's `bootstrap` finds, so both servers run the same Python.
    python = shutil.which("python3")
    if python is None:
        raise PeerUnavailable("python3 is not on PATH (the runtime needs it)")
    return cargo_lambda, python


def _write_project(workdir: Path) -> None:
    """The smallest project `cargo metadata` accepts: no dependencies, one empty binary."""
    (workdir / "Cargo.toml").write_text(_CARGO_TOML)
    (workdir / "src").mkdir()
    (workdir / "src" / "main.rs").write_text("fn main() {}\n")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _spawn(
    argv: list[str], workdir: Path, log_name: str, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    """A process in a session (and so a process group) of its own, logging to a file."""
    with open(workdir / log_name, "wb") as log:
        return subprocess.Popen(
            argv,
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _start_emulator(cargo_lambda: str, workdir: Path, port: int) -> subprocess.Popen[bytes]:
    """`cargo lambda watch --only-lambda-apis` on 127.0.0.1:`port`, without the file watcher."""
    argv = [cargo_lambda, "lambda", "watch", "--only-lambda-apis", "--ignore-changes"]
    argv += ["--invoke-address", "127.0.0.1", "--invoke-port", str(port)]
    return _spawn(argv, workdir, "emulator.log", {**os.environ, "NO_COLOR": "1"})


def _start_runtime(python: str, workdir: Path, port: int) -> subprocess.Popen[bytes]:
    """The runtime, with an environment as bare as the one sluice gives a function."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "AWS_LAMBDA_RUNTIME_API": f"http://127.0.0.1:{port}/.rt",
        "AWS_LAMBDA_FUNCTION_NAME": FUNCTION,
        "AWS_LAMBDA_FUNCTION_VERSION": "1",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
    }
    return _spawn([python, str(_RUNTIME_SOURCE)], workdir, "runtime.log", env)


def _wait_listening(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    """Return once the emulator accepts connections; `PeerUnavailable` if it exits or hangs."""
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise PeerUnavailable(f"cargo lambda watch exited ({process.returncode}): {_tail(log)}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise PeerUnavailable(f"cargo lambda watch did not listen within {START_SECONDS} s")


def _check(url: PeerUrl, processes: list[subprocess.Popen[bytes]], workdir: Path) -> None:
    """One `?first` call through the whole path: the peer is ready and streams what we expect.

    cargo-lambda exits with status 0 and no error when its port is taken, and holds a call
    for a runtime that died, so a failure here says which process is gone and what it logged.
    """
    try:
        stream = url_get(url.host, url.port, url.path("first"), timeout=CHECK_SECONDS)
    except (BenchError, OSError) as error:
        names = ("cargo lambda watch", "the runtime")
        gone = [
            f"{name} exited ({p.returncode})"
            for name, p in zip(names, processes, strict=True)
            if p.poll() is not None
        ]
        logs = f"{_tail(workdir / 'emulator.log')} | {_tail(workdir / 'runtime.log')}"
        reason = "; ".join([f"the first call failed: {error}", *gone, f"logs: {logs}"])
        raise PeerUnavailable(reason) from error
    if stream.payload_bytes != 1:
        raise PeerUnavailable(f"the first call returned {stream.payload_bytes} bytes, not 1")


def _tail(log: Path, size: int = 600) -> str:
    """The end of a log, on one line, for an error message."""
    try:
        text = log.read_bytes()[-size:].decode(errors="replace")
    except OSError:
        return ""
    return " ".join(text.split())


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group, then SIGKILL whatever is left of it, leader or not."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(STOP_SECONDS)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
