"""Multi-label metrics: the paper's four (section 5.2) plus macro-F1, P@k and the
threshold-free LRAP and macro ROC-AUC.

All functions take 0/1 matrices of shape (n, L) (``y_true``, ``y_pred``; P@k, LRAP and
AUC take scores instead of ``y_pred``) and return a fraction in [0, 1]; tables multiply by 100
where the paper prints percents. Where a ratio has a zero denominator (no true and no
predicted label anywhere) the value is 0.0, as scikit-learn's ``zero_division=0``
gives: this is the convention the tests check against scikit-learn.

A metric that is a sum over documents is declared once, as :class:`Counts`; its plain
function, its :class:`Metric` and the bootstrap's resampling all derive from it. Macro
AUC is not such a sum: it is declared by its form under document weights
(:func:`weighted_macro_auc`), from which the plain value follows (weights 1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

THRESHOLD = 0.5  # the paper's decision threshold (eq. 6)


def _as_binary(y: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(y)
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (n, L) matrix, got shape {array.shape}")
    return array.astype(bool)


def _pair(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t, p = _as_binary(y_true, "y_true"), _as_binary(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"y_true {t.shape} and y_pred {p.shape} differ in shape")
    return t, p


def _scores_like(y_true: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = _as_binary(y_true, "y_true")
    s = np.asarray(scores, dtype=float)
    if s.shape != t.shape:
        raise ValueError(f"scores {s.shape} and y_true {t.shape} differ in shape")
    return t, s


#: A decision threshold: one cut-off for every label, or one per label (shape (L,)).
Cutoff = float | np.ndarray


def threshold(scores: np.ndarray, cutoff: Cutoff = THRESHOLD) -> np.ndarray:
    """0/1 predictions: a label is predicted when its probability exceeds ``cutoff``
    (eq. 6: strictly greater; ``cutoff`` a number or one per label, shape (L,)). The one
    decision rule of the suite: the harness and every method's dev-epoch selection go
    through it (see :meth:`Metric.score`)."""
    return (np.asarray(scores) > cutoff).astype(np.uint8)


# --- per-document counts: each decomposable metric declared once ----------------------


@dataclass(frozen=True)
class Counts:
    """A metric as a function of per-document counts summed over documents, so that a
    bootstrap resamples documents by weighting rows instead of recomputing the metric
    (benchmarks/analysis/significance.py), and the plain score is the same function of
    the unweighted sums (:meth:`score`: one definition for both).

    ``per_document(y_true, y_pred)`` (``scores`` instead of ``y_pred`` for a metric that
    ranks) gives (n, k) counts; ``from_sums(sums, n, L)`` the metric of sums (..., k)
    over n documents of L labels, for any leading shape (one row a resample).
    """

    per_document: Callable[[np.ndarray, np.ndarray], np.ndarray]
    from_sums: Callable[[np.ndarray, int, int], np.ndarray]

    def score(self, y_true: np.ndarray, y_pred: np.ndarray) -> float:
        """The metric over every document once: ``from_sums`` of the column sums."""
        rows = np.asarray(self.per_document(y_true, y_pred))  # (n, k)
        n, num_labels = np.shape(y_true)
        return float(self.from_sums(rows.sum(axis=0), n, num_labels))


def _safe_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator`` elementwise, 0 where the denominator is 0 (no true and
    no predicted label anywhere: scikit-learn's ``zero_division=0``)."""
    num, den = np.asarray(numerator, dtype=float), np.asarray(denominator, dtype=float)
    return np.divide(num, den, out=np.zeros(np.broadcast(num, den).shape), where=den > 0)


def _tp_fp_fn(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """(n, 3): true positives, false positives and false negatives of each document."""
    t, p = _pair(y_true, y_pred)
    return np.stack([(t & p).sum(1), (~t & p).sum(1), (t & ~p).sum(1)], axis=1)


def _exact(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    t, p = _pair(y_true, y_pred)
    return np.all(t == p, axis=1)[:, None].astype(np.int64)  # (n, 1)


def _mistakes(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    t, p = _pair(y_true, y_pred)
    return (t != p).sum(1)[:, None]  # (n, 1)


def _label_counts(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """(n, 3L): each document's TP, then FP, then FN indicators per label."""
    t, p = _pair(y_true, y_pred)
    return np.concatenate([t & p, ~t & p, t & ~p], axis=1).astype(np.int64)


def _macro_from_sums(sums: np.ndarray, n: int, num_labels: int) -> np.ndarray:
    tp, fp, fn = np.split(np.asarray(sums, dtype=float), 3, axis=-1)  # (..., L) each
    if num_labels == 0:
        return np.zeros(tp.shape[:-1])
    return _safe_ratio(2 * tp, 2 * tp + fp + fn).mean(axis=-1)


def _hits_at(k: int) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    def hits(y_true: np.ndarray, scores: np.ndarray) -> np.ndarray:
        t, s = _scores_like(y_true, scores)
        if not 1 <= k <= t.shape[1]:
            raise ValueError(f"k must be in 1..{t.shape[1]}, got {k}")
        top = np.argsort(-s, axis=1, kind="stable")[:, :k]  # (n, k)
        # each document's precision (hits / k), so that the sum over documents is
        # rounded as the mean of the documents' precisions always was
        return (np.take_along_axis(t, top, axis=1).sum(axis=1) / k)[:, None]  # (n, 1)

    return hits


def lrap_per_document(y_true: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """(n,) each document's label-ranking average precision, NaN for a document without
    a true label (nothing to rank; skipped by :func:`lrap`).

    For each true label j: (true labels scored >= s_j) / (labels scored >= s_j), averaged
    over the document's true labels; tied scores share the worst rank, as scikit-learn's
    ``label_ranking_average_precision_score``. Threshold-free: it says whether the true
    labels are ranked above the others, whatever the calibration."""
    t, s = _scores_like(y_true, scores)
    out = np.full(len(t), np.nan)
    for start in range(0, len(t), 1024):  # (chunk, L, L) comparisons at a time
        tc, sc = t[start : start + 1024], s[start : start + 1024]
        at_or_above = sc[:, None, :] >= sc[:, :, None]  # (c, L, L): [d, j, k] s_k >= s_j
        rank = at_or_above.sum(axis=2)  # (c, L)
        true_rank = (at_or_above & tc[:, None, :]).sum(axis=2)  # (c, L)
        n_true = tc.sum(axis=1)  # (c,)
        per_label = np.where(tc, true_rank / rank, 0.0)  # (c, L)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[start : start + 1024] = np.where(n_true > 0, per_label.sum(axis=1) / n_true, np.nan)
    return out


def _lrap_counts(y_true: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """(n, 2): each document's LRAP (0 without a true label) and whether it has one."""
    per_document = lrap_per_document(y_true, scores)  # (n,)
    valid = ~np.isnan(per_document)
    return np.stack([np.where(valid, per_document, 0.0), valid.astype(float)], axis=1)


#: The metrics that are sums over documents, by name (P@k: :func:`_hits_counts`).
COUNTS = {
    "subset_accuracy": Counts(_exact, lambda s, n, L: _safe_ratio(s[..., 0], n)),
    "micro_f1": Counts(
        _tp_fp_fn, lambda s, n, L: _safe_ratio(2 * s[..., 0], 2 * s[..., 0] + s[..., 1] + s[..., 2])
    ),
    "micro_jaccard": Counts(
        _tp_fp_fn, lambda s, n, L: _safe_ratio(s[..., 0], s[..., 0] + s[..., 1] + s[..., 2])
    ),
    "hamming_loss": Counts(_mistakes, lambda s, n, L: _safe_ratio(s[..., 0], n * L)),
    "macro_f1": Counts(_label_counts, _macro_from_sums),
    # the mean over the documents that have a true label (0.0 when none has)
    "lrap": Counts(_lrap_counts, lambda s, n, L: _safe_ratio(s[..., 0], s[..., 1])),
}


def _hits_counts(k: int) -> Counts:
    return Counts(_hits_at(k), lambda s, n, L: _safe_ratio(s[..., 0], n))


# --- the plain scores, each derived from its counts -------------------------------------


def subset_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Share of examples whose predicted label set equals the true set exactly (the paper's
    "Accuracy", eq. 7). An example with no true label counts as right only when nothing
    is predicted for it."""
    return COUNTS["subset_accuracy"].score(y_true, y_pred)


def micro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """F1 over all (example, label) decisions pooled: 2 TP / (2 TP + FP + FN)."""
    return COUNTS["micro_f1"].score(y_true, y_pred)


def micro_jaccard(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Jaccard index over all decisions pooled: TP / (TP + FP + FN) (the paper's
    Micro-Jaccard; scikit-learn's ``jaccard_score(average="micro")``)."""
    return COUNTS["micro_jaccard"].score(y_true, y_pred)


def hamming_loss(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Share of (example, label) decisions that are wrong; lower is better."""
    return COUNTS["hamming_loss"].score(y_true, y_pred)


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Unweighted mean over labels of each label's F1; a label that is never true and
    never predicted scores 0 (scikit-learn's ``zero_division=0``), so rare labels weigh
    as much as frequent ones."""
    return COUNTS["macro_f1"].score(y_true, y_pred)


def precision_at_k(y_true: np.ndarray, scores: np.ndarray, k: int) -> float:
    """Mean over examples of (true labels among the k highest scores) / k. Ties are broken
    by label index (stable sort), so the value is deterministic."""
    return _hits_counts(k).score(y_true, scores)


def lrap(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Label-ranking average precision: the mean of :func:`lrap_per_document` over the
    documents that have a true label (0.0 when none has)."""
    return COUNTS["lrap"].score(y_true, scores)


# --- ROC-AUC: not a sum over documents, so resampled by document weights --------------


def weighted_roc_auc(y_true: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(b, L) each label's ROC-AUC with document i counted ``weights[r, i]`` times in row
    r of ``weights`` (b, n) (a bootstrap resample's draw counts; ones: the plain AUC).

    The Mann-Whitney statistic: over (positive, negative) pairs, 1 when the positive is
    scored higher, 1/2 on a tie, divided by (positives x negatives). Vectorised over the
    resamples: per label a pair matrix between every document and the label's smaller
    side (its positives, or its negatives when those are fewer), so a resample's pair
    count is one matrix product. NaN for a label without a positive or without a
    negative document (weighted), which has no ranking to judge."""
    t, s = _scores_like(y_true, scores)
    w = np.atleast_2d(np.asarray(weights, dtype=float))  # (b, n)
    if w.shape[1] != len(t):
        raise ValueError(f"weights {w.shape} do not give one weight per document ({len(t)})")
    out = np.full((len(w), t.shape[1]), np.nan)
    n_pos = w @ t.astype(float)  # (b, L) weighted positives
    n_neg = w.sum(axis=1, keepdims=True) - n_pos  # (b, L)
    for j in range(t.shape[1]):
        y = t[:, j]  # (n,)
        positives = int(y.sum())
        if positives in (0, len(y)):
            continue
        small_is_pos = positives <= len(y) - positives
        small = np.flatnonzero(y if small_is_pos else ~y)  # (m,)
        # (n, m) > 0 where the positive of the pair (document, small-side document) is
        # scored higher; rows of the small side's own documents are no pairs
        above = (s[small, j][None, :] - s[:, j][:, None]) * (1.0 if small_is_pos else -1.0)
        pair = ((above > 0) + 0.5 * (above == 0)) * (~y if small_is_pos else y)[:, None]
        pairs = ((w @ pair) * w[:, small]).sum(axis=1)  # (b,)
        with np.errstate(invalid="ignore", divide="ignore"):
            valid = (n_pos[:, j] > 0) & (n_neg[:, j] > 0)
            out[:, j] = np.where(valid, pairs / (n_pos[:, j] * n_neg[:, j]), np.nan)
    return out


def weighted_macro_auc(y_true: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(b,) :func:`weighted_roc_auc` averaged over the labels that have both a positive
    and a negative document under each row of weights (0.5, chance, when none has)."""
    per_label = weighted_roc_auc(y_true, scores, weights)  # (b, L)
    valid = ~np.isnan(per_label)
    total = np.where(valid, per_label, 0.0).sum(axis=1)
    return np.where(valid.any(axis=1), total / np.maximum(valid.sum(axis=1), 1), 0.5)


def roc_auc_per_label(y_true: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """(L,) each label's ROC-AUC over the documents (the Mann-Whitney statistic, tied
    scores counted half), NaN for a label without a positive or without a negative
    document in the split (no ranking to judge)."""
    return weighted_roc_auc(y_true, scores, np.ones((1, np.shape(y_true)[0])))[0]


def macro_roc_auc(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Unweighted mean of :func:`roc_auc_per_label` over the labels that have both a
    positive and a negative document (0.5, chance, when none has); how many were skipped
    is :func:`auc_skipped_labels`."""
    return float(weighted_macro_auc(y_true, scores, np.ones((1, np.shape(y_true)[0])))[0])


def auc_skipped_labels(y_true: np.ndarray) -> int:
    """How many labels :func:`macro_roc_auc` skips: no positive or no negative document."""
    t = _as_binary(y_true, "y_true")
    pos = t.sum(axis=0)
    return int(((pos == 0) | (pos == len(t))).sum())


#: How a metric that is not a sum over documents is resampled: (y_true (n, L), scores or
#: predictions (n, L), document weights (b, n)) -> (b,) the metric under each row of weights.
Resampled = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Metric:
    """A metric and everything the suite needs to compute, compare and show it.

    ``fn`` takes (y_true, y_pred) 0/1 matrices, or (y_true, scores) when ``uses_scores``;
    values are fractions. ``scale`` and ``decimals`` give the display unit (percent with
    2 decimals for the paper's percent metrics, a fraction with 4 for Hamming loss);
    ``floor`` is the smallest difference, in display units, that the report calls a
    real difference from the paper. The paired bootstrap needs one of ``counts`` (a sum
    over documents; declare it with :meth:`summed`, which derives ``fn``) or
    ``resampled`` (the metric under document weights, recomputed per resample, at most
    ``resamples`` times when that is costly); with neither it has no interval.
    """

    name: str
    label: str  # short column label in tables ("Mi-F1")
    fn: Callable[[np.ndarray, np.ndarray], float]
    higher_is_better: bool
    uses_scores: bool = False
    paper_name: str | None = None  # the column name in the paper's tables
    scale: float = 100.0
    decimals: int = 2
    floor: float = 1.0
    min_labels: int = 1  # a data set needs at least this many labels (P@k: k)
    counts: Counts | None = None  # how it sums over documents (None: no bootstrap)
    resampled: Resampled | None = None  # the metric under document weights
    resamples: int | None = None  # fewer bootstrap resamples than the default (costly)

    @classmethod
    def summed(
        cls, name: str, label: str, counts: Counts, higher_is_better: bool, **options: Any
    ) -> Metric:
        """A metric that is a sum over documents: its plain score is derived from its
        counts (:meth:`Counts.score`), so the two cannot disagree."""
        return cls(name, label, counts.score, higher_is_better, counts=counts, **options)

    def decisions(self, scores: np.ndarray, cutoff: Cutoff = THRESHOLD) -> np.ndarray:
        """What the metric reads of probabilities ``scores`` (n, L): the scores when it
        ranks them, else the 0/1 decisions at ``cutoff``."""
        return scores if self.uses_scores else threshold(scores, cutoff)

    def score(self, y_true: np.ndarray, scores: np.ndarray, cutoff: Cutoff = THRESHOLD) -> float:
        """The metric of probabilities ``scores`` (n, L): thresholded with
        :func:`threshold` unless the metric ranks scores itself."""
        return self.fn(y_true, self.decisions(scores, cutoff))

    def document_counts(
        self, y_true: np.ndarray, scores: np.ndarray, cutoff: Cutoff = THRESHOLD
    ) -> np.ndarray:
        """Per-document counts (n, k) of :attr:`counts`, under the same decision rule as
        :meth:`score`; ``counts.from_sums`` of their column sums is the metric."""
        if self.counts is None:
            raise ValueError(f"metric {self.name!r} declares no per-document counts")
        return self.counts.per_document(y_true, self.decisions(scores, cutoff))

    def weighted(
        self,
        y_true: np.ndarray,
        scores: np.ndarray,
        weights: np.ndarray,
        cutoff: Cutoff = THRESHOLD,
    ) -> np.ndarray:
        """(b,) the metric with documents counted ``weights`` (b, n) times, under the
        same decision rule as :meth:`score` (:attr:`resampled`)."""
        if self.resampled is None:
            raise ValueError(f"metric {self.name!r} declares no resampled form")
        return self.resampled(y_true, self.decisions(scores, cutoff), weights)

    def applies_to(self, num_labels: int) -> bool:
        return num_labels >= self.min_labels

    def display(self, value: float) -> float:
        """A fraction in display units (percent, or the fraction itself)."""
        return self.scale * value

    def from_display(self, value: float) -> float:
        """The inverse of :meth:`display`."""
        return value / self.scale

    def format(self, display_value: float | None) -> str:
        """A display-unit value as the tables print it ("-" for none)."""
        return "-" if display_value is None else f"{display_value:.{self.decimals}f}"

    def format_diff(self, display_diff: float) -> str:
        """A signed difference in display units."""
        return f"{display_diff:+.{self.decimals}f}"

    def improvement(self, a: float, b: float) -> float:
        """How much better ``a`` is than ``b`` (positive: ``a`` is better), whatever the
        metric's direction."""
        return a - b if self.higher_is_better else b - a


#: Bootstrap resamples of macro AUC: each recomputes L AUCs over n documents (see
#: benchmarks/analysis/significance.py for the measured cost).
AUC_RESAMPLES = 2_000

#: Every metric the harness reports, in table order.
METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric.summed(
            "subset_accuracy", "Acc", COUNTS["subset_accuracy"], True, paper_name="accuracy"
        ),
        Metric.summed("micro_f1", "Mi-F1", COUNTS["micro_f1"], True, paper_name="micro_f1"),
        Metric.summed(
            "micro_jaccard", "Mi-Jac", COUNTS["micro_jaccard"], True, paper_name="micro_jaccard"
        ),
        Metric.summed(
            "hamming_loss",
            "HL",
            COUNTS["hamming_loss"],
            False,
            paper_name="hamming_loss",
            scale=1.0,
            decimals=4,
            floor=0.002,
        ),
        Metric.summed("macro_f1", "Ma-F1", COUNTS["macro_f1"], True),
        Metric.summed("p_at_1", "P@1", _hits_counts(1), True, uses_scores=True, min_labels=1),
        Metric.summed("p_at_3", "P@3", _hits_counts(3), True, uses_scores=True, min_labels=3),
        # threshold-free (issue 19): they tell "no signal" from "miscalibrated"
        Metric.summed("lrap", "LRAP", COUNTS["lrap"], True, uses_scores=True),
        Metric(
            "macro_auc",
            "Ma-AUC",
            macro_roc_auc,
            True,
            uses_scores=True,
            resampled=weighted_macro_auc,
            resamples=AUC_RESAMPLES,
        ),
    )
}
#: The suite's own metrics; tables add a column for any metric registered beyond them.
BUILTIN_METRICS = frozenset(METRICS)
#: The four metrics of the paper's Table 2.
PAPER_METRICS = ("subset_accuracy", "micro_f1", "micro_jaccard", "hamming_loss")


def get_metric(name: str) -> Metric:
    """The metric called ``name``; an unknown name lists the known ones."""
    try:
        return METRICS[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}; known: {', '.join(METRICS)}") from None


def evaluate(
    y_true: np.ndarray, scores: np.ndarray, cutoff: Cutoff = THRESHOLD
) -> dict[str, float]:
    """Every metric of :data:`METRICS` that applies, for probabilities ``scores`` (n, L)."""
    scores = np.asarray(scores, dtype=float)
    if scores.shape != np.asarray(y_true).shape:
        raise ValueError(f"scores {scores.shape} and labels {np.shape(y_true)} differ in shape")
    if not np.all(np.isfinite(scores)):
        raise ValueError("scores contain NaN or infinite values")
    return {
        metric.name: metric.score(y_true, scores, cutoff)
        for metric in METRICS.values()
        if metric.applies_to(scores.shape[1])
    }
