"""Aggregation of run records over seeds, and the summary table the runner prints."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from benchmarks.store.records import Cell, RecordError, RunRecord, read_record
from lmmtc.metrics import PAPER_METRICS


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single seed)."""
    array = np.asarray(values, dtype=float)
    std = float(array.std(ddof=1)) if array.size > 1 else 0.0
    return float(array.mean()), std


def group_runs(records: Iterable[RunRecord]) -> dict[tuple[str, str, str], list[RunRecord]]:
    """Run records grouped by (profile, dataset, method[+variant]) across seeds."""
    groups: dict[tuple[str, str, str], list[RunRecord]] = defaultdict(list)
    for record in records:
        cell = record.cell
        groups[(cell.profile, cell.dataset, cell.method_dir)].append(record)
    return groups


def summary_table(results_dir: Path, cells: Sequence[Cell]) -> str:
    """A plain-text table of the given cells' test metrics (mean ± std over seeds)."""
    records = []
    for cell in dict.fromkeys(cells):
        path = cell.path(results_dir)
        if path.exists():
            try:
                records.append(read_record(path))
            except RecordError:
                continue  # reported where the cell was run or skipped
    if not records:
        return "(no finished cells to summarise)"
    header = ["dataset", "method", "seeds", *PAPER_METRICS, "fit s", "data"]
    rows = [header]
    for (_, dataset, method), group in sorted(group_runs(records).items()):
        row = [dataset, method, str(len(group))]
        for metric in PAPER_METRICS:
            values = [v for v in (r.metric(metric) for r in group) if v is not None]
            if values:
                mean, std = mean_std(values)
                row.append(f"{mean:.4f}±{std:.4f}")
            else:
                row.append("-")
        row.append(f"{np.mean([r.timing.fit_seconds for r in group]):.1f}")
        row.append(group[0].dataset.stamp)
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
