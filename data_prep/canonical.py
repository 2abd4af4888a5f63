"""Writer of the suite's canonical data format.

A data set is a folder::

    <out>/<name>/train.jsonl   one {"id": str, "text": str, "labels": [str, ...]} a line
    <out>/<name>/dev.jsonl
    <out>/<name>/test.jsonl
    <out>/<name>/labels.txt    the label order (also LM-MTC's template order)
    <out>/<name>/meta.json     source, converter, split rule, seed, counts, sha256 of each file

The format itself (splits, file names, meta.json keys, ``format_version``, the sha256 of a
file) is owned by :mod:`lmmtc.data`, which loads it; this module writes through it.
The folder is written into a temporary sibling and renamed into place, so a failed
conversion never leaves a half-written data set behind. Output is deterministic: the
same records give byte-identical files (no timestamps, fixed key order).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from lmmtc.data import LABELS_FILE, META_FILE, SPLITS, canonical_meta, file_sha256, split_file

sha256_file = file_sha256  # the raw-file checks of data_prep use the same helper


@dataclass(frozen=True)
class Record:
    """One document: a unique id, its text and its positive labels (names from labels.txt)."""

    id: str
    text: str
    labels: tuple[str, ...]

    def to_json(self) -> str:
        return json.dumps(
            {"id": self.id, "text": self.text, "labels": list(self.labels)}, ensure_ascii=False
        )


class ConversionError(ValueError):
    """Raised for bad raw input; the message names the file, the record and what was expected."""


def _check_records(split: str, records: Sequence[Record], label_set: set[str]) -> None:
    seen: set[str] = set()
    for position, record in enumerate(records, start=1):
        if record.id in seen:
            raise ConversionError(f"{split}: record {position} repeats id {record.id!r}")
        seen.add(record.id)
        unknown = [label for label in record.labels if label not in label_set]
        if unknown:
            raise ConversionError(
                f"{split}: record {position} (id {record.id!r}) has labels {unknown} "
                f"that are not in labels.txt"
            )


def write_dataset(
    out_dir: Path,
    splits: Mapping[str, Sequence[Record]],
    label_names: Sequence[str],
    meta: Mapping[str, object],
) -> Path:
    """Write a canonical data set to ``out_dir`` atomically and return ``out_dir``.

    ``splits`` must hold train, dev and test; ``meta`` is merged into meta.json beside
    the counts and hashes computed here. An existing folder is replaced only once the
    new one is complete.
    """
    out_dir = Path(out_dir)
    missing = [name for name in SPLITS if name not in splits]
    if missing:
        raise ConversionError(f"write_dataset: splits {missing} are missing")
    if len(set(label_names)) != len(label_names):
        raise ConversionError("write_dataset: label names repeat")
    label_set = set(label_names)
    for name in SPLITS:
        if not splits[name]:
            raise ConversionError(f"write_dataset: split {name!r} is empty")
        _check_records(name, splits[name], label_set)

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        hashes: dict[str, str] = {}
        for name in SPLITS:
            path = tmp / split_file(name)
            _write_lines(path, (record.to_json() for record in splits[name]))
            hashes[path.name] = file_sha256(path)
        _write_lines(tmp / LABELS_FILE, label_names)
        hashes[LABELS_FILE] = file_sha256(tmp / LABELS_FILE)
        counts = {name: len(splits[name]) for name in SPLITS}
        full_meta = canonical_meta(meta, label_names, counts, hashes)
        (tmp / META_FILE).write_text(
            json.dumps(full_meta, indent=2, ensure_ascii=False, sort_keys=False) + "\n",
            encoding="utf-8",
        )
        _replace_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def _write_lines(path: Path, lines: Iterable[str]) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        for line in lines:
            handle.write(line)
            handle.write("\n")


def _replace_dir(src: Path, dst: Path) -> None:
    """Move the finished ``src`` folder to ``dst``, replacing an older ``dst``."""
    os.chmod(src, 0o755)
    if dst.exists():
        old = dst.with_name(f".{dst.name}.old-{os.getpid()}")
        os.replace(dst, old)
        os.replace(src, dst)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(src, dst)
