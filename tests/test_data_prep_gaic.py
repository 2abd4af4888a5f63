"""GAIC converter on small `|,|` fixtures: round merge, region labels only, 8:1:1, errors."""

from __future__ import annotations

import json

import pytest
from fixtures_raw import write_gaic

from data_prep import ConversionError, convert

#: fixtures are not the public release: converted with allow_nonstandard=True, which warns
pytestmark = pytest.mark.filterwarnings("ignore::data_prep.base.NonstandardReleaseWarning")


def records(folder):
    return {
        split: [json.loads(line) for line in (folder / f"{split}.jsonl").read_text().splitlines()]
        for split in ("train", "dev", "test")
    }


def test_merge_labels_and_split(tmp_path):
    out = convert("gaic", write_gaic(tmp_path / "raw"), tmp_path / "data", allow_nonstandard=True)
    assert (out / "labels.txt").read_text().split() == [str(i) for i in range(17)]
    recs = records(out)
    assert [len(recs[s]) for s in ("train", "dev", "test")] == [5, 1, 1]  # round(7/10) = 1
    by_id = {r["id"]: r for part in recs.values() for r in part}
    assert by_id == {
        "r1-0": {"id": "r1-0", "text": "623 328 538", "labels": ["2"]},
        "r1-1": {"id": "r1-1", "text": "48 328", "labels": []},
        "r1-2": {"id": "r1-2", "text": "623 656 293", "labels": ["15", "16"]},
        "r2-0": {"id": "r2-0", "text": "1 2", "labels": ["15"]},  # type label 2 dropped
        "r2-1": {"id": "r2-1", "text": "3 4", "labels": []},
        "r2-2": {"id": "r2-2", "text": "5", "labels": ["0", "1"]},
        "r2-3": {"id": "r2-3", "text": "7 8", "labels": []},
    }
    meta = json.loads((out / "meta.json").read_text())
    assert meta["seed"] == 0 and meta["stats"] == {"rows": 7, "rows_without_region_label": 3}
    assert sorted(meta["raw_files_sha256"]) == [
        "round2/train.csv",
        "track1_round1_train_20210222.csv",
    ]


def test_seed_changes_split_and_is_recorded(tmp_path):
    raw = write_gaic(tmp_path / "raw")
    a = convert("gaic", raw, tmp_path / "a", seed=0, allow_nonstandard=True)
    b = convert("gaic", raw, tmp_path / "b", seed=5, allow_nonstandard=True)
    assert json.loads((b / "meta.json").read_text())["seed"] == 5
    assert "--seed 5" in json.loads((b / "meta.json").read_text())["converter_command"]
    assert sorted(r["id"] for p in records(a).values() for r in p) == sorted(
        r["id"] for p in records(b).values() for r in p
    )


@pytest.mark.parametrize(
    ("file", "content", "message"),
    [
        (
            "track1_round1_train_20210222.csv",
            "0|,|1 2|,|3 \n1|,|1 2|,|17 \n",
            r"track1_round1_train_20210222\.csv:2: label id '17' out of range.*0\.\.16",
        ),
        (
            "round2/train.csv",
            "0|,|1 2|,|3 ,12 \n",
            r"round2/train\.csv:1: label id '12' out of range.*0\.\.11",
        ),
        (
            "round2/train.csv",
            "0|,|1 2|,|3 ,1\n1|,|1 2\n",
            r"round2/train\.csv:2: 2 fields separated by '\|,\|'; expected 3",
        ),
        (
            "round2/train.csv",
            "0|,|1 2|,|3 \n",
            r"round2/train\.csv:1: label field '3 ' has 1 comma-separated group\(s\); expected 2",
        ),
    ],
)
def test_errors_name_file_and_line(tmp_path, file, content, message):
    raw = write_gaic(tmp_path / "raw")
    (raw / file).write_text(content)
    with pytest.raises(ConversionError, match=message):
        convert("gaic", raw, tmp_path / "data")
    assert not (tmp_path / "data" / "gaic").exists()


def test_missing_round2(tmp_path):
    raw = write_gaic(tmp_path / "raw")
    (raw / "round2" / "train.csv").unlink()
    with pytest.raises(ConversionError, match=r"round2/train\.csv: file missing"):
        convert("gaic", raw, tmp_path / "data")
