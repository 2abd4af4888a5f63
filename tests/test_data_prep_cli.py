"""CLI, Python API, determinism and atomicity across all six converters (fixture data)."""

from __future__ import annotations

import json
import subprocess
import sys

import fixtures_raw
import pytest

from data_prep import DATASETS, ConversionError, convert
from data_prep.cli import main
from lmmtc.data import load_dataset

#: a fixture writer for every declared data set (a new data set needs one here)
WRITERS = {name: getattr(fixtures_raw, f"write_{name}") for name in DATASETS}

#: fixtures are not the public release: converted with allow_nonstandard=True, which warns
pytestmark = pytest.mark.filterwarnings("ignore::data_prep.base.NonstandardReleaseWarning")


def test_api_lists_the_declared_data_sets_in_table_1_order():
    assert list(DATASETS)[:6] == ["gaic", "aapd", "reuters", "rmsc", "goemotions", "toxic"]
    rows = [spec.paper.row for spec in DATASETS.values() if spec.paper]
    assert rows == sorted(rows) == list(range(1, 7))
    for name, conv in DATASETS.items():
        assert conv.name == name and conv.description and conv.how_to_get
        assert conv.default_split in conv.split_rules and callable(conv.convert)
        assert conv.command(conv.default_split, conv.default_seed).startswith(
            f"python -m data_prep {name} --raw-dir RAW/{name}"
        )


@pytest.mark.parametrize("name", list(WRITERS))
def test_deterministic_and_loadable(name, tmp_path):
    raw = WRITERS[name](tmp_path / "raw")
    a = convert(name, raw, tmp_path / "a", allow_nonstandard=True)
    b = convert(name, raw, tmp_path / "b", allow_nonstandard=True)
    files = sorted(p.name for p in a.iterdir())
    assert files == ["dev.jsonl", "labels.txt", "meta.json", "test.jsonl", "train.jsonl"]
    for file in files:
        assert (a / file).read_bytes() == (b / file).read_bytes(), file
    # converting again in place replaces the folder
    convert(name, raw, tmp_path / "a", allow_nonstandard=True)
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [name]
    meta = json.loads((a / "meta.json").read_text())
    for key in ("name", "source", "converter", "converter_version", "converter_command",
                "split", "seed", "raw_files_sha256", "language"):  # fmt: skip
        assert key in meta, key
    assert meta["source"]["url"].startswith("https://")
    with pytest.warns(UserWarning, match="differ from the public release"):  # DataWarning
        data = load_dataset(a)
    assert any("converted from raw files that differ" in note for note in data.warnings)
    assert data.name == name and data.label_names == (a / "labels.txt").read_text().split("\n")[:-1]
    assert len(data.train) == meta["counts"]["train"]


def test_failed_conversion_leaves_nothing(tmp_path):
    raw = fixtures_raw.write_toxic(tmp_path / "raw")
    (raw / "train.csv").write_text((raw / "train.csv").read_text() + '"x","y",1\n')
    out = tmp_path / "data"
    out.mkdir()
    with pytest.raises(ConversionError):
        convert("toxic", raw, out)
    assert list(out.iterdir()) == []


def test_help_explains_everything(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    for word in (*DATASETS, "all", "--raw-dir", "--out", "--split", "--seed", "--download",
                 "LMMTC_DOWNLOAD_BASE_URL", "ModApte", "--allow-nonstandard"):  # fmt: skip
        assert word in text, word


def test_cli_converts_one(tmp_path, capsys):
    raw = fixtures_raw.write_aapd(tmp_path / "raw")
    args = ["aapd", "--raw-dir", str(raw), "--out", str(tmp_path / "data")]
    assert main([*args, "--allow-nonstandard"]) == 0
    assert "aapd: wrote" in capsys.readouterr().out
    assert (tmp_path / "data" / "aapd" / "meta.json").exists()


def test_cli_all_converts_present_and_explains_missing(tmp_path, capsys):
    root = tmp_path / "raw"
    fixtures_raw.write_gaic(root / "gaic")
    fixtures_raw.write_goemotions(root / "goemotions")
    code = main(["all", "--raw-dir", str(root), "--out", str(tmp_path / "data"),
                 "--allow-nonstandard"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["gaic", "goemotions"]
    for missing in ("aapd", "reuters", "rmsc", "toxic"):
        (line,) = [line for line in out.splitlines() if line.startswith(f"{missing}: skipped")]
        assert str(root / missing) in line and "raw folder" in line


def test_cli_error_is_one_line_without_traceback(tmp_path):
    raw = fixtures_raw.write_goemotions(tmp_path / "raw")
    (raw / "train.tsv").write_text("text\t99\tid\n")
    result = subprocess.run(
        [sys.executable, "-m", "data_prep", "goemotions", "--raw-dir", str(raw), "--out",
         str(tmp_path / "data")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "train.tsv:1: label id '99' out of range" in result.stderr
