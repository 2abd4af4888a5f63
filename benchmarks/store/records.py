"""Run records: one JSON file per (profile, data set, method, variant, seed), typed.

``<results>/runs/<profile>/<dataset>/<method>[+<variant>]/seed<S>.json`` holds a
:class:`RunRecord`; ``<results>/runs/<profile>/<dataset>/data.json`` a :class:`DataRecord`
(Table 1's statistics and the label correlations of Figures 1 and 3). Files are written
atomically (a temporary file in the same folder, then ``os.replace``), so a killed run
leaves the whole file or none and many jobs can share one results folder.

Every file carries ``schema_version``. :func:`read_record` reads the current version and
migrates older ones in memory (the files on disk are never rewritten); a newer version
than this suite knows, a truncated file or a missing key is a :class:`RecordError`
naming the file. :func:`load_results` gives every run under a results folder as one
pandas DataFrame (one row a run), the way MTEB's ``load_results`` does.

Version history:

- 1: the first schema.
- 2: ``dataset.nonstandard`` (a converted copy of a modified raw release, or null),
  ``scores`` (the stored per-document scores beside the run file, or null) and
  ``artefacts`` (extra arrays saved beside the run file; ``{}`` when none) always present.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmmtc.atomic import atomic_write

SCHEMA_VERSION = 2
RUN_FILE_GLOB = "seed*.json"
DATA_FILE = "data.json"


class RecordError(ValueError):
    """A run or data file that cannot be read; the message names the file and what to do.
    The runner never replaces such a file without ``--overwrite`` (see :data:`KEPT`)."""


class NewerSchemaError(RecordError):
    """A file written by a newer lmmtc-bench (``schema_version`` above ours)."""


#: What to do with a data.json this suite cannot read (it is computed from the data).
DATA_REBUILT = "the next run of any cell of its data set rebuilds it (or delete it)"

#: An empty run file holds nothing to lose: the runner replaces it.
EMPTY_RUN = "rerun its cell (an empty run file is replaced)"

#: What to do with a run file this suite cannot read: it is kept, never replaced.
KEPT = "the runner keeps it: move it away, or rerun its cell with --overwrite to replace it"


@dataclass(frozen=True)
class Cell:
    """One unit of work: a method with a variant on a data set under a profile and seed."""

    profile: str
    dataset: str
    method: str
    variant: str = ""  # "" is the method's default configuration
    seed: int = 1

    @property
    def method_dir(self) -> str:
        """Folder name of the method and variant (import paths made file-system safe)."""
        base = re.sub(r"[^A-Za-z0-9_.\-]", ".", self.method)
        return f"{base}+{self.variant}" if self.variant else base

    def path(self, results_dir: Path) -> Path:
        """Where this cell's run file lives under ``results_dir``."""
        return (
            Path(results_dir)
            / "runs"
            / self.profile
            / self.dataset
            / self.method_dir
            / f"seed{self.seed}.json"
        )

    def label(self) -> str:
        variant = f"+{self.variant}" if self.variant else ""
        return f"{self.profile}/{self.dataset}/{self.method}{variant}/seed{self.seed}"


def data_record_path(results_dir: Path, profile: str, dataset: str) -> Path:
    """Where a data set's data record lives."""
    return Path(results_dir) / "runs" / profile / dataset / DATA_FILE


# --- the parts of a record ----------------------------------------------------------------


@dataclass
class MethodStamp:
    """Which method ran: its registered name, family and class."""

    name: str
    family: str
    cls: str  # stored as "class"


@dataclass
class RunConfig:
    """What a cell ran with: the method's keywords, row caps and where they came from."""

    params: dict[str, Any]
    subset: dict[str, int]
    sources: list[str]
    threshold: float


@dataclass
class DataStamp:
    """What the run saw of its data set: identity, provenance, hashes and sizes."""

    name: str
    path: str
    synthetic: bool
    stand_in_for: str | None
    source: str | None
    converter: str | None
    converter_version: str | int | None
    split_rule: Any
    hashes: dict[str, str]
    num_labels: int
    dev_carved_from_train: bool
    sizes: dict[str, int]
    full_sizes: dict[str, int]
    subset: bool
    nonstandard: Any = None  # meta.json's stamp of a modified raw release, or None

    @property
    def stamp(self) -> str:
        """``synthetic``, ``subset`` or ``full``: how real the data behind a number is;
        ``(nonstandard)`` follows when the raw files differed from the public release."""
        if self.synthetic:
            return "synthetic"
        stamp = "subset" if self.subset else "full"
        return f"{stamp} (nonstandard)" if self.nonstandard else stamp


@dataclass
class Timing:
    """How long the cell took and how much memory it used."""

    fit_seconds: float
    test_predict_seconds: float
    wall_seconds: float
    train_samples_per_second: float
    test_samples_per_second: float
    peak_rss_mb: float
    peak_cuda_mb: float | None


@dataclass
class Environment:
    """Where the run happened: device, Python, platform, package versions, git state."""

    device: str
    python: str
    platform: str
    packages: dict[str, str | None]
    git: dict[str, Any]


@dataclass
class ScoresFile:
    """The scores file beside a run file (``seed<S>.scores.npz``, :mod:`benchmarks.store.scores`):
    its name in the run folder and its sha256."""

    file: str
    sha256: str


@dataclass
class RunRecord:
    """Everything a run file holds. ``path`` is where it was read from (not stored)."""

    cell: Cell
    method: MethodStamp
    config: RunConfig
    dataset: DataStamp
    metrics: dict[str, dict[str, float]]  # split ("dev", "test") -> metric -> fraction
    loss_curve: list[dict[str, Any]] | None
    method_info: dict[str, Any]
    timing: Timing
    environment: Environment
    created: str
    artefacts: dict[str, str] = field(default_factory=dict)  # array name -> file name
    scores: ScoresFile | None = None
    schema_version: int = SCHEMA_VERSION
    path: Path | None = None

    def metric(self, name: str, split: str = "test") -> float | None:
        """The value of metric ``name`` on ``split``, or None where it was not computed."""
        return self.metrics.get(split, {}).get(name)

    def to_json(self) -> dict[str, Any]:
        """The JSON object written to the run file (``path`` left out)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "cell": dataclasses.asdict(self.cell),
            "method": {
                "name": self.method.name,
                "family": self.method.family,
                "class": self.method.cls,
            },
            "config": dataclasses.asdict(self.config),
            "dataset": dataclasses.asdict(self.dataset),
            "metrics": self.metrics,
            "loss_curve": self.loss_curve,
            "method_info": self.method_info,
            "timing": dataclasses.asdict(self.timing),
            "environment": dataclasses.asdict(self.environment),
            "created": self.created,
            "artefacts": self.artefacts,
            "scores": None if self.scores is None else dataclasses.asdict(self.scores),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], path: Path | None = None) -> RunRecord:
        """A record from a run file's JSON object of any known version."""
        data = migrate(data, "run", path)
        read = _Reader(data, path)
        method = read.section("method")
        scores = read.value("scores")
        return cls(
            cell=Cell(**read.fields(Cell, "cell")),
            method=MethodStamp(
                method.get("name", ""), method.get("family", ""), method.get("class", "")
            ),
            config=RunConfig(**read.fields(RunConfig, "config")),
            dataset=DataStamp(**read.fields(DataStamp, "dataset")),
            metrics=read.metrics(),
            loss_curve=read.value("loss_curve"),
            method_info=read.value("method_info") or {},
            timing=Timing(**read.fields(Timing, "timing")),
            environment=Environment(**read.fields(Environment, "environment")),
            created=read.value("created"),
            artefacts=read.value("artefacts") or {},
            scores=None if scores is None else ScoresFile(**scores),
            path=None if path is None else Path(path),
        )


@dataclass
class DataRecord:
    """A data set's record: Table 1 statistics and the label correlations (Figures 1, 3)."""

    profile: str
    dataset: DataStamp
    label_names: list[str]
    statistics: dict[str, Any]
    pearson_train: list[list[float]]  # (L, L)
    spearman_test: list[list[float]]  # (L, L)
    environment: Environment
    path: Path | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON object of data.json, with ``digest``: the sha256 of the rest, so that
        the report can tell a hand-edited file from one the runner wrote."""
        payload = {
            "schema_version": SCHEMA_VERSION,
            "kind": "data",
            "profile": self.profile,
            "dataset": dataclasses.asdict(self.dataset),
            "label_names": self.label_names,
            "statistics": self.statistics,
            "pearson_train": self.pearson_train,
            "spearman_test": self.spearman_test,
            "environment": dataclasses.asdict(self.environment),
        }
        return {**payload, "digest": content_digest(payload)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], path: Path | None = None) -> DataRecord:
        data = migrate(data, "data", path)
        where = path or "data record"
        digest = data.get("digest")
        if digest is not None:  # files before the digest have none
            rest = {key: value for key, value in data.items() if key != "digest"}
            if digest != content_digest(rest):
                raise RecordError(
                    f"{where}: its content does not match its digest (edited after the "
                    f"runner wrote it); {DATA_REBUILT}"
                )
        read = _Reader(data, path)
        return cls(
            profile=read.value("profile"),
            dataset=DataStamp(**read.fields(DataStamp, "dataset")),
            label_names=read.value("label_names"),
            statistics=read.value("statistics"),
            pearson_train=read.value("pearson_train"),
            spearman_test=read.value("spearman_test"),
            environment=Environment(**read.fields(Environment, "environment")),
            path=None if path is None else Path(path),
        )


class _Reader:
    """Key lookups that fail with a :class:`RecordError` naming the file and the key."""

    def __init__(self, data: Mapping[str, Any], path: Path | None) -> None:
        self.data, self.path = data, path

    def _missing(self, key: str) -> RecordError:
        return RecordError(
            f"{self.path or 'run record'}: key {key!r} missing; the file is incomplete or "
            f"not a run file; {KEPT}"
        )

    def value(self, key: str) -> Any:
        if key not in self.data:
            raise self._missing(key)
        return self.data[key]

    def metrics(self) -> dict[str, dict[str, float]]:
        """``metrics`` checked: split -> metric -> a finite number (a NaN, null or text
        value did not come from a valid run, so the file is refused, not shown)."""
        where = self.path or "run record"
        value = self.section("metrics")
        for split, values in value.items():
            if not isinstance(values, Mapping):
                raise RecordError(f"{where}: metrics.{split} is not an object; {KEPT}")
            for name, number in values.items():
                if not _finite_number(number):
                    raise RecordError(
                        f"{where}: metrics.{split}.{name} is {number!r}, not a finite number "
                        f"(the file was edited or damaged); {KEPT}"
                    )
        return {split: dict(values) for split, values in value.items()}

    def section(self, key: str) -> Mapping[str, Any]:
        value = self.value(key)
        if not isinstance(value, Mapping):
            raise RecordError(f"{self.path or 'run record'}: {key!r} is not an object")
        return value

    def fields(self, cls: type, key: str) -> dict[str, Any]:
        """The keys of section ``key`` that dataclass ``cls`` declares; a required one that
        is absent is an error (a field with a default may be absent)."""
        section = self.section(key)
        out = {}
        for spec in dataclasses.fields(cls):
            if spec.name in section:
                out[spec.name] = section[spec.name]
            elif (
                spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING
            ):
                raise self._missing(f"{key}.{spec.name}")
        return out


# --- versions -----------------------------------------------------------------------------


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 lacked ``dataset.nonstandard``, ``scores`` and, without arrays, ``artefacts``."""
    out = dict(data)
    if isinstance(out.get("dataset"), dict):
        out["dataset"] = {"nonstandard": None, **out["dataset"]}
    if out.get("kind") != "data":
        out.setdefault("scores", None)
        out.setdefault("artefacts", {})
    out["schema_version"] = 2
    return out


#: version -> the function that lifts a record of that version to the next one.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _v1_to_v2}


def migrate(data: Mapping[str, Any], kind: str, path: Path | None = None) -> dict[str, Any]:
    """``data`` lifted to :data:`SCHEMA_VERSION`; a newer or unknown version is an error."""
    where = path or f"{kind} record"
    if not isinstance(data, Mapping):
        raise RecordError(f"{where}: expected a JSON object, got {type(data).__name__}")
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise RecordError(
            f"{where}: schema_version {version!r} is not a version this suite knows (1 to "
            f"{SCHEMA_VERSION}); {KEPT}"
        )
    if version > SCHEMA_VERSION:
        raise NewerSchemaError(
            f"{where}: schema_version {version} is newer than this suite reads "
            f"({SCHEMA_VERSION}); update lmmtc-bench to read it ({KEPT})"
        )
    out = dict(data)
    while out["schema_version"] < SCHEMA_VERSION:
        out = MIGRATIONS[out["schema_version"]](out)
    return out


# --- reading and writing ------------------------------------------------------------------


def _load_json(path: Path) -> Any:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise RecordError(f"{path}: not UTF-8 text (byte {err.start}); not a run file") from None
    except OSError as err:
        raise RecordError(f"{path}: cannot read ({err.strerror or err})") from None
    if not text.strip():
        raise RecordError(f"{path}: empty file; {EMPTY_RUN}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise RecordError(
            f"{path}:{err.lineno}: not valid JSON ({err.msg}); the file is truncated or "
            f"corrupt; {KEPT}"
        ) from None


def read_record(path: Path) -> RunRecord:
    """The run record in ``path`` (any known schema version)."""
    return RunRecord.from_json(_load_json(path), Path(path))


def read_data_record(path: Path) -> DataRecord:
    """The data record in ``path`` (any known schema version). Its errors say that the
    runner rebuilds it (data.json holds no result of its own, only what the data give)."""
    try:
        return DataRecord.from_json(_load_json(path), Path(path))
    except NewerSchemaError:
        raise
    except RecordError as err:
        text = str(err).replace(KEPT, DATA_REBUILT).replace(EMPTY_RUN, DATA_REBUILT)
        raise RecordError(text) from None


def content_digest(payload: Mapping[str, Any]) -> str:
    """The sha256 of ``payload`` as canonical JSON (sorted keys)."""
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=_json_default)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _finite_number(value: Any) -> bool:
    """A real number that is not NaN or infinite (a bool is not a number here)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _json_default(value: Any) -> Any:
    """NumPy scalars/arrays and paths in records."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store {type(value).__name__} in a run file")


def unstorable_key(value: Any, where: str = "") -> str | None:
    """Where in ``value`` the first thing lies that a run file cannot store (``['info']
    [2] (a set)``), or None when JSON (with NumPy values and paths) holds all of it."""
    if value is None or isinstance(value, (str, int, float, bool, Path)):
        return None
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                return f"{where or 'the top level'}: key {key!r} ({type(key).__name__})"
            found = unstorable_key(item, f"{where}[{key!r}]")
            if found is not None:
                return found
        return None
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            found = unstorable_key(item, f"{where}[{i}]")
            if found is not None:
                return found
        return None
    if hasattr(value, "tolist"):
        return None
    return f"{where or 'the top level'} (a {type(value).__name__})"


def write_json_atomic(path: Path, payload: Mapping[str, Any]) -> None:
    """Write ``payload`` to ``path`` so that readers never see a partial file. The file
    gets the user's umask (0644 under the usual 022), as any file they write would, so
    that a results folder shared on a cluster stays readable."""
    text = json.dumps(payload, indent=2, ensure_ascii=False, default=_json_default) + "\n"
    with atomic_write(path) as handle:
        handle.write(text)


def write_record(path: Path, record: RunRecord | DataRecord) -> None:
    """Write a run or data record atomically."""
    write_json_atomic(path, record.to_json())


def run_file_paths(results_dir: Path, profile: str | None = None) -> list[Path]:
    """Every run file under ``results_dir/runs`` (optionally one profile's), sorted."""
    root = Path(results_dir) / "runs"
    if profile:
        root = root / profile
    return sorted(root.glob(f"**/{RUN_FILE_GLOB}"))


def iter_records(
    results_dir: Path, profile: str | None = None, *, on_error: str = "warn"
) -> Iterator[RunRecord]:
    """Every readable run record under ``results_dir`` (optionally one profile's), sorted
    by path. An unreadable file is skipped with a warning naming it (``on_error="warn"``)
    or raises (``"raise"``): one bad file never hides the others."""
    for path in run_file_paths(results_dir, profile):
        try:
            yield read_record(path)
        except RecordError as err:
            if on_error == "raise":
                raise
            warnings.warn(f"skipped run file: {err}", RecordWarning, stacklevel=2)


class RecordWarning(UserWarning):
    """A run file was skipped because it could not be read."""


def _flat(value: Any) -> Any:
    """A DataFrame-friendly value: scalars as they are, lists and dicts as JSON text."""
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, sort_keys=True)
    return value


def record_row(record: RunRecord) -> dict[str, Any]:
    """One run as a flat row: the cell, resolved parameters (``param.*``), row caps
    (``subset.*``), every metric (``dev.*``, ``test.*``), timing (``timing.*``), the data
    stamp (``data.*``) and where and when it ran."""
    row: dict[str, Any] = dataclasses.asdict(record.cell)
    row.update({f"param.{k}": _flat(v) for k, v in sorted(record.config.params.items())})
    row.update({f"subset.{k}": v for k, v in sorted(record.config.subset.items())})
    for split, values in record.metrics.items():
        row.update({f"{split}.{name}": value for name, value in values.items()})
    row.update({f"timing.{k}": v for k, v in dataclasses.asdict(record.timing).items()})
    data = record.dataset
    row.update(
        {
            "data.stamp": data.stamp,
            "data.name": data.name,
            "data.synthetic": data.synthetic,
            "data.nonstandard": data.nonstandard is not None,
            "data.num_labels": data.num_labels,
            **{f"data.{split}_rows": n for split, n in data.sizes.items()},
            **{f"data.sha256.{name}": digest for name, digest in sorted(data.hashes.items())},
        }
    )
    row.update(
        {
            "method.family": record.method.family,
            "device": record.environment.device,
            "git.commit": record.environment.git.get("commit"),
            "git.dirty": record.environment.git.get("dirty"),
            "created": record.created,
            "schema_version": record.schema_version,
            "path": str(record.path) if record.path is not None else None,
        }
    )
    return row


def load_results(results_dir: Path | str, profile: str | None = None):
    """Every run under ``results_dir`` as a pandas DataFrame, one row a run (see
    :func:`record_row` for the columns). Unreadable run files are skipped with a warning
    naming them.

    >>> frame = load_results("results", profile="cpu")
    >>> frame.groupby(["dataset", "method"])["test.micro_f1"].mean()
    """
    import pandas as pd

    rows = [record_row(record) for record in iter_records(Path(results_dir), profile)]
    return pd.DataFrame(rows)
