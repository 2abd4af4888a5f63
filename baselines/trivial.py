"""Two reference methods that ignore the text: every real method must beat them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lmmtc.data import Split
from lmmtc.registry import register_method


@register_method("prior", family="trivial")
class LabelPrior:
    """Predicts each label's training frequency for every text (0.5-threshold: the frequent ones)."""

    def __init__(self) -> None:
        self.prior: np.ndarray | None = None  # (L,)

    def fit(self, train: Split, dev: Split | None, *, seed: int) -> None:
        self.prior = train.labels.mean(axis=0).astype(np.float64)

    def predict_scores(self, texts: Sequence[str]) -> np.ndarray:
        if self.prior is None:
            raise RuntimeError("fit() must be called before predict_scores()")
        return np.tile(self.prior, (len(texts), 1))


@register_method("random", family="trivial")
class RandomGuess:
    """Draws each label at random with its training frequency (seeded)."""

    def __init__(self) -> None:
        self.prior: np.ndarray | None = None
        self.rng = np.random.default_rng(0)

    def fit(self, train: Split, dev: Split | None, *, seed: int) -> None:
        self.prior = train.labels.mean(axis=0).astype(np.float64)
        self.rng = np.random.default_rng(seed)

    def predict_scores(self, texts: Sequence[str]) -> np.ndarray:
        if self.prior is None:
            raise RuntimeError("fit() must be called before predict_scores()")
        draws = self.rng.random((len(texts), self.prior.size)) < self.prior
        return draws.astype(np.float64)
