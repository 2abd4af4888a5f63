"""Paired significance between two methods from their stored predictions.

For each metric: the difference A − B (mean over the seeds both methods have), its 95%
confidence interval by a paired bootstrap over test documents, and a two-sided p-value.
Paired: every resample draws the same documents for both methods (and, with several
seeds, for every seed; the metric is averaged over the seeds inside each resample).

Vectorised over per-document counts (:class:`lmmtc.metrics.Counts`: TP, FP, FN per
document for micro-F1 and Jaccard, mistakes for Hamming loss, exact match for subset
accuracy, per-label TP/FP/FN for macro-F1, precision for P@k, LRAP and "has a true
label" for LRAP): a resample's metric is a function of count sums, and a resample is a
vector of how often each document is drawn.
Documents whose counts are identical (for both methods and every seed) are
interchangeable for a metric, so they are grouped and a resample draws group sizes from
the multinomial over groups, which is exactly the distribution of drawing documents with
replacement, at a cost of the number of groups instead of the number of documents. Each
metric is resampled on its own with the same seed, so its interval does not depend on
which other metrics were asked for. ``python -m tools.speed_significance`` times
this against ``scipy.stats.bootstrap(paired=True)`` (about 100 times slower here).

Macro ROC-AUC is no sum over documents: it is recomputed on every resample from the
document weights (:attr:`lmmtc.metrics.Metric.resampled`; one matrix product per label),
with the same draws for A and B, and only ``Metric.resamples`` times (2,000): measured on
this machine, 1,000 resamples of one side cost 0.26 s at 1,000 documents x 28 labels
(GoEmotions cpu), 0.75 s at 800 x 90 (Reuters cpu), 3.5 s at 5,427 x 28 and 1.4 s at
3,019 x 90 (the full test sets). Each :class:`Paired` says how many resamples it drew.

p-value: the bootstrap distribution of the difference shifted to the null (difference
0), two-sided, ``(1 + #{|d* − d| >= |d|}) / (1 + resamples)``; identical methods give
[0, 0] and p = 1. :func:`holm` corrects a family of p-values (Holm 1979).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from benchmarks.store.records import RunRecord
from benchmarks.store.scores import ScoresError, StoredScores, read_scores
from benchmarks.store.thresholds import DEFAULT_POLICY, DEV_IN_FIT, dev_in_fit
from lmmtc.metrics import METRICS, Metric

RESAMPLES = 10_000
BOOTSTRAP_SEED = 0
CONFIDENCE = 0.95
ALPHA = 0.05  # a difference is marked when its Holm-adjusted p-value is below this
CHUNK = 1_000  # resamples drawn and summed at a time (bounds memory: CHUNK x groups)
LARGE_GROUP = 10  # groups this large are drawn by binomials, smaller ones document by document

NO_SCORES = "no scores"
NO_SHARED_SEED = "no shared seed"
OTHER_TEST_ROWS = "other test rows"


@dataclass
class Paired:
    """One metric's paired comparison; fractions (the metric's own unit)."""

    metric: str
    a: float  # A's metric, mean over the shared seeds
    b: float
    difference: float  # a - b
    low: float  # the confidence interval of the difference
    high: float
    p_value: float
    resamples: int = RESAMPLES  # how many bootstrap resamples gave the interval

    def to_json(self) -> dict[str, float | str]:
        return asdict(self)


@dataclass
class Comparison:
    """Method A against method B on one data set: per metric a :class:`Paired`."""

    seeds: list[int]
    documents: int
    thresholds: str
    resamples: int
    bootstrap_seed: int
    confidence: float
    results: dict[str, Paired]
    skipped: dict[str, str] = field(default_factory=dict)  # metric -> why it has no interval
    seconds: float = 0.0  # the bootstrap's time (counts, grouping, resampling)


class NotPaired(ValueError):
    """Two groups of runs that cannot be compared document by document. ``short`` is what
    a table cell shows (``no scores``, ``no shared seed``, ``other test rows``); the
    message says which runs and what to do."""

    def __init__(self, short: str, message: str) -> None:
        super().__init__(message)
        self.short = short


# --- the bootstrap ---------------------------------------------------------------------


def _groups(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Identical rows of ``rows`` (n, K) grouped: (one document of each group (G,), the
    groups' rows (G, K), their sizes (G,))."""
    # integer counts grouped as int64 (the grouping order, and so the draws, as before
    # fractions existed); per-document fractions (LRAP, P@k) as float64
    dtype = np.int64 if np.issubdtype(np.asarray(rows).dtype, np.integer) else np.float64
    rows = np.ascontiguousarray(rows, dtype=dtype)
    as_bytes = rows.view(np.dtype((np.void, rows.itemsize * rows.shape[1]))).ravel()
    _, first, sizes = np.unique(as_bytes, return_index=True, return_counts=True)
    return first, rows[first], sizes


def _draws(sizes: np.ndarray, resamples: int, seed: int) -> Iterator[np.ndarray]:
    """How often each group is drawn in each resample of ``n = sizes.sum()`` documents with
    replacement: chunks of (b, G) counts, seeded, in a fixed order.

    Exactly Multinomial(n, sizes / n) per resample, drawn in two steps for speed: a
    multinomial over the groups of at least :data:`LARGE_GROUP` documents plus one bucket
    for the rest, then the bucket's count as uniform draws among the rest's documents
    (a binomial costs about ten uniform integers, so small groups are cheaper that way).
    """
    rng = np.random.default_rng(seed)
    n = int(sizes.sum())
    large = np.flatnonzero(sizes >= LARGE_GROUP)
    small = np.flatnonzero(sizes < LARGE_GROUP)
    # (n_rest,) each rest document's small group (int32: uniform int32 draws are faster)
    rest_group = np.repeat(np.arange(len(small), dtype=np.int32), sizes[small])
    pvals = np.append(sizes[large], len(rest_group)) / n
    for start in range(0, resamples, CHUNK):
        b = min(CHUNK, resamples - start)
        first = rng.multinomial(n, pvals, size=b)  # (b, len(large) + 1)
        counts = np.zeros((b, len(sizes)), dtype=np.int64)
        counts[:, large] = first[:, :-1]
        rest = first[:, -1]
        if len(small):
            picks = rng.integers(0, len(rest_group), size=int(rest.sum()), dtype=np.int32)
            key = rest_group[picks] + np.repeat(np.arange(b, dtype=np.int32) * len(small), rest)
            counts[:, small] = np.bincount(key, minlength=b * len(small)).reshape(b, len(small))
        yield counts


def resampled_documents(rows: np.ndarray, resamples: int, seed: int) -> Iterator[np.ndarray]:
    """Each resample that :func:`paired_bootstrap` draws for a metric's
    :func:`document_rows`, as document indices (a document of each group, repeated as
    often as the group is drawn): for checking it with a slow loop."""
    first, _, sizes = _groups(rows)
    for chunk in _draws(sizes, resamples, seed):
        for counts in chunk:
            yield np.repeat(first, counts)


def document_rows(
    counts_a: Sequence[Mapping[str, np.ndarray]],
    counts_b: Sequence[Mapping[str, np.ndarray]],
    metric: str,
) -> np.ndarray:
    """One metric's per-document counts of every seed of A, then of B, side by side:
    (n, (seeds_a + seeds_b) * k)."""
    blocks = [np.asarray(per_seed[metric]) for per_seed in (*counts_a, *counts_b)]
    return np.concatenate([block.reshape(len(block), -1) for block in blocks], axis=1)


@dataclass(frozen=True)
class _Sides:
    """A's and B's seed-mean metric from count sums (..., 2 * seeds * k): A's seeds'
    blocks first, then B's (the layout of :func:`document_rows`)."""

    metric: Metric
    n: int
    num_labels: int
    seeds: int

    def __call__(self, sums: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from_sums = self.metric.counts.from_sums
        values = [
            from_sums(part, self.n, self.num_labels)
            for part in np.split(sums, 2 * self.seeds, axis=-1)
        ]
        return np.mean(values[: self.seeds], axis=0), np.mean(values[self.seeds :], axis=0)


def paired_bootstrap(
    counts_a: Sequence[Mapping[str, np.ndarray]],
    counts_b: Sequence[Mapping[str, np.ndarray]],
    num_labels: int,
    *,
    resamples: int = RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    confidence: float = CONFIDENCE,
) -> dict[str, tuple[Paired, np.ndarray]]:
    """The paired bootstrap of A − B for every metric of the counts.

    ``counts_a[s][metric]`` are A's per-document counts (n, k) on seed ``s``
    (:meth:`lmmtc.metrics.Metric.document_counts`), ``counts_b`` B's on the same seeds in
    the same order, over the same n documents. Each metric is resampled on its own (same
    ``seed``), so its result does not depend on which other metrics are asked for.
    Returns ``{metric: (Paired, the (resamples,) bootstrap differences)}``.
    """
    if len(counts_a) != len(counts_b) or not counts_a:
        raise ValueError("give both methods' counts for the same, non-empty list of seeds")
    seeds = len(counts_a)
    tail = (1 - confidence) / 2
    results: dict[str, tuple[Paired, np.ndarray]] = {}
    for metric in counts_a[0]:
        rows = document_rows(counts_a, counts_b, metric)  # (n, 2 * seeds * k)
        n = rows.shape[0]
        if n == 0:
            raise ValueError("no documents to resample")
        _, unique, sizes = _groups(rows)
        unique = unique.astype(float)
        sides = _Sides(METRICS[metric], n, num_labels, seeds)
        a, b = (float(x) for x in sides(sizes @ unique))  # the sample: each document once
        dist = np.concatenate(
            [np.subtract(*sides(draws @ unique)) for draws in _draws(sizes, resamples, seed)]
        )  # (resamples,) A − B
        results[metric] = (_paired(metric, a, b, dist, tail), dist)
    return results


def _paired(metric: str, a: float, b: float, dist: np.ndarray, tail: float) -> Paired:
    """The interval and p-value of A − B from its bootstrap distribution ``dist``."""
    low, high = np.quantile(dist, [tail, 1 - tail])
    extreme = int(np.sum(np.abs(dist - (a - b)) >= abs(a - b)))
    p_value = min(1.0, (1 + extreme) / (1 + len(dist)))
    return Paired(metric, a, b, a - b, float(low), float(high), p_value, len(dist))


def paired_weighted(
    metric: Metric,
    labels: np.ndarray,
    outputs_a: Sequence[np.ndarray],
    outputs_b: Sequence[np.ndarray],
    *,
    resamples: int = RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    confidence: float = CONFIDENCE,
) -> tuple[Paired, np.ndarray]:
    """The paired bootstrap of A − B for a metric that is recomputed on each resample
    (:attr:`lmmtc.metrics.Metric.resampled`), from the test ``labels`` (n, L) and each
    seed's ``outputs`` (n, L: scores, or 0/1 decisions for a thresholded metric).
    Every resample draws the same documents (as weights) for both sides and every seed;
    returns the :class:`Paired` and the (resamples,) bootstrap differences."""
    if len(outputs_a) != len(outputs_b) or not outputs_a:
        raise ValueError("give both methods' outputs for the same, non-empty list of seeds")
    n = len(labels)
    if n == 0:
        raise ValueError("no documents to resample")
    resampled = metric.resampled
    if resampled is None:
        raise ValueError(f"metric {metric.name!r} declares no resampled form")

    def sides(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # (b,) each
        a = np.mean([resampled(labels, x, weights) for x in outputs_a], axis=0)
        b = np.mean([resampled(labels, x, weights) for x in outputs_b], axis=0)
        return a, b

    a, b = (float(x[0]) for x in sides(np.ones((1, n))))  # the sample: each document once
    dist = np.concatenate(
        [np.subtract(*sides(draws)) for draws in _draws(np.ones(n, np.int64), resamples, seed)]
    )  # (resamples,) A − B
    return _paired(metric.name, a, b, dist, (1 - confidence) / 2), dist


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given: the i-th smallest of m is
    multiplied by m − i + 1, made non-decreasing and capped at 1."""
    p = np.asarray(p_values, dtype=float)
    m = len(p)
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adjusted
    return out.tolist()


# --- from run files ----------------------------------------------------------------------


def _label(runs: Sequence[RunRecord]) -> str:
    cell = runs[0].cell
    return f"{cell.method}{'+' + cell.variant if cell.variant else ''} on {cell.dataset}"


def _by_seed(runs: Sequence[RunRecord]) -> dict[int, RunRecord]:
    return {run.cell.seed: run for run in runs}


def compare_runs(
    runs_a: Sequence[RunRecord],
    runs_b: Sequence[RunRecord],
    metrics: Sequence[str],
    *,
    thresholds: str = DEFAULT_POLICY,
    load: Callable[[RunRecord], StoredScores] = read_scores,
    resamples: int = RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    confidence: float = CONFIDENCE,
) -> Comparison:
    """A's runs against B's on their shared seeds, from their scores files, under the
    threshold policy ``thresholds`` (cut-offs from each run's own dev scores). A metric
    with per-document counts is resampled by :func:`paired_bootstrap`, one with a
    resampled form (macro AUC) by :func:`paired_weighted` (at most its own
    ``Metric.resamples`` times); one with neither, or one that does not apply to the
    label count, is listed in ``skipped``. Raises :class:`NotPaired` when the runs cannot be paired."""
    if not runs_a or not runs_b:
        raise NotPaired("-", "no run files for " + ("A" if not runs_a else "B"))
    a_seeds, b_seeds = _by_seed(runs_a), _by_seed(runs_b)
    shared = sorted(set(a_seeds) & set(b_seeds))
    if not shared:
        raise NotPaired(
            NO_SHARED_SEED,
            f"{_label(runs_a)} has seeds {sorted(a_seeds)}, {_label(runs_b)} has "
            f"{sorted(b_seeds)}: no seed in common; run the other's seeds (--seeds)",
        )
    try:
        stored = [(load(a_seeds[s]), load(b_seeds[s])) for s in shared]
    except ScoresError as err:
        raise NotPaired(NO_SCORES, str(err)) from None
    if thresholds != DEFAULT_POLICY:
        trained = [a_seeds[s] for s in shared] + [b_seeds[s] for s in shared]
        trained = [run for run in trained if dev_in_fit(run.method_info)]
        if trained:
            raise NotPaired(
                DEV_IN_FIT,
                f"{_label(trained)} trained on its dev rows (refit on train + dev), so its "
                f"dev scores are in-sample and {thresholds} cut-offs chosen on them are "
                f"biased; rerun it with --set refit=false, or compare at 0.5",
            )
    ids = {side["test"].ids_sha256 for pair in stored for side in pair}
    if len(ids) > 1:
        raise NotPaired(
            OTHER_TEST_ROWS,
            f"{_label(runs_a)} and {_label(runs_b)} scored different test rows (ids sha256 "
            f"differ: other row caps or data); compare runs made with the same subset caps",
        )
    num_labels = stored[0][0]["test"].labels.shape[1]
    chosen = [get for get in (METRICS.get(name) for name in metrics) if get is not None]
    skipped = {name: "unknown metric" for name in metrics if name not in METRICS}
    usable: list[Metric] = []
    for metric in chosen:
        if metric.counts is None and metric.resampled is None:
            skipped[metric.name] = "no per-document counts or resampled form declared"
        elif not metric.applies_to(num_labels):
            skipped[metric.name] = f"needs at least {metric.min_labels} labels"
        else:
            usable.append(metric)
    start = time.perf_counter()
    summed = [m for m in usable if m.counts is not None]
    counts: dict[str, list[dict[str, np.ndarray]]] = {"a": [], "b": []}
    for pair in stored:
        for side, scores in zip(("a", "b"), pair):
            cut = scores.cutoffs(thresholds)
            test = scores["test"]
            counts[side].append(
                {m.name: m.document_counts(test.labels, test.scores, cut) for m in summed}
            )
    found: dict[str, Paired] = {}
    if summed:
        bootstrap = paired_bootstrap(
            counts["a"],
            counts["b"],
            num_labels,
            resamples=resamples,
            seed=seed,
            confidence=confidence,
        )
        found = {name: paired for name, (paired, _) in bootstrap.items()}
    labels = stored[0][0]["test"].labels
    for metric in (m for m in usable if m.counts is None):
        outputs = [
            [metric.decisions(side["test"].scores, side.cutoffs(thresholds)) for side in sides]
            for sides in zip(*stored)
        ]  # [A's per seed, B's per seed]
        found[metric.name], _ = paired_weighted(
            metric,
            labels,
            *outputs,
            resamples=min(resamples, metric.resamples or resamples),
            seed=seed,
            confidence=confidence,
        )
    results = {m.name: found[m.name] for m in usable}
    return Comparison(
        seeds=shared,
        documents=int(stored[0][0]["test"].labels.shape[0]),
        thresholds=thresholds,
        resamples=resamples,
        bootstrap_seed=seed,
        confidence=confidence,
        results=results,
        skipped=skipped,
        seconds=time.perf_counter() - start,
    )
