"""Reuters converter on small SGML fixtures: parsing, ModApte-90 rules, splits, archives."""

from __future__ import annotations

import json

import pytest
from fixtures_raw import write_reuters

from data_prep import ConversionError, convert
from data_prep.datasets.reuters import parse_sgml

#: fixtures are not the public release: converted with allow_nonstandard=True, which warns
pytestmark = pytest.mark.filterwarnings("ignore::data_prep.base.NonstandardReleaseWarning")


def read(folder):
    return {
        split: [json.loads(line) for line in (folder / f"{split}.jsonl").read_text().splitlines()]
        for split in ("train", "dev", "test")
    }


def _convert_fixture(tmp_path, **options):
    """The fixture's SGML files converted (a fixture is not the public release)."""
    raw = write_reuters(tmp_path / "raw")
    return convert("reuters", raw, tmp_path / "data", allow_nonstandard=True, **options)


def test_sgml_parsing_entities_latin1_and_fallbacks(tmp_path):
    out = _convert_fixture(tmp_path, split="standard")
    by_id = {r["id"]: r for part in read(out).values() for r in part}
    assert by_id["1"] == {
        "id": "1",
        "text": "COCOA & CO\nPrices <up> at M\u00fcnchen.\n Reuter",
        "labels": ["cocoa"],
    }
    assert by_id["2"]["labels"] == ["cocoa", "grain"]
    assert by_id["3"]["labels"] == ["grain"]  # 'rare' has no test document: dropped label
    assert by_id["4"]["text"] == "BRIEF ONLY TITLE\nNEW YORK, March 2 -"  # no BODY: TEXT content
    assert by_id["9"]["text"] == "U f0000 reute\nb f BC-UNPROC 03-02 0010\nPlain unprocessed text"
    # 5: no topics, 6: TOPICS="NO", 7: NOT-USED, 8: only the dropped category
    assert not {"5", "6", "7", "8"} & set(by_id)
    assert (out / "labels.txt").read_text() == "cocoa\ngrain\n"


def test_standard_split_is_modapte(tmp_path):
    out = _convert_fixture(tmp_path, split="standard")
    recs = read(out)
    train_ids = {r["id"] for r in recs["train"] + recs["dev"]}
    assert train_ids == {"1", "3", *map(str, range(10, 20))}
    assert {r["id"] for r in recs["test"]} == {"2", "4", "9", *map(str, range(20, 25))}
    assert len(recs["dev"]) == 2  # ceil(10% of 12)
    meta = json.loads((out / "meta.json").read_text())
    assert meta["stats"] == {
        "documents_in_files": 24,
        "modapte_documents": 22,
        "dropped_no_topics": 1,
        "dropped_no_kept_category": 1,
        "modapte_train": 12,
        "modapte_test": 8,
        "categories_with_topics": 3,
    }


def test_paper_split_pools_and_resplits(tmp_path):
    out = _convert_fixture(tmp_path)
    recs = read(out)
    assert [len(recs[s]) for s in ("train", "dev", "test")] == [14, 2, 4]  # 20 docs: 4 = 20*0.2
    meta = json.loads((out / "meta.json").read_text())
    assert meta["split"]["name"] == "paper" and meta["seed"] == 0
    assert meta["converter_command"] == (
        "python -m data_prep reuters --raw-dir RAW/reuters --out DATA_DIR --split paper --seed 0"
    )


def test_archive_gives_same_records_as_folder(tmp_path):
    a = convert("reuters", write_reuters(tmp_path / "r1"), tmp_path / "d1", allow_nonstandard=True)
    b = convert(
        "reuters",
        write_reuters(tmp_path / "r2", archive=True),
        tmp_path / "d2",
        allow_nonstandard=True,
    )
    for name in ("train.jsonl", "dev.jsonl", "test.jsonl", "labels.txt"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    assert list(json.loads((b / "meta.json").read_text())["raw_files_sha256"]) == [
        "reuters21578.tar.gz"
    ]


def test_truncated_archive(tmp_path):
    raw = write_reuters(tmp_path / "raw", archive=True)
    data = (raw / "reuters21578.tar.gz").read_bytes()
    (raw / "reuters21578.tar.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ConversionError, match=r"reuters21578\.tar\.gz: the archive is truncated"):
        convert("reuters", raw, tmp_path / "data")
    assert not (tmp_path / "data" / "reuters").exists()


def test_truncated_sgml_file(tmp_path):
    raw = write_reuters(tmp_path / "raw")
    path = raw / "reut2-001.sgm"
    text = path.read_bytes()
    path.write_bytes(text[: text.rindex(b"</REUTERS>")])
    with pytest.raises(ConversionError, match=r"reut2-001\.sgm:\d+: <REUTERS> element not closed"):
        convert("reuters", raw, tmp_path / "data")


def test_missing_sgml_file(tmp_path):
    raw = write_reuters(tmp_path / "raw")
    (raw / "reut2-021.sgm").unlink()
    with pytest.raises(ConversionError, match=r"files \['reut2-021\.sgm'\] missing"):
        convert("reuters", raw, tmp_path / "data")


def test_parse_sgml_control_characters():
    sgml = (
        '<REUTERS TOPICS="YES" LEWISSPLIT="TRAIN" NEWID="7"><TOPICS><D>gold</D></TOPICS>'
        "<TEXT><TITLE>A &#27;B&#127;</TITLE><BODY>x &amp;&#3; y</BODY></TEXT></REUTERS>"
    )
    (doc,) = parse_sgml(sgml, "x.sgm")
    assert (doc.newid, doc.topics, doc.text) == ("7", ("gold",), "A B\nx & y")
