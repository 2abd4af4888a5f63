"""AAPD converter: the six SGM files, loose or zipped, label order, line-count errors."""

from __future__ import annotations

import json

import pytest
from fixtures_raw import write_aapd

from data_prep import ConversionError, convert

#: fixtures are not the public release: converted with allow_nonstandard=True, which warns
pytestmark = pytest.mark.filterwarnings("ignore::data_prep.base.NonstandardReleaseWarning")


def read(folder, split):
    return [json.loads(line) for line in (folder / f"{split}.jsonl").read_text().splitlines()]


def test_records_and_label_order(tmp_path):
    out = convert("aapd", write_aapd(tmp_path / "raw"), tmp_path / "data", allow_nonstandard=True)
    assert (out / "labels.txt").read_text().split() == [
        "cs.AI", "cs.DS", "cs.LG", "math.CO", "quant-ph",
    ]  # fmt: skip
    assert read(out, "train")[0] == {
        "id": "train-1",
        "text": "we study deep nets .",
        "labels": ["cs.AI", "cs.LG"],
    }
    assert [r["id"] for r in read(out, "dev")] == ["dev-1", "dev-2"]
    assert read(out, "test")[1]["labels"] == ["cs.DS"]


def test_zip_with_subfolder_gives_same_records(tmp_path):
    loose = convert("aapd", write_aapd(tmp_path / "raw1"), tmp_path / "d1", allow_nonstandard=True)
    zipped = convert(
        "aapd", write_aapd(tmp_path / "raw2", zipped=True), tmp_path / "d2", allow_nonstandard=True
    )
    for name in ("train.jsonl", "dev.jsonl", "test.jsonl", "labels.txt"):
        assert (loose / name).read_bytes() == (zipped / name).read_bytes()
    meta = json.loads((zipped / "meta.json").read_text())
    assert list(meta["raw_files_sha256"]) == ["AAPD.zip"]


def test_line_count_mismatch_names_both_files(tmp_path):
    raw = write_aapd(tmp_path / "raw")
    (raw / "label_val").write_text("cs.AI\n")
    with pytest.raises(ConversionError, match=r"text_val has 2 lines but .*label_val has 1"):
        convert("aapd", raw, tmp_path / "data")


def test_missing_files(tmp_path):
    raw = write_aapd(tmp_path / "raw")
    (raw / "text_test").unlink()
    with pytest.raises(ConversionError, match=r"files \['text_test'\] missing"):
        convert("aapd", raw, tmp_path / "data")


def test_truncated_zip(tmp_path):
    raw = write_aapd(tmp_path / "raw", zipped=True)
    data = (raw / "AAPD.zip").read_bytes()
    (raw / "AAPD.zip").write_bytes(data[: len(data) // 2])
    with pytest.raises(ConversionError, match=r"AAPD\.zip: cannot open the zip archive"):
        convert("aapd", raw, tmp_path / "data")
