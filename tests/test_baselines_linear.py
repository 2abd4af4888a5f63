"""The TF-IDF baselines (br, cc, lp, rakel, mlknn): they learn, CC uses its chain, and the
suite's workarounds for scikit-multilearn 0.2.0 (ML-kNN, RAkEL) give sane probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from baselines.linear import MLkNNModel
from data_prep.synthetic import SyntheticConfig, write_synthetic
from lmmtc.data import Split, load_dataset
from lmmtc.metrics import micro_f1
from lmmtc.registry import get_method

#: small grids keep the file fast; LP/RAkEL fit a multinomial logistic regression (lbfgs),
#: slow on bigram features, so unigrams here
FAST = {
    "br": {"C_grid": [0.1, 1.0]},
    "cc": {"C_grid": [1.0]},
    "lp": {"C_grid": [10.0], "ngram_grid": [[1, 1]], "tol": 1e-2},
    "rakel": {"C_grid": [10.0], "ngram_grid": [[1, 1]], "labelset_size": 3},
    "mlknn": {"k_grid": [5, 10]},
}


@pytest.fixture(scope="module")
def correlated(tmp_path_factory):
    """12 labels in 3 strongly correlated clusters; 400 / 100 / 200 documents."""
    config = SyntheticConfig(
        num_labels=12, num_clusters=3, correlation=0.85, n_train=400, n_dev=100, n_test=200, seed=1
    )
    return load_dataset(write_synthetic(tmp_path_factory.mktemp("correlated"), config))


def _fit_scores(name: str, data, **kwargs) -> tuple[object, np.ndarray]:
    method = get_method(name).cls(**kwargs)
    method.fit(data.train, data.dev, seed=0)
    return method, method.predict_scores(data.test.texts)


@pytest.fixture(scope="module")
def prior_f1(correlated) -> float:
    _, scores = _fit_scores("prior", correlated)
    return micro_f1(correlated.test.labels, scores >= 0.5)


@pytest.mark.parametrize("name", sorted(FAST))
def test_method_beats_prior_by_a_clear_margin(name, correlated, prior_f1):
    method, scores = _fit_scores(name, correlated, **FAST[name])
    assert scores.shape == correlated.test.labels.shape
    assert np.all((scores >= 0) & (scores <= 1))
    f1 = micro_f1(correlated.test.labels, scores >= 0.5)
    # measured: prior 0.00 (no label above 50%), br/cc ~0.93, lp/rakel ~0.92, mlknn ~0.91
    assert f1 >= 0.85 and f1 >= prior_f1 + 0.5, (name, f1, prior_f1)
    info = method.run_info()
    assert info["chosen"]["num_features"] > 0
    assert len(info["grid"]) == len(next(iter(FAST[name].values())))


def test_grid_picks_the_best_dev_point(correlated):
    method, _ = _fit_scores("br", correlated, C_grid=[0.001, 1.0], refit=False)
    grid = method.run_info()["grid"]
    best = max(grid, key=lambda point: point["dev_micro_f1"])
    assert method.run_info()["chosen"]["C"] == best["C"] == 1.0
    assert method.run_info()["chosen"]["refit_on_train_dev"] is False


def _and_split(n: int, seed: int) -> Split:
    """Labels a and b have keywords of their own; c has none and is on iff a and b are.
    Documents have 3-150 background words, so TF-IDF blurs the keywords' weights."""
    rng = np.random.default_rng(seed)
    background = [f"w{i}" for i in range(300)]
    texts, rows = [], []
    for _ in range(n):
        a, b = bool(rng.random() < 0.5), bool(rng.random() < 0.5)
        words = list(rng.choice(background, size=int(rng.integers(3, 150))))
        words += [f"alpha{rng.integers(3)}"] * a + [f"beta{rng.integers(3)}"] * b
        rng.shuffle(words)
        texts.append(" ".join(words))
        rows.append([a, b, a and b])
    ids = [str(i) for i in range(n)]
    return Split("x", ids, texts, np.array(rows, dtype=np.uint8), ["a", "b", "c"])


def test_cc_uses_its_chain():
    train, dev, test = _and_split(300, 0), _and_split(100, 1), _and_split(200, 2)
    preds = {}
    for name in ("br", "cc"):
        method = get_method(name).cls(C_grid=[1.0])
        method.fit(train, dev, seed=0)
        preds[name] = method.predict_scores(test.texts) >= 0.5

    def consistent(p):  # share of documents where the c prediction is AND(pred a, pred b)
        return float(np.mean(p[:, 2] == (p[:, 0] & p[:, 1])))

    # measured: CC 1.00 (the c link reads the chain's a and b), BR 0.62 (words only)
    assert consistent(preds["cc"]) >= 0.97
    assert consistent(preds["br"]) <= 0.85
    assert np.any(preds["cc"][:, 2] != preds["br"][:, 2])


def test_ecc_averages_chains_in_label_order(correlated):
    _, single = _fit_scores("cc", correlated, C_grid=[1.0])
    method, ensemble = _fit_scores("cc", correlated, C_grid=[1.0], n_chains=3)
    assert method.run_info()["chosen"]["n_chains"] == 3
    # skmultilearn returns columns in chain order; un-permuted, the chains agree per label
    assert np.corrcoef(single.ravel(), ensemble.ravel())[0, 1] > 0.9
    assert micro_f1(correlated.test.labels, ensemble >= 0.5) >= 0.85


def test_mlknn_matches_skmultilearn_with_its_bug_patched(correlated, monkeypatch):
    """Our ML-kNN decides as skmultilearn's MLkNN once ``NearestNeighbors(self.k)`` is fixed,
    and its scores are posteriors (skmultilearn's predict_proba is P(H1) P(E | H1) only)."""
    from sklearn.neighbors import NearestNeighbors
    from skmultilearn.adapt import mlknn as skml

    from baselines.features import make_vectorizer

    vectorizer = make_vectorizer("word", (1, 1))
    X = vectorizer.fit_transform(correlated.train.texts)
    X_test = vectorizer.transform(correlated.test.texts)
    Y = correlated.train.labels

    with pytest.raises(TypeError):  # the bug the suite works around
        skml.MLkNN(k=5).fit(X, Y)
    monkeypatch.setattr(
        skml, "NearestNeighbors", lambda k, **kw: NearestNeighbors(n_neighbors=k, **kw)
    )
    reference = skml.MLkNN(k=5, s=1.0).fit(X, Y)
    ours = MLkNNModel(k=5, s=1.0, exclude_self=False).fit(X, Y)  # skmultilearn's counting
    posterior = ours.predict_proba(X_test)  # (n, L)
    np.testing.assert_array_equal(posterior >= 0.5, reference.predict(X_test).toarray() == 1)
    numerator = ours.prior_ * ours.cond_on_[ours._counts(X_test, False), np.arange(Y.shape[1])]
    np.testing.assert_allclose(numerator, reference.predict_proba(X_test).toarray(), atol=1e-12)
    assert posterior.max() > reference.predict_proba(X_test).toarray().max()


def test_rakel_predict_proba_shape_and_range(correlated):
    from skmultilearn.ensemble import RakelO

    method, scores = _fit_scores("rakel", correlated, classifier="svm", C_grid=[1.0])
    assert scores.shape == (len(correlated.test), 12)
    assert scores.min() >= 0 and scores.max() <= 1
    assert len(np.unique(scores.round(6))) > 20  # probabilities, not 0/1 votes
    assert RakelO  # the overlapping variant exists but its predict_proba fails (see linear.py)


@pytest.mark.parametrize("analyzer, text", [("whitespace", "12 7 7 903"), ("char", "摇滚 音乐")])
def test_analyzers_for_gaic_and_chinese(analyzer, text):
    from baselines.features import make_vectorizer

    vocabulary = make_vectorizer(analyzer, (1, 2)).fit([text]).vocabulary_
    expected = {"whitespace": {"12", "7 903", "903"}, "char": {"摇", "滚音", "音乐"}}[analyzer]
    assert expected <= set(vocabulary)


def test_tune_offset_moves_the_threshold_through_the_probabilities(correlated):
    from baselines.linear import OFFSETS, _shift

    method, scores = _fit_scores("br", correlated, C_grid=[1.0], tune_offset=True)
    offset = method.run_info()["chosen"]["logit_offset"]
    assert offset in OFFSETS
    assert micro_f1(correlated.test.labels, scores >= 0.5) >= 0.85
    p = np.array([[0.2, 0.5, 0.9]])
    np.testing.assert_allclose(_shift(_shift(p, 0.7), -0.7), p)
    assert _shift(np.array([[0.5]]), 0.3)[0, 0] < 0.5  # a positive offset raises the bar


@pytest.mark.parametrize("name", ["br", "cc", "lp", "rakel", "mlknn", "cnn"])
def test_every_config_cell_constructs_the_method(name):
    """Each profile x data set of configs/methods/<name>.yaml gives valid constructor keywords."""
    from benchmarks.suite.config import resolve

    for profile in ("smoke", "cpu", "paper"):
        for dataset in ("gaic", "aapd", "reuters", "rmsc", "goemotions", "toxic"):
            get_method(name).cls(**resolve(name, dataset, profile).params)


def test_speed_benchmark_explains_a_missing_libmultilabel(monkeypatch, capsys):
    import builtins

    from tools import speed_linear

    real_import = builtins.__import__

    def without_libmultilabel(name, *args, **kwargs):
        if name.startswith("libmultilabel"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_libmultilabel)
    assert speed_linear.main(["--data-dir", "unused"]) == 2
    assert "pip install" in capsys.readouterr().out
