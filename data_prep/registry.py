"""Every named data set by name (found in :mod:`data_prep.datasets`), and :func:`convert`.

The paper's data sets come first, in the order of its Table 1; others follow by name.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from data_prep import datasets
from data_prep.base import DatasetSpec
from data_prep.canonical import ConversionError


def _discover() -> dict[str, DatasetSpec]:
    """The ``DATASET`` of every module in :mod:`data_prep.datasets`."""
    found: list[DatasetSpec] = []
    for module in pkgutil.iter_modules(datasets.__path__):
        spec = getattr(
            importlib.import_module(f"{datasets.__name__}.{module.name}"), "DATASET", None
        )
        if isinstance(spec, DatasetSpec):
            found.append(spec)
    names = [spec.name for spec in found]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise RuntimeError(f"data set names declared twice in data_prep/datasets: {repeated}")

    def order(spec: DatasetSpec) -> tuple[int, str]:
        return (spec.paper.row if spec.paper else 1_000, spec.name)

    return {spec.name: spec for spec in sorted(found, key=order)}


#: name -> declaration: the paper's data sets in Table 1's order, then the others.
DATASETS: dict[str, DatasetSpec] = _discover()


def paper_datasets() -> tuple[str, ...]:
    """The names of the data sets of the paper's Table 1, in its order."""
    return tuple(name for name, spec in DATASETS.items() if spec.paper is not None)


def get_dataset(name: str) -> DatasetSpec:
    """The data set called ``name``, or a ConversionError listing the known names."""
    try:
        return DATASETS[name]
    except KeyError:
        raise ConversionError(
            f"unknown data set {name!r}; expected one of {', '.join(DATASETS)}"
        ) from None


def convert(
    name: str,
    raw_dir: Path | str,
    out_dir: Path | str,
    split: str | None = None,
    seed: int | None = None,
    allow_nonstandard: bool = False,
) -> Path:
    """Convert data set ``name`` from ``raw_dir`` into ``out_dir/<name>/``; return that folder.

    Raw files that differ from the public release are refused unless ``allow_nonstandard``
    (then meta.json's "nonstandard" says how they differ).
    """
    return get_dataset(name).convert(
        raw_dir, out_dir, split=split, seed=seed, allow_nonstandard=allow_nonstandard
    )
