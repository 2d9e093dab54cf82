"""One soak run: deploy, warm up, settle, sample, load, settle, sample, stop, look for
survivors.

The two samples that are compared are both taken at rest: after a phase's client threads
have stopped and closed their connections, and after the server's idle reaper has stopped
every environment (the soak runs the server with a short `--idle-timeout` for that). At
rest the server's descriptors, threads and children are only what it keeps for good, so
start and end can be compared exactly; the samples taken under load in between show the
trend and the peaks.
"""

from __future__ import annotations

import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from soak import _mix
from soak._actions import Clients
from soak._functions import FUNCTIONS
from soak._load import Load, Tally, run_each
from soak._probe import Sample, descendants, processes, report_lines, sample, tagged
from soak._server import SoakServer, deploy, lambda_client

# Beyond the idle timeout: the reaper's period (up to 1 s), SIGTERM's grace (2 s) and the
# last invocations still running (a timeout takes 1 s, a cold start ~0.3 s).
SETTLE_MARGIN_SECONDS = 15.0
# At rest, one more second for connections the clients closed to be closed by the server.
QUIET_SECONDS = 1.0


@dataclass(frozen=True)
class Plan:
    """How long each part runs, in seconds."""

    seconds: float
    warmup: float
    interval: float
    idle_timeout: float
    seed: int = 1


@dataclass
class Run:
    """Everything one run measured; `__main__` turns it into tables, JSON and a verdict."""

    prefix: str
    names: dict[str, str]
    tally: Tally = field(default_factory=Tally)
    samples: list[Sample] = field(default_factory=list)
    settle_seconds: list[float] = field(default_factory=list)
    load_seconds: float = 0.0
    calls_before: int = 0  # calls made before the start sample (the pass and the warm-up)
    reports: dict[str, int] = field(default_factory=dict)
    seen: set[tuple[int, int]] = field(default_factory=set)  # (pid, start) of its processes

    def owed(self) -> dict[str, int]:
        """REPORT lines each function's log must hold: one per call that reached it."""
        return {key: self.tally.dispatched.get(key, 0) for key in self.names}

    def samples_at(self, label: str) -> Sample:
        """The settled sample `start` or `end`."""
        return next(taken for taken in self.samples if taken.label == label)


def say(message: str) -> None:
    """Progress on stderr; stdout is the report."""
    print(f"soak: {message}", file=sys.stderr, flush=True)


def execute(server: SoakServer, plan: Plan) -> Run:
    """Deploy the functions, then warm up, measure, load and measure again."""
    prefix = f"soak{secrets.token_hex(4)}"
    run = Run(prefix, {function.key: f"{prefix}-{function.key}" for function in FUNCTIONS})
    run.seen.add((server.pid, processes()[server.pid].start))
    deployer = lambda_client(server.url)
    for function in FUNCTIONS:
        deploy(server, deployer, run.names[function.key], function)
    deployer.close()  # type: ignore[attr-defined]
    make_clients = _client_factory(server, run)
    say(f"{len(FUNCTIONS)} functions deployed on {server.url}; one pass over every action")
    run_each(_mix.every_action(), make_clients, run.tally)
    say(f"warm-up load for {plan.warmup:.0f} s")
    _load_for(server, run, plan, make_clients, plan.warmup, -plan.warmup, plan.seed)
    start = _settled_sample(server, run, plan, "start")
    run.calls_before = run.tally.total()
    say(f"start: {_brief(start)}; load for {plan.seconds:.0f} s")
    began = time.monotonic()
    _load_for(server, run, plan, make_clients, plan.seconds, 0.0, plan.seed + 1)
    run.load_seconds = time.monotonic() - began
    _settled_sample(server, run, plan, "end")
    run.reports = report_lines(server.data_dir / "logs", run.names)
    return run


def _client_factory(server: SoakServer, run: Run) -> Callable[[], Clients]:
    host, port = server.address

    def make() -> Clients:
        return Clients(lambda_client(server.url), host, port, run.names, server.url_paths)

    return make


def _load_for(
    server: SoakServer,
    run: Run,
    plan: Plan,
    make_clients: Callable[[], Clients],
    seconds: float,
    offset: float,
    seed: int,
) -> None:
    """Run the mix for `seconds`, sampling every `plan.interval` (labelled with the time
    since the start sample: `offset` is negative in the warm-up). A fixed `seed` makes the
    sequence of calls each thread picks the same from run to run."""
    load = Load(_mix.threads(), make_clients, run.tally, seed)
    began = time.monotonic()
    try:
        while (elapsed := time.monotonic() - began) < seconds:
            time.sleep(min(plan.interval, seconds - elapsed))
            if time.monotonic() - began < seconds - plan.interval / 2:
                _record(server, run, "load", offset + time.monotonic() - began)
    finally:
        load.stop()


def _record(server: SoakServer, run: Run, label: str, at: float) -> Sample:
    taken = sample(label, at, server.pid, run.prefix, server.data_dir, server.stderr_path)
    run.samples.append(taken)
    run.seen.update(taken.descendants)
    if label == "load":
        calls, bad = run.tally.total(), run.tally.unexpected
        say(f"{at:7.0f} s  {calls} calls, {bad} unexpected; {_brief(taken)}")
    return taken


def _brief(taken: Sample) -> str:
    return (
        f"fds {taken.fds}, threads {taken.threads}, processes {taken.processes}, "
        f"RSS {taken.rss_kib / 1024:.1f} MiB"
    )


def _settled_sample(server: SoakServer, run: Run, plan: Plan, label: str) -> Sample:
    """Wait until the server is at rest (no function process, every REPORT written), or
    until the settle deadline, then sample; what is still there at the deadline is what the
    verdict counts."""
    began = time.monotonic()
    deadline = began + plan.idle_timeout + SETTLE_MARGIN_SECONDS
    while time.monotonic() < deadline and not _at_rest(server, run):
        time.sleep(0.2)
    time.sleep(QUIET_SECONDS)
    run.settle_seconds.append(round(time.monotonic() - began, 1))
    at = run.load_seconds if label == "end" else 0.0
    return _record(server, run, label, at)


def _at_rest(server: SoakServer, run: Run) -> bool:
    table = processes()
    family = descendants(server.pid, table)
    run.seen.update((proc.pid, proc.start) for proc in family)
    if family or tagged(run.prefix, table):
        return False
    return report_lines(server.data_dir / "logs", run.names) == run.owed()
