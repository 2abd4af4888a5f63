"""Rough cost of a planned cell, for --dry-run and --budget: rows x epochs x the profile's
rate for the method's family (:func:`table_seconds`). ``--budget`` prefers the timings of
earlier run files where it has them (:mod:`benchmarks.budget`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from benchmarks.profiles import Profile
from data_prep.registry import DATASETS


def train_rows(dataset: str, data_dir: Path) -> int:
    """Training rows of a data set: its converted meta.json, else the paper's Table 1."""
    meta = Path(data_dir) / dataset / "meta.json"
    if meta.exists():
        return int(json.loads(meta.read_text(encoding="utf-8"))["counts"]["train"])
    spec = DATASETS.get(dataset)
    return spec.paper.train if spec and spec.paper else 1000


def capped_rows(rows: int, subset: Mapping[str, int]) -> int:
    """The training rows a cell uses: the data set's ``rows``, capped by its ``subset``."""
    return min(rows, subset.get("train", rows))


def epochs_of(params: Mapping[str, Any]) -> float:
    """A cell's training epochs (1 for methods without the parameter)."""
    return float(params.get("epochs") or 1)


def table_seconds(family: str, rows: int, epochs: float, profile: Profile) -> float:
    """``rows`` x ``epochs`` at the profile's rate for ``family`` (10 s per 1,000 rows and
    epoch when the profile has none)."""
    return rows / 1000 * epochs * profile.cost_per_1k.get(family, 10.0)


def estimate_seconds(
    item: Any, profile: Profile, data_dir: Path, overrides: dict[str, Any] | None = None
) -> float:
    """Seconds a cell should take on the profile's reference device (order of magnitude)."""
    spec, resolved = item.resolve(profile, overrides)
    rows = capped_rows(train_rows(item.cell.dataset, data_dir), resolved.subset)
    return table_seconds(spec.family, rows, epochs_of(resolved.params), profile)
