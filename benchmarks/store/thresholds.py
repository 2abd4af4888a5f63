"""Threshold policies: the cut-offs that turn stored scores into label decisions.

The harness, never the method, applies a policy, and only from the stored *dev* scores
(the functions here take no test array), so a tuned threshold never looks at test:

- ``0.5``: the paper's rule (eq. 6), the default of every table compared with the paper;
- ``dev-global``: one cut-off for every label, the one that maximises micro-F1 on dev;
- ``dev-per-label``: one cut-off per label, the one that maximises that label's F1 on
  dev; a label with fewer than :data:`MIN_DEV_POSITIVES` dev positives takes the global
  one (too few positives to choose from).

Cut-offs are placed halfway between two consecutive distinct dev scores, so that the
suite's one decision rule (a score strictly greater than the cut-off,
:func:`lmmtc.metrics.threshold`) keeps exactly the dev decisions that were chosen. Ties
in F1 go to the higher cut-off (fewer labels predicted).

A run whose method trained on the dev rows (the linear baselines' default ``refit`` on
train + dev) has in-sample dev scores: cut-offs tuned on them come out too low (Reuters
BR: dev micro-F1 0.99 against 0.90 on test), so the tuned policies do not apply to it
(:func:`dev_in_fit`; rerun it with ``--set refit=false`` to tune its thresholds).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from lmmtc.metrics import THRESHOLD

DEFAULT_POLICY = "0.5"
POLICIES = (DEFAULT_POLICY, "dev-global", "dev-per-label")
MIN_DEV_POSITIVES = 5
DEV_IN_FIT = "dev in fit"  # what a table shows for a run whose dev scores are in-sample


def dev_in_fit(method_info: Mapping[str, Any]) -> bool:
    """Whether a run's method trained on its dev rows, as its run info says
    (``chosen.refit_on_train_dev``, which the linear baselines report)."""
    chosen = method_info.get("chosen")
    return isinstance(chosen, Mapping) and bool(chosen.get("refit_on_train_dev"))


def best_f1_cutoff(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """The cut-off maximising F1 of ``scores > cutoff`` against ``labels`` (any shape,
    pooled: micro-F1 over a matrix, a label's F1 over a column); None without positives."""
    y = np.asarray(labels, dtype=bool).ravel()
    s = np.asarray(scores, dtype=float).ravel()
    positives = int(y.sum())
    if positives == 0:
        return None
    order = np.argsort(-s, kind="stable")
    s_sorted, y_sorted = s[order], y[order]
    # the last position of each run of equal scores: predicting everything down to it
    ends = np.flatnonzero(np.append(s_sorted[1:] != s_sorted[:-1], True))
    true_pos = np.cumsum(y_sorted)[ends]
    predicted = ends + 1
    f1 = 2 * true_pos / (predicted + positives)
    best = int(np.argmax(f1))  # the first maximum: the highest cut-off among ties
    above = s_sorted[ends[best]]
    if best + 1 < len(ends):
        below = s_sorted[ends[best + 1]]
        cutoff = below + (above - below) / 2
        return float(cutoff if below < cutoff < above else below)
    return float(np.nextafter(above, -np.inf))  # every score predicted


def cutoffs(policy: str, dev_labels: np.ndarray, dev_scores: np.ndarray) -> np.ndarray:
    """One cut-off per label (L,) under ``policy``, from dev labels and scores (n, L) only."""
    num_labels = np.shape(dev_scores)[1]
    if policy == DEFAULT_POLICY:
        return np.full(num_labels, THRESHOLD)
    if policy not in POLICIES:
        raise ValueError(f"unknown threshold policy {policy!r}; known: {', '.join(POLICIES)}")
    overall = best_f1_cutoff(dev_labels, dev_scores)
    overall = THRESHOLD if overall is None else overall
    out = np.full(num_labels, overall)
    if policy == "dev-per-label":
        labels = np.asarray(dev_labels, dtype=bool)
        for j in np.flatnonzero(labels.sum(axis=0) >= MIN_DEV_POSITIVES):
            out[j] = best_f1_cutoff(labels[:, j], np.asarray(dev_scores)[:, j])
    return out
