"""The paper's data sets as task metadata, and how the runner obtains each one.

A data set is found, in this order: an existing folder given as a path; a converted
folder ``<data_dir>/<name>``; a synthetic preset; the raw files under
``<raw_dir>/<name>`` converted on demand by ``data_prep``; and, in profiles that allow
it (smoke), a synthetic stand-in with the paper set's label count, stamped synthetic.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from data_prep.synthetic import PRESETS, SyntheticConfig, write_synthetic
from lmmtc.data import MultiLabelDataset, load_dataset


@dataclass(frozen=True)
class TaskInfo:
    """What the paper says about a data set (Table 1) and where its files come from."""

    name: str  # the suite's name, also the folder name
    paper_name: str  # the name in the paper's tables
    language: str
    num_labels: int
    paper_train: int
    paper_test: int
    how_to_get: str


PAPER_TASKS: dict[str, TaskInfo] = {
    t.name: t
    for t in (
        TaskInfo(
            "gaic",
            "GAIC",
            "token ids",
            17,
            24000,
            3000,
            "Tianchi 2021 'AI technology innovation competition' track 1 (login needed): put "
            "track1_round1_train_20210222.csv and round2/train.csv in RAW/gaic/",
        ),
        TaskInfo(
            "aapd",
            "AAPD",
            "en",
            54,
            53840,
            1000,
            "the SGM authors' AAPD release (lancopku/SGM): put text_train, label_train, "
            "text_val, label_val, text_test, label_test in RAW/aapd/",
        ),
        TaskInfo(
            "reuters",
            "Reuters-21578",
            "en",
            90,
            8630,
            2158,
            "Reuters-21578 Distribution 1.0 (UCI archive reuters21578.tar.gz): put "
            "reut2-000.sgm ... reut2-021.sgm (or the archive) in RAW/reuters/, or use "
            "`python -m data_prep reuters --download`",
        ),
        TaskInfo(
            "rmsc",
            "RMSC",
            "zh",
            22,
            5020,
            646,
            "lancopku/RMSC data.zip: put it (or its extracted album files) in RAW/rmsc/",
        ),
        TaskInfo(
            "goemotions",
            "Emotion",
            "en",
            28,
            43410,
            5427,
            "google-research goemotions/data: put train.tsv, dev.tsv, test.tsv, emotions.txt "
            "in RAW/goemotions/, or use `python -m data_prep goemotions --download`",
        ),
        TaskInfo(
            "toxic",
            "Toxic",
            "en",
            6,
            11357,
            4868,
            "Kaggle Jigsaw Toxic Comment Classification 2018 (login needed): put train.csv "
            "in RAW/toxic/",
        ),
    )
}
#: Paper table names -> suite names.
BY_PAPER_NAME = {t.paper_name: t.name for t in PAPER_TASKS.values()}


class DatasetUnavailable(RuntimeError):
    """Neither converted data nor raw files exist for a data set (and no fallback applies)."""


def _converted(name: str, data_dir: Path) -> bool:
    return (data_dir / name / "train.jsonl").exists()


def stand_in_config(task: TaskInfo) -> SyntheticConfig:
    """A small synthetic set with the paper set's label count, for smoke runs."""
    return replace(
        PRESETS["synthetic-correlated"],
        name=f"synthetic-{task.name}",
        num_labels=task.num_labels,
        num_clusters=max(2, task.num_labels // 4),
        seed=sum(map(ord, task.name)),
    )


def prepare_dataset(
    name_or_path: str,
    *,
    data_dir: Path,
    raw_dir: Path | None,
    synthetic_fallback: bool = False,
) -> MultiLabelDataset:
    """Load a data set, converting or generating it first where needed."""
    data_dir = Path(data_dir)
    path = Path(name_or_path)
    if path.is_dir():
        return load_dataset(path)
    name = str(name_or_path)
    if _converted(name, data_dir):
        return load_dataset(name, data_dir)
    if name in PRESETS:
        return load_dataset(write_synthetic(data_dir / name, PRESETS[name]))
    task = PAPER_TASKS.get(name)
    if task is None:
        known = ", ".join([*PAPER_TASKS, *PRESETS])
        raise DatasetUnavailable(
            f"unknown data set {name!r}: not a folder, not under {data_dir}, not one of {known}"
        )
    if raw_dir is not None and (Path(raw_dir) / name).is_dir():
        import data_prep

        data_prep.convert(name, Path(raw_dir) / name, data_dir)
        return load_dataset(name, data_dir)
    if synthetic_fallback:
        stand_in = data_dir / f"synthetic-{name}"
        if not _converted(stand_in.name, data_dir):
            write_synthetic(stand_in, stand_in_config(task))
        dataset = load_dataset(stand_in)
        dataset.meta["stand_in_for"] = name
        return dataset
    raw_root = str(raw_dir) if raw_dir is not None else "RAW"
    where = f"{raw_root}/{name}" if raw_dir is not None else f"RAW/{name} (give --raw-dir)"
    how = task.how_to_get.replace("RAW/", f"{raw_root}/")
    raise DatasetUnavailable(
        f"{name}: no converted data in {data_dir / name} and no raw files at {where}. "
        f"To get it: {how}."
    )
