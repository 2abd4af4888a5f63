"""AAPD (Yang et al., 2018, SGM): arXiv abstracts with their subject categories, 54 labels.

The SGM authors ship six files: text_train / label_train, text_val / label_val and
text_test / label_test, one abstract (or one space-separated label list) a line. They
are read from the raw folder or from a .zip in it holding them (possibly in a subfolder).
The published splits are used as given; the label order is the sorted label names.
"""

from __future__ import annotations

from pathlib import Path

from data_prep.base import Built, DatasetSpec, Found, PaperEntry, Release
from data_prep.canonical import ConversionError, Record
from data_prep.rawio import hash_inputs, iter_lines, open_zip, read_zip_member

#: canonical split -> the SGM files' split suffix
SPLITS = {"train": "train", "dev": "val", "test": "test"}
FILES = tuple(f"{kind}_{suffix}" for suffix in SPLITS.values() for kind in ("text", "label"))
SGM_URL = "https://github.com/lancopku/SGM"
#: The SGM release: 53,840 / 1,000 / 1,000 lines per split and 54 labels (no sha256 known).
RELEASE = Release(
    rows={
        f"{kind}_{suffix}": lines
        for suffix, lines in {"train": 53840, "val": 1000, "test": 1000}.items()
        for kind in ("text", "label")
    },
    unit="lines",
    num_labels=54,
)


def read_raw(raw_dir: Path) -> tuple[dict[str, bytes], dict[str, str], list[Path]]:
    """The bytes of the six files, a display path for each, and the input files used."""
    if all((raw_dir / f).is_file() for f in FILES):
        paths = [raw_dir / f for f in FILES]
        return {p.name: p.read_bytes() for p in paths}, {p.name: str(p) for p in paths}, paths
    zips = sorted(raw_dir.glob("*.zip"))
    for archive_path in zips:
        with open_zip(archive_path) as archive:
            members = {
                info.filename.rsplit("/", 1)[-1]: info
                for info in archive.infolist()
                if not info.is_dir() and "__MACOSX" not in info.filename
            }
            if all(f in members for f in FILES):
                data = {f: read_zip_member(archive, members[f], archive_path) for f in FILES}
                where = {f: f"{archive_path}!{members[f].filename}" for f in FILES}
                return data, where, [archive_path]
    missing = [f for f in FILES if not (raw_dir / f).is_file()]
    zipped = f" (nor a .zip holding them: looked in {[z.name for z in zips]})" if zips else ""
    raise ConversionError(
        f"{raw_dir}: files {missing} missing{zipped}; expected {', '.join(FILES)}. "
        f"{DATASET.how_to_get}"
    )


def read_split(data: dict[str, bytes], where: dict[str, str], suffix: str) -> list[tuple]:
    """(line number, text, labels) of one split; text and label line counts must match."""
    text_file, label_file = f"text_{suffix}", f"label_{suffix}"
    texts = list(iter_lines(data[text_file], where[text_file]))
    labels = list(iter_lines(data[label_file], where[label_file]))
    if len(texts) != len(labels):
        raise ConversionError(
            f"{where[text_file]} has {len(texts)} lines but {where[label_file]} has "
            f"{len(labels)}; expected one label line per abstract"
        )
    return [
        (n, t.strip(), tuple(sorted(set(lab.split())))) for (n, t), (_, lab) in zip(texts, labels)
    ]


def build(raw_dir: Path, split: str, seed: int | None) -> Built:
    """Read the three published splits."""
    data, where, inputs = read_raw(raw_dir)
    rows = {name: read_split(data, where, suffix) for name, suffix in SPLITS.items()}
    labels = sorted({label for part in rows.values() for _, _, labs in part for label in labs})
    splits = {
        name: [Record(f"{name}-{n}", text, labs) for n, text, labs in part]
        for name, part in rows.items()
    }
    found = {
        f"{kind}_{suffix}": Found(where[f"{kind}_{suffix}"], len(rows[name]))
        for name, suffix in SPLITS.items()
        for kind in ("text", "label")
    }  # read_split has checked that text and label files have equal line counts
    return Built(splits, labels, hash_inputs(raw_dir, inputs), found=found)


DATASET = DatasetSpec(
    name="aapd",
    paper=PaperEntry(
        row=2,
        name="AAPD",
        labels=54,
        train=53_840,
        test=1_000,
        language="en",
        note="standard split of Yang et al. 2018 (also 1000 validation)",
    ),
    description="AAPD: 55,840 arXiv CS abstracts with their 54 subject categories.",
    source="Arxiv Academic Paper Dataset (Yang et al., COLING 2018, SGM), lancopku/SGM",
    url=SGM_URL,
    language="en",
    how_to_get=(
        f"Get the AAPD files from the SGM authors ({SGM_URL}, 'AAPD' data link) and put "
        "text_train, label_train, text_val, label_val, text_test, label_test (or the .zip "
        "holding them) into the raw folder aapd/."
    ),
    split_rules={
        "standard": "the published train / val (as dev) / test files, unchanged",
        "paper": "same as standard: the paper uses the published splits",
    },
    default_split="standard",
    default_seed=None,
    version="1",
    build=build,
    release=RELEASE,
)
