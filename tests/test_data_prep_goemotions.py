"""GoEmotions converter on small TSV fixtures: exact records, errors, determinism."""

from __future__ import annotations

import json

import pytest
from fixtures_raw import write_goemotions

from data_prep import ConversionError, convert

#: fixtures are not the public release: converted with allow_nonstandard=True, which warns
pytestmark = pytest.mark.filterwarnings("ignore::data_prep.base.NonstandardReleaseWarning")


def read_split(folder, split):
    return [json.loads(line) for line in (folder / f"{split}.jsonl").read_text().splitlines()]


def test_records_labels_and_meta(tmp_path):
    out = convert(
        "goemotions", write_goemotions(tmp_path / "raw"), tmp_path / "data", allow_nonstandard=True
    )
    assert out == tmp_path / "data" / "goemotions"
    assert (out / "labels.txt").read_text() == "admiration\namusement\nanger\nneutral\n"
    assert read_split(out, "train") == [
        {"id": "c1", "text": "I love this, thank you!", "labels": ["admiration"]},
        {
            "id": "c2",
            "text": 'He said "no" \u2014 lol \U0001f602',
            "labels": ["amusement", "neutral"],
        },
        {"id": "c3", "text": "WHY would you do that", "labels": ["anger"]},
    ]
    assert read_split(out, "dev")[1]["labels"] == ["admiration", "amusement"]
    assert [r["id"] for r in read_split(out, "test")] == ["c6"]
    meta = json.loads((out / "meta.json").read_text())
    assert meta["counts"] == {"train": 3, "dev": 2, "test": 1}
    assert meta["converter"] == "data_prep.datasets.goemotions"
    assert meta["seed"] is None and meta["split"]["name"] == "standard"
    assert sorted(meta["raw_files_sha256"]) == ["dev.tsv", "emotions.txt", "test.tsv", "train.tsv"]
    assert meta["converter_command"].startswith("python -m data_prep goemotions --raw-dir RAW/")


def test_label_id_out_of_range(tmp_path):
    raw = write_goemotions(tmp_path / "raw")
    (raw / "dev.tsv").write_text("fine\t3\ta\nbad\t1,4\tb\n")
    with pytest.raises(ConversionError, match=r"dev\.tsv:2: label id '4' out of range.*0\.\.3"):
        convert("goemotions", raw, tmp_path / "data")
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").iterdir())


def test_wrong_column_count(tmp_path):
    raw = write_goemotions(tmp_path / "raw")
    (raw / "train.tsv").write_text("a\t1\tx\nno tabs here\n")
    with pytest.raises(ConversionError, match=r"train\.tsv:2: 1 tab-separated columns; expected 3"):
        convert("goemotions", raw, tmp_path / "data")


def test_bad_encoding_names_line_and_offset(tmp_path):
    raw = write_goemotions(tmp_path / "raw")
    (raw / "test.tsv").write_bytes(b"ok\t1\ta\nbad \xff byte\t1\tb\n")
    with pytest.raises(ConversionError, match=r"test\.tsv:2: not valid utf-8 at byte offset 11"):
        convert("goemotions", raw, tmp_path / "data")


def test_missing_file(tmp_path):
    raw = write_goemotions(tmp_path / "raw")
    (raw / "emotions.txt").unlink()
    with pytest.raises(ConversionError, match=r"emotions\.txt: file missing"):
        convert("goemotions", raw, tmp_path / "data")


def test_unknown_split_is_an_error(tmp_path):
    raw = write_goemotions(tmp_path / "raw")
    with pytest.raises(ConversionError, match="unknown split 'random'"):
        convert("goemotions", raw, tmp_path / "data", split="random")
