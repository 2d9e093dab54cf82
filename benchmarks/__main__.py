"""`python -m benchmarks`: start a private server, deploy, run the scenarios, report.

References are measured first, once, and shared by every runtime's rows; then each runtime's
functions are deployed and measured on the same server. The JSON file is written only when
`--out` names it, so a run never leaves files in the checkout by accident.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from benchmarks import _report, _scenarios
from benchmarks._server import running_server

MAX_STREAM_MIB = 200


def _stream_mib(text: str) -> int:
    """Issue 5 asks for 256 MiB, but a stream past 200 MiB ends in ResponseSizeTooLarge."""
    mib = int(text)
    if not 1 <= mib <= MAX_STREAM_MIB:
        raise argparse.ArgumentTypeError(f"must be 1..{MAX_STREAM_MIB}")
    return mib


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--calls", type=int, default=200, help="timed calls per p50/p99")
    parser.add_argument(
        "--mib",
        type=_stream_mib,
        default=192,
        help="MiB in the throughput stream (at most 200: AWS and sluice end a stream there)",
    )
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    parser.add_argument("--runtime", choices=("python", "node", "all"), default="all")
    return parser.parse_args()


def main() -> None:
    args = _options()
    started = time.perf_counter()
    runtimes = list(_scenarios.RUNTIMES) if args.runtime == "all" else [args.runtime]
    refs = _scenarios.measure_references(args.calls, args.mib)
    rows: list[_scenarios.Row] = []
    with running_server() as server:
        for runtime in runtimes:
            _scenarios.deploy(server, runtime)
            rows += _scenarios.time_to_first_byte(server, runtime, args.calls, refs)
            rows += _scenarios.throughput(server, runtime, args.mib, refs)
    seconds = time.perf_counter() - started
    print(_report.table(rows))
    print(_report.references_line(refs.summary()))
    print(f"\n{len(rows)} rows in {seconds:.0f} s")
    if args.out is not None:
        options = {"calls": args.calls, "mib": args.mib, "runtime": args.runtime}
        _report.write_json(args.out, _report.document(rows, refs.summary(), options, seconds))
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
