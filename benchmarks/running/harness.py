"""The harness: runs one cell (fit, predict, threshold, metrics) and builds its run record.

The harness, not the method, applies the 0.5 threshold and computes the metrics, so
every method is measured the same way.
"""

from __future__ import annotations

import dataclasses
import inspect
import resource
import time
import types
import typing
from collections import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.running.provenance import environment
from benchmarks.store.records import (
    Cell,
    DataRecord,
    DataStamp,
    MethodStamp,
    RunConfig,
    RunRecord,
    Timing,
    unstorable_key,
)
from benchmarks.store.scores import SplitScores, as_stored
from benchmarks.suite.config import ResolvedConfig
from lmmtc.data import MultiLabelDataset, Split
from lmmtc.metrics import THRESHOLD, evaluate
from lmmtc.registry import MethodSpec
from lmmtc.seeding import set_seed
from lmmtc.stats import dataset_statistics, label_correlation
from lmmtc.suggest import did_you_mean

SUBSET_SEED = 0  # one fixed subset for every method and seed, so cells stay comparable


class MethodConfigError(TypeError):
    """A config passes keywords that the method's constructor does not accept."""


class MethodOutputError(ValueError):
    """A method returned something the harness cannot measure or store (scores that are
    not probabilities, a ``run_info()`` that JSON cannot hold)."""


#: Scores this far outside [0, 1] are float rounding (a softmax summing to 1 + 1e-7),
#: clipped; anything further is not a probability.
SCORE_TOLERANCE = 1e-6


def subset_split(split: Split, cap: int | None) -> Split:
    """The first ``cap`` rows of a fixed (seed 0) permutation of ``split``, or all rows."""
    if cap is None or cap >= len(split):
        return split
    order = np.random.default_rng(SUBSET_SEED).permutation(len(split))[:cap]
    return split.subset(np.sort(order))


@dataclass(frozen=True)
class MethodOption:
    """One keyword a method declares: its default (``inspect.Parameter.empty``: none)
    and its type hint (None: not declared)."""

    name: str
    default: Any
    hint: Any


def _hints(function: Any) -> dict[str, Any]:
    try:
        return typing.get_type_hints(function)
    except Exception:  # noqa: BLE001 - an annotation that does not evaluate: unchecked
        return {}


def declared_options(cls: type) -> dict[str, MethodOption] | None:
    """The keywords a method class declares, read from its own declarations: the keyword
    parameters of its ``__init__`` and, where one passes ``**kwargs`` on, of the classes
    it inherits from; a method whose ``__init__`` takes ``**params`` only and keeps them
    in an ``options`` dataclass (the transformer methods) declares that dataclass's
    fields, with the defaults of an instance made without keywords. None: the method
    takes any keyword (nothing to check)."""
    options: dict[str, MethodOption] = {}
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        if klass is object:
            break
        try:
            parameters = list(inspect.signature(init).parameters.values())[1:]
        except (TypeError, ValueError):
            return None
        hints = _hints(init)
        passes_on = False
        for p in parameters:
            if p.kind is inspect.Parameter.VAR_KEYWORD:
                passes_on = True
            elif p.kind is not inspect.Parameter.VAR_POSITIONAL:
                options.setdefault(p.name, MethodOption(p.name, p.default, hints.get(p.name)))
        if not passes_on:
            return options
    return _dataclass_options(cls, options)


def _dataclass_options(cls: type, options: dict[str, MethodOption]) -> dict | None:
    try:
        held = getattr(cls(), "options", None)
    except Exception:  # noqa: BLE001 - needs keywords: nothing to read
        return None
    if not dataclasses.is_dataclass(held):
        return None
    hints = _hints(type(held))
    for spec in dataclasses.fields(held):
        value = getattr(held, spec.name)
        options.setdefault(spec.name, MethodOption(spec.name, value, hints.get(spec.name)))
    return options


def conforms(value: Any, hint: Any) -> bool:
    """Whether ``value`` (parsed YAML) is of type ``hint`` (bool, int, float, str, None,
    unions, mappings and sequences of these; anything else is not checked)."""
    if hint is None or hint is Any:
        return True
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(conforms(value, arg) for arg in args)
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    base = origin or hint
    if base in (dict, Mapping, abc.Mapping):
        return isinstance(value, Mapping)
    if base in (list, tuple, abc.Sequence):
        if not isinstance(value, (list, tuple)):
            return False
        inner = args[0] if args and (base is not tuple or args[-1] is Ellipsis) else None
        return inner is None or all(conforms(item, inner) for item in value)
    return True


def describe_type(hint: Any) -> str:
    """``hint`` in words (``a whole number or null``)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(dict.fromkeys(describe_type(arg) for arg in args))
    words = {
        type(None): "null",
        bool: "true or false",
        int: "a whole number",
        float: "a number",
        str: "text",
    }
    if hint in words:
        return words[hint]
    base = origin or hint
    if base in (dict, Mapping, abc.Mapping):
        return "a mapping"
    if base in (list, tuple, abc.Sequence):
        if args and args[0] is not Ellipsis:
            return f"a list of {describe_type(args[0]).removeprefix('a ')}s"
        return "a list"
    return getattr(hint, "__name__", str(hint))


def lowest_value(option: MethodOption) -> int | None:
    """The smallest value a numeric option takes, read from its default: a whole-number
    option whose default is at least 1 is a count (epochs, batch size: >= 1); any other
    number with a default >= 0 is a size, rate or weight (>= 0). None: unbounded."""
    default = option.default
    if isinstance(default, bool) or not isinstance(default, (int, float)):
        return None
    if isinstance(default, int) and default >= 1 and not conforms(0.5, option.hint):
        return 1
    return 0 if default >= 0 else None


def check_method_params(spec: MethodSpec, params: Mapping[str, Any], where: str = "") -> None:
    """Every keyword of ``params`` checked against what ``spec``'s class declares (name,
    type, range): a :class:`MethodConfigError` naming the key, the method and what it
    accepts, before any cell runs; then, for a method keeping its options in a dataclass,
    that dataclass's own checks (values that cannot work together)."""
    options = declared_options(spec.cls)
    if options is None:
        return
    prefix = f"{where}: " if where else ""
    for key, value in params.items():
        option = options.get(key)
        if option is None:
            raise MethodConfigError(
                f"{prefix}method {spec.name!r} has no option {key!r}.{did_you_mean(key, options)}"
                f" Its options: {', '.join(options) or 'none'}"
            )
        default = (
            "" if option.default is inspect.Parameter.empty else f"; default {option.default!r}"
        )
        if not conforms(value, option.hint):
            raise MethodConfigError(
                f"{prefix}method {spec.name!r} option {key}={value!r}: expected "
                f"{describe_type(option.hint)}{default}"
            )
        low = lowest_value(option)
        if low is not None and conforms(value, float) and value < low:
            raise MethodConfigError(
                f"{prefix}method {spec.name!r} option {key}={value!r} is out of range: "
                f"expected {describe_type(option.hint)} >= {low}{default}"
            )
    if _keeps_dataclass(spec.cls):
        try:
            spec.cls(**params)
        except (TypeError, ValueError) as err:
            raise MethodConfigError(f"{prefix}method {spec.name!r}: {err}") from None


def _keeps_dataclass(cls: type) -> bool:
    """Whether ``cls`` takes ``**params`` only (its options live in a dataclass)."""
    init = cls.__init__
    try:
        parameters = list(inspect.signature(init).parameters.values())[1:]
    except (TypeError, ValueError):
        return False
    return bool(parameters) and all(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


def build_method(spec: MethodSpec, params: Mapping[str, Any]) -> Any:
    """Instantiate a method, turning a bad keyword into an error that lists the good ones."""
    try:
        signature = inspect.signature(spec.cls)
    except (TypeError, ValueError):
        signature = None
    if signature is not None and not any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values()
    ):
        unknown = sorted(set(params) - set(signature.parameters))
        if unknown:
            raise MethodConfigError(
                f"method {spec.name!r} does not accept {unknown}; it accepts "
                f"{sorted(signature.parameters) or 'no parameters'}"
            )
    return spec.cls(**params)


class PeakMemory:
    """Peak resident memory of this process during a block, in MiB (Linux: VmHWM reset
    through /proc/self/clear_refs; elsewhere the process-wide peak), plus CUDA peak."""

    def __enter__(self) -> PeakMemory:
        self.reset_ok = False
        try:
            Path("/proc/self/clear_refs").write_text("5")
            self.reset_ok = True
        except OSError:
            pass
        self._cuda = _cuda()
        if self._cuda is not None:
            self._cuda.reset_peak_memory_stats()
        return self

    def __exit__(self, *exc: object) -> None:
        self.rss_mb = _vm_hwm_mb() if self.reset_ok else None
        if self.rss_mb is None:
            self.rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        self.cuda_mb = self._cuda.max_memory_allocated() / 2**20 if self._cuda is not None else None


def _cuda():
    try:
        import torch
    except ImportError:
        return None
    return torch.cuda if torch.cuda.is_available() else None


def _vm_hwm_mb() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _predict(method: Any, split: Split) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    raw = method.predict_scores(split.texts)
    elapsed = time.perf_counter() - start
    return check_scores(raw, split, type(method).__name__), elapsed


def check_scores(raw: Any, split: Split, name: str) -> np.ndarray:
    """``raw`` as a float (texts, labels) array of probabilities, or a
    :class:`MethodOutputError` saying what is wrong: the 0.5 threshold of raw logits or
    of NaN would report numbers that mean nothing."""
    where = f"{name}.predict_scores on the {split.name} split"
    try:
        scores = np.asarray(raw, dtype=float)
    except (TypeError, ValueError) as err:
        raise MethodOutputError(
            f"{where} returned {type(raw).__name__}, not an array of numbers ({err}); expected "
            f"a (texts, labels) array of probabilities"
        ) from None
    expected = (len(split), len(split.label_names))
    if scores.shape != expected:
        raise MethodOutputError(
            f"{where} returned shape {scores.shape}, expected {expected} (texts, labels)"
        )
    finite = np.isfinite(scores)
    if not finite.all():
        raise MethodOutputError(
            f"{where} returned {int((~finite).sum())} NaN or infinite values of "
            f"{scores.size}; expected probabilities in [0, 1]"
        )
    low, high = (float(scores.min()), float(scores.max())) if scores.size else (0.0, 0.0)
    if low < -SCORE_TOLERANCE or high > 1 + SCORE_TOLERANCE:
        raise MethodOutputError(
            f"{where} returned values outside [0, 1] (min {low:.4g}, max {high:.4g}); "
            f"expected probabilities: apply a sigmoid to raw logits"
        )
    return np.clip(scores, 0.0, 1.0)


def check_run_info(info: Any, name: str) -> dict[str, Any]:
    """``run_info()``'s value if a run file can store it (a dict of JSON values), else a
    :class:`MethodOutputError` naming the key that cannot be stored."""
    where = f"{name}.run_info()"
    if info is None:
        return {}
    if not isinstance(info, Mapping):
        raise MethodOutputError(
            f"{where} returned {type(info).__name__}; expected a dict of numbers, strings, "
            f"lists and dicts"
        )
    key = unstorable_key(info)
    if key is not None:
        raise MethodOutputError(
            f"{where} returned a value a run file cannot store at {key}; return numbers, "
            f"strings, lists and dicts"
        )
    return dict(info)


def data_stamp(dataset: MultiLabelDataset, splits: Mapping[str, Split]) -> DataStamp:
    """What a record says about the data: identity, hashes, sizes used, provenance."""
    return DataStamp(
        name=dataset.name,
        path=str(dataset.path),
        synthetic=dataset.synthetic,
        stand_in_for=dataset.meta.get("stand_in_for"),
        source=dataset.meta.get("source"),
        converter=dataset.meta.get("converter"),
        converter_version=dataset.meta.get("converter_version"),
        split_rule=dataset.meta.get("split"),
        hashes=dataset.hashes,
        num_labels=len(dataset.label_names),
        dev_carved_from_train=dataset.dev_carved,
        sizes={name: len(split) for name, split in splits.items()},
        full_sizes={name: len(dataset.split(name)) for name in splits},
        subset=any(len(splits[n]) < len(dataset.split(n)) for n in splits),
        nonstandard=dataset.meta.get("nonstandard"),
    )


def data_record(dataset: MultiLabelDataset, profile: str) -> DataRecord:
    """The data-level record of a data set: Table 1 statistics, the Pearson correlation
    of train labels (Figure 1) and the Spearman correlation of test labels (Figure 3)."""
    full = {name: dataset.split(name) for name in ("train", "dev", "test")}
    return DataRecord(
        profile=profile,
        dataset=data_stamp(dataset, full),
        label_names=dataset.label_names,
        statistics=dataset_statistics(dataset),
        pearson_train=label_correlation(dataset.train.labels, "pearson").round(4).tolist(),
        spearman_test=label_correlation(dataset.test.labels, "spearman").round(4).tolist(),
        environment=environment("cpu"),
    )


@dataclass
class CellResult:
    """A finished cell: its run record, the extra arrays it asked to save and, always,
    its dev and test scores (what ``seed<S>.scores.npz`` keeps)."""

    record: RunRecord
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    scores: dict[str, SplitScores] = field(default_factory=dict)  # "dev", "test"


def run_cell(
    cell: Cell,
    spec: MethodSpec,
    dataset: MultiLabelDataset,
    config: ResolvedConfig,
    saves: tuple[str, ...] = (),
) -> CellResult:
    """Fit and evaluate one cell; return its run record (the caller writes it).

    ``saves`` asks for extra arrays, returned beside the record: ``attention`` (the
    method's label-to-label attention maps on the test texts). The dev and test scores
    are always returned, at the precision they are stored in (float32), and the metrics
    are computed from those same values, so re-scoring the stored file gives them exactly.
    """
    splits = {
        name: subset_split(dataset.split(name), config.subset.get(name))
        for name in ("train", "dev", "test")
    }
    set_seed(cell.seed)
    method = build_method(spec, config.params)
    with PeakMemory() as memory:
        start = time.perf_counter()
        method.fit(splits["train"], splits["dev"], seed=cell.seed)
        fit_time = time.perf_counter() - start
        dev_scores, _ = _predict(method, splits["dev"])
        test_scores, predict_time = _predict(method, splits["test"])
    dev_scores, test_scores = as_stored(dev_scores), as_stored(test_scores)
    info = method.run_info() if callable(getattr(method, "run_info", None)) else {}
    info = check_run_info(info, type(method).__name__)
    curve = getattr(method, "loss_curve", None) or None
    if curve is not None and (bad := unstorable_key(curve)) is not None:
        raise MethodOutputError(
            f"{type(method).__name__}.loss_curve holds a value a run file cannot store at "
            f"{bad}; keep numbers, strings, lists and dicts in it"
        )
    arrays = {}
    if "attention" in saves and callable(getattr(method, "attention_maps", None)):
        arrays["attention"] = np.asarray(method.attention_maps(splits["test"].texts))
    device = str(info.get("device", config.params.get("device", "cpu")))
    record = RunRecord(
        cell=cell,
        method=MethodStamp(spec.name, spec.family, _qualname(spec.cls)),
        config=RunConfig(
            params=config.params,
            subset=config.subset,
            sources=list(config.sources),
            threshold=THRESHOLD,
        ),
        dataset=data_stamp(dataset, splits),
        metrics={
            "dev": evaluate(splits["dev"].labels, dev_scores),
            "test": evaluate(splits["test"].labels, test_scores),
        },
        loss_curve=curve,
        method_info=info,
        timing=Timing(
            fit_seconds=round(fit_time, 3),
            test_predict_seconds=round(predict_time, 3),
            wall_seconds=round(fit_time + predict_time, 3),
            train_samples_per_second=_rate(info, len(splits["train"]), fit_time),
            test_samples_per_second=round(len(splits["test"]) / max(predict_time, 1e-9), 2),
            peak_rss_mb=round(memory.rss_mb, 1),
            peak_cuda_mb=round(memory.cuda_mb, 1) if memory.cuda_mb is not None else None,
        ),
        environment=environment(device),
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    )
    scores = {
        name: SplitScores.of(splits[name].ids, splits[name].labels, values)
        for name, values in (("dev", dev_scores), ("test", test_scores))
    }
    return CellResult(record, arrays, scores)


def _rate(info: Mapping[str, Any], n_train: int, fit_time: float) -> float:
    """Training throughput: the method's own figure (it knows its epochs) or rows / fit time."""
    if "train_samples_per_second" in info:
        return round(float(info["train_samples_per_second"]), 2)
    return round(n_train / max(fit_time, 1e-9), 2)


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"
