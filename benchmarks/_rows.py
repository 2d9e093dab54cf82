"""A figure beside its reference: the unit every scenario reports in.

The ratio is figure / reference in the figure's unit: for times, 1.0 is as fast as the
reference and higher is slower; for rates, 1.0 is the reference's rate and lower is slower.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One line of the table and of the JSON `rows` list."""

    scenario: str
    runtime: str
    client: str
    figure: float
    unit: str
    reference: str
    reference_figure: float
    ratio: float


def row(
    scenario: str, runtime: str, client: str, figure: tuple[float, str], ref: tuple[str, float]
) -> Row:
    """A row whose ratio is figure / reference, in the figure's unit."""
    (value, unit), (name, reference) = figure, ref
    return Row(scenario, runtime, client, value, unit, name, reference, value / reference)


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile: p99 of 200 samples is the 198th smallest, a real sample."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]
