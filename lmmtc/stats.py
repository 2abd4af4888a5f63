"""Data set statistics (the paper's Table 1) and label correlations (Figures 1 and 3)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from scipy import stats as scipy_stats

from lmmtc.data import MultiLabelDataset

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def token_count(text: str) -> int:
    """Length in tokens: whitespace-separated words, each CJK character counted as one
    token (Chinese text has no spaces; a character is bert-base-chinese's unit)."""
    cjk = len(_CJK.findall(text))
    return cjk + len(_CJK.sub(" ", text).split())


def dataset_statistics(dataset: MultiLabelDataset) -> dict[str, Any]:
    """Table 1's columns and more: sizes, label count, labels per document, lengths."""
    all_labels = np.vstack([dataset.train.labels, dataset.dev.labels, dataset.test.labels])
    lengths = np.array(
        [token_count(t) for s in (dataset.train, dataset.dev, dataset.test) for t in s.texts]
    )
    return {
        "dataset": dataset.name,
        "labels": len(dataset.label_names),
        "train": len(dataset.train),
        "dev": len(dataset.dev),
        "test": len(dataset.test),
        "labels_per_doc": float(all_labels.sum(axis=1).mean()),
        "docs_without_label": int((all_labels.sum(axis=1) == 0).sum()),
        "mean_tokens": float(lengths.mean()),
        "p95_tokens": float(np.percentile(lengths, 95)),
        "label_frequency": dict(
            zip(dataset.label_names, all_labels.sum(axis=0).astype(int).tolist())
        ),
    }


def label_correlation(labels: np.ndarray, method: str = "pearson") -> np.ndarray:
    """(L, L) correlation of label columns; a constant column correlates 0 with others
    and 1 with itself (instead of NaN)."""
    y = np.asarray(labels, dtype=float)
    if method == "spearman":
        y = np.apply_along_axis(scipy_stats.rankdata, 0, y)
    elif method != "pearson":
        raise ValueError(f"method must be pearson or spearman, got {method!r}")
    y = y - y.mean(axis=0)
    norm = np.sqrt((y**2).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = (y.T @ y) / np.outer(norm, norm)
    corr = np.nan_to_num(corr)
    np.fill_diagonal(corr, 1.0)
    return corr


def top_correlated_labels(corr: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` labels with the largest summed absolute correlation to the
    others (the paper's "top11 labels with high relevance" for Figure 3)."""
    strength = np.abs(corr).sum(axis=1) - 1.0
    return np.sort(np.argsort(-strength, kind="stable")[: min(k, len(strength))])
