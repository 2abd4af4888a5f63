"""Toxic: Kaggle's Jigsaw Toxic Comment Classification Challenge (2018) ``train.csv``.

Columns: id, comment_text, toxic, severe_toxic, obscene, threat, insult, identity_hate;
comments are quoted and often span lines, so the file is read with the csv module. As in
the paper only the comments with at least one positive label are kept (16,225 of 159,571),
split 7:3 with a seed (11,357 / 4,868); dev is 10% of the train part (seeded).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from tqdm import tqdm

from data_prep.base import Built, DatasetSpec, Found, PaperEntry, Release
from data_prep.canonical import ConversionError, Record
from data_prep.rawio import hash_inputs, require_file
from data_prep.splits import carve_dev, hold_out

FILE = "train.csv"
LABELS = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]
HEADER = ["id", "comment_text", *LABELS]
TEST_FRACTION = 0.3
URL = "https://www.kaggle.com/c/jigsaw-toxic-comment-classification-challenge/data"
#: The Kaggle release: 159,571 comments in train.csv (no sha256 known: rows are the check).
RELEASE = Release(rows={FILE: 159571}, unit="rows")


def read_rows(path: Path) -> tuple[list[Record], int]:
    """Records with at least one positive label, and the number of rows read."""
    data = require_file(path, "Kaggle's train.csv").read_bytes()
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise ConversionError(
            f"{path}:{line}: not valid UTF-8 at byte offset {err.start}; expected a UTF-8 CSV"
        ) from None
    reader = csv.reader(io.StringIO(content, newline=""))
    try:
        header = next(reader, None)
        if header != HEADER:
            raise ConversionError(f"{path}:1: header {header}; expected {HEADER}")
        records, rows = [], 0
        for row in tqdm(reader, desc="toxic", unit=" rows", disable=None, leave=False):
            rows += 1
            where = f"{path}:{reader.line_num} (record {rows})"
            if len(row) != len(HEADER):
                raise ConversionError(
                    f"{where}: {len(row)} columns; expected {len(HEADER)} ({', '.join(HEADER)})"
                )
            flags = row[2:]
            if any(flag not in ("0", "1") for flag in flags):
                raise ConversionError(f"{where}: label values {flags}; expected 0 or 1 each")
            labels = tuple(name for name, flag in zip(LABELS, flags) if flag == "1")
            if labels:
                records.append(Record(row[0], row[1], labels))
    except csv.Error as err:
        raise ConversionError(f"{path}:{reader.line_num}: malformed CSV ({err})") from None
    return records, rows


def build(raw_dir: Path, split: str, seed: int | None) -> Built:
    """Keep the comments with a positive label and split them 7:3, dev from train."""
    assert seed is not None
    path = raw_dir / FILE
    records, rows = read_rows(path)
    if len(records) < 3:
        raise ConversionError(f"{path}: only {len(records)} comments with a positive label")
    train, test = hold_out(records, TEST_FRACTION, seed)
    train, dev = carve_dev(train, seed)
    stats = {"rows": rows, "rows_with_positive_label": len(records)}
    return Built(
        {"train": train, "dev": dev, "test": test},
        list(LABELS),
        hash_inputs(raw_dir, [path]),
        stats,
        {FILE: Found(str(path), rows)},
    )


DATASET = DatasetSpec(
    name="toxic",
    paper=PaperEntry(
        row=6,
        name="Toxic",
        labels=6,
        train=11_357,
        test=4_868,
        language="en",
        note="Jigsaw 2018; only the 16225 comments with at least one positive label; random 7:3 split",
    ),
    description="Toxic: Wikipedia talk comments with at least one of 6 toxicity labels.",
    source="Jigsaw Toxic Comment Classification Challenge (Kaggle, 2018), train.csv",
    url=URL,
    language="en",
    how_to_get=(
        f"Log in to Kaggle, accept the competition rules at {URL}, download train.csv (in "
        "jigsaw-toxic-comment-classification-challenge.zip) and put it into the raw folder toxic/."
    ),
    split_rules={
        "paper": (
            "rows with >=1 positive label, split with the seed by sklearn train_test_split: "
            "test = ceil(30%) (11,357 / 4,868 on the real file), then dev = ceil(10%) of the "
            "train part"
        ),
    },
    default_split="paper",
    default_seed=0,
    version="1",
    build=build,
    release=RELEASE,
)
