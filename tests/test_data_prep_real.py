"""The converters on the real raw files in ../shared/data/raw (skipped where absent).

Each data set is converted once per module (into a temporary folder) and then loaded
with ``lmmtc.data.load_dataset`` to prove the writer and the loader agree.
"""

from __future__ import annotations

import json

import pytest

from data_prep import convert
from lmmtc.data import load_dataset

pytestmark = pytest.mark.real_data


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """Cached ``converted(name, raw_dir, split=None)`` -> the loaded data set."""
    out = tmp_path_factory.mktemp("real")
    cache = {}

    def get(name, raw_dir, split=None):
        key = (name, split)
        if key not in cache:
            folder = convert(name, raw_dir, out / (split or "default"), split=split)
            cache[key] = load_dataset(folder)
        return cache[key]

    return get


def sizes(data):
    return len(data.train), len(data.dev), len(data.test)


def test_goemotions(shared_raw, converted):
    raw = shared_raw("goemotions")
    data = converted("goemotions", raw)
    assert sizes(data) == (43410, 5426, 5427)
    assert data.meta["nonstandard"] is None  # the public release, checked by rows and sha256
    assert data.label_names == (raw / "emotions.txt").read_text().split("\n")
    assert len(data.label_names) == 28
    assert data.train.labels.sum(axis=1).min() >= 1
    # the published splits share a few short comments: warned about and counted, not refused
    (note,) = [w for w in data.warnings if "texts repeated across splits" in w]
    assert "43 of dev.jsonl also in train.jsonl" in note
    assert "37 of test.jsonl also in train.jsonl" in note
    assert "13 of test.jsonl also in dev.jsonl" in note


def test_reuters_modapte(shared_raw, converted):
    data = converted("reuters", shared_raw("reuters"), split="standard")
    assert len(data.label_names) == 90 and data.label_names == sorted(data.label_names)
    stats = data.meta["stats"]
    assert (stats["modapte_train"], stats["modapte_test"]) == (7770, 3019)  # 10,789 documents
    assert stats["dropped_no_topics"] == 2108 and stats["dropped_no_kept_category"] == 5
    assert sizes(data) == (6993, 777, 3019)
    assert (data.train.labels.sum(0) + data.dev.labels.sum(0)).min() >= 1
    assert data.test.labels.sum(0).min() >= 1
    assert "earn" in data.label_names and "acq" in data.label_names


def test_reuters_paper_split(shared_raw, converted):
    data = converted("reuters", shared_raw("reuters"))
    assert sizes(data) == (7767, 864, 2158)  # 8,631 + 2,158 = 10,789
    assert data.meta["nonstandard"] is None
    assert data.meta["split"]["name"] == "paper" and data.meta["seed"] == 0


def test_gaic(shared_raw, converted):
    data = converted("gaic", shared_raw("gaic"))
    assert sizes(data) == (24000, 3000, 3000)
    assert data.meta["nonstandard"] is None
    assert data.label_names == [str(i) for i in range(17)]
    assert data.meta["stats"] == {"rows": 30000, "rows_without_region_label": 10862}
    ids = data.train.ids + data.dev.ids + data.test.ids
    assert len(set(ids)) == 30000
    assert sum(i.startswith("r1-") for i in ids) == 10000
    assert json.dumps(data.meta["raw_files_sha256"])  # both training files hashed
    assert sorted(data.meta["raw_files_sha256"]) == [
        "round2/train.csv",
        "track1_round1_train_20210222.csv",
    ]
