"""The verdict: start against end, after a settle, with the tolerances argued in
docs/reliability.md, and the tables printed for a human.

Counts (descriptors, threads, processes) are compared after a settle in which every
environment has been reaped and every client has hung up, so at both ends the server holds
only what it holds at rest, and any growth is something it kept. RSS is allowed to move,
since the C allocator keeps freed heap, but not by more than a leak of about a hundred bytes
per call would add over ten minutes (~80,000 calls).
"""

from __future__ import annotations

from dataclasses import dataclass

from sluice.eventloop import BLOCKING_THREADS
from soak._load import Tally
from soak._probe import Sample

FD_TOLERANCE = 3
THREAD_TOLERANCE = BLOCKING_THREADS  # the blocking-call pool starts its workers lazily
RSS_TOLERANCE_KIB = 20 * 1024
RSS_TOLERANCE_FRACTION = 0.20
DATA_TOLERANCE_BYTES = 1 << 20


@dataclass(frozen=True)
class Row:
    """One measured figure: start, peak under load, end, and whether its growth is allowed."""

    metric: str
    start: float
    peak: float
    end: float
    limit: str
    ok: bool | None  # None: reported, not judged

    @property
    def growth(self) -> float:
        return self.end - self.start


def _peak(samples: list[Sample], attribute: str) -> float:
    return max(getattr(sample, attribute) for sample in samples)


def rows(start: Sample, end: Sample, samples: list[Sample]) -> list[Row]:
    """The figures of the table, each judged against its tolerance."""
    rss_limit = min(RSS_TOLERANCE_KIB, RSS_TOLERANCE_FRACTION * start.rss_kib)
    mib = kib = 1 / 1024  # RSS is in KiB, sizes in bytes: one step up either way
    return [
        Row(
            "open fds",
            start.fds,
            _peak(samples, "fds"),
            end.fds,
            f"+{FD_TOLERANCE}",
            end.fds - start.fds <= FD_TOLERANCE,
        ),
        Row(
            "threads",
            start.threads,
            _peak(samples, "threads"),
            end.threads,
            f"+{THREAD_TOLERANCE}",
            end.threads - start.threads <= THREAD_TOLERANCE,
        ),
        Row(
            "child processes",
            start.processes,
            _peak(samples, "processes"),
            end.processes,
            "+0",
            end.processes <= start.processes,
        ),
        Row(
            "function processes anywhere",
            start.tagged,
            _peak(samples, "tagged"),
            end.tagged,
            "+0",
            end.tagged <= start.tagged,
        ),
        Row(
            "RSS MiB",
            start.rss_kib * mib,
            _peak(samples, "rss_kib") * mib,
            end.rss_kib * mib,
            f"+{rss_limit * mib:.1f}",
            end.rss_kib - start.rss_kib <= rss_limit,
        ),
        Row(
            "data dir without logs KiB",
            start.data_bytes * kib,
            _peak(samples, "data_bytes") * kib,
            end.data_bytes * kib,
            f"+{DATA_TOLERANCE_BYTES // 1024}",
            end.data_bytes - start.data_bytes <= DATA_TOLERANCE_BYTES,
        ),
        Row(
            "logs KiB",
            start.log_bytes * kib,
            _peak(samples, "log_bytes") * kib,
            end.log_bytes * kib,
            "(grows by design)",
            None,
        ),
        Row(
            "server stderr KiB",
            start.stderr_bytes * kib,
            _peak(samples, "stderr_bytes") * kib,
            end.stderr_bytes * kib,
            "(reported)",
            None,
        ),
    ]


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _signed(value: float) -> str:
    text = _number(value)
    return text if text.startswith("-") else f"+{text}"


def _verdict_word(ok: bool | None) -> str:
    return "-" if ok is None else ("ok" if ok else "GROWTH")


def figures_table(table: list[Row]) -> str:
    """The start / peak / end / growth table."""
    lines = [
        f"{'metric':<28} {'start':>10} {'peak':>10} {'end':>10} {'growth':>9}  "
        f"{'limit':<18} verdict"
    ]
    for row in table:
        lines.append(
            f"{row.metric:<28} {_number(row.start):>10} {_number(row.peak):>10} "
            f"{_number(row.end):>10} {_signed(row.growth):>9}  {row.limit:<18} "
            f"{_verdict_word(row.ok)}"
        )
    return "\n".join(lines)


def outcomes_table(tally: Tally) -> str:
    """Per action: the outcome it must have, how many calls, and what else was seen."""
    lines = [f"{'action':<32} {'expected':<34} {'calls':>7} {'unexpected':>10}"]
    for name in sorted(tally.counts):
        counter, expected = tally.counts[name], tally.expected[name]
        others = {label: n for label, n in counter.items() if label != expected}
        lines.append(
            f"{name:<32} {expected:<34} {sum(counter.values()):>7} {sum(others.values()):>10}"
        )
        lines.extend(f"    got {label!r}: {n}" for label, n in sorted(others.items()))
    return "\n".join(lines)


def checks_table(checks: dict[str, tuple[bool, str]]) -> str:
    """The pass/fail checks that are not start-against-end figures."""
    return "\n".join(
        f"{'ok    ' if ok else 'FAILED'} {name}: {detail}" for name, (ok, detail) in checks.items()
    )


def rss_trend(samples: list[Sample]) -> dict[str, float] | None:
    """RSS under load in the measured phase: first, last, and the least-squares slope in MiB
    per minute, which tells a steady leak from a one-off step (None with under two samples)."""
    loaded = [taken for taken in samples if taken.label == "load" and taken.at >= 0]
    if len(loaded) < 2:
        return None
    xs = [taken.at / 60 for taken in loaded]
    ys = [taken.rss_kib / 1024 for taken in loaded]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    return {"first_mib": ys[0], "last_mib": ys[-1], "slope_mib_per_min": slope}
