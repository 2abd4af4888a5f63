"""Multi-label metrics: the paper's four (section 5.2) plus macro-F1 and P@k.

All functions take 0/1 matrices of shape (n, L) (``y_true``, ``y_pred``; P@k takes
scores instead of ``y_pred``) and return a fraction in [0, 1]; tables multiply by 100
where the paper prints percents. Where a ratio has a zero denominator (no true and no
predicted label anywhere) the value is 0.0, as scikit-learn's ``zero_division=0``
gives: this is the convention the tests check against scikit-learn.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator else 0.0


def subset_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Share of examples whose predicted label set equals the true set exactly (the paper's
    "Accuracy", eq. 7). An example with no true label counts as right only when nothing
    is predicted for it."""
    t, p = _pair(y_true, y_pred)
    return float(np.all(t == p, axis=1).mean()) if len(t) else 0.0


def micro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """F1 over all (example, label) decisions pooled: 2 TP / (2 TP + FP + FN)."""
    t, p = _pair(y_true, y_pred)
    tp = np.sum(t & p)
    return _ratio(2 * tp, 2 * tp + np.sum(~t & p) + np.sum(t & ~p))


def micro_jaccard(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Jaccard index over all decisions pooled: TP / (TP + FP + FN) (the paper's
    Micro-Jaccard; scikit-learn's ``jaccard_score(average="micro")``)."""
    t, p = _pair(y_true, y_pred)
    tp = np.sum(t & p)
    return _ratio(tp, tp + np.sum(~t & p) + np.sum(t & ~p))


def hamming_loss(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Share of (example, label) decisions that are wrong; lower is better."""
    t, p = _pair(y_true, y_pred)
    return float(np.mean(t != p)) if t.size else 0.0


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Unweighted mean over labels of each label's F1; a label that is never true and
    never predicted scores 0 (scikit-learn's ``zero_division=0``), so rare labels weigh
    as much as frequent ones."""
    t, p = _pair(y_true, y_pred)
    tp = np.sum(t & p, axis=0)
    denominator = 2 * tp + np.sum(~t & p, axis=0) + np.sum(t & ~p, axis=0)
    per_label = np.divide(2 * tp, denominator, out=np.zeros(t.shape[1]), where=denominator > 0)
    return float(per_label.mean()) if t.shape[1] else 0.0


def precision_at_k(y_true: np.ndarray, scores: np.ndarray, k: int) -> float:
    """Mean over examples of (true labels among the k highest scores) / k. Ties are broken
    by label index (stable sort), so the value is deterministic."""
    t = _as_binary(y_true, "y_true")
    s = np.asarray(scores, dtype=float)
    if s.shape != t.shape:
        raise ValueError(f"scores {s.shape} and y_true {t.shape} differ in shape")
    if not 1 <= k <= t.shape[1]:
        raise ValueError(f"k must be in 1..{t.shape[1]}, got {k}")
    top = np.argsort(-s, axis=1, kind="stable")[:, :k]  # (n, k)
    hits = np.take_along_axis(t, top, axis=1).sum(axis=1)
    return float(np.mean(hits / k)) if len(t) else 0.0


def _scores_like(y_true: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = _as_binary(y_true, "y_true")
    s = np.asarray(scores, dtype=float)
    if s.shape != t.shape:
        raise ValueError(f"scores {s.shape} and y_true {t.shape} differ in shape")
    return t, s


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


def lrap(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Label-ranking average precision: the mean of :func:`lrap_per_document` over the
    documents that have a true label (0.0 when none has)."""
    per_document = lrap_per_document(y_true, scores)
    valid = ~np.isnan(per_document)
    return float(per_document[valid].mean()) if valid.any() else 0.0


def roc_auc_per_label(y_true: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """(L,) each label's ROC-AUC over the documents (the Mann-Whitney statistic, tied
    scores counted half), NaN for a label without a positive or without a negative
    document in the split (no ranking to judge)."""
    from scipy.stats import rankdata

    t, s = _scores_like(y_true, scores)
    ranks = rankdata(s, axis=0)  # (n, L): average ranks of the tied scores
    pos = t.sum(axis=0).astype(float)  # (L,)
    neg = len(t) - pos
    rank_sum = np.where(t, ranks, 0.0).sum(axis=0)  # (L,)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (rank_sum - pos * (pos + 1) / 2) / (pos * neg)
    return np.where((pos > 0) & (neg > 0), auc, np.nan)


def macro_roc_auc(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Unweighted mean of :func:`roc_auc_per_label` over the labels that have both a
    positive and a negative document (0.5, chance, when none has); how many were skipped
    is :func:`auc_skipped_labels`."""
    per_label = roc_auc_per_label(y_true, scores)
    valid = ~np.isnan(per_label)
    return float(per_label[valid].mean()) if valid.any() else 0.5


def auc_skipped_labels(y_true: np.ndarray) -> int:
    """How many labels :func:`macro_roc_auc` skips: no positive or no negative document."""
    t = _as_binary(y_true, "y_true")
    pos = t.sum(axis=0)
    return int(((pos == 0) | (pos == len(t))).sum())


#: A decision threshold: one cut-off for every label, or one per label (shape (L,)).
Cutoff = float | np.ndarray


def threshold(scores: np.ndarray, cutoff: Cutoff = THRESHOLD) -> np.ndarray:
    """0/1 predictions: a label is predicted when its probability exceeds ``cutoff``
    (eq. 6: strictly greater; ``cutoff`` a number or one per label, shape (L,)). The one
    decision rule of the suite: the harness and every method's dev-epoch selection go
    through it (see :meth:`Metric.score`)."""
    return (np.asarray(scores) > cutoff).astype(np.uint8)


@dataclass(frozen=True)
class Counts:
    """A metric as a function of per-document counts summed over documents, so that a
    bootstrap resamples documents by weighting rows instead of recomputing the metric
    (benchmarks/analysis/significance.py).

    ``per_document(y_true, y_pred)`` (``scores`` instead of ``y_pred`` for a metric that
    ranks) gives (n, k) counts; ``from_sums(sums, n, L)`` the metric of sums (..., k)
    over n documents of L labels, for any leading shape (one row a resample).
    """

    per_document: Callable[[np.ndarray, np.ndarray], np.ndarray]
    from_sums: Callable[[np.ndarray, int, int], np.ndarray]


def _safe_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator`` elementwise, 0 where the denominator is 0."""
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
        t = _as_binary(y_true, "y_true")
        top = np.argsort(-np.asarray(scores, dtype=float), axis=1, kind="stable")[:, :k]
        return np.take_along_axis(t, top, axis=1).sum(axis=1)[:, None]  # (n, 1)

    return hits


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
}


def _hits_counts(k: int) -> Counts:
    return Counts(_hits_at(k), lambda s, n, L: _safe_ratio(s[..., 0], n * k))


@dataclass(frozen=True)
class Metric:
    """A metric and everything the suite needs to compute, compare and show it.

    ``fn`` takes (y_true, y_pred) 0/1 matrices, or (y_true, scores) when ``uses_scores``;
    values are fractions. ``scale`` and ``decimals`` give the display unit (percent with
    2 decimals for the paper's percent metrics, a fraction with 4 for Hamming loss);
    ``floor`` is the smallest difference, in display units, that the report calls a
    real difference from the paper.
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

    def score(self, y_true: np.ndarray, scores: np.ndarray, cutoff: Cutoff = THRESHOLD) -> float:
        """The metric of probabilities ``scores`` (n, L): thresholded with
        :func:`threshold` unless the metric ranks scores itself."""
        return self.fn(y_true, scores if self.uses_scores else threshold(scores, cutoff))

    def document_counts(
        self, y_true: np.ndarray, scores: np.ndarray, cutoff: Cutoff = THRESHOLD
    ) -> np.ndarray:
        """Per-document counts (n, k) of :attr:`counts`, under the same decision rule as
        :meth:`score`; ``counts.from_sums`` of their column sums is the metric."""
        if self.counts is None:
            raise ValueError(f"metric {self.name!r} declares no per-document counts")
        return self.counts.per_document(
            y_true, scores if self.uses_scores else threshold(scores, cutoff)
        )

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


def _p_at(k: int) -> Callable[[np.ndarray, np.ndarray], float]:
    return lambda y_true, scores: precision_at_k(y_true, scores, k)


#: Every metric the harness reports, in table order.
METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric(
            "subset_accuracy",
            "Acc",
            subset_accuracy,
            True,
            paper_name="accuracy",
            counts=COUNTS["subset_accuracy"],
        ),
        Metric(
            "micro_f1", "Mi-F1", micro_f1, True, paper_name="micro_f1", counts=COUNTS["micro_f1"]
        ),
        Metric(
            "micro_jaccard",
            "Mi-Jac",
            micro_jaccard,
            True,
            paper_name="micro_jaccard",
            counts=COUNTS["micro_jaccard"],
        ),
        Metric(
            "hamming_loss",
            "HL",
            hamming_loss,
            False,
            paper_name="hamming_loss",
            scale=1.0,
            decimals=4,
            floor=0.002,
            counts=COUNTS["hamming_loss"],
        ),
        Metric("macro_f1", "Ma-F1", macro_f1, True, counts=COUNTS["macro_f1"]),
        Metric(
            "p_at_1", "P@1", _p_at(1), True, uses_scores=True, min_labels=1, counts=_hits_counts(1)
        ),
        Metric(
            "p_at_3", "P@3", _p_at(3), True, uses_scores=True, min_labels=3, counts=_hits_counts(3)
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
