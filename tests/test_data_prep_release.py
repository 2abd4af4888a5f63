"""Known release sizes: every converter refuses raw files that differ from the public release
(rows per file, sha256 where fixed) unless allow_nonstandard, which warns and stamps meta.json.

The small fixtures are not the release, so each converter is checked both ways on them; a
fixture-sized Release (dataclasses.replace) shows the accepted, unstamped case and the
sha256-only difference. The real files (where present) pass, and cut or edited copies of
them are refused.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import tarfile
import warnings

import fixtures_raw
import pytest
from conftest import raw_dir_or_skip

from data_prep import DATASETS, ConversionError, convert
from data_prep.base import NonstandardReleaseWarning, Release
from data_prep.cli import main
from data_prep.datasets.reuters import ARCHIVE, DOCUMENTS, FILES

WRITERS = {
    "gaic": fixtures_raw.write_gaic,
    "aapd": fixtures_raw.write_aapd,
    "reuters": fixtures_raw.write_reuters,
    "rmsc": fixtures_raw.write_rmsc,
    "goemotions": fixtures_raw.write_goemotions,
    "toxic": fixtures_raw.write_toxic,
}

#: converter -> (the start of the refusal after the raw folder, the release files that differ)
REFUSALS = {
    "gaic": (
        "/track1_round1_train_20210222.csv: 3 lines, the public release has 10,000 "
        "(and 1 more difference(s)); this is not the public gaic release",
        {"track1_round1_train_20210222.csv", "round2/train.csv"},
    ),
    "aapd": (
        "/text_train: 4 lines, the public release has 53,840 (and 6 more difference(s)); "
        "this is not the public aapd release",
        {"text_train", "label_train", "text_val", "label_val", "text_test", "label_test", "labels"},
    ),  # fmt: skip
    "reuters": (
        "/reut2-000.sgm: 3 documents, the public release has 1,000 (and 21 more "
        "difference(s)); this is not the public reuters release",
        set(FILES),
    ),
    "rmsc": (
        ": 12 album .json files, the public release has 7,172 (and 1 more difference(s)); "
        "this is not the public rmsc release",
        {"albums", "labels"},
    ),
    "goemotions": (
        "/train.tsv: 3 lines, the public release has 43,410 (and 3 more difference(s)); "
        "this is not the public goemotions release",
        {"train.tsv", "dev.tsv", "test.tsv", "emotions.txt"},
    ),
    "toxic": (
        "/train.csv: 12 rows, the public release has 159,571; this is not the public toxic release",
        {"train.csv"},
    ),
}
ADVICE = (
    ": download it again, or pass --allow-nonstandard (allow_nonstandard=True) to convert a "
    "modified copy"
)


def meta_of(folder):
    return json.loads((folder / "meta.json").read_text())


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("name", list(REFUSALS))
def test_fixture_refused_by_default(name, tmp_path):
    raw = WRITERS[name](tmp_path / "raw")
    with pytest.raises(ConversionError) as caught:
        convert(name, raw, tmp_path / "data")
    message = str(caught.value)
    assert message == f"{raw}{REFUSALS[name][0]}{ADVICE}"
    assert "\n" not in message
    assert not (tmp_path / "data" / name).exists()


@pytest.mark.parametrize("name", list(REFUSALS))
def test_fixture_accepted_with_flag_and_stamped(name, tmp_path):
    raw = WRITERS[name](tmp_path / "raw")
    with pytest.warns(NonstandardReleaseWarning, match=f"{name}: converting a copy that differs"):
        out = convert(name, raw, tmp_path / "data", allow_nonstandard=True)
    stamp = meta_of(out)["nonstandard"]
    assert set(stamp["files"]) == REFUSALS[name][1]
    assert next(iter(stamp["files"].values())) in REFUSALS[name][0]
    assert stamp["reason"].startswith(next(iter(stamp["files"])))  # keyed by release file
    assert str(tmp_path) not in json.dumps(stamp)


def fixture_release(name, raw):
    """The converter with a Release describing the fixture itself (as if it were public)."""
    conv = DATASETS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonstandardReleaseWarning)
        built = conv.build(raw, conv.default_split, conv.default_seed)
    release = Release(
        rows={key: found.rows for key, found in built.found.items()},
        unit=conv.release.unit,
        sha256={k: f.sha256 for k, f in built.found.items() if f.sha256 and conv.release.sha256},
        num_labels=len(built.labels) if conv.release.num_labels else None,
        archive=conv.release.archive,
    )
    return dataclasses.replace(conv, release=release)


@pytest.mark.parametrize("name", list(WRITERS))
def test_matching_release_is_standard(name, tmp_path):
    raw = WRITERS[name](tmp_path / "raw")
    conv = fixture_release(name, raw)
    with warnings.catch_warnings():
        warnings.simplefilter("error", NonstandardReleaseWarning)
        out = conv.convert(raw, tmp_path / "data")
    assert meta_of(out)["nonstandard"] is None


@pytest.mark.parametrize(
    ("name", "edit", "message"),
    [
        (
            "goemotions",
            lambda raw: (raw / "train.tsv").write_text(
                (raw / "train.tsv").read_text().replace("\t0\tc1", "\t2\tc1")
            ),
            r"/train\.tsv: sha256 [0-9a-f]{16}\.\.\. differs from the public release's "
            r"[0-9a-f]{16}\.\.\. \(same 3 lines\); this is not the public goemotions release",
        ),
        (
            "gaic",
            lambda raw: (raw / "round2" / "train.csv").write_text(
                fixtures_raw.GAIC_ROUND2.replace("|,|15 ,2", "|,|14 ,2")
            ),
            r"/round2/train\.csv: sha256 .* \(same 4 lines\)",
        ),
        (
            "aapd",
            lambda raw: (raw / "label_val").write_text("cs.AI\nmath.CO cs.LG cs.NEW\n"),
            r"/raw: 6 labels, the public release has 5; this is not the public aapd release",
        ),
        (
            "toxic",
            lambda raw: (raw / "train.csv").write_text(
                (raw / "train.csv").read_text() + '"x9","one more",1,0,0,0,0,0\n'
            ),
            r"/train\.csv: 13 rows, the public release has 12;",
        ),
    ],
)
def test_edited_copy_of_a_release_is_refused(name, edit, message, tmp_path):
    raw = WRITERS[name](tmp_path / "raw")
    conv = fixture_release(name, raw)
    edit(raw)
    with pytest.raises(ConversionError, match=message):
        conv.convert(raw, tmp_path / "data")
    with pytest.warns(NonstandardReleaseWarning):
        out = conv.convert(raw, tmp_path / "data", allow_nonstandard=True)
    assert meta_of(out)["nonstandard"]["reason"]


def test_reuters_members_checked_in_archive_and_loose(tmp_path):
    """The same member bytes pass loose and archived; an edited member is named in the archive."""
    loose = fixtures_raw.write_reuters(tmp_path / "loose")
    conv = fixture_release("reuters", loose)
    archived = fixtures_raw.write_reuters(tmp_path / "archived", archive=True)
    assert meta_of(conv.convert(archived, tmp_path / "a"))["nonstandard"] is None
    data = {name: (loose / name).read_bytes() for name in FILES}
    assert b"train 16" in data["reut2-005.sgm"]
    data["reut2-005.sgm"] = data["reut2-005.sgm"].replace(b"train 16", b"train 61")
    edited = tmp_path / "edited"
    edited.mkdir()
    with tarfile.open(edited / ARCHIVE, "w:gz") as tar:
        for name, blob in data.items():
            (tmp_path / name).write_bytes(blob)
            tar.add(tmp_path / name, arcname=name)
    with pytest.raises(
        ConversionError,
        match=r"reuters21578\.tar\.gz!reut2-005\.sgm: sha256 .* \(same 3 documents\)",
    ):
        conv.convert(edited, tmp_path / "b")


def test_release_facts_are_consistent():
    assert sum(DOCUMENTS.values()) == 21578
    assert set(DATASETS["reuters"].release.sha256) == set(FILES)
    for name, conv in DATASETS.items():
        assert conv.release is not None, name
        assert set(conv.release.sha256) <= set(conv.release.rows), name
    goemotions = DATASETS["goemotions"]
    assert {d.filename: d.sha256 for d in goemotions.downloads} == dict(goemotions.release.sha256)


def test_cli_flag(tmp_path, capsys):
    raw = fixtures_raw.write_toxic(tmp_path / "raw")
    args = ["toxic", "--raw-dir", str(raw), "--out", str(tmp_path / "data")]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--allow-nonstandard" in err and "159,571" in err
    assert main([*args, "--allow-nonstandard"]) == 0
    captured = capsys.readouterr()
    assert "toxic: wrote" in captured.out
    assert captured.err == (
        "toxic: warning: not the public release (train.csv: 12 rows, the public release has "
        '159,571); converted as asked, meta.json records it under "nonstandard"\n'
    )


# ---------------------------------------------------------------- the real files


def test_real_goemotions_cut_at_a_line_boundary_is_refused(shared_raw, tmp_path):
    """The case of the issue: train.tsv cut to 21,705 rows used to convert without a word."""
    real = shared_raw("goemotions")
    raw = tmp_path / "raw"
    shutil.copytree(real, raw)
    lines = (real / "train.tsv").read_bytes().split(b"\n")
    (raw / "train.tsv").write_bytes(b"\n".join(lines[:21705]) + b"\n")
    with pytest.raises(ConversionError) as caught:
        convert("goemotions", raw, tmp_path / "data")
    assert str(caught.value) == (
        f"{raw}/train.tsv: 21,705 lines, the public release has 43,410; this is not the "
        f"public goemotions release{ADVICE}"
    )
    with pytest.warns(NonstandardReleaseWarning):
        out = convert("goemotions", raw, tmp_path / "data", allow_nonstandard=True)
    meta = meta_of(out)
    assert meta["counts"]["train"] == 21705
    assert meta["nonstandard"] == {
        "reason": "train.tsv: 21,705 lines, the public release has 43,410",
        "files": {"train.tsv": "21,705 lines, the public release has 43,410"},
    }


def test_real_gaic_release_facts(shared_raw):
    raw = shared_raw("gaic")
    release = DATASETS["gaic"].release
    for name, rows in release.rows.items():
        data = (raw / name).read_bytes()
        assert data.count(b"\n") == rows and sha(data) == release.sha256[name]


@pytest.fixture(scope="module")
def real_reuters_archive(tmp_path_factory):
    """The 22 real SGML files packed as reuters21578.tar.gz (in a temporary folder)."""
    real = raw_dir_or_skip("reuters")
    folder = tmp_path_factory.mktemp("reuters-archive")
    with tarfile.open(folder / ARCHIVE, "w:gz", compresslevel=1) as tar:
        for name in FILES:
            tar.add(real / name, arcname=name)
    return folder


def test_real_reuters_members_pass_from_archive(real_reuters_archive, tmp_path):
    release = DATASETS["reuters"].release
    assert release.check_archive(real_reuters_archive / ARCHIVE) is None
    out = convert("reuters", real_reuters_archive, tmp_path / "data", split="standard")
    meta = meta_of(out)
    assert meta["nonstandard"] is None and meta["stats"]["documents_in_files"] == 21578
