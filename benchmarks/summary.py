"""Aggregation of run files over seeds, and the summary table the runner prints."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.runfiles import Cell, read_run
from lmmtc.metrics import PAPER_METRICS


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single seed)."""
    array = np.asarray(values, dtype=float)
    std = float(array.std(ddof=1)) if array.size > 1 else 0.0
    return float(array.mean()), std


def group_runs(records: Iterable[dict[str, Any]]) -> dict[tuple[str, str, str], list[dict]]:
    """Run records grouped by (profile, dataset, method[+variant]) across seeds."""
    groups: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for record in records:
        cell = Cell(**record["cell"])
        groups[(cell.profile, cell.dataset, cell.method_dir)].append(record)
    return groups


def summary_table(results_dir: Path, cells: Sequence[Cell]) -> str:
    """A plain-text table of the given cells' test metrics (mean ± std over seeds)."""
    records = []
    for cell in dict.fromkeys(cells):
        path = cell.path(results_dir)
        if path.exists():
            records.append(read_run(path))
    if not records:
        return "(no finished cells to summarise)"
    header = ["dataset", "method", "seeds", *PAPER_METRICS, "fit s", "data"]
    rows = [header]
    for (_, dataset, method), group in sorted(group_runs(records).items()):
        row = [dataset, method, str(len(group))]
        for metric in PAPER_METRICS:
            mean, std = mean_std([r["metrics"]["test"][metric] for r in group])
            row.append(f"{mean:.4f}±{std:.4f}")
        row.append(f"{np.mean([r['timing']['fit_seconds'] for r in group]):.1f}")
        row.append(data_stamp(group[0]["dataset"]))
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def data_stamp(dataset: dict[str, Any]) -> str:
    """``synthetic``, ``subset`` or ``full``: how real the data behind a number is."""
    if dataset.get("synthetic"):
        return "synthetic"
    return "subset" if dataset.get("subset") else "full"
