"""Kim's CNN: it learns, a GloVe file's vectors are copied into the embedding, and one seed
gives identical scores on CPU."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from baselines.cnn import KimCNN, KimCNNMethod, Vocabulary, load_word_vectors
from data_prep.synthetic import SyntheticConfig, write_synthetic
from lmmtc.data import load_dataset
from lmmtc.metrics import micro_f1

#: a small network and budget: ~1 s a fit on 2 CPU cores
SMALL = dict(
    embedding_dim=32, num_filters=16, epochs=12, patience=3, batch_size=16, lr=3e-3, device="cpu"
)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def correlated(tmp_path_factory):
    config = SyntheticConfig(
        num_labels=12, num_clusters=3, correlation=0.85, n_train=400, n_dev=100, n_test=200, seed=1
    )
    return load_dataset(write_synthetic(tmp_path_factory.mktemp("cnn-data"), config))


@pytest.fixture(scope="module")
def fitted(correlated) -> tuple[KimCNNMethod, np.ndarray]:
    method = KimCNNMethod(**SMALL)
    method.fit(correlated.train, correlated.dev, seed=3)
    return method, method.predict_scores(correlated.test.texts)


def test_cnn_beats_prior(fitted, correlated):
    method, scores = fitted
    assert scores.shape == correlated.test.labels.shape
    assert np.all((scores >= 0) & (scores <= 1))
    # measured ~0.90; the prior predicts nothing (0.0) on this set
    assert micro_f1(correlated.test.labels, scores >= 0.5) >= 0.8
    info = method.run_info()
    assert 1 <= info["best_epoch"] <= info["epochs_run"] <= SMALL["epochs"]
    curve = method.loss_curve
    assert curve and all(point["step"] % 10 == 0 for point in curve)
    assert curve[-1]["loss"] < curve[0]["loss"]


def test_cnn_is_reproducible_on_cpu(fitted, correlated):
    _, first = fitted
    again = KimCNNMethod(**SMALL)
    again.fit(correlated.train, correlated.dev, seed=3)
    np.testing.assert_array_equal(again.predict_scores(correlated.test.texts), first)


def test_scores_do_not_depend_on_batch_padding(fitted, correlated):
    method, scores = fitted
    alone = method.predict_scores(correlated.test.texts[:1])
    np.testing.assert_allclose(alone[0], scores[0], rtol=1e-5, atol=1e-6)


def test_glove_file_initialises_the_embedding(tmp_path, correlated):
    words = sorted({w for text in correlated.train.texts for w in text.split()})[:5]
    rng = np.random.default_rng(0)
    vectors = {w: rng.normal(size=8).round(4) for w in words}
    path = tmp_path / "vectors.txt"
    lines = [f"{w} {' '.join(str(v) for v in vec)}" for w, vec in vectors.items()]
    path.write_text("\n".join(["notaword " + " ".join(["9"] * 8), *lines]) + "\n", encoding="utf-8")

    method = KimCNNMethod(
        **{**SMALL, "embedding_dim": 8, "epochs": 1},
        embeddings_path=str(path),
        freeze_embeddings=True,  # frozen, so the vectors are still there after training
    )
    method.fit(correlated.train, correlated.dev, seed=0)
    weight = method.model.embedding.weight.detach().numpy()  # (V, 8)
    for word, vec in vectors.items():
        np.testing.assert_allclose(weight[method.vocab.stoi[word]], vec, rtol=1e-6)
    assert method.run_info()["pretrained_words_found"] == len(vectors)
    assert np.all(weight[0] == 0)  # padding row


def test_word_vector_file_with_wrong_dimension_is_refused(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("hello 1 2 3\n", encoding="utf-8")
    with pytest.raises(ValueError, match="expected 5"):
        load_word_vectors(path, Vocabulary(["hello"]), dim=5)


def test_kim_cnn_shapes():
    model = KimCNN(vocab_size=20, num_labels=4, embedding_dim=6, num_filters=3)
    logits = model(torch.randint(2, 20, (5, 9)))  # (B, T) token ids
    assert logits.shape == (5, 4)
