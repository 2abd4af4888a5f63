"""The paper's classical baselines on TF-IDF features (Table 3: BR and CC; also LP, RAkEL-d
and ML-kNN).

Every method here shares one recipe (:class:`_TfidfGridMethod`): TF-IDF is fitted once
per n-gram range of the grid, a model is trained per point of ``C_grid`` on train, the
point with the best dev micro-F1 (at the harness's 0.5 threshold) wins, and the winner
is refitted on train + dev (``refit``). Scores are probabilities: a linear model's
decision value d becomes sigmoid(d), so that d = 0 (the SVM's own boundary) maps to 0.5;
``tune_offset`` moves that boundary by one logit shift chosen on dev (threshold
calibration inside the probability mapping, since the harness thresholds at 0.5).

Where scikit-multilearn 0.2.0 works with current scikit-learn it is used (ClassifierChain,
LabelPowerset, RakelD). Where it does not, the suite has its own code, said at each place:
BR is a loop over label columns (faster than skmultilearn's BinaryRelevance, which copies
the data per label); ML-kNN is written here because skmultilearn's MLkNN calls
``NearestNeighbors(self.k)`` (a positional argument current scikit-learn refuses) and
its predict_proba is an unnormalised P(H1) P(E | H1);
RAkEL uses RakelD because RakelO.predict_proba fails (it calls a voting classifier that
has no predict_proba).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import NearestNeighbors
from sklearn.svm import LinearSVC

from baselines.features import make_vectorizer, sigmoid
from lmmtc.data import Split, carve_dev
from lmmtc.metrics import METRICS
from lmmtc.registry import register_method
from lmmtc.seeding import set_seed

CLASSIFIERS = ("svm", "logreg")


# --------------------------------------------------------------------------- base learner
class SigmoidLinearClassifier(ClassifierMixin, BaseEstimator):
    """A liblinear classifier (LinearSVC or LogisticRegression) whose ``predict_proba`` is
    sigmoid(decision) for two classes (softmax over classes for more), so skmultilearn's
    ``predict_proba`` works with an SVM. A training column with one class only (a label
    never seen on) gives a constant model instead of liblinear's error."""

    def __init__(
        self,
        classifier: str = "svm",
        C: float = 1.0,
        class_weight: str | None = None,
        tol: float = 1e-4,
        max_iter: int = 1000,
        random_state: int = 0,
    ) -> None:
        self.classifier = classifier
        self.C = C
        self.class_weight = class_weight
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state

    def _base(self, n_classes: int) -> BaseEstimator:
        if self.classifier == "svm":
            return LinearSVC(
                C=self.C,
                class_weight=self.class_weight,
                tol=self.tol,
                max_iter=self.max_iter,
                dual=True,
                random_state=self.random_state,
            )
        if self.classifier == "logreg":
            return LogisticRegression(
                C=self.C,
                class_weight=self.class_weight,
                tol=self.tol,
                max_iter=self.max_iter,
                # liblinear refuses 3+ classes; lbfgs fits a true multinomial model
                solver="liblinear" if n_classes == 2 else "lbfgs",
                random_state=self.random_state,
            )
        raise ValueError(f"unknown classifier {self.classifier!r}; expected one of {CLASSIFIERS}")

    def fit(self, X: sp.spmatrix, y: np.ndarray) -> SigmoidLinearClassifier:
        y = np.asarray(y).ravel()
        self.classes_ = np.unique(y)
        n_features = X.shape[1]
        if self.classes_.size == 1:  # constant: far on the side of the one class seen
            self.coef_ = np.zeros((1, n_features))
            self.intercept_ = np.array([-10.0 if self.classes_[0] == 0 else 10.0])
            self.classes_ = np.array([0, 1]) if self.classes_[0] in (0, 1) else self.classes_
            self.multinomial_ = None
            return self
        base = self._base(self.classes_.size).fit(X, y)
        self.multinomial_ = base if self.classifier == "logreg" else None
        self.coef_ = base.coef_  # (1, F) binary, (K, F) multi-class
        self.intercept_ = np.atleast_1d(base.intercept_)
        return self

    def decision_function(self, X: sp.spmatrix) -> np.ndarray:
        scores = np.asarray(X @ self.coef_.T) + self.intercept_  # (n, 1) or (n, K)
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def predict_proba(self, X: sp.spmatrix) -> np.ndarray:
        d = self.decision_function(X)
        if d.ndim == 1:
            p = sigmoid(d)
            return np.column_stack([1.0 - p, p])  # (n, 2)
        if getattr(self, "multinomial_", None) is not None:
            return self.multinomial_.predict_proba(X)  # (n, K) softmax of a multinomial LR
        z = np.exp(d - d.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)  # (n, K)

    def predict(self, X: sp.spmatrix) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


# --------------------------------------------------------------------------- shared recipe
DEV_F1 = METRICS["micro_f1"]  # dev selection: the harness's metric and threshold
OFFSETS = np.round(np.arange(-1.0, 1.01, 0.1), 2)  # logit shifts tried by tune_offset


def _shift(scores: np.ndarray, offset: float) -> np.ndarray:
    """sigmoid(logit(scores) - offset): moves the 0.5 threshold to sigmoid(offset)."""
    if offset == 0.0:
        return scores
    p = np.clip(scores, 1e-12, 1 - 1e-12)
    return sigmoid(np.log(p) - np.log1p(-p) - offset)


def _best_offset(labels: np.ndarray, scores: np.ndarray) -> float:
    """The logit shift (one for all labels) with the best dev micro-F1 at 0.5: threshold
    calibration folded into the probability mapping, since the harness thresholds at 0.5."""
    f1 = [DEV_F1.score(labels, _shift(scores, o)) for o in OFFSETS]
    return float(OFFSETS[int(np.argmax(f1))])


class _TfidfGridMethod:
    """TF-IDF + a multi-label model, hyper-parameters chosen on dev micro-F1.

    Subclasses implement ``fit_model(X, Y, C, seed)`` and ``model_scores(model, X)``: the
    model on a feature matrix (also what tools/speed_linear.py times); ``C`` is
    whatever the grid varies (the SVM's C, or k for ML-kNN)."""

    #: name of the varied hyper-parameter in run_info
    grid_param = "C"

    def __init__(
        self,
        *,
        analyzer: str = "word",
        C_grid: Sequence[float] = (0.1, 1.0, 10.0),
        # unigrams: on Reuters ModApte word 1-2 grams lost 2 points of micro-F1 (0.850 vs 0.871)
        ngram_grid: Sequence[Sequence[int]] = ((1, 1),),
        sublinear_tf: bool = True,
        min_df: int | float = 1,
        max_df: int | float = 1.0,
        max_features: int | None = None,
        refit: bool = True,
        tune_offset: bool = False,
    ) -> None:
        self.analyzer = analyzer
        self.C_grid = [float(c) for c in C_grid]
        self.ngram_grid = [tuple(int(n) for n in ng) for ng in ngram_grid]
        self.vectorizer_kwargs = dict(
            sublinear_tf=sublinear_tf, min_df=min_df, max_df=max_df, max_features=max_features
        )
        self.refit = refit
        self.tune_offset = tune_offset
        self.offset = 0.0  # logit shift: p' = sigmoid(logit(p) - offset)
        self.vectorizer = None
        self.model: Any = None
        self.grid_results: list[dict] = []
        self.chosen: dict = {}
        self.timings: dict[str, float] = {}

    # subclasses ---------------------------------------------------------------
    def fit_model(self, X: sp.csr_matrix, Y: np.ndarray, C: float, seed: int) -> Any:
        raise NotImplementedError

    def model_scores(self, model: Any, X: sp.csr_matrix) -> np.ndarray:
        raise NotImplementedError

    # protocol -----------------------------------------------------------------
    def fit(self, train: Split, dev: Split | None, *, seed: int) -> None:
        """Grid search on dev, then (``refit``) retrain the winner on train + dev."""
        set_seed(seed)
        start = time.perf_counter()
        search = len(self.ngram_grid) * len(self.C_grid) > 1
        if dev is None and search:  # the grid needs held-out data
            train, dev = carve_dev(train)
        self.grid_results = []
        best: dict | None = None
        for ngram in self.ngram_grid:
            vectorizer = make_vectorizer(self.analyzer, ngram, **self.vectorizer_kwargs)
            X_train = vectorizer.fit_transform(train.texts)  # (n, F) CSR, rows L2-normalised
            X_dev = vectorizer.transform(dev.texts) if dev is not None else None
            for c in self.C_grid:
                point = {"ngram_range": list(ngram), self.grid_param: c, "dev_micro_f1": None}
                model = None
                if search:
                    model = self.fit_model(X_train, train.labels, c, seed)
                    scores = self.model_scores(model, X_dev)  # (n_dev, L)
                    point["dev_micro_f1"] = DEV_F1.score(dev.labels, scores)
                self.grid_results.append(point)
                if best is None or (search and point["dev_micro_f1"] > best["dev_micro_f1"]):
                    best = {
                        **point,
                        "vectorizer": vectorizer,
                        "model": model,
                        "X": (X_train, X_dev),
                    }
        self.timings["grid_s"] = time.perf_counter() - start
        self.offset = 0.0
        if self.tune_offset and dev is not None:
            model = best["model"] or self.fit_model(
                best["X"][0], train.labels, best[self.grid_param], seed
            )
            self.offset = _best_offset(dev.labels, self.model_scores(model, best["X"][1]))
        self.vectorizer, (X_train, X_dev), c = best["vectorizer"], best["X"], best[self.grid_param]
        refitted = self.refit and dev is not None
        if refitted:  # same vectoriser (fitted on train), more rows for the classifier
            X_all = sp.vstack([X_train, X_dev]).tocsr()
            self.model = self.fit_model(X_all, np.vstack([train.labels, dev.labels]), c, seed)
        else:
            self.model = best["model"] or self.fit_model(X_train, train.labels, c, seed)
        self.timings["fit_s"] = time.perf_counter() - start
        self.chosen = {
            "ngram_range": best["ngram_range"],
            self.grid_param: c,
            "dev_micro_f1": best["dev_micro_f1"],
            "refit_on_train_dev": refitted,
            "logit_offset": self.offset,
            "num_features": int(X_train.shape[1]),
        }

    def predict_scores(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities (n, L) of each label."""
        if self.model is None:
            raise RuntimeError("fit() must be called before predict_scores()")
        X = self.vectorizer.transform(list(texts))
        return _shift(np.clip(self.model_scores(self.model, X), 0.0, 1.0), self.offset)

    def run_info(self) -> dict:
        return {"chosen": self.chosen, "grid": self.grid_results, "timings": self.timings}


class _LinearGridMethod(_TfidfGridMethod):
    """The recipe with a liblinear base classifier (``classifier``: svm or logreg)."""

    def __init__(
        self,
        *,
        classifier: str = "svm",
        class_weight: str | None = None,
        tol: float = 1e-4,
        max_iter: int = 1000,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if classifier not in CLASSIFIERS:
            raise ValueError(f"unknown classifier {classifier!r}; expected one of {CLASSIFIERS}")
        self.classifier = classifier
        self.class_weight = class_weight
        self.tol = tol
        self.max_iter = max_iter

    def _base(self, C: float, seed: int) -> SigmoidLinearClassifier:
        return SigmoidLinearClassifier(
            self.classifier, C, self.class_weight, self.tol, self.max_iter, seed
        )

    def run_info(self) -> dict:
        info = super().run_info()
        info["chosen"]["classifier"] = self.classifier
        return info


# --------------------------------------------------------------------------- BR
@register_method("br", family="linear")
class BinaryRelevanceMethod(_LinearGridMethod):
    """Binary relevance: one TF-IDF linear classifier per label (LinearSVC by default)."""

    def __init__(self, *, n_jobs: int = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.n_jobs = int(n_jobs)

    def fit_model(self, X, Y, C, seed):
        # Own loop rather than skmultilearn's BinaryRelevance: the weights of all labels
        # end up in one (F, L) matrix, so prediction is one sparse product. liblinear
        # releases the GIL, so ``n_jobs`` threads train labels side by side; but liblinear
        # draws its coordinate order from one global C RNG, so only n_jobs=1 (the default)
        # repeats bit for bit (threads move micro-F1 by ~0.001 at tol 0.1).
        def one_label(j: int) -> SigmoidLinearClassifier:
            return self._base(C, seed).fit(X, Y[:, j])

        if self.n_jobs > 1:
            with ThreadPoolExecutor(self.n_jobs) as pool:
                models = list(pool.map(one_label, range(Y.shape[1])))
        else:
            models = [one_label(j) for j in range(Y.shape[1])]
        W = np.column_stack([m.coef_[0] for m in models])  # (F, L)
        b = np.array([m.intercept_[0] for m in models])  # (L,)
        return W, b

    def model_scores(self, model, X):
        W, b = model
        return sigmoid(np.asarray(X @ W) + b)  # (n, L)


# --------------------------------------------------------------------------- CC / ECC
@register_method("cc", family="linear")
class ClassifierChainMethod(_LinearGridMethod):
    """Classifier chain (skmultilearn) in labels.txt order; ``n_chains`` > 1 averages an
    ensemble of random orders (ECC). Each link sees the TF-IDF features plus the 0/1
    predictions of the labels before it."""

    def __init__(self, *, n_chains: int = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.n_chains = int(n_chains)

    def _orders(self, num_labels: int, seed: int) -> list[list[int]]:
        rng = np.random.default_rng(seed)
        orders = [list(range(num_labels))]
        orders += [rng.permutation(num_labels).tolist() for _ in range(self.n_chains - 1)]
        return orders

    def fit_model(self, X, Y, C, seed):
        from skmultilearn.problem_transform import ClassifierChain

        chains = []
        for order in self._orders(Y.shape[1], seed):
            chain = ClassifierChain(self._base(C, seed), require_dense=[False, True], order=order)
            chains.append(chain.fit(X, Y))
        return chains

    def model_scores(self, model, X):
        total = np.zeros((X.shape[0], model[0]._label_count))
        for chain in model:
            # skmultilearn returns the columns in chain order, not label order: put back.
            proba = chain.predict_proba(X).toarray()  # (n, L), column k = label order[k]
            total[:, chain.order] += proba
        return total / len(model)

    def run_info(self) -> dict:
        info = super().run_info()
        info["chosen"]["n_chains"] = self.n_chains
        return info


# --------------------------------------------------------------------------- LP / RAkEL
def _powerset_scores(model: Any, X: sp.csr_matrix) -> np.ndarray:
    """Marginal probability of each label: the sum of the probabilities of the label sets
    holding it (skmultilearn's predict_proba for LabelPowerset and RakelD)."""
    return np.asarray(model.predict_proba(X).toarray(), dtype=np.float64)


@register_method("lp", family="linear")
class LabelPowersetMethod(_LinearGridMethod):
    """Label powerset (skmultilearn): one multi-class classifier over the label sets seen in
    train. Logistic regression by default, whose class probabilities are real ones (with
    ``classifier="svm"`` they are a softmax of margins, too flat over many label sets to
    put a label's marginal above 0.5)."""

    def __init__(self, *, classifier: str = "logreg", C_grid=(1.0, 10.0, 100.0), **kwargs):
        super().__init__(classifier=classifier, C_grid=C_grid, **kwargs)

    def fit_model(self, X, Y, C, seed):
        from skmultilearn.problem_transform import LabelPowerset

        return LabelPowerset(self._base(C, seed), require_dense=[False, True]).fit(X, Y)

    model_scores = staticmethod(_powerset_scores)


@register_method("rakel", family="linear")
class RakelMethod(_LinearGridMethod):
    """RAkEL-d (skmultilearn RakelD): label powersets over disjoint random label subsets of
    ``labelset_size``. (RakelO, the overlapping variant, is not offered: its predict_proba
    fails in skmultilearn 0.2.0.)"""

    def __init__(
        self,
        *,
        labelset_size: int = 3,
        classifier: str = "logreg",
        C_grid=(1.0, 10.0, 100.0),
        **kwargs,
    ):
        super().__init__(classifier=classifier, C_grid=C_grid, **kwargs)
        self.labelset_size = int(labelset_size)

    def fit_model(self, X, Y, C, seed):
        from skmultilearn.ensemble import RakelD

        # RakelD draws its partition with NumPy's global RNG: set_seed in fit() fixes it.
        np.random.seed(seed % (2**32))
        model = RakelD(
            base_classifier=self._base(C, seed),
            base_classifier_require_dense=[False, True],
            labelset_size=self.labelset_size,
        )
        return model.fit(X, Y)

    model_scores = staticmethod(_powerset_scores)

    def run_info(self) -> dict:
        info = super().run_info()
        info["chosen"]["labelset_size"] = self.labelset_size
        return info


# --------------------------------------------------------------------------- ML-kNN
class MLkNNModel:
    """ML-kNN (Zhang & Zhou 2007), vectorised. Written here because skmultilearn's MLkNN
    calls ``NearestNeighbors(self.k)``, which current scikit-learn rejects (keyword-only),
    and its predict_proba returns P(H1) P(E | H1) without normalising (not a probability).

    For label j and c = number of the k neighbours holding j, the posterior is
    P(j | c) = P(j) P(c | j) / (P(j) P(c | j) + P(!j) P(c | !j)), every probability
    Laplace-smoothed with ``s``. Neighbours: Euclidean on L2-normalised TF-IDF rows (the
    same order as cosine), as skmultilearn's default metric."""

    def __init__(self, k: int = 10, s: float = 1.0, exclude_self: bool = True) -> None:
        self.k = int(k)
        self.s = float(s)
        # the paper's leave-one-out counts; skmultilearn's default (ignore_first_neighbours=0)
        # counts each training row among its own neighbours: exclude_self=False
        self.exclude_self = exclude_self

    def _counts(self, X: sp.csr_matrix, exclude_self: bool) -> np.ndarray:
        extra = 1 if exclude_self else 0
        n_neighbors = min(self.k + extra, self.knn_.n_samples_fit_)
        idx = self.knn_.kneighbors(X, n_neighbors=n_neighbors, return_distance=False)
        idx = idx[:, extra:]  # (n, k) ; the first neighbour of a training row is itself
        return self.Y_[idx].sum(axis=1)  # (n, L) neighbours holding each label

    def fit(self, X: sp.csr_matrix, Y: np.ndarray) -> MLkNNModel:
        self.Y_ = np.asarray(Y, dtype=np.int64)  # (n, L)
        n, num_labels = self.Y_.shape
        self.knn_ = NearestNeighbors(n_neighbors=self.k).fit(X)
        counts = self._counts(X, exclude_self=self.exclude_self)  # (n, L) in 0..k
        s, k = self.s, self.k
        self.prior_ = (s + self.Y_.sum(axis=0)) / (2 * s + n)  # (L,)
        # hist_on[c, j] = #train rows with label j and c neighbours holding j
        hist_on = np.zeros((k + 1, num_labels))
        hist_off = np.zeros((k + 1, num_labels))
        cols = np.broadcast_to(np.arange(num_labels), counts.shape)
        np.add.at(hist_on, (counts, cols), self.Y_)
        np.add.at(hist_off, (counts, cols), 1 - self.Y_)
        self.cond_on_ = (s + hist_on) / (s * (k + 1) + hist_on.sum(axis=0))  # (k+1, L)
        self.cond_off_ = (s + hist_off) / (s * (k + 1) + hist_off.sum(axis=0))
        return self

    def predict_proba(self, X: sp.csr_matrix) -> np.ndarray:
        counts = self._counts(X, exclude_self=False)  # (n, L)
        cols = np.arange(counts.shape[1])
        on = self.prior_ * self.cond_on_[counts, cols]
        off = (1.0 - self.prior_) * self.cond_off_[counts, cols]
        return on / (on + off)  # (n, L)


@register_method("mlknn", family="linear")
class MLkNNMethod(_TfidfGridMethod):
    """ML-kNN on TF-IDF features; the number of neighbours k is chosen on dev (``k_grid``)."""

    grid_param = "k"

    def __init__(self, *, k_grid: Sequence[int] = (5, 10, 20), s: float = 1.0, **kwargs: Any):
        super().__init__(C_grid=k_grid, **kwargs)
        self.s = float(s)

    def fit_model(self, X, Y, C, seed):
        return MLkNNModel(k=int(C), s=self.s).fit(X, Y)

    def model_scores(self, model, X):
        return model.predict_proba(X)
