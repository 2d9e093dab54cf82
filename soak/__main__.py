"""`python -m soak [--minutes 10] [--out soak.json]`: the soak, its tables and its verdict.

Exit status 0 when nothing grew beyond its tolerance and every outcome was the expected one,
1 otherwise. Progress goes to stderr, the report to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from soak._probe import survivors
from soak._report import Row, checks_table, figures_table, outcomes_table, rows, rss_trend
from soak._run import Plan, Run, execute, say
from soak._server import SoakServer, running_server, stop

# The server's idle timeout during the soak: short, so that a settle (which waits for the
# reaper to stop every environment) takes seconds. See docs/reliability.md.
DEFAULT_IDLE_TIMEOUT = 5.0


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0, help="measured load (10)")
    parser.add_argument("--seconds", type=float, help="measured load in seconds (overrides)")
    parser.add_argument(
        "--warmup", type=float, help="warm-up load in seconds (60, at most a fifth of the load)"
    )
    parser.add_argument("--interval", type=float, help="seconds between samples under load")
    parser.add_argument("--idle-timeout", type=float, default=DEFAULT_IDLE_TIMEOUT)
    parser.add_argument("--out", type=Path, help="write the full result as JSON here")
    return parser.parse_args(argv)


def plan_of(args: argparse.Namespace) -> Plan:
    """Durations from the options; the warm-up is the first minute of load, shorter in a
    short run so a test stays short."""
    seconds = args.seconds if args.seconds is not None else args.minutes * 60
    warmup = args.warmup if args.warmup is not None else min(60.0, seconds / 5)
    interval = args.interval if args.interval is not None else min(30.0, max(1.0, seconds / 6))
    return Plan(seconds, warmup, interval, args.idle_timeout)


def stderr_counts(server: SoakServer) -> dict[str, int]:
    """What the server wrote to stderr, by kind: tracebacks are failures, the rest reported."""
    counts = {"lines": 0, "tracebacks": 0, "warnings": 0, "errors": 0}
    with server.stderr_path.open(errors="replace") as handle:
        for line in handle:
            counts["lines"] += 1
            counts["tracebacks"] += line.startswith("Traceback")
            counts["warnings"] += "WARNING" in line
            counts["errors"] += "ERROR" in line
    return counts


def stderr_kinds(server: SoakServer) -> dict[str, int]:
    """Distinct stderr lines with digits and ids blanked, so the report says what was
    logged, not only how much."""
    kinds: dict[str, int] = {}
    with server.stderr_path.open(errors="replace") as handle:
        for line in handle:
            key = "".join("#" if char.isdigit() else char for char in line.strip())[:120]
            kinds[key] = kinds.get(key, 0) + 1
    return dict(sorted(kinds.items(), key=lambda item: -item[1])[:20])


def checks(
    run: Run, server: SoakServer, logged: dict[str, int], left: list[dict[str, object]]
) -> dict[str, tuple[bool, str]]:
    """The pass/fail checks beside the figures: (ok, detail) by name."""
    owed = run.owed()
    missing = {key: (owed[key], run.reports.get(key, 0)) for key in owed}
    missing = {key: pair for key, pair in missing.items() if pair[0] != pair[1]}
    return {
        "outcomes": (run.tally.unexpected == 0, f"{run.tally.unexpected} unexpected"),
        "REPORT per invocation": (
            not missing,
            "every function's log holds one per call"
            if not missing
            else f"(owed, found): {missing}",
        ),
        "server tracebacks": (logged["tracebacks"] == 0, f"{logged['tracebacks']} on stderr"),
        "server shutdown": (
            server.exit_code == 0 and not server.killed,
            f"SIGTERM -> exit {server.exit_code} in {server.stop_seconds:.1f} s"
            + (" (SIGKILLed)" if server.killed else ""),
        ),
        "survivors": (not left, f"{len(left)} processes left after the server stopped"),
    }


def machine() -> dict[str, object]:
    try:
        node = subprocess.run(
            ["node", "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        node = None
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "node": node,
    }


@dataclass
class Outcome:
    """A finished run with everything its report needs."""

    run: Run
    server: SoakServer
    plan: Plan
    table: list[Row]
    passed: dict[str, tuple[bool, str]]
    stderr: dict[str, int]
    stderr_kinds: dict[str, int]
    survivors: list[dict[str, object]]

    @property
    def ok(self) -> bool:
        figures_ok = all(row.ok is not False for row in self.table)
        return figures_ok and all(ok for ok, _ in self.passed.values())


def soak(plan: Plan) -> Outcome:
    """Run the soak on a server of its own, stop the server, look for survivors, judge."""
    with running_server(plan.idle_timeout) as server:
        run = execute(server, plan)
        say("stopping the server")
        stop(server)
        logged, kinds = stderr_counts(server), stderr_kinds(server)
    left = survivors(run.prefix, run.seen)
    table = rows(run.samples_at("start"), run.samples_at("end"), run.samples)
    return Outcome(run, server, plan, table, checks(run, server, logged, left), logged, kinds, left)


def print_report(outcome: Outcome) -> None:
    """The tables, the RSS trend, the call count and the verdict, on stdout."""
    run = outcome.run
    calls = run.tally.total()
    print(figures_table(outcome.table))
    print()
    print(outcomes_table(run.tally))
    print()
    print(checks_table(outcome.passed))
    trend = rss_trend(run.samples)
    if trend is not None:
        print(
            f"\nRSS under load: {trend['first_mib']:.1f} MiB at the first sample, "
            f"{trend['last_mib']:.1f} MiB at the last, {trend['slope_mib_per_min']:+.2f} MiB/min"
        )
    print(
        f"{calls - run.calls_before} calls in {run.load_seconds:.0f} s of measured load "
        f"({calls} with the warm-up); outcome counts include the warm-up"
    )
    print(f"verdict: {'PASS' if outcome.ok else 'FAIL'}")


def document(outcome: Outcome, started: str) -> dict[str, object]:
    """The full result as JSON: every sample, every outcome label, the first failures."""
    run, server = outcome.run, outcome.server
    calls = run.tally.total()
    return {
        "meta": {
            "started": started,
            "plan": vars(outcome.plan),
            "machine": machine(),
            "load_seconds": round(run.load_seconds, 1),
            "settle_seconds": run.settle_seconds,
            "calls": calls,
            "calls_measured": calls - run.calls_before,
            "rss_under_load": rss_trend(run.samples),
        },
        "figures": [{**vars(row), "growth": row.growth} for row in outcome.table],
        "samples": [taken.public() for taken in run.samples],
        "outcomes": {
            name: {"expected": run.tally.expected[name], "counts": dict(counter)}
            for name, counter in sorted(run.tally.counts.items())
        },
        "failures": run.tally.failures,
        "reports": {"owed": run.owed(), "found": run.reports},
        "checks": {
            name: {"ok": ok, "detail": detail} for name, (ok, detail) in outcome.passed.items()
        },
        "server": {
            "exit_code": server.exit_code,
            "stop_seconds": round(server.stop_seconds, 2),
            "killed": server.killed,
            "stderr": outcome.stderr,
            "stderr_kinds": outcome.stderr_kinds,
        },
        "survivors": outcome.survivors,
        "verdict": "pass" if outcome.ok else "fail",
    }


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    outcome = soak(plan_of(args))
    print_report(outcome)
    if args.out is not None:
        args.out.write_text(json.dumps(document(outcome, started), indent=2) + "\n")
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main())
