"""Rough cost of a planned cell, for --dry-run: rows x epochs x the profile's rate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.profiles import Profile
from data_prep.registry import DATASETS


def _train_rows(dataset: str, data_dir: Path) -> int:
    meta = Path(data_dir) / dataset / "meta.json"
    if meta.exists():
        return int(json.loads(meta.read_text(encoding="utf-8"))["counts"]["train"])
    spec = DATASETS.get(dataset)
    return spec.paper.train if spec and spec.paper else 1000


def estimate_seconds(item: Any, profile: Profile, data_dir: Path) -> float:
    """Seconds a cell should take on the profile's reference device (order of magnitude)."""
    spec, resolved = item.resolve(profile)
    rows = _train_rows(item.cell.dataset, data_dir)
    rows = min(rows, resolved.subset.get("train", rows))
    epochs = float(resolved.params.get("epochs", 1))
    return rows / 1000 * epochs * profile.cost_per_1k.get(spec.family, 10.0)
