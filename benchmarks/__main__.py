"""`python -m benchmarks`: start a private server, deploy, run the scenarios, report.

References are measured first, once, and shared by every runtime's rows; then each runtime's
functions are deployed and measured on the same server. The JSON file is written only when
`--out` names it, so a run never leaves files in the checkout by accident.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from benchmarks import (
    _baseline,
    _concurrency,
    _report,
    _scenarios,
    _small_chunks,
    _startup,
    _urls,
)
from benchmarks._functions import RUNTIMES, deploy
from benchmarks._rows import Row
from benchmarks._server import BenchServer, running_server


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--calls", type=int, default=200, help="timed calls per p50/p99")
    parser.add_argument("--mib", type=int, default=256, help="MiB in the throughput stream")
    parser.add_argument("--writes", type=int, default=100_000, help="16-byte writes (scenario 3)")
    parser.add_argument("--streams", type=int, default=64, help="concurrent streams (scenario 4)")
    parser.add_argument("--seconds", type=float, default=5.0, help="their length (scenario 4)")
    parser.add_argument("--cold", type=int, default=20, help="cold starts measured (scenario 5)")
    parser.add_argument("--runtime", choices=("python", "node", "all"), default="all")
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    return parser.parse_args()


def _server_options(args: argparse.Namespace) -> list[str]:
    """The stream must fit the size quota (with room for a function URL's prelude, which
    counts), and every stream of scenario 4 needs its own environment of one function."""
    return ["--max-stream-mib", str(max(200, args.mib + 1)), "--concurrency", str(args.streams)]


def _runtime_rows(
    server: BenchServer, runtime: str, args: argparse.Namespace, refs: _baseline.References
) -> list[Row]:
    deploy(server, runtime)
    return [
        *_scenarios.time_to_first_byte(server, runtime, args.calls, refs),
        *_scenarios.throughput(server, runtime, args.mib, refs),
        *_urls.url_throughput(server, runtime, args.mib, refs),
        *_small_chunks.small_chunks(server, runtime, args.writes, refs),
        *_concurrency.concurrency(server, runtime, args.streams, args.seconds),
        *_startup.cold_start(server, runtime, args.cold, refs),
        *_startup.warm_invoke(server, runtime, args.calls, refs),
    ]


def _aws_rows(rows: list[Row], mib: int) -> list[Row]:
    """AWS's published bandwidth beside the first lean-client stream figure measured."""
    stream = next(r for r in rows if r.scenario.startswith("2 stream") and r.client == "lean")
    return _urls.aws_published(mib, stream.figure, f"sluice {stream.runtime} lean")


def main() -> None:
    args = _options()
    started = time.perf_counter()
    runtimes = list(RUNTIMES) if args.runtime == "all" else [args.runtime]
    refs = _baseline.measure(args.calls, args.mib, args.writes)
    rows: list[Row] = []
    with running_server(*_server_options(args)) as server:
        for runtime in runtimes:
            rows += _runtime_rows(server, runtime, args, refs)
        peer, unavailable = _urls.peer_rows(server, args.calls, args.mib, args.writes)
    rows += peer + _aws_rows(rows, args.mib)
    seconds = time.perf_counter() - started
    print(_report.table(rows))
    print(_report.references_line(refs.summary()))
    if unavailable:
        print(f"peer cargo-lambda unavailable: {unavailable}")
    print(f"\n{len(rows)} rows in {seconds:.0f} s")
    if args.out is not None:
        options = {key: value for key, value in vars(args).items() if key != "out"}
        doc = _report.document(rows, refs.summary(), options, seconds)
        doc["meta"]["peer_unavailable"] = unavailable
        _report.write_json(args.out, doc)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
