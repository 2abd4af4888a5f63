"""Training the four transformer methods on a tiny random BERT and correlated synthetic
labels: they beat the label prior, a seed fixes the run, save/load keeps predictions."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pytest
import torch

from data_prep.synthetic import SyntheticConfig, write_synthetic
from lmmtc.data import load_dataset
from lmmtc.metrics import micro_f1
from lmmtc.registry import get_method

METHODS = ("bert", "bert_mlm", "lm", "lm_mlm")
#: Small enough for ~5 s a fit on one core; lr 1e-3 because the BERT is random.
QUICK = {
    "backbone": "tiny-random",
    "tiny_config": {"hidden_size": 64, "intermediate_size": 128},
    "max_len": 64,
    "epochs": 6,
    "lr": 1e-3,
    "eval_batch_size": 128,
    "progress": False,
    "device": "cpu",
}
#: Text MLM over 30k randomly initialised, tied embeddings at lr 1e-3 swamps a random
#: 2-layer model (AdamW moves every embedding row each step); a pre-trained one copes.
#: lm_mlm's default "+MLM" is the same text MLM (readings.py), so it gets the same weight.
OVERRIDES = {"bert_mlm": {"mlm_lambda": 0.01}, "lm_mlm": {"mlm_lambda": 0.01}}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("synthetic")
    config = SyntheticConfig(
        num_labels=6, correlation=0.8, n_train=320, n_dev=80, n_test=120, mean_length=6
    )
    return load_dataset(write_synthetic(folder, config))


def _f1(method, split) -> float:
    return micro_f1(split.labels, (method.predict_scores(split.texts) >= 0.5).astype(np.uint8))


@pytest.fixture(scope="module")
def trained(dataset):
    """Each method fitted once (a few hundred steps in all)."""
    out = {}
    for name in METHODS:
        method = get_method(name).cls(**{**QUICK, **OVERRIDES.get(name, {})})
        method.fit(dataset.train, dataset.dev, seed=0)
        out[name] = method
    return out


@pytest.mark.parametrize("name", METHODS)
def test_beats_the_label_prior(dataset, trained, name):
    prior = get_method("prior").cls()
    prior.fit(dataset.train, dataset.dev, seed=0)
    method = trained[name]
    f1 = _f1(method, dataset.test)
    baseline = _f1(prior, dataset.test)
    assert f1 > max(0.5, baseline + 0.3), f"{name}: micro-F1 {f1:.3f}, prior {baseline:.3f}"
    info = method.run_info()
    assert info["best_epoch"] >= 1 and len(info["dev_micro_f1_per_epoch"]) == QUICK["epochs"]
    assert info["num_parameters"] > 0 and info["train_samples_per_s"] > 0
    curve = method.loss_curve
    assert curve and curve[0]["step"] == 10 and curve[1]["step"] == 20
    has_mlm = name.endswith("mlm")
    assert all((entry["mlm_loss"] is not None) == has_mlm for entry in curve)
    assert set(curve[0]) == {"step", "epoch", "mtc_loss", "mlm_loss", "loss"}


@pytest.mark.parametrize("name", ["bert", "lm_mlm"])
def test_save_and_load_give_identical_predictions(dataset, trained, tmp_path, name):
    method = trained[name]
    method.save(tmp_path / name)
    reloaded = type(method).load(tmp_path / name)
    texts = dataset.test.texts[:40]
    np.testing.assert_array_equal(method.predict_scores(texts), reloaded.predict_scores(texts))


def test_attention_maps_shape(dataset, trained):
    maps = trained["lm"].attention_maps(dataset.test.texts[:8])
    layers = trained["lm"].network.encoder.config.num_hidden_layers
    assert maps.shape == (layers, 6, 6)
    # each label row sums the attention mass it gives to the label tokens: in (0, 8]
    assert np.all(maps > 0) and np.all(maps.sum(-1) <= 8 + 1e-4)


@pytest.mark.parametrize("name", ["lm_mlm", "bert_mlm"])
def test_one_seed_gives_identical_runs(dataset, name):
    params = {**QUICK, "max_steps": 15, "epochs": 1}
    runs = []
    for _ in range(2):
        method = get_method(name).cls(**params)
        method.fit(dataset.train, dataset.dev, seed=7)
        runs.append((method.predict_scores(dataset.test.texts), method.loss_curve))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1]


def test_public_implementation_variant_trains(dataset):
    """Label-position readout with one shared unit, a random number of labels masked per
    batch with BCE on the masked ones, text MLM with weight 1 for the first epoch."""
    method = get_method("lm_mlm").cls(
        **{**QUICK, "max_steps": 12, "epochs": 2},
        readout="label",
        label_head="shared",
        mask_count="random",
        bce_on="masked",
        mlm_target="text",
        mlm_schedule=[[1, 1.0]],
        new_token_init="label_name",
        template_position="end",
    )
    method.fit(dataset.train, dataset.dev, seed=0)
    assert method.predict_scores(dataset.test.texts[:5]).shape == (5, 6)
    assert method.network.classifier.out_features == 1


def test_head_lr_gives_the_classifier_its_own_learning_rate():
    """Classifier parameters learn at head_lr, the encoder at lr; decay rules unchanged."""
    from lmmtc.transformers.trainer import make_optimizer

    method = get_method("lm").cls(**QUICK)
    method._build(["a", "b", "c"], None, seed=0)
    optimizer = make_optimizer(method.network, 1e-5, 0.01, head_lr=0.02)
    lr_of = {id(p): g["lr"] for g in optimizer.param_groups for p in g["params"]}
    decay_of = {id(p): g["weight_decay"] for g in optimizer.param_groups for p in g["params"]}
    for name, param in method.network.named_parameters():
        expected = 0.02 if name.startswith("classifier.") else 1e-5
        assert lr_of[id(param)] == expected, name
        assert decay_of[id(param)] == (0.0 if param.ndim < 2 or "norm" in name.lower() else 0.01)
    assert {name for name, _ in method.network.named_parameters()} >= {
        "classifier.weight",
        "classifier.bias",
    }
    plain = make_optimizer(method.network, 1e-5, 0.01)
    assert {g["lr"] for g in plain.param_groups} == {1e-5}


def test_fit_passes_head_lr_to_the_optimizer(dataset, monkeypatch):
    """The option reaches the optimiser that fit builds (options -> LoopConfig -> groups)."""
    from lmmtc.transformers import trainer

    seen = []

    def spy(model, lr, weight_decay, head_lr=None, **kwargs):
        optimizer = trainer_make_optimizer(model, lr, weight_decay, head_lr, **kwargs)
        seen.append(sorted({g["lr"] for g in optimizer.param_groups}))
        return optimizer

    trainer_make_optimizer = trainer.make_optimizer
    monkeypatch.setattr(trainer, "make_optimizer", spy)
    for head_lr in (None, 0.02):
        method = get_method("bert").cls(**{**QUICK, "max_steps": 2, "head_lr": head_lr})
        method.fit(dataset.train, dataset.dev, seed=0)
    assert seen == [[QUICK["lr"]], [QUICK["lr"], 0.02]]
    assert method.run_info()["options"]["head_lr"] == 0.02
    from lmmtc.transformers.trainer import cpu_supports_bf16

    expected = "bf16" if cpu_supports_bf16() else "fp32"  # CPU, precision auto
    assert method.run_info()["compute_precision"] == expected
    with pytest.raises(ValueError, match="head_lr"):
        get_method("bert").cls(head_lr=0.0)


def test_compute_precision_auto_takes_bf16_on_cuda_and_on_a_bf16_cpu(monkeypatch):
    from lmmtc.transformers import trainer
    from lmmtc.transformers.trainer import compute_precision, precision_note

    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    for native, expected in ((True, "bf16"), (False, "fp32")):
        monkeypatch.setattr(trainer, "cpu_supports_bf16", lambda native=native: native)
        assert compute_precision(cpu, "auto") == expected
        assert (precision_note(cpu, "auto") is None) is native
        assert compute_precision(cpu, "fp32") == "fp32"
        assert compute_precision(cpu, "bf16") == "bf16"
        assert compute_precision(cuda, "auto") == "bf16"
        assert compute_precision(cuda, "fp32") == "fp32"
        assert precision_note(cuda, "auto") is None
    with pytest.raises(ValueError, match="precision"):
        compute_precision(cpu, "fp16")


def test_set_seed_does_not_fill_new_memory_and_results_do_not_depend_on_it(dataset, monkeypatch):
    """set_seed keeps torch's deterministic kernels but not its NaN filling of every new
    tensor (useless work, tools/step_breakdown.py); a fit with the
    filling switched back on gives the same scores, bit for bit."""
    import torch.utils.deterministic as deterministic

    from lmmtc import seeding
    from lmmtc.transformers import methods as transformer_methods

    seeding.set_seed(0)
    assert deterministic.fill_uninitialized_memory is False
    assert torch.are_deterministic_algorithms_enabled()

    params = {**QUICK, "max_steps": 12, "epochs": 1}
    scores = {}
    for fill in (False, True):

        def set_seed(seed: int, fill: bool = fill) -> None:
            seeding.set_seed(seed)
            deterministic.fill_uninitialized_memory = fill

        monkeypatch.setattr(transformer_methods, "set_seed", set_seed)
        method = get_method("lm").cls(**params)
        method.fit(dataset.train, dataset.dev, seed=3)
        scores[fill] = method.predict_scores(dataset.test.texts)
    deterministic.fill_uninitialized_memory = False
    np.testing.assert_array_equal(scores[False], scores[True])
