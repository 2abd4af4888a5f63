"""RMSC (Zhao et al., 2019): Chinese music reviews of 7,172 albums, 22 styles.

lancopku/RMSC's ``data.zip`` (or its extracted folder) holds one UTF-8 JSON file per
album with keys ``name``, ``url``, ``rates``, ``tags`` (the album's styles) and
``all_short_comments`` (a list of ``{name, rate, vote, comment}``). The text is the
album's comments joined with a space, keeping only CJK ideographs (U+3400-U+4DBF,
U+4E00-U+9FFF, U+F900-U+FAFF), ASCII letters, ASCII digits and whitespace; every run of
other characters becomes one space and whitespace runs are collapsed to one space.
Albums without tags or without any comment text are skipped and counted.

The paper split follows LM-MTC's Table 1, which lists 5,020 training and 646 test
documents: of the RMSC authors' 70% / 9% / 21% proportions (5,020 / 646 / 1,506 of 7,172
albums) the 9% part is the test set and the 21% part the dev set, drawn with the seed.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from tqdm import tqdm

from data_prep.base import Built, DatasetSpec, Found, PaperEntry, Release
from data_prep.canonical import ConversionError, Record
from data_prep.rawio import hash_inputs, open_zip, read_zip_member, zip_member_name
from data_prep.splits import fraction_count, three_way

ARCHIVE = "data.zip"
URL = "https://github.com/lancopku/RMSC"
#: The public release: 7,172 album files, 22 styles (no sha256 known: rows are the check).
ALBUMS = 7172
RELEASE = Release(rows={"albums": ALBUMS}, unit="album .json files", num_labels=22)
#: LM-MTC's Table 1: 5,020 train and 646 test albums of the 7,172; dev is the rest (1,506).
PAPER_TRAIN, PAPER_TEST = 5020, 646
PAPER_SPLIT_RULE = (
    "albums sorted by file name, split with the seed by sklearn train_test_split as in "
    "LM-MTC's Table 1: test = round(646/7172 of them) held out first (646 of 7,172, 9%), "
    "train = round(5020/7172) (5,020, 70%), dev = the rest (1,506, 21%)"
)
_DROP = re.compile(r"[^\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaffA-Za-z0-9\s]+")
_SPACE = re.compile(r"\s+")


def clean_text(text: str) -> str:
    """Keep Chinese ideographs, ASCII letters/digits; other symbols become a space."""
    return _SPACE.sub(" ", _DROP.sub(" ", text)).strip()


def read_raw(raw_dir: Path) -> tuple[list[tuple[str, str, bytes]], list[Path]]:
    """(file name, display path, bytes) of each album JSON, sorted by file name, and inputs."""
    archive_path = raw_dir / ARCHIVE
    if archive_path.is_file():
        with open_zip(archive_path) as archive:
            infos = [
                i
                for i in archive.infolist()
                if not i.is_dir() and i.filename.endswith(".json") and "__MACOSX" not in i.filename
            ]
            items = [
                (
                    zip_member_name(i).rsplit("/", 1)[-1],
                    f"{archive_path}!{zip_member_name(i)}",
                    read_zip_member(archive, i, archive_path),
                )
                for i in tqdm(infos, desc="rmsc", unit=" albums", disable=None, leave=False)
            ]
        inputs = [archive_path]
    else:
        paths = sorted(raw_dir.rglob("*.json"))
        items = [(p.name, str(p), p.read_bytes()) for p in paths]
        inputs = paths
    if not items:
        raise ConversionError(
            f"{raw_dir}: no {ARCHIVE} and no album .json files; {DATASET.how_to_get}"
        )
    names = [name for name, _, _ in items]
    if len(set(names)) != len(names):
        raise ConversionError(f"{raw_dir}: album file names repeat; expected one file per album")
    return sorted(items), inputs


def parse_album(name: str, where: str, data: bytes) -> tuple[str, tuple[str, ...]]:
    """(cleaned text, styles) of one album JSON file."""
    try:
        album = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise ConversionError(
            f"{where}: not valid UTF-8 at byte offset {err.start}; expected a UTF-8 JSON file"
        ) from None
    except json.JSONDecodeError as err:
        raise ConversionError(
            f"{where}: not valid JSON (line {err.lineno}, column {err.colno}: {err.msg})"
        ) from None
    if not isinstance(album, dict):
        raise ConversionError(f"{where}: expected a JSON object with 'tags' and comments")
    tags = album.get("tags") or []
    comments = album.get("all_short_comments") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ConversionError(f"{where}: 'tags' is {tags!r}; expected a list of style names")
    if not isinstance(comments, list) or not all(isinstance(c, dict) for c in comments):
        raise ConversionError(f"{where}: 'all_short_comments' must be a list of objects")
    text = clean_text(" ".join(str(c.get("comment") or "") for c in comments))
    return text, tuple(sorted({t.strip() for t in tags if t.strip()}))


def build(raw_dir: Path, split: str, seed: int | None) -> Built:
    """Parse every album; split train 70% / dev 21% / test 9% (Table 1) with ``seed``."""
    assert seed is not None
    items, inputs = read_raw(raw_dir)
    records, no_tags, no_comments = [], 0, 0
    for name, where, data in items:
        text, tags = parse_album(name, where, data)
        if not tags:
            no_tags += 1
        elif not text:
            no_comments += 1
        else:
            records.append(Record(name.removesuffix(".json"), text, tags))
    if len(records) < 3:
        raise ConversionError(f"{raw_dir}: only {len(records)} usable albums; expected thousands")
    n = len(records)
    n_test = fraction_count(n, PAPER_TEST / ALBUMS)
    n_dev = max(1, n - fraction_count(n, PAPER_TRAIN / ALBUMS) - n_test)
    train, dev, test = three_way(records, n_dev, n_test, seed)
    labels = sorted({t for r in records for t in r.labels})
    raw_files = hash_inputs(raw_dir, inputs)
    if len(raw_files) > 1:  # an extracted folder: one combined digest instead of 7,172 entries
        raw_files = {
            f"{len(raw_files)} album .json files (sha256 of 'path sha256' lines)": _combined(
                raw_files
            )
        }
    stats = {"albums": len(items), "skipped_no_tags": no_tags, "skipped_no_comments": no_comments}
    where = raw_dir / ARCHIVE if inputs == [raw_dir / ARCHIVE] else raw_dir
    found = {"albums": Found(str(where), len(items))}
    return Built({"train": train, "dev": dev, "test": test}, labels, raw_files, stats, found)


def _combined(hashes: dict[str, str]) -> str:
    lines = "".join(f"{path} {digest}\n" for path, digest in sorted(hashes.items()))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


DATASET = DatasetSpec(
    name="rmsc",
    paper=PaperEntry(
        row=4,
        name="RMSC",
        labels=22,
        train=5_020,
        test=646,
        language="zh",
        note="split of Zhao et al. (original paper); non-Chinese non-English symbols removed",
    ),
    description="RMSC: Chinese music reviews of albums, 22 music styles (multi-label).",
    source="Review-driven Multi-label Music Style Classification (Zhao et al., 2019), lancopku/RMSC",
    url=URL,
    language="zh",
    how_to_get=(
        f"Download data.zip from {URL} (the data link in its README) and put it, or its "
        "extracted album .json files, into the raw folder rmsc/."
    ),
    split_rules={"paper": PAPER_SPLIT_RULE},
    default_split="paper",
    default_seed=1,
    version="2",
    build=build,
    release=RELEASE,
)
