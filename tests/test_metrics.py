"""The metrics against hand-computed examples and against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from lmmtc.metrics import (
    METRICS,
    evaluate,
    hamming_loss,
    macro_f1,
    micro_f1,
    micro_jaccard,
    precision_at_k,
    subset_accuracy,
    threshold,
)

# 3 examples, 4 labels. Example 2 has no true label; example 1 gets no prediction;
# label 3 is never true and never predicted.
Y_TRUE = np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 0, 0]])
Y_PRED = np.array([[1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 1, 0]])
# TP = 1 (ex0 label0); FP = 1 (ex2 label2); FN = 3 (ex0 l1, ex1 l1, ex1 l2)


def test_hand_computed_values():
    assert subset_accuracy(Y_TRUE, Y_PRED) == 0.0
    assert micro_f1(Y_TRUE, Y_PRED) == pytest.approx(2 * 1 / (2 * 1 + 1 + 3))  # 1/3
    assert micro_jaccard(Y_TRUE, Y_PRED) == pytest.approx(1 / 5)
    assert hamming_loss(Y_TRUE, Y_PRED) == pytest.approx(4 / 12)
    # per-label F1: l0 = 1, l1 = 0 (2 FN), l2 = 0 (1 FP, 1 FN), l3 = 0 (never seen)
    assert macro_f1(Y_TRUE, Y_PRED) == pytest.approx(1 / 4)


def test_subset_accuracy_counts_empty_rows_right_only_when_nothing_predicted():
    y_true = np.array([[0, 0], [1, 0]])
    assert subset_accuracy(y_true, np.array([[0, 0], [1, 0]])) == 1.0
    assert subset_accuracy(y_true, np.array([[0, 1], [1, 0]])) == 0.5


def test_all_empty_gives_zero_not_nan():
    empty = np.zeros((2, 3), dtype=int)
    assert micro_f1(empty, empty) == 0.0
    assert micro_jaccard(empty, empty) == 0.0
    assert macro_f1(empty, empty) == 0.0
    assert hamming_loss(empty, empty) == 0.0
    assert subset_accuracy(empty, empty) == 1.0


def test_precision_at_k_by_hand():
    scores = np.array([[0.9, 0.8, 0.1, 0.0], [0.2, 0.3, 0.9, 0.1], [0.5, 0.4, 0.3, 0.2]])
    # ex0 top1 = l0 (true) top2 = l0,l1 (both true); ex1 top1 = l2 (true), top2 adds l1 (true)
    # ex2 has no true label: 0 hits
    assert precision_at_k(Y_TRUE, scores, 1) == pytest.approx((1 + 1 + 0) / 3)
    assert precision_at_k(Y_TRUE, scores, 2) == pytest.approx((1 + 1 + 0) / 3)
    assert precision_at_k(Y_TRUE, scores, 3) == pytest.approx((2 / 3 + 2 / 3 + 0) / 3)
    with pytest.raises(ValueError, match="k must be in 1..4"):
        precision_at_k(Y_TRUE, scores, 5)


@pytest.mark.parametrize("seed", range(5))
def test_agrees_with_sklearn_on_random_matrices(seed):
    rng = np.random.default_rng(seed)
    y_true = (rng.random((50, 7)) < 0.3).astype(int)
    y_pred = (rng.random((50, 7)) < 0.3).astype(int)
    y_true[:, 6] = 0  # a label never seen in the truth
    y_pred[3] = 0  # an example with no prediction
    y_true[4] = 0  # an example with no true label
    assert subset_accuracy(y_true, y_pred) == pytest.approx(skm.accuracy_score(y_true, y_pred))
    assert micro_f1(y_true, y_pred) == pytest.approx(
        skm.f1_score(y_true, y_pred, average="micro", zero_division=0)
    )
    assert macro_f1(y_true, y_pred) == pytest.approx(
        skm.f1_score(y_true, y_pred, average="macro", zero_division=0)
    )
    assert micro_jaccard(y_true, y_pred) == pytest.approx(
        skm.jaccard_score(y_true, y_pred, average="micro", zero_division=0)
    )
    assert hamming_loss(y_true, y_pred) == pytest.approx(skm.hamming_loss(y_true, y_pred))


def test_threshold_is_strictly_greater_than_half():
    assert threshold(np.array([[0.5, 0.5001, 0.2]])).tolist() == [[0, 1, 0]]


def test_evaluate_reports_every_metric_with_direction():
    scores = np.array([[0.9, 0.6, 0.1, 0.0], [0.2, 0.3, 0.4, 0.1], [0.1, 0.2, 0.7, 0.2]])
    result = evaluate(Y_TRUE, scores)
    assert set(result) == set(METRICS)
    assert result["micro_f1"] == pytest.approx(micro_f1(Y_TRUE, threshold(scores)))
    assert METRICS["hamming_loss"].higher_is_better is False
    assert METRICS["micro_f1"].higher_is_better is True


def test_shape_mismatch_and_nan_are_errors():
    with pytest.raises(ValueError, match="differ in shape"):
        micro_f1(Y_TRUE, Y_PRED[:, :3])
    with pytest.raises(ValueError, match="NaN"):
        evaluate(Y_TRUE, np.full(Y_TRUE.shape, np.nan))


@pytest.mark.parametrize("seed", range(3))
def test_lrap_and_macro_auc_agree_with_sklearn_with_ties_and_skipped_labels(seed):
    from lmmtc.metrics import auc_skipped_labels, lrap, macro_roc_auc

    rng = np.random.default_rng(seed)
    y_true = (rng.random((40, 6)) < 0.3).astype(int)
    y_true[:, 4] = 0  # no positive: skipped by AUC
    y_true[:, 5] = 1  # no negative: skipped by AUC
    scores = np.round(rng.random((40, 6)), 1)  # many ties
    expected = np.mean([skm.roc_auc_score(y_true[:, j], scores[:, j]) for j in range(4)])
    assert macro_roc_auc(y_true, scores) == pytest.approx(expected, abs=1e-12)
    assert auc_skipped_labels(y_true) == 2
    some = y_true[:, :5].copy()
    some[7] = 0  # a document without a true label: skipped by LRAP
    keep = some.sum(axis=1) > 0
    assert lrap(some, scores[:, :5]) == pytest.approx(
        skm.label_ranking_average_precision_score(some[keep], scores[keep, :5]), abs=1e-12
    )
    assert METRICS["macro_auc"].score(y_true, scores) == macro_roc_auc(y_true, scores)
    assert METRICS["lrap"].label == "LRAP" and METRICS["macro_auc"].label == "Ma-AUC"


def test_threshold_free_metrics_by_hand():
    from lmmtc.metrics import lrap, macro_roc_auc

    y_true = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 0]])
    scores = np.array([[0.2, 0.9, 0.1], [0.5, 0.5, 0.1], [0.3, 0.2, 0.1]])
    # doc 0: label 0 ranked 2nd, 1 true among the top 2 -> 1/2; doc 1: label 1 tied with
    # label 0 (shares the worst rank 2) -> 1/2; doc 2 has no true label: skipped
    assert lrap(y_true, scores) == pytest.approx(0.5)
    # label 0: its positive (0.2) is below both negatives (0.5, 0.3) -> 0; label 1: its
    # positive (0.5) above 0.9? no, above 0.2 only -> 1/2; label 2: no positive, skipped
    assert macro_roc_auc(y_true, scores) == pytest.approx(0.25)
    assert macro_roc_auc(np.zeros((2, 2)), np.zeros((2, 2))) == 0.5  # nothing to rank


def test_weighted_auc_is_the_auc_of_repeated_documents():
    from lmmtc.metrics import macro_roc_auc, weighted_macro_auc

    rng = np.random.default_rng(3)
    y_true = (rng.random((30, 4)) < 0.4).astype(int)
    scores = np.round(rng.random((30, 4)), 1)
    weights = rng.integers(0, 3, (5, 30))  # (b, n)
    got = weighted_macro_auc(y_true, scores, weights)
    for row, w in zip(got, weights):
        idx = np.repeat(np.arange(30), w)
        assert row == pytest.approx(macro_roc_auc(y_true[idx], scores[idx]), abs=1e-12)


def test_every_summed_metric_is_its_counts():
    """One declaration: the plain function is from_sums of the per-document counts."""
    rng = np.random.default_rng(5)
    y_true = (rng.random((25, 5)) < 0.3).astype(int)
    scores = rng.random((25, 5))
    for metric in METRICS.values():
        if metric.counts is None:
            continue
        rows = metric.document_counts(y_true, scores)
        from_counts = metric.counts.from_sums(rows.sum(axis=0), 25, 5)
        assert metric.score(y_true, scores) == pytest.approx(float(from_counts), abs=1e-15)
