"""GAIC pre-training: the held-out masked-token accuracy, the held-out slice and the cache key."""

from __future__ import annotations

import json

import numpy as np
import torch

from lmmtc.transformers.backbone import load_backbone
from lmmtc.transformers.gaic_pretrain import (
    REPORT,
    corpus_key,
    length_batches,
    pretrained_backbone_dir,
    resolve_config,
    split_heldout,
)


def _topic_corpus(n: int = 400, topics: int = 12) -> list[str]:
    """Texts each drawn from one of ``topics`` disjoint 3-token sets: a masked token's topic
    shows in its neighbours (about 1/3 right by copying them), while the most frequent token
    is about 1/(3 x topics) of the targets."""
    rng = np.random.default_rng(0)
    texts = []
    for _ in range(n):
        topic, length = int(rng.integers(0, topics)), int(rng.integers(8, 20))
        texts.append(" ".join(str(3 * topic + int(rng.integers(0, 3))) for _ in range(length)))
    return texts


def test_tiny_pretraining_beats_the_majority_guess_on_held_out_text(tmp_path, one_torch_thread):
    texts = _topic_corpus()
    params = {"epochs": 6, "lr": 5e-3, "batch_size": 16, "heldout": 40}
    folder = pretrained_backbone_dir(texts, size="tiny", cache_dir=str(tmp_path), **params)
    report = json.loads((folder / REPORT).read_text("utf-8"))
    assert report["heldout_texts"] == 40 and report["train_texts"] == 360
    assert [p["epoch"] for p in report["curve"]] == [1, 2, 3, 4, 5, 6]
    majority = report["heldout_majority_accuracy"]
    assert majority < 0.06  # ~1/36
    assert report["curve"][-1]["heldout_mlm_accuracy"] == report["heldout_mlm_accuracy"]
    assert report["heldout_mlm_accuracy"] > majority + 0.15
    assert report["curve"][-1]["heldout_mlm_loss"] < report["curve"][0]["heldout_mlm_loss"]

    backbone = load_backbone(  # the cached folder, and what the run file records of it
        "pretrain:tiny", train_texts=texts, cache_dir=str(tmp_path), pretrain_params=params
    )
    assert backbone.path == str(folder)
    assert backbone.info["pretrain_key"] == corpus_key(texts, resolve_config("tiny", **params))
    assert backbone.info["pretrain_heldout_mlm_accuracy"] == report["heldout_mlm_accuracy"]
    assert backbone.info["pretrain_corpus_texts"] == 400
    assert backbone.info["pretrain_config"]["epochs"] == 6
    assert backbone.info["pretrain_precision"] in ("bf16", "fp32")


def test_cache_key_changes_with_the_corpus_and_the_config():
    texts = _topic_corpus(50)
    config = resolve_config("tiny")
    key = corpus_key(texts, config)
    assert key == corpus_key(list(texts), resolve_config("tiny"))  # stable
    assert corpus_key(texts[:-1], config) != key  # one text fewer
    assert corpus_key([*texts[:-1], texts[-1] + " 3"], config) != key  # one token more
    assert corpus_key(texts, resolve_config("tiny", epochs=2)) != key
    assert corpus_key(texts, resolve_config("mini")) != key


def test_held_out_slice_is_fixed_disjoint_and_at_most_a_tenth():
    texts = [f"{i} {i + 1}" for i in range(300)]
    train, held = split_heldout(texts, resolve_config("small"))  # heldout 1000 > 300 / 10
    assert len(held) == 30 and len(train) == 270 and not set(train) & set(held)
    assert split_heldout(texts, resolve_config("medium", epochs=9))[1] == held  # any size
    assert split_heldout(texts, resolve_config("small", seed=1))[1] != held


def test_length_batches_cover_every_row_once_in_similar_lengths():
    lengths = [int(v) for v in np.random.default_rng(1).integers(1, 100, 1000)]
    batches = length_batches(lengths, 10, torch.Generator().manual_seed(0))
    assert sorted(i for b in batches for i in b) == list(range(1000))
    spread = np.mean([max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches])
    assert spread < 10  # sorted within pools of 500: random batches of 10 spread ~80
