"""Backbone resolution errors and GAIC pre-training on a tiny token-id corpus."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pytest
import torch

from lmmtc.transformers.backbone import BackboneError, load_backbone
from lmmtc.transformers.gaic_pretrain import (
    build_vocab,
    corpus_key,
    pretrained_backbone_dir,
    resolve_config,
)


def test_missing_local_folder_names_the_path(tmp_path):
    missing = tmp_path / "no-such-model"
    with pytest.raises(BackboneError) as err:
        load_backbone(str(missing))
    message = str(err.value)
    assert str(missing) in message and "local folder" in message and "HF_HOME" in message


def test_unknown_hub_name_fails_offline_without_network(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(BackboneError) as err:
        load_backbone("nobody/lmmtc-no-such-model")
    assert "nobody/lmmtc-no-such-model" in str(err.value)
    assert "HF_HUB_OFFLINE=1" in str(err.value)


def _corpus(n: int = 120) -> list[str]:
    rng = np.random.default_rng(0)
    return [" ".join(map(str, rng.integers(0, 200, rng.integers(4, 20)))) for _ in range(n)]


def test_vocab_is_one_token_per_id_string():
    vocab = build_vocab(["5 7 5", "7 9"])
    assert vocab[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert vocab[5:] == ["5", "7", "9"]  # by frequency, then by string


def test_gaic_pretraining_gives_a_loadable_folder(tmp_path, one_torch_thread):
    texts = _corpus()
    folder = pretrained_backbone_dir(texts, size="tiny", cache_dir=str(tmp_path), max_steps=4)
    assert {"config.json", "vocab.txt", "model.safetensors"} <= {p.name for p in folder.iterdir()}
    assert folder.name.endswith(corpus_key(texts, resolve_config("tiny", max_steps=4)))
    backbone = load_backbone(
        "pretrain:tiny",
        train_texts=texts,
        cache_dir=str(tmp_path),
        pretrain_params={"max_steps": 4},
    )
    assert backbone.path == str(folder)  # the cached folder, not a second pre-training
    assert "transform.dense.weight" in backbone.mlm_head_state
    tok = backbone.tokenizer
    words = texts[0].split()
    ids = tok(texts[0], add_special_tokens=False)["input_ids"]
    assert tok.convert_ids_to_tokens(ids) == words  # token-id strings map 1:1
    assert tok("99999", add_special_tokens=False)["input_ids"] == [tok.unk_token_id]
    out = backbone.encoder(input_ids=torch.tensor([ids]))
    assert out.last_hidden_state.shape == (1, len(ids), backbone.encoder.config.hidden_size)


def test_lm_mlm_on_a_pretrained_folder_reuses_its_mlm_head(tmp_path):
    from lmmtc.transformers.methods import LabelMaskMLM

    texts = _corpus()
    params = {"max_steps": 4}
    method = LabelMaskMLM(  # the BertForMaskedLM-style head (the default is eq. 3's linear)
        backbone="pretrain:tiny", cache_dir=str(tmp_path), pretrain=params, mlm_head="bert"
    )
    method._build(["north", "south"], texts, seed=0)
    assert method.run_info()["mlm_head_from_checkpoint"] is True
    head = load_backbone(
        "pretrain:tiny", train_texts=texts, cache_dir=str(tmp_path), pretrain_params=params
    ).mlm_head_state
    assert torch.equal(method.network.mlm.dense.weight, head["transform.dense.weight"])
    vocab = len(method.tokenizer)
    assert method.network.mlm(torch.zeros(1, 64)).shape == (1, vocab)  # V' = V + 5L
    assert vocab == head["bias"].numel() + 10


def test_half_precision_folder_loads_as_fp32(tmp_path):
    """An fp16 checkpoint (such as a trimmed copy carried to a GPU node) trains in fp32
    master weights; autocast, not the stored dtype, decides the compute precision."""
    from lmmtc.transformers.backbone import tiny_random_backbone

    tiny = tiny_random_backbone({"hidden_size": 32, "intermediate_size": 64})
    tiny.encoder.half().save_pretrained(tmp_path)
    tiny.tokenizer.save_pretrained(tmp_path)
    loaded = load_backbone(str(tmp_path))
    dtypes = {p.dtype for p in loaded.encoder.parameters()}
    assert dtypes == {torch.float32}
    reference = tiny.encoder.embeddings.word_embeddings.weight.float()
    assert torch.equal(loaded.encoder.embeddings.word_embeddings.weight, reference)
