"""Every prediction kept: ``seed<S>.scores.npz`` beside each run file.

The file holds, for the dev and the test split, the scores (float16, in the order of the
split's ids), the true labels of the scored rows (``np.packbits`` of the (n, L) 0/1
matrix) and the sha256 of the ids, plus any extra array a cell saved (``attention``:
the label-to-label attention sums of Figure 3). With it the report re-scores a run
(a new metric, another threshold policy) and compares two methods document by document
from the results folder alone, without the data sets. The run record names the file
and its sha256 (:class:`benchmarks.store.records.ScoresFile`); the file is written atomically
before the run file, so no run file ever names a missing scores file.

Scores are stored as float16 (format 2; format 1 files, float32, still load) so that
the carried tree stays small as results grow: measured on the 17 committed scores files
of ``results/runs/cpu``, 6.32 MiB in float32 and 3.00 MiB in float16, both compressed.
The harness computes the run file's metrics from the stored values (:func:`as_stored`),
so re-scoring reproduces every stored metric exactly. Rounding alone would move the
paper's 0.5 decisions: a score in (0.5, 0.5 + 2^-12) rounds to 0.5, which is no longer
above it; :func:`as_stored` keeps each such score at the next float16 above 0.5, so the
decisions at 0.5 are exactly those of the model's own scores.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.store.records import RecordError, RunRecord, ScoresFile
from benchmarks.store.thresholds import DEFAULT_POLICY, cutoffs
from lmmtc.atomic import atomic_write
from lmmtc.metrics import THRESHOLD, Cutoff

SCORES_DTYPE = np.float16  # in the file; read back as float32
SCORES_FORMAT = 2  # the layout of the arrays in the file (1: float32 scores)
#: The smallest float16 above the threshold (0.5 + 2^-11).
_ABOVE_THRESHOLD = np.nextafter(np.float16(THRESHOLD), np.float16(1))
SPLITS = ("dev", "test")
SUFFIX = ".scores.npz"
#: The arrays of one split in the file: ``<split>_<part>``.
PARTS = ("scores", "labels", "ids_sha256")
#: The names the file uses for its own arrays (an extra array may not take one).
OWN_ARRAYS = frozenset({"format", *(f"{s}_{p}" for s in SPLITS for p in PARTS)})


class ScoresError(RecordError):
    """A run has no usable scores file; the message names the run and what to do."""


def as_stored(scores: np.ndarray) -> np.ndarray:
    """``scores`` (n, L) as the scores file keeps them, in float32: rounded to float16,
    a score above 0.5 kept above it (its decision at the paper's threshold unchanged)."""
    scores = np.asarray(scores, dtype=np.float32)  # (n, L)
    stored = scores.astype(SCORES_DTYPE)
    crossed = (scores > THRESHOLD) & (stored <= THRESHOLD)
    stored[crossed] = _ABOVE_THRESHOLD
    return stored.astype(np.float32)


def ids_sha256(ids: Sequence[str]) -> str:
    """The sha256 of a split's ids in order: two runs scored the same rows when equal."""
    return hashlib.sha256(json.dumps(list(ids), ensure_ascii=False).encode("utf-8")).hexdigest()


@dataclass
class SplitScores:
    """One split's stored predictions: scores (n, L), true labels (n, L) 0/1, ids' sha256."""

    scores: np.ndarray  # (n, L) float32
    labels: np.ndarray  # (n, L) uint8
    ids_sha256: str

    @classmethod
    def of(cls, ids: Sequence[str], labels: np.ndarray, scores: np.ndarray) -> SplitScores:
        return cls(as_stored(scores), np.asarray(labels, dtype=np.uint8), ids_sha256(ids))


@dataclass
class StoredScores:
    """What a scores file holds: per split its scores, and the extra arrays by name."""

    splits: dict[str, SplitScores]
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    path: Path | None = None

    def __getitem__(self, split: str) -> SplitScores:
        return self.splits[split]

    def cutoffs(self, policy: str = DEFAULT_POLICY) -> Cutoff:
        """The run's decision cut-offs under a threshold policy: the paper's 0.5, or
        chosen from the dev scores alone (:mod:`benchmarks.store.thresholds`)."""
        if policy == DEFAULT_POLICY:
            return THRESHOLD
        return cutoffs(policy, self["dev"].labels, self["dev"].scores)


def scores_path(run_path: Path) -> Path:
    """Where the scores file of the run file ``run_path`` lives (``seed1.scores.npz``)."""
    run_path = Path(run_path)
    return run_path.with_name(run_path.stem + SUFFIX)


def write_scores(
    run_path: Path, splits: Mapping[str, SplitScores], arrays: Mapping[str, np.ndarray]
) -> ScoresFile:
    """Write the scores file of the run file ``run_path`` atomically (a temporary file in
    the same folder, then ``os.replace``); return what the run record says about it."""
    target = scores_path(run_path)
    clash = sorted(set(arrays) & OWN_ARRAYS)
    if clash:
        raise ValueError(f"extra arrays {clash} would overwrite the scores file's own")
    payload: dict[str, np.ndarray] = {"format": np.asarray(SCORES_FORMAT)}
    for name, split in splits.items():
        payload[f"{name}_scores"] = as_stored(split.scores).astype(SCORES_DTYPE)  # exact
        payload[f"{name}_labels"] = np.packbits(np.asarray(split.labels, dtype=bool), axis=1)
        payload[f"{name}_ids_sha256"] = np.asarray(split.ids_sha256)
    payload.update({name: np.asarray(value) for name, value in arrays.items()})
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **payload)
    data = buffer.getvalue()
    with atomic_write(target, "wb") as handle:
        handle.write(data)
    digest = hashlib.sha256(data).hexdigest()
    return ScoresFile(file=target.name, sha256=digest)


def read_scores(record: RunRecord) -> StoredScores:
    """The stored predictions of a run read from its results folder; a run without scores,
    a missing or replaced file, or one that does not fit the run is a :class:`ScoresError`."""
    where = record.path or record.cell.label()
    if record.scores is None:
        raise ScoresError(
            f"{where}: no scores (the run predates stored scores); rerun its cell with "
            f"--overwrite to keep its predictions"
        )
    if record.path is None:
        raise ScoresError(f"{where}: the run record was not read from a file")
    path = record.path.parent / record.scores.file
    rerun = "rerun its cell with --overwrite"
    if not path.is_file():
        raise ScoresError(f"{path}: scores file named by {record.path} is missing; {rerun}")
    content = path.read_bytes()  # read once: checked, then loaded from memory
    if hashlib.sha256(content).hexdigest() != record.scores.sha256:
        raise ScoresError(
            f"{path}: sha256 differs from the one in {record.path.name}; the scores file was "
            f"replaced or corrupted: {rerun}"
        )
    num_labels = record.dataset.num_labels
    with np.load(io.BytesIO(content)) as data:
        splits = {}
        for split in SPLITS:
            missing = [f"{split}_{part}" for part in PARTS if f"{split}_{part}" not in data]
            if missing:
                raise ScoresError(f"{path}: arrays {missing} missing; {rerun}")
            scores = data[f"{split}_scores"].astype(np.float32)  # float16 in format 2
            rows = record.dataset.sizes.get(split, scores.shape[0])
            if scores.shape != (rows, num_labels):
                raise ScoresError(
                    f"{path}: {split}_scores has shape {scores.shape}, the run file says "
                    f"({rows}, {num_labels}); {rerun}"
                )
            labels = np.unpackbits(data[f"{split}_labels"], axis=1, count=num_labels)
            splits[split] = SplitScores(scores, labels, str(data[f"{split}_ids_sha256"]))
        arrays = {name: data[name] for name in data.files if name not in OWN_ARRAYS}
    return StoredScores(splits, arrays, path)


def artefact_path(record: RunRecord, name: str) -> Path | None:
    """The file holding the extra array ``name`` of a run: the one its record names
    (the scores file), else an older run's ``seed<S>.npz``; None when there is none."""
    if record.path is None:
        return None
    named = record.artefacts.get(name)
    candidates = [record.path.parent / named] if named else []
    candidates.append(record.path.with_suffix(".npz"))  # runs before the scores file
    return next((path for path in candidates if path.is_file()), None)
