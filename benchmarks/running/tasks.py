"""How the runner obtains a data set, from the data set declarations of ``data_prep``.

A data set is found, in this order: a folder given as a path (see
:func:`names_a_folder`: a bare suite name such as ``reuters`` always means the suite's
data set, even beside a folder of that name; ``./reuters`` means the folder); a converted
folder ``<data_dir>/<name>``; a synthetic preset; the raw files under
``<raw_dir>/<name>`` converted on demand by ``data_prep``; and, in profiles that allow
it (smoke), a synthetic stand-in with the paper set's label count, stamped synthetic.
Everything the runner knows of a named data set (its Table 1 row, where to get its
files, the converter command to rerun) comes from its :class:`data_prep.base.DatasetSpec`.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from data_prep.base import DatasetSpec
from data_prep.registry import DATASETS
from data_prep.synthetic import PRESETS, SyntheticConfig, write_synthetic
from lmmtc.data import MultiLabelDataset, load_dataset


class DatasetUnavailable(RuntimeError):
    """Neither converted data nor raw files exist for a data set (and no fallback applies)."""


def _converted(name: str, data_dir: Path) -> bool:
    return (Path(data_dir) / name / "train.jsonl").exists()


def _has_raw(name: str, raw_dir: Path | None) -> bool:
    return raw_dir is not None and (Path(raw_dir) / name).is_dir()


#: What :func:`availability` says of a named data set with neither converted nor raw files.
NOT_AVAILABLE = "not available"


def availability(name: str, data_dir: Path, raw_dir: Path | None) -> str:
    """How a named data set can be had here: ``converted``, ``raw files found`` (converted
    on demand) or :data:`NOT_AVAILABLE`; the checks :func:`prepare_dataset` makes."""
    if _converted(name, data_dir):
        return "converted"
    return "raw files found" if _has_raw(name, raw_dir) else NOT_AVAILABLE


def names_a_folder(text: str) -> bool:
    """Whether a ``--dataset`` value means a user's folder rather than a named data set:
    it is written as a path (``./reuters``, ``/data/x``, ``.``) or is an existing folder
    whose name is not one of the suite's data sets or presets."""
    if text in DATASETS or text in PRESETS:
        return False
    separators = [sep for sep in (os.sep, os.altsep) if sep]
    return any(sep in text for sep in separators) or text in (".", "..") or Path(text).is_dir()


def stand_in_config(spec: DatasetSpec) -> SyntheticConfig:
    """A small synthetic set with the paper set's label count, for smoke runs."""
    num_labels = spec.paper.labels if spec.paper else 8
    return replace(
        PRESETS["synthetic-correlated"],
        name=f"synthetic-{spec.name}",
        num_labels=num_labels,
        num_clusters=max(2, num_labels // 4),
        seed=sum(map(ord, spec.name)),
    )


def rerun_hint(spec: DatasetSpec) -> str:
    """What to do about a broken converted folder of a named data set."""
    command = spec.command(spec.default_split, spec.default_seed)
    return f"Rerun the converter: `{command}`."


def prepare_dataset(
    name_or_path: str,
    *,
    data_dir: Path,
    raw_dir: Path | None,
    synthetic_fallback: bool = False,
    allow_nonstandard: bool = False,
) -> MultiLabelDataset:
    """Load a data set, converting or generating it first where needed."""
    data_dir = Path(data_dir)
    name = str(name_or_path)
    if names_a_folder(name):
        if not Path(name).is_dir():
            raise DatasetUnavailable(
                f"{name}: no such folder; expected a folder holding train.jsonl and test.jsonl"
            )
        return load_dataset(Path(name))
    spec = DATASETS.get(name)
    hint = rerun_hint(spec) if spec else None
    if _converted(name, data_dir):
        return load_dataset(name, data_dir, hint=hint)
    if name in PRESETS:
        return load_dataset(write_synthetic(data_dir / name, PRESETS[name]))
    if spec is None:
        known = ", ".join([*DATASETS, *PRESETS])
        raise DatasetUnavailable(
            f"unknown data set {name!r}: not a folder, not under {data_dir}, not one of {known}"
        )
    if _has_raw(name, raw_dir):
        spec.convert(Path(raw_dir) / name, data_dir, allow_nonstandard=allow_nonstandard)
        return load_dataset(name, data_dir, hint=hint)
    if synthetic_fallback:
        stand_in = data_dir / f"synthetic-{name}"
        if not _converted(stand_in.name, data_dir):
            write_synthetic(stand_in, stand_in_config(spec))
        dataset = load_dataset(stand_in)
        dataset.meta["stand_in_for"] = name
        return dataset
    where = f"{raw_dir}/{name}" if raw_dir is not None else f"RAW/{name} (give --raw-dir)"
    raise DatasetUnavailable(
        f"{name}: no converted data in {data_dir / name} and no raw files at {where}. "
        f"To get it: {spec.how_to_get}"
    )
