"""Rough cost of a planned cell, for --dry-run and --budget: rows x epochs x the profile's
rate for the method's family (:func:`table_seconds`). ``--budget`` prefers the timings of
earlier run files where it has them (:mod:`benchmarks.running.budget`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from benchmarks.suite.profiles import Profile
from data_prep.registry import DATASETS
from lmmtc.data import COUNTS_KEY, DataError, read_meta


def train_rows(dataset: str, data_dir: Path) -> int:
    """Training rows of a data set: its converted meta.json, else the paper's Table 1."""
    try:
        rows = (read_meta(Path(data_dir) / dataset).get(COUNTS_KEY) or {}).get("train")
    except DataError:  # an estimate: the load itself will say what is wrong
        rows = None
    if rows is not None:
        return int(rows)
    spec = DATASETS.get(dataset)
    return spec.paper.train if spec and spec.paper else 1000


def capped_rows(rows: int, subset: Mapping[str, int]) -> int:
    """The training rows a cell uses: the data set's ``rows``, capped by its ``subset``."""
    return min(rows, subset.get("train", rows))


def epochs_of(params: Mapping[str, Any]) -> float:
    """A cell's training epochs (1 for methods without the parameter)."""
    return float(params.get("epochs") or 1)


#: Seconds per 1,000 training rows and epoch where a data set's cells cost unlike the
#: rest of their family in a profile: (profile, family, data set) -> rate.
DATASET_COST_PER_1K: dict[tuple[str, str, str], float] = {
    # GAIC's 2-layer, 128-wide pre-trained BERT at text_len 100 (issue 23), 1 thread beside
    # the shared 2-core machine's background jobs: the full-data bert cell took 14.9 s per
    # 1,000 rows and epoch (1,433 s for 4 epochs of 24,000 rows, dev passes included);
    # an lm_mlm step costs 1.24 times a bert step (0.42 against 0.34 s at batch 16).
    ("cpu", "transformer", "gaic"): 20.0,
}


def table_seconds(
    family: str, rows: int, epochs: float, profile: Profile, dataset: str = ""
) -> float:
    """``rows`` x ``epochs`` at the profile's rate for ``family`` (the data set's own rate
    in :data:`DATASET_COST_PER_1K` where it has one; 10 s per 1,000 rows and epoch when
    the profile has none)."""
    rate = DATASET_COST_PER_1K.get((profile.name, family, dataset))
    return rows / 1000 * epochs * (rate or profile.cost_per_1k.get(family, 10.0))


def estimate_seconds(
    item: Any, profile: Profile, data_dir: Path, overrides: dict[str, Any] | None = None
) -> float:
    """Seconds a cell should take on the profile's reference device (order of magnitude)."""
    spec, resolved = item.resolve(profile, overrides)
    rows = capped_rows(train_rows(item.cell.dataset, data_dir), resolved.subset)
    epochs = epochs_of(resolved.params)
    return table_seconds(spec.family, rows, epochs, profile, item.cell.dataset)
