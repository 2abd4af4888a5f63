"""The canonical data format, and loading it. This module owns the format: the splits,
the file names, the sha256 of a file, the ``meta.json`` keys and :data:`FORMAT_VERSION`
(checked on load); ``data_prep/canonical.py`` writes through :func:`canonical_meta`.

A data set is named (``reuters``: the folder ``<data_dir>/reuters``) or given as a path
to a folder. Converted data sets carry ``labels.txt`` and ``meta.json``, and loading
checks their counts and sha256 hashes. A user's own data set needs only the JSONL
files: without ``labels.txt`` the label order is the sorted union of all labels, and
without ``dev.jsonl`` 10% of train is carved out with a fixed seed.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

SPLITS = ("train", "dev", "test")
#: the version of the on-disk format that this code writes and reads; a folder whose
#: meta.json states a newer one is refused on load (an older or absent one loads)
FORMAT_VERSION = 1
LABELS_FILE = "labels.txt"
META_FILE = "meta.json"
#: meta.json keys computed from the files (a writer's own keys, such as ``source``,
#: ``converter``, ``synthetic``, ``nonstandard``, go between the version and these)
FORMAT_KEY, NUM_LABELS_KEY, COUNTS_KEY, SHA256_KEY = (
    "format_version",
    "num_labels",
    "counts",
    "sha256",
)
DEV_CARVE_FRACTION = 0.1
DEV_CARVE_SEED = 0


class DataError(ValueError):
    """A data set folder is missing, malformed or does not match its meta.json."""


class DataWarning(UserWarning):
    """A loaded data set is usable but suspicious (texts repeated across splits, ...)."""


@dataclass
class Split:
    """One split of a data set: what a method's ``fit`` and the harness see."""

    name: str
    ids: list[str]
    texts: list[str]
    labels: np.ndarray  # (n, L) uint8, columns in label_names order
    label_names: list[str]

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, indices: Sequence[int] | np.ndarray) -> Split:
        """A new split holding the rows ``indices`` (in that order)."""
        idx = np.asarray(indices, dtype=int)
        return Split(
            name=self.name,
            ids=[self.ids[i] for i in idx],
            texts=[self.texts[i] for i in idx],
            labels=self.labels[idx],
            label_names=self.label_names,
        )


@dataclass
class MultiLabelDataset:
    """A loaded data set: three splits sharing one label order."""

    name: str
    path: Path
    label_names: list[str]
    train: Split
    dev: Split
    test: Split
    meta: dict = field(default_factory=dict)
    hashes: dict[str, str] = field(default_factory=dict)  # file name -> sha256
    dev_carved: bool = False
    warnings: list[str] = field(default_factory=list)  # one line each, also warned (DataWarning)

    @property
    def synthetic(self) -> bool:
        return bool(self.meta.get("synthetic", False))

    def split(self, name: str) -> Split:
        return {"train": self.train, "dev": self.dev, "test": self.test}[name]

    def to_hf(self):
        """The data set as a ``datasets.DatasetDict`` with a multi-hot ``label_vector`` column
        (``datasets`` is an optional extra: ``pip install 'lmmtc-bench[hf]'``)."""
        try:
            import datasets
        except ImportError as err:
            raise ImportError(
                "to_hf() needs the `datasets` package, an optional extra: "
                "pip install 'lmmtc-bench[hf]' (or pip install datasets)"
            ) from err

        return datasets.DatasetDict(
            {
                s.name: datasets.Dataset.from_dict(
                    {
                        "id": s.ids,
                        "text": s.texts,
                        "labels": [
                            [self.label_names[j] for j in np.flatnonzero(row)] for row in s.labels
                        ],
                        "label_vector": s.labels.astype(np.float32).tolist(),
                    }
                )
                for s in (self.train, self.dev, self.test)
            }
        )


#: What to do about a broken folder when the caller knows nothing better. The loader
#: never takes advice from the folder itself (meta.json): a hint is the suite's own text,
#: or the caller's (the runner passes a suite data set's converter command).
DEFAULT_HINT = "Recreate the folder (see README, 'Your own data set')."


def _hint(hint: str | None) -> str:
    return f" {hint or DEFAULT_HINT}"


def resolve_dataset_dir(
    name_or_path: str | Path, data_dir: str | Path | None, hint: str | None = None
) -> Path:
    """The folder a data set name or path refers to (a path wins when it exists)."""
    candidate = Path(name_or_path)
    if candidate.is_dir():
        return candidate
    if data_dir is not None and (Path(data_dir) / str(name_or_path)).is_dir():
        return Path(data_dir) / str(name_or_path)
    where = f" under {data_dir}" if data_dir is not None else ""
    raise DataError(
        f"data set {str(name_or_path)!r} not found{where}: expected a folder holding "
        f"train.jsonl and test.jsonl." + _hint(hint)
    )


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes (data files, scores files)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def split_file(split: str) -> str:
    """The file name of a split: ``train.jsonl``."""
    return f"{split}.jsonl"


def canonical_meta(
    meta: Mapping[str, Any],
    label_names: Sequence[str],
    counts: Mapping[str, int],
    hashes: Mapping[str, str],
) -> dict[str, Any]:
    """The ``meta.json`` of a canonical folder, in its fixed key order: the format version,
    the writer's ``meta``, then the label count, each split's rows and each file's sha256."""
    return {
        FORMAT_KEY: FORMAT_VERSION,
        **meta,
        NUM_LABELS_KEY: len(label_names),
        COUNTS_KEY: {split: counts[split] for split in SPLITS if split in counts},
        SHA256_KEY: dict(hashes),
    }


def read_meta(folder: Path, hint: str = "") -> dict[str, Any]:
    """A folder's ``meta.json`` (``{}`` when it has none), refused with a
    :class:`DataError` when it is not a UTF-8 JSON object or states a newer format."""
    meta_path = Path(folder) / META_FILE
    if not meta_path.exists():
        return {}
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        raise DataError(
            f"{meta_path}: not valid UTF-8 at byte offset {err.start}; expected a UTF-8 "
            f"JSON file." + hint
        ) from None
    except json.JSONDecodeError as err:
        raise DataError(f"{meta_path}:{err.lineno}: not valid JSON ({err.msg})." + hint) from None
    if not isinstance(meta, dict):
        raise DataError(f"{meta_path}: expected a JSON object." + hint)
    version = meta.get(FORMAT_KEY, 1)
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise DataError(
            f"{meta_path}: {FORMAT_KEY} {version!r} is newer than this suite reads "
            f"({FORMAT_VERSION}); update lmmtc-bench or reconvert the data set." + hint
        )
    return meta


def _read_jsonl(path: Path, hint: str) -> list[dict]:
    records: list[dict] = []
    with _open_utf8(path, hint) as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise DataError(
                    f"{path}:{line_no}: not valid JSON ({err.msg}); expected one object "
                    f'{{"id": str, "text": str, "labels": [str, ...]}} a line.' + hint
                ) from None
            if (
                not isinstance(record, dict)
                or not isinstance(record.get("text"), str)
                or not isinstance(record.get("labels"), list)
                or not all(isinstance(label, str) for label in record["labels"])
            ):
                raise DataError(
                    f"{path}:{line_no}: expected an object with a string 'text' and a list "
                    f"of strings 'labels', got {line.strip()[:120]!r}." + hint
                )
            record.setdefault("id", f"{path.stem}-{line_no}")
            record["_line"] = line_no
            records.append(record)
    if not records:
        raise DataError(f"{path}: the split is empty; expected at least one record." + hint)
    return records


def _to_split(name: str, path: Path, records: list[dict], label_names: list[str], hint: str):
    index = {label: j for j, label in enumerate(label_names)}
    matrix = np.zeros((len(records), len(label_names)), dtype=np.uint8)
    for i, record in enumerate(records):
        for label in record["labels"]:
            j = index.get(label)
            if j is None:
                raise DataError(
                    f"{path}:{record['_line']}: unknown label {label!r}; expected one of the "
                    f"{len(label_names)} labels in labels.txt." + hint
                )
            matrix[i, j] = 1
    return Split(
        name=name,
        ids=[str(r["id"]) for r in records],
        texts=[r["text"] for r in records],
        labels=matrix,
        label_names=label_names,
    )


def _read_labels(path: Path, hint: str) -> list[str]:
    with _open_utf8(path, hint) as handle:
        names = [line.rstrip("\r\n") for line in handle]
    if names:  # a byte-order mark (Windows editors) is not part of the first name
        names[0] = names[0].removeprefix("\ufeff")
    for line_no, name in enumerate(names, start=1):
        if name != name.strip() and name.strip():
            raise DataError(
                f"{path}:{line_no}: label {name!r} has spaces or tabs around it; remove them "
                f"(one label name a line, nothing else)." + hint
            )
    names = [name for name in names if name]
    if not names:
        raise DataError(f"{path}: no labels; expected one label name a line." + hint)
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise DataError(f"{path}: labels {repeated} appear more than once." + hint)
    return names


def _verify_meta(folder: Path, meta: dict, hashes: dict[str, str], counts: dict, hint: str):
    for file_name, expected in (meta.get(SHA256_KEY) or {}).items():
        actual = hashes.get(file_name)
        if actual is None:
            continue
        if actual != expected:
            raise DataError(
                f"{folder / file_name}: sha256 {actual[:12]}... differs from meta.json's "
                f"{expected[:12]}...: the file was changed after conversion." + hint
            )
    for split, expected in (meta.get(COUNTS_KEY) or {}).items():
        if split in counts and counts[split] != expected:
            raise DataError(
                f"{folder / (split + '.jsonl')}: holds {counts[split]} records, meta.json "
                f"says {expected}." + hint
            )


#: The first two bytes of a gzip file.
GZIP_MAGIC = b"\x1f\x8b"


def carve_dev(train: Split, fraction: float = DEV_CARVE_FRACTION, seed: int = DEV_CARVE_SEED):
    """Split ``train`` into (train, dev) with a fixed seed: dev gets ``fraction`` of the rows."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(train))
    n_dev = max(1, int(round(fraction * len(train))))
    dev_idx, train_idx = np.sort(order[:n_dev]), np.sort(order[n_dev:])
    dev = train.subset(dev_idx)
    dev.name = "dev"
    return train.subset(train_idx), dev


def load_dataset(
    name_or_path: str | Path, data_dir: str | Path | None = None, *, hint: str | None = None
) -> MultiLabelDataset:
    """Load and verify a canonical data set; raise :class:`DataError` naming what is wrong.

    ``hint`` ends every error message (what to do, e.g. the converter command to rerun);
    without one the message says to recreate the folder.
    """
    hint = _hint(hint)
    folder = resolve_dataset_dir(name_or_path, data_dir, hint.strip())
    meta = read_meta(folder, hint)
    name = str(meta.get("name", folder.name))

    for required in ("train", "test"):
        if not (folder / f"{required}.jsonl").exists():
            raise DataError(f"{folder / (required + '.jsonl')}: file missing." + hint)
    raw = {
        split: _read_jsonl(folder / f"{split}.jsonl", hint)
        for split in SPLITS
        if (folder / f"{split}.jsonl").exists()
    }
    hashes = {f"{split}.jsonl": file_sha256(folder / f"{split}.jsonl") for split in raw}
    labels_path = folder / "labels.txt"
    if labels_path.exists():
        label_names = _read_labels(labels_path, hint)
        hashes["labels.txt"] = file_sha256(labels_path)
    else:
        label_names = sorted(
            {label for recs in raw.values() for r in recs for label in r["labels"]}
        )
        if not label_names:
            raise DataError(f"{folder}: no record has a label and labels.txt is absent." + hint)
    _verify_meta(folder, meta, hashes, {split: len(recs) for split, recs in raw.items()}, hint)

    splits = {
        split: _to_split(split, folder / f"{split}.jsonl", recs, label_names, hint)
        for split, recs in raw.items()
    }
    notes = _check_contents(folder, raw, meta, hint)
    dev_carved = "dev" not in splits
    if dev_carved and len(splits["train"]) < 2:
        raise DataError(
            f"{folder / 'train.jsonl'}: {len(splits['train'])} record(s) and no dev.jsonl: "
            f"a dev split is carved from train, which needs at least 2 records (1 to train "
            f"on, 1 for dev); add records or a dev.jsonl." + hint
        )
    if dev_carved:
        splits["train"], splits["dev"] = carve_dev(splits["train"])
    return MultiLabelDataset(
        name=name,
        path=folder,
        label_names=label_names,
        train=splits["train"],
        dev=splits["dev"],
        test=splits["test"],
        meta=meta,
        hashes=hashes,
        dev_carved=dev_carved,
        warnings=notes,
    )


# ---------------------------------------------------------------- content checks


@contextmanager
def _open_utf8(path: Path, hint: str) -> Iterator[Iterator[str]]:
    """The lines of ``path`` (with their ``\\n``), decoded as UTF-8 one at a time.

    A line that is not UTF-8 is a DataError naming the file, line and byte offset
    (``open(encoding="utf-8")`` would raise a bare UnicodeDecodeError naming neither).
    """
    yield _utf8_lines(path, path.read_bytes(), hint)


def _utf8_lines(path: Path, data: bytes, hint: str) -> Iterator[str]:
    if data.startswith(GZIP_MAGIC):
        raise DataError(
            f"{path}: a gzip-compressed file (it starts with gzip's magic bytes), not text: "
            f"decompress it first (gunzip -c {path.name} > plain file)." + hint
        )
    offset = 0
    for line_no, raw in enumerate(data.splitlines(keepends=True), start=1):
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise DataError(
                f"{path}:{line_no}: not valid UTF-8 at byte offset {offset + err.start} "
                f"(byte {raw[err.start : err.start + 1]!r}); expected UTF-8 text: re-save the "
                f"file as UTF-8." + hint
            ) from None
        offset += len(raw)


def _check_contents(folder: Path, raw: dict[str, list[dict]], meta: dict, hint: str) -> list[str]:
    """Refuse repeated ids and a data set without positive labels; return the warnings.

    An id in two places (one split, or train/dev/test) is an error: the same document in
    train and test leaks it into evaluation. Texts repeated across splits are only warned
    about (real data sets have a few); every warning is also issued as a DataWarning.
    """
    _check_ids(folder, raw, hint)
    if not any(record["labels"] for records in raw.values() for record in records):
        files = ", ".join(f"{split}.jsonl" for split in raw)
        raise DataError(
            f"{folder}: no record of {files} has a positive label; expected at least one "
            f"(without any, predicting nothing scores subset accuracy 1.0): check the "
            f"'labels' fields." + hint
        )
    notes = []
    if "test" in raw and not any(record["labels"] for record in raw["test"]):
        notes.append(
            f"{folder / 'test.jsonl'}: no test record has a positive label; predicting nothing "
            f"scores subset accuracy 1.0 on it"
        )
    repeated = _repeated_texts(raw)
    if repeated:
        notes.append(
            f"{folder}: texts repeated across splits ({'; '.join(repeated)}); identical "
            f"documents in two splits can inflate test scores: deduplicate them if that is "
            f"not intended"
        )
    nonstandard = meta.get("nonstandard")
    if isinstance(nonstandard, dict):
        notes.append(
            f"{folder}: converted from raw files that differ from the public release "
            f"({nonstandard.get('reason')}); results do not reproduce the paper's data"
        )
    for note in notes:
        warnings.warn(note, DataWarning, stacklevel=3)
    return notes


def _check_ids(folder: Path, raw: dict[str, list[dict]], hint: str) -> None:
    """A DataError at the first id seen twice, within a split or across splits."""
    first: dict[str, tuple[str, int]] = {}  # id -> (file, line) where it was first seen
    for split in SPLITS:
        for record in raw.get(split, []):
            key = str(record["id"])
            here = (f"{split}.jsonl", record["_line"])
            if key in first:
                where, line = first[key]
                pair = f"{Path(where).stem}/{split}"
                leak = "" if where == here[0] else f" (a possible {pair} leak)"
                raise DataError(
                    f"{folder / here[0]}:{here[1]}: id {key!r} is also at {where}:{line}{leak}; "
                    f"expected every id once across train, dev and test: remove or rename the "
                    f"repeated record." + hint
                )
            first[key] = here


def _repeated_texts(raw: dict[str, list[dict]]) -> list[str]:
    """For each pair of splits, how many texts of the later one are in the earlier one."""
    found = []
    present = [split for split in SPLITS if split in raw]
    for i, early in enumerate(present):
        lines = {}
        for record in raw[early]:
            lines.setdefault(record["text"], record["_line"])
        for late in present[i + 1 :]:
            hits = [(r["_line"], lines[r["text"]]) for r in raw[late] if r["text"] in lines]
            if hits:
                found.append(
                    f"{len(hits)} of {late}.jsonl also in {early}.jsonl, first "
                    f"{late}.jsonl:{hits[0][0]} = {early}.jsonl:{hits[0][1]}"
                )
    return found
