"""The canonical loader: good folders load, every kind of bad folder gives a clear error."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from data_prep.canonical import ConversionError, Record, write_dataset
from data_prep.synthetic import SyntheticConfig, generate, write_synthetic
from lmmtc.data import DataError, carve_dev, load_dataset

LABELS = ["a", "b", "c"]


def _write_small(folder: Path) -> Path:
    splits = {
        "train": [Record("t1", "alpha beta", ("a", "b")), Record("t2", "gamma", ("c",))],
        "dev": [Record("d1", "alpha", ("a",))],
        "test": [Record("s1", "beta gamma", ("b", "c")), Record("s2", "nothing", ())],
    }
    return write_dataset(folder, splits, LABELS, {"name": "small", "converter": "test"})


def test_round_trip_gives_multi_hot_matrix(tmp_path):
    data = load_dataset(_write_small(tmp_path / "small"))
    assert data.label_names == LABELS
    assert data.train.labels.tolist() == [[1, 1, 0], [0, 0, 1]]
    assert data.test.labels.tolist() == [[0, 1, 1], [0, 0, 0]]
    assert data.test.texts == ["beta gamma", "nothing"]
    assert data.meta["counts"] == {"train": 2, "dev": 1, "test": 2}
    assert set(data.hashes) == {"train.jsonl", "dev.jsonl", "test.jsonl", "labels.txt"}
    hf = data.to_hf()
    assert hf["train"]["label_vector"] == [[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]


def test_load_by_name_from_data_dir(tmp_path):
    _write_small(tmp_path / "small")
    assert load_dataset("small", tmp_path).name == "small"


def test_missing_folder_names_the_converter(tmp_path):
    with pytest.raises(DataError, match=r"'reuters' not found.*python -m data_prep reuters"):
        load_dataset("reuters", tmp_path)


def test_missing_split_file(tmp_path):
    folder = _write_small(tmp_path / "small")
    (folder / "test.jsonl").unlink()
    with pytest.raises(DataError, match=r"test\.jsonl: file missing"):
        load_dataset(folder)


def test_malformed_line_names_file_and_line(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "train.jsonl").write_text('{"text": "ok", "labels": ["x"]}\n{"text": broken\n')
    (folder / "test.jsonl").write_text('{"text": "ok", "labels": ["x"]}\n')
    with pytest.raises(DataError, match=r"train\.jsonl:2: not valid JSON"):
        load_dataset(folder)


def test_wrong_field_types_are_reported(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "train.jsonl").write_text('{"text": "ok", "labels": "x"}\n')
    (folder / "test.jsonl").write_text('{"text": "ok", "labels": ["x"]}\n')
    with pytest.raises(DataError, match=r"train\.jsonl:1: expected an object with a string"):
        load_dataset(folder)


def test_unknown_label_names_file_line_and_label(tmp_path):
    folder = _write_small(tmp_path / "small")
    meta = folder / "meta.json"
    meta.write_text(json.dumps({"name": "small"}))  # drop hashes so the label check is reached
    with open(folder / "dev.jsonl", "a", encoding="utf-8") as handle:
        handle.write('{"id": "d2", "text": "x", "labels": ["zzz"]}\n')
    with pytest.raises(DataError, match=r"dev\.jsonl:2: unknown label 'zzz'"):
        load_dataset(folder)


def test_empty_split(tmp_path):
    folder = _write_small(tmp_path / "small")
    (folder / "meta.json").unlink()
    (folder / "dev.jsonl").write_text("\n")
    with pytest.raises(DataError, match=r"dev\.jsonl: the split is empty"):
        load_dataset(folder)


def test_changed_file_fails_hash_check_and_names_converter(tmp_path):
    folder = _write_small(tmp_path / "small")
    meta = json.loads((folder / "meta.json").read_text())
    meta["converter_command"] = "python -m data_prep small --raw-dir RAW --out DATA"
    (folder / "meta.json").write_text(json.dumps(meta))
    with open(folder / "train.jsonl", "a", encoding="utf-8") as handle:
        handle.write('{"id": "t3", "text": "more", "labels": ["a"]}\n')
    with pytest.raises(DataError, match=r"train\.jsonl: sha256 .* differs.*data_prep small"):
        load_dataset(folder)


def test_count_mismatch_is_reported(tmp_path):
    folder = _write_small(tmp_path / "small")
    meta = json.loads((folder / "meta.json").read_text())
    meta.pop("sha256")
    meta["counts"]["test"] = 5
    (folder / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(DataError, match=r"test\.jsonl: holds 2 records, meta\.json says 5"):
        load_dataset(folder)


def test_user_folder_needs_only_jsonl(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    lines = [
        json.dumps({"text": f"doc {i}", "labels": ["y"] if i % 2 else ["x", "y"]})
        for i in range(20)
    ]
    (folder / "train.jsonl").write_text("\n".join(lines) + "\n")
    (folder / "test.jsonl").write_text(lines[0] + "\n")
    data = load_dataset(folder)
    assert data.label_names == ["x", "y"]  # sorted union
    assert data.dev_carved and len(data.dev) == 2 and len(data.train) == 18
    assert not set(data.dev.texts) & set(data.train.texts)
    assert data.test.ids == ["test-1"]  # ids default to <split>-<line>


def test_carve_dev_is_deterministic():
    splits, names = generate(SyntheticConfig(n_train=50))
    from lmmtc.data import Split

    train = Split(
        "train",
        [r.id for r in splits["train"]],
        [r.text for r in splits["train"]],
        np.zeros((50, len(names)), dtype=np.uint8),
        names,
    )
    a, b = carve_dev(train), carve_dev(train)
    assert a[1].ids == b[1].ids and len(a[1]) == 5


def test_writer_refuses_unknown_labels_and_leaves_nothing(tmp_path):
    bad = {
        "train": [Record("1", "x", ("nope",))],
        "dev": [Record("2", "y", ())],
        "test": [Record("3", "z", ())],
    }
    with pytest.raises(ConversionError, match="labels \\['nope'\\] that are not in labels.txt"):
        write_dataset(tmp_path / "bad", bad, ["a"], {})
    assert list(tmp_path.iterdir()) == []


def test_synthetic_is_deterministic_stamped_and_correlated(tmp_path):
    config = SyntheticConfig(num_labels=6, num_clusters=2, correlation=0.9, n_train=500, seed=3)
    first = write_synthetic(tmp_path / "one", config)
    second = write_synthetic(tmp_path / "two", config)
    for name in ("train.jsonl", "dev.jsonl", "test.jsonl", "labels.txt", "meta.json"):
        assert (first / name).read_bytes() == (second / name).read_bytes()
    data = load_dataset(first)
    assert data.synthetic and data.meta["generator_config"]["seed"] == 3
    corr = np.corrcoef(data.train.labels.T.astype(float))
    same_cluster = [corr[i, j] for i in range(6) for j in range(6) if i < j and i % 2 == j % 2]
    other_cluster = [corr[i, j] for i in range(6) for j in range(6) if i < j and i % 2 != j % 2]
    assert min(same_cluster) > 0.3 > max(other_cluster)
    assert data.train.labels.sum(axis=1).min() >= 1
