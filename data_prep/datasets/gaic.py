"""GAIC: Tianchi 2021 AI innovation competition, track 1 (medical imaging reports, anonymised).

Fields are separated by ``|,|``: report id, space-separated token ids, label ids. Round 1
labels are the region ids (0..16); round 2 holds ``region ids,type ids`` and the 12 type
labels are dropped, as in the paper. An empty label group means no positive label (such
rows are kept). The 30,000 rows of both rounds are split 8:1:1 with a seed. The test
files (testA/testB) have no labels and are not used.
"""

from __future__ import annotations

from pathlib import Path

from tqdm import tqdm

from data_prep.base import Built, DatasetSpec, Found, PaperEntry, Release
from data_prep.canonical import ConversionError, Record
from data_prep.rawio import hash_inputs, parse_label_ids, read_lines, require_file
from data_prep.splits import three_way

SEP = "|,|"
NUM_REGIONS = 17
NUM_TYPES = 12
#: (id prefix, file, number of comma-separated label groups)
ROUNDS = (
    ("r1", "track1_round1_train_20210222.csv", 1),
    ("r2", "round2/train.csv", 2),
)
LABELS = [str(i) for i in range(NUM_REGIONS)]
#: The competition's training files (measured): lines and sha256 of each.
RELEASE = Release(
    rows={"track1_round1_train_20210222.csv": 10000, "round2/train.csv": 20000},
    unit="lines",
    sha256={
        "track1_round1_train_20210222.csv": (
            "f906ae729b853ebeaf8dbcb38a1ff9b43c53f60293979efa21eae7eed0c8d2c8"
        ),
        "round2/train.csv": "6d15ae23d488cc1d677bbd36c1f0a184aedfcc38b52b49b25a2796bc1ad5475c",
    },
)


def read_round(path: Path, prefix: str, groups: int) -> list[Record]:
    """Records of one round's training file (region labels only)."""
    shape = "region ids" if groups == 1 else "region ids,type ids"
    records = []
    lines = read_lines(require_file(path, f"id|,|token ids|,|{shape} lines"))
    for line_no, line in tqdm(lines, desc=path.name, unit=" lines", disable=None, leave=False):
        where = f"{path}:{line_no}"
        fields = line.split(SEP)
        if len(fields) != 3:
            raise ConversionError(
                f"{where}: {len(fields)} fields separated by '|,|'; expected 3 "
                f"(id, token ids, {shape})"
            )
        report_id, tokens, label_field = fields
        parts = label_field.split(",")
        if len(parts) != groups:
            raise ConversionError(
                f"{where}: label field {label_field!r} has {len(parts)} comma-separated "
                f"group(s); expected {groups} ({shape})"
            )
        regions = parse_label_ids(parts[0], NUM_REGIONS, where)
        if groups == 2:
            parse_label_ids(parts[1], NUM_TYPES, where)  # validated, then dropped
        text = " ".join(tokens.split())
        records.append(Record(f"{prefix}-{report_id.strip()}", text, tuple(map(str, regions))))
    return records


def build(raw_dir: Path, split: str, seed: int | None) -> Built:
    """Merge both rounds and split 8:1:1 with ``seed``."""
    assert seed is not None
    rounds = {f: read_round(raw_dir / f, prefix, g) for prefix, f, g in ROUNDS}
    records = [r for part in rounds.values() for r in part]
    n_part = round(len(records) / 10)
    train, dev, test = three_way(records, n_part, n_part, seed)
    empty = sum(1 for r in records if not r.labels)
    inputs = [raw_dir / f for _, f, _ in ROUNDS]
    hashes = hash_inputs(raw_dir, inputs)
    found = {f: Found(str(raw_dir / f), len(part), hashes[f]) for f, part in rounds.items()}
    return Built(
        {"train": train, "dev": dev, "test": test},
        LABELS,
        hashes,
        {"rows": len(records), "rows_without_region_label": empty},
        found,
    )


DATASET = DatasetSpec(
    name="gaic",
    paper=PaperEntry(
        row=1,
        name="GAIC",
        labels=17,
        train=24_000,
        test=3_000,
        language="desensitized (token ids)",
        note="train/dev/test 8:1:1 of 30000 after merging preliminary+semifinal rounds and dropping the 12 semifinal-only labels",
    ),
    description="GAIC (Tianchi 2021 track 1): anonymised medical reports as token ids, 17 regions.",
    source=(
        "Tianchi 2021 Global AI Innovation Competition, track 1 (medical imaging report "
        "abnormality detection): round 1 and round 2 training files; competition data"
    ),
    url="https://tianchi.aliyun.com/competition/entrance/531852/information",
    language="zh (anonymised: space-separated token ids)",
    how_to_get=(
        "Log in at https://tianchi.aliyun.com/competition/entrance/531852/information, download "
        "track1_round1_train_20210222.csv and the round 2 train.csv, and put them into the raw "
        "folder gaic/ as gaic/track1_round1_train_20210222.csv and gaic/round2/train.csv."
    ),
    split_rules={
        "paper": (
            "rounds 1 and 2 merged (ids r1-<id>, r2-<id>), split 8:1:1 with the seed: test = "
            "round(n/10) held out first, then dev = round(n/10) from the rest "
            "(sklearn train_test_split)"
        ),
    },
    default_split="paper",
    default_seed=0,
    version="1",
    build=build,
    release=RELEASE,
)
