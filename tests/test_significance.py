"""The paired bootstrap: identical methods give [0, 0] and p = 1; a method that flips a
fixed 10% of the decisions differs with an interval that excludes 0, equal to a slow
loop over the same resampled documents and close to an independent one; Holm's
correction by hand; the grouped draws are the multinomial of drawing documents."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.analysis.significance import (
    _draws,
    document_rows,
    holm,
    paired_bootstrap,
    resampled_documents,
)
from lmmtc.metrics import METRICS, PAPER_METRICS

RNG = np.random.default_rng(7)
N, L = 120, 5
Y = (RNG.random((N, L)) < 0.3).astype(np.uint8)  # (n, L) true labels


def flipped(pred: np.ndarray, share: float, seed: int) -> np.ndarray:
    """``pred`` with a fixed ``share`` of its (document, label) decisions flipped."""
    out = pred.copy().ravel()
    chosen = np.random.default_rng(seed).choice(out.size, int(share * out.size), replace=False)
    out[chosen] = 1 - out[chosen]
    return out.reshape(pred.shape)


def counts(pred: np.ndarray, metrics=PAPER_METRICS) -> dict[str, np.ndarray]:
    """Per-document counts of 0/1 predictions used as scores (1 > 0.5, 0 is not)."""
    return {m: METRICS[m].document_counts(Y, pred.astype(float)) for m in metrics}


SUMMED = [name for name, metric in METRICS.items() if metric.counts is not None]


def test_a_method_against_itself_is_zero_with_p_one():
    pred = flipped(Y, 0.2, seed=1)
    result = paired_bootstrap([counts(pred, SUMMED)], [counts(pred, SUMMED)], L)
    assert set(result) == set(SUMMED) and {"lrap", "p_at_3"} <= set(SUMMED)
    for name, (paired, dist) in result.items():
        assert (paired.difference, paired.low, paired.high) == (0.0, 0.0, 0.0), name
        assert paired.p_value == 1.0 and dist.shape == (10_000,) and not dist.any()
        assert paired.a == pytest.approx(METRICS[name].score(Y, pred.astype(float)), abs=1e-15)


def _slow_bootstrap(preds_a, preds_b, resamples_idx, metric):
    """Metric differences recomputed from scratch on each resample's documents with the
    metric's own function (mean over seeds), then percentile interval and p-value."""
    fn = METRICS[metric].fn
    observed = np.mean([fn(Y, a) for a in preds_a]) - np.mean([fn(Y, b) for b in preds_b])
    dist = np.array(
        [
            np.mean([fn(Y[i], a[i]) for a in preds_a]) - np.mean([fn(Y[i], b[i]) for b in preds_b])
            for i in resamples_idx
        ]
    )
    low, high = np.quantile(dist, [0.025, 0.975])
    p_value = (1 + np.sum(np.abs(dist - observed) >= abs(observed))) / (1 + len(dist))
    return observed, low, high, p_value


def test_flipping_a_tenth_of_decisions_excludes_zero_and_equals_a_slow_loop():
    """Two seeds each: A misses a fixed 5% of decisions, B flips a further fixed 10%."""
    preds_a = [flipped(Y, 0.05, seed=s) for s in (11, 12)]
    preds_b = [flipped(a, 0.10, seed=s) for a, s in zip(preds_a, (21, 22))]
    resamples = 2_000
    result = paired_bootstrap(
        [counts(a) for a in preds_a], [counts(b) for b in preds_b], L, resamples=resamples
    )
    for metric in PAPER_METRICS:
        paired, dist = result[metric]
        assert dist.shape == (resamples,)
        rows = document_rows([counts(a) for a in preds_a], [counts(b) for b in preds_b], metric)
        same = list(resampled_documents(rows, resamples, seed=0))  # the documents it drew
        observed, low, high, p_value = _slow_bootstrap(preds_a, preds_b, same, metric)
        assert paired.difference == pytest.approx(observed, abs=1e-12)
        assert (paired.low, paired.high) == pytest.approx((low, high), abs=1e-12)
        assert paired.p_value == pytest.approx(p_value, abs=1e-12)
        # A is better on every metric: the interval excludes 0 on A's side
        better = METRICS[metric].improvement(paired.a, paired.b) > 0
        assert better and (paired.low > 0 if METRICS[metric].higher_is_better else paired.high < 0)
        assert paired.p_value < 0.01
        # an independent loop (plain index draws) agrees up to Monte Carlo error
        rng = np.random.default_rng(99)
        plain = [rng.integers(0, N, N) for _ in range(resamples)]
        _, low_plain, high_plain, _ = _slow_bootstrap(preds_a, preds_b, plain, metric)
        width = high - low
        assert abs(low_plain - low) < 0.15 * width and abs(high_plain - high) < 0.15 * width


def test_holm_by_hand():
    # sorted: 0.005 x4 = 0.02, 0.01 x3 = 0.03, 0.03 x2 = 0.06, 0.04 x1 = 0.04 -> 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == [1.0, 1.0] and holm([]) == []


def test_grouped_draws_are_the_multinomial_of_drawing_documents():
    sizes = np.array([40, 12, 10, 9, 3, 1, 1, 2])  # groups on both sides of the split
    draws = np.vstack(list(_draws(sizes, 20_000, seed=3)))
    n = sizes.sum()
    assert draws.shape == (20_000, len(sizes)) and (draws.sum(axis=1) == n).all()
    p = sizes / n
    assert draws.mean(axis=0) == pytest.approx(n * p, rel=0.03, abs=0.03)
    assert draws.var(axis=0) == pytest.approx(n * p * (1 - p), rel=0.06, abs=0.03)
    cov = np.cov(draws[:, 0], draws[:, 3])[0, 1]  # a large and a small group: -n p_i p_j
    assert cov == pytest.approx(-n * p[0] * p[3], rel=0.1)
    again = np.vstack(list(_draws(sizes, 20_000, seed=3)))
    assert (again == draws).all()  # seeded


def test_lrap_and_macro_auc_bootstrap_equal_a_slow_loop_over_the_same_documents():
    """LRAP by its per-document counts, macro AUC recomputed on weights: both equal the
    metric's own function on the documents each resample drew."""
    from benchmarks.analysis.significance import _draws, paired_weighted

    rng = np.random.default_rng(4)
    scores_a = np.clip(Y + rng.normal(0, 0.6, Y.shape), 0, 1)  # ranks the labels
    scores_b = rng.random(Y.shape)  # no signal
    resamples = 300
    lrap = METRICS["lrap"]
    (paired, dist) = paired_bootstrap(
        [{"lrap": lrap.document_counts(Y, scores_a)}],
        [{"lrap": lrap.document_counts(Y, scores_b)}],
        L,
        resamples=resamples,
    )["lrap"]
    rows = document_rows(
        [{"lrap": lrap.document_counts(Y, scores_a)}],
        [{"lrap": lrap.document_counts(Y, scores_b)}],
        "lrap",
    )
    same = list(resampled_documents(rows, resamples, seed=0))
    _, low, high, p_value = _slow_bootstrap([scores_a], [scores_b], same, "lrap")
    assert (paired.low, paired.high) == pytest.approx((low, high), abs=1e-12)
    assert paired.low > 0 and paired.resamples == resamples
    auc = METRICS["macro_auc"]
    paired, dist = paired_weighted(auc, Y, [scores_a], [scores_b], resamples=resamples)
    drawn = [
        np.repeat(np.arange(N), w) for w in np.vstack(list(_draws(np.ones(N, int), resamples, 0)))
    ]
    observed, low, high, p_value = _slow_bootstrap([scores_a], [scores_b], drawn, "macro_auc")
    assert paired.difference == pytest.approx(observed, abs=1e-12)
    assert (paired.low, paired.high, paired.p_value) == pytest.approx(
        (low, high, p_value), abs=1e-12
    )
    assert paired.low > 0 and dist.shape == (resamples,)
    same_side, _ = paired_weighted(auc, Y, [scores_a], [scores_a], resamples=50)
    assert (same_side.difference, same_side.low, same_side.high, same_side.p_value) == (0, 0, 0, 1)
