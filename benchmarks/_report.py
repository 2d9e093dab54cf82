"""The results: a plain-text table for people, a JSON file for tools and for comparing runs."""

from __future__ import annotations

import json
import platform
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmarks._rows import Row

_COLUMNS = ("scenario", "runtime", "client", "figure", "reference", "ratio")


def _cells(row: Row) -> tuple[str, ...]:
    return (
        row.scenario,
        row.runtime,
        row.client,
        f"{row.figure:.2f} {row.unit}",
        f"{row.reference} {row.reference_figure:.2f} {row.unit}",
        f"{row.ratio:.2f}",
    )


def table(rows: list[Row]) -> str:
    """Left-aligned columns, widths from the content; no dependency for a pretty printer."""
    lines = [_COLUMNS, *(_cells(row) for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(_COLUMNS))]
    text = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    ]
    rule = "-" * max(len(line) for line in text)
    return "\n".join([text[0], rule, *text[1:]])


def references_line(summary: dict[str, float]) -> str:
    """The references on one line, for the figures that are in no row."""
    return "references: " + ", ".join(f"{key} {value:.2f}" for key, value in summary.items())


def document(
    rows: list[Row], references: dict[str, float], options: dict[str, Any], seconds: float
) -> dict[str, Any]:
    """The JSON shape: `meta` (what ran, where, how long), `references`, `rows` (one per line)."""
    return {
        "meta": {
            "options": options,
            "seconds": round(seconds, 1),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "ratio": "figure / reference (ms: higher is slower; MB/s: lower is slower)",
        },
        "references": references,
        "rows": [asdict(row) for row in rows],
    }


def write_json(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")
