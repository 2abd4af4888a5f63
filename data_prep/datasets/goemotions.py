"""GoEmotions (Demszky et al., 2020): the published train/dev/test TSV files, 28 emotions.

Each line is ``text \\t comma-separated label ids \\t comment id``; the label ids index
the names in emotions.txt (one a line, no final newline). The splits are used as given.
"""

from __future__ import annotations

from pathlib import Path

from tqdm import tqdm

from data_prep.base import Built, DatasetSpec, Download, Found, PaperEntry, Release
from data_prep.canonical import ConversionError, Record
from data_prep.rawio import hash_inputs, parse_label_ids, read_lines, require_file

FILES = {"train": "train.tsv", "dev": "dev.tsv", "test": "test.tsv"}
LABEL_FILE = "emotions.txt"
BASE_URL = (
    "https://raw.githubusercontent.com/google-research/google-research/master/goemotions/data"
)
#: sha256 of the files as google-research publishes them (checked on download).
SHA256 = {
    "train.tsv": "1c254a142be5c00e80d819b9ae1bbd36d94b2eeb8f4b1271846508d57e57d9c5",
    "dev.tsv": "575489c079c9de1097062a01738f998590d6b7ead66dd1c9fd1d2ba01fd8bc62",
    "test.tsv": "0587b2dd8b27b97352adbfc3fb083d46005c8946657fdc2b1ca8b1cc7f1f8be4",
    "emotions.txt": "45c3ef86782d2a4d7fedcd6d8c111aa0d0e94720689bd164fac94fefb4495a89",
}
#: The public release (lines per file, measured; with SHA256): a cut or edited copy is refused.
RELEASE = Release(
    rows={"train.tsv": 43410, "dev.tsv": 5426, "test.tsv": 5427, "emotions.txt": 28},
    unit="lines",
    sha256=SHA256,
)


def read_label_names(path: Path) -> list[str]:
    """The emotion names of emotions.txt, in file order."""
    names = [line.strip() for _, line in read_lines(require_file(path, "28 emotion names"))]
    names = [name for name in names if name]
    if not names or len(set(names)) != len(names):
        raise ConversionError(f"{path}: expected distinct emotion names, one a line")
    return names


def read_split(path: Path, names: list[str]) -> list[Record]:
    """Records of one TSV split; label ids are checked against the emotion list."""
    records = []
    lines = read_lines(require_file(path, "text<TAB>label ids<TAB>comment id lines"))
    for line_no, line in tqdm(lines, desc=path.name, unit=" lines", disable=None, leave=False):
        fields = line.split("\t")
        if len(fields) != 3:
            raise ConversionError(
                f"{path}:{line_no}: {len(fields)} tab-separated columns; expected 3 "
                f"(text, comma-separated label ids, comment id)"
            )
        text, label_field, comment_id = fields
        if not label_field.strip():
            raise ConversionError(f"{path}:{line_no}: empty label field; expected label ids")
        ids = parse_label_ids(label_field, len(names), f"{path}:{line_no}", sep=",")
        records.append(Record(comment_id, text, tuple(names[i] for i in ids)))
    return records


def build(raw_dir: Path, split: str, seed: int | None) -> Built:
    """Parse the three TSV files and emotions.txt of ``raw_dir``."""
    names = read_label_names(raw_dir / LABEL_FILE)
    splits = {name: read_split(raw_dir / file, names) for name, file in FILES.items()}
    inputs = [raw_dir / LABEL_FILE, *(raw_dir / f for f in FILES.values())]
    hashes = hash_inputs(raw_dir, inputs)
    rows = {LABEL_FILE: len(names), **{f: len(splits[name]) for name, f in FILES.items()}}
    found = {f: Found(str(raw_dir / f), n, hashes[f]) for f, n in rows.items()}
    return Built(splits, names, hashes, found=found)


DATASET = DatasetSpec(
    name="goemotions",
    paper=PaperEntry(
        row=5,
        name="Emotion",
        labels=28,
        train=43_410,
        test=5_427,
        language="en",
        note="GoEmotions simplified split (27 emotions + neutral)",
    ),
    description="GoEmotions: 58k Reddit comments, 27 emotions + neutral (paper: 'Emotion').",
    source="GoEmotions (Demszky et al., ACL 2020), google-research/goemotions/data, Apache-2.0",
    url="https://github.com/google-research/google-research/tree/master/goemotions/data",
    language="en",
    how_to_get=(
        "Run with --download, or fetch train.tsv, dev.tsv, test.tsv and emotions.txt from "
        f"{BASE_URL}/ into the raw folder goemotions/."
    ),
    split_rules={
        "standard": "the published train.tsv / dev.tsv / test.tsv splits, unchanged",
        "paper": "same as standard: the paper uses the published splits",
    },
    default_split="standard",
    default_seed=None,
    version="1",
    build=build,
    downloads=tuple(Download(f"{BASE_URL}/{f}", f, SHA256[f]) for f in SHA256),
    release=RELEASE,
)
