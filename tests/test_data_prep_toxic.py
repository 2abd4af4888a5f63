"""Toxic converter on a small Kaggle-format train.csv: quoting, filtering, split, errors."""

from __future__ import annotations

import json

import pytest
from fixtures_raw import TOXIC_HEADER, write_toxic

from data_prep import ConversionError, convert

#: fixtures are not the public release: converted with allow_nonstandard=True, which warns
pytestmark = pytest.mark.filterwarnings("ignore::data_prep.base.NonstandardReleaseWarning")


def read(folder):
    return {
        split: [json.loads(line) for line in (folder / f"{split}.jsonl").read_text().splitlines()]
        for split in ("train", "dev", "test")
    }


def test_multiline_quoted_comments_and_filter(tmp_path):
    out = convert("toxic", write_toxic(tmp_path / "raw"), tmp_path / "data", allow_nonstandard=True)
    recs = read(out)
    assert [len(recs[s]) for s in ("train", "dev", "test")] == [6, 1, 4]  # 11: ceil(3.3)=4 test
    by_id = {r["id"]: r for part in recs.values() for r in part}
    assert "0000997932d777bf" not in by_id  # no positive label
    assert by_id["000103f0d9cfb60f"] == {
        "id": "000103f0d9cfb60f",
        "text": 'You are a "stupid",\r\nugly\n\n troll',
        "labels": ["toxic", "obscene", "insult"],
    }
    assert by_id["last"]["text"] == 'hateful, "quoted"\nmulti-line'
    assert by_id["last"]["labels"] == ["toxic", "severe_toxic", "identity_hate"]
    assert (out / "labels.txt").read_text().split() == TOXIC_HEADER[2:]
    meta = json.loads((out / "meta.json").read_text())
    assert meta["stats"] == {"rows": 12, "rows_with_positive_label": 11}


def test_wrong_column_count(tmp_path):
    raw = write_toxic(tmp_path / "raw")
    with open(raw / "train.csv", "a", encoding="utf-8") as handle:
        handle.write('"x1","short row",1,0\n')
    with pytest.raises(
        ConversionError, match=r"train\.csv:\d+ \(record 13\): 4 columns; expected 8"
    ):
        convert("toxic", raw, tmp_path / "data")


def test_bad_label_value(tmp_path):
    raw = write_toxic(tmp_path / "raw")
    with open(raw / "train.csv", "a", encoding="utf-8") as handle:
        handle.write('"x1","text",1,0,0,0,0,2\n')
    with pytest.raises(ConversionError, match=r"label values .*expected 0 or 1"):
        convert("toxic", raw, tmp_path / "data")


def test_wrong_header(tmp_path):
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "train.csv").write_text("id,text\n")
    with pytest.raises(ConversionError, match=r"train\.csv:1: header \['id', 'text'\]; expected"):
        convert("toxic", tmp_path / "raw", tmp_path / "data")


def test_missing_file(tmp_path):
    (tmp_path / "raw").mkdir()
    with pytest.raises(ConversionError, match=r"train\.csv: file missing"):
        convert("toxic", tmp_path / "raw", tmp_path / "data")
