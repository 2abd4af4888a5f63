"""RMSC converter on small album JSON fixtures: text cleaning, skips, 70/9/21 split, errors."""

from __future__ import annotations

import json

import pytest
from fixtures_raw import write_rmsc, write_rmsc_release_sized

from data_prep import ConversionError, convert
from data_prep.datasets.rmsc import DATASET, clean_text

#: fixtures are not the public release: converted with allow_nonstandard=True, which warns
pytestmark = pytest.mark.filterwarnings("ignore::data_prep.base.NonstandardReleaseWarning")


def read(folder):
    return {
        split: [json.loads(line) for line in (folder / f"{split}.jsonl").read_text().splitlines()]
        for split in ("train", "dev", "test")
    }


def test_clean_text_keeps_chinese_english_digits():
    assert clean_text("《安静》的歌，  很棒。Great!!! 5/5 😀\n好") == "安静 的歌 很棒 Great 5 5 好"


def test_records_skips_and_split(tmp_path):
    out = convert(
        "rmsc", write_rmsc(tmp_path / "raw", zipped=True), tmp_path / "data", allow_nonstandard=True
    )
    recs = read(out)
    # 10 usable albums: test round(646/7172 * 10) = 1, train round(5020/7172 * 10) = 7, dev 2
    assert [len(recs[s]) for s in ("train", "dev", "test")] == [7, 2, 1]
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
    a = convert("rmsc", write_rmsc(tmp_path / "r1"), tmp_path / "d1", allow_nonstandard=True)
    b = convert(
        "rmsc", write_rmsc(tmp_path / "r2", zipped=True), tmp_path / "d2", allow_nonstandard=True
    )
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


@pytest.fixture(scope="module")
def release_sized(tmp_path_factory):
    """A data.zip of 7,172 tiny albums over 22 styles: the release's size, so no flag needed."""
    return write_rmsc_release_sized(tmp_path_factory.mktemp("rmsc") / "raw")


def test_paper_split_is_table_1(release_sized, tmp_path):
    """Table 1: 5,020 train and 646 test; the remaining 1,506 (21%) are dev."""
    out = convert("rmsc", release_sized, tmp_path / "data")
    meta = json.loads((out / "meta.json").read_text())
    assert meta["counts"] == {"train": 5020, "dev": 1506, "test": 646}
    assert meta["nonstandard"] is None and meta["num_labels"] == 22
    assert meta["converter_version"] == "2"
    rule = DATASET.split_rules["paper"]
    assert meta["split"]["rule"] == rule
    assert "646 of 7,172" in rule and "5,020" in rule and "dev = the rest (1,506" in rule
    ids = [r["id"] for part in read(out).values() for r in part]
    assert len(set(ids)) == 7172


def test_paper_split_is_seeded(release_sized, tmp_path):
    test_ids = {}
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        out = convert("rmsc", release_sized, tmp_path / name, seed=seed)
        test_ids[name] = [r["id"] for r in read(out)["test"]]
    assert test_ids["a"] == test_ids["b"] and len(test_ids["c"]) == 646
    assert test_ids["a"] != test_ids["c"]
