"""RMSC converter on small album JSON fixtures: text cleaning, skips, 70/9/21 split, errors."""

from __future__ import annotations

import json

import pytest
from fixtures_raw import write_rmsc

from data_prep import ConversionError, convert
from data_prep.rmsc import clean_text


def read(folder):
    return {
        split: [json.loads(line) for line in (folder / f"{split}.jsonl").read_text().splitlines()]
        for split in ("train", "dev", "test")
    }


def test_clean_text_keeps_chinese_english_digits():
    assert clean_text("《安静》的歌，  很棒。Great!!! 5/5 😀\n好") == "安静 的歌 很棒 Great 5 5 好"


def test_records_skips_and_split(tmp_path):
    out = convert("rmsc", write_rmsc(tmp_path / "raw", zipped=True), tmp_path / "data")
    recs = read(out)
    assert [len(recs[s]) for s in ("train", "dev", "test")] == [7, 1, 2]  # 10 albums: 7/1/2
    by_id = {r["id"]: r for part in recs.values() for r in part}
    assert by_id["专辑A"] == {
        "id": "专辑A",
        "text": "好听 Great album 5 5",
        "labels": ["摇滚", "流行"],
    }
    assert by_id["专辑B"] == {"id": "专辑B", "text": "安静 的歌 很棒", "labels": ["民谣"]}
    assert "empty_tags" not in by_id and "no_comments" not in by_id
    assert (out / "labels.txt").read_text() == "摇滚\n民谣\n流行\n"  # sorted by code point
    meta = json.loads((out / "meta.json").read_text())
    assert meta["stats"] == {"albums": 12, "skipped_no_tags": 1, "skipped_no_comments": 1}
    assert meta["seed"] == 1 and meta["language"] == "zh"
    assert list(meta["raw_files_sha256"]) == ["data.zip"]


def test_folder_and_zip_agree(tmp_path):
    a = convert("rmsc", write_rmsc(tmp_path / "r1"), tmp_path / "d1")
    b = convert("rmsc", write_rmsc(tmp_path / "r2", zipped=True), tmp_path / "d2")
    for name in ("train.jsonl", "dev.jsonl", "test.jsonl", "labels.txt"):
        assert (a / name).read_bytes() == (b / name).read_bytes()


def test_bad_json_names_the_file(tmp_path):
    raw = write_rmsc(tmp_path / "raw")
    (raw / "data" / "album03.json").write_text('{"tags": ["流行"], ', encoding="utf-8")
    with pytest.raises(ConversionError, match=r"album03\.json: not valid JSON \(line 1"):
        convert("rmsc", raw, tmp_path / "data")


def test_bad_encoding(tmp_path):
    raw = write_rmsc(tmp_path / "raw")
    (raw / "data" / "album03.json").write_bytes('{"tags": ["流行"]}'.encode("gbk"))
    with pytest.raises(ConversionError, match=r"album03\.json: not valid UTF-8 at byte offset 11"):
        convert("rmsc", raw, tmp_path / "data")


def test_no_albums(tmp_path):
    (tmp_path / "raw").mkdir()
    with pytest.raises(ConversionError, match=r"no data\.zip and no album \.json files"):
        convert("rmsc", tmp_path / "raw", tmp_path / "data")
