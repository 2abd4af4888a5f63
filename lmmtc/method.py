"""The method protocol: what the harness needs from a multi-label text classifier."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from lmmtc.data import Split


@runtime_checkable
class Method(Protocol):
    """A multi-label text classifier. No base class is needed: any class with these two
    methods is a method. The constructor takes the method's parameters as keywords
    (from the profile's config); the harness thresholds the scores at 0.5.

    Optional extras the harness records when present:
    ``loss_curve`` (a list of ``{"step": int, "loss": float, ...}`` dicts),
    ``run_info()`` -> dict (chosen hyper-parameters, number of parameters, ...).
    """

    def fit(self, train: Split, dev: Split | None, *, seed: int) -> None:
        """Train on ``train``; ``dev`` may be used for model selection."""

    def predict_scores(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities of shape (len(texts), L), columns in ``train.label_names`` order."""
