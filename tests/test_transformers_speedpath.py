"""The training data path of issue 15: the token cache, packed and bucket-padded batches,
length grouping, the loss log read once an epoch, compile, and the random-base backbone."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pytest
import torch

from lmmtc.transformers import token_cache
from lmmtc.transformers.backbone import random_backbone, tiny_random_backbone
from lmmtc.transformers.methods import LabelMask
from lmmtc.transformers.template import BatchOrder, bucket_lengths, padded_length
from lmmtc.transformers.token_cache import cache_key, encode_cached
from lmmtc.transformers.trainer import LoopConfig, LossLog, StepLosses, train_loop

pytestmark = pytest.mark.usefixtures("one_torch_thread")

LABELS = ["north", "south", "east", "west"]
TEXTS = [
    "the quick brown fox",
    "jumps over the lazy dog",
    "a",
    "pack my box with five dozen liquor jugs and a few more words to make it long",
    "sphinx of black quartz",
    "judge my vow",
    "how vexingly quick daft zebras jump",
    "the five boxing wizards jump quickly over and over again",
    "",
    "bright vixens jump dozy fowl quack",
    "waltz nymph for quick jigs vex bud",
]
#: A 2-layer, 32-wide BERT without dropout: eager and compiled runs are comparable.
TINY = {
    "hidden_size": 32,
    "intermediate_size": 64,
    "hidden_dropout_prob": 0.0,
    "attention_probs_dropout_prob": 0.0,
}


@pytest.fixture(scope="module")
def tokenizer():
    return tiny_random_backbone().tokenizer


def _method(**params) -> LabelMask:
    opts = {"backbone": "tiny-random", "tiny_config": TINY, "max_len": 48, "progress": False}
    method = LabelMask(**{**opts, "device": "cpu", "dropout": 0.0, **params})
    method._build(LABELS, None, seed=0)
    return method


def _split(texts: list[str], labels: np.ndarray):
    from lmmtc.data import Split

    ids = [str(i) for i in range(len(texts))]
    return Split(name="train", ids=ids, texts=texts, labels=labels, label_names=LABELS)


def _labels(n: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return (torch.rand((n, len(LABELS)), generator=gen) < 0.4).float()


# --- token cache ----------------------------------------------------------------------


def test_cache_key_follows_texts_budget_and_tokenizer(tokenizer):
    from transformers import AutoTokenizer

    key = cache_key(tokenizer, TEXTS, 20)
    assert cache_key(tokenizer, list(TEXTS), 20) == key  # same content, another list
    assert cache_key(tokenizer, [*TEXTS[:-1], TEXTS[-1] + "!"], 20) != key
    assert cache_key(tokenizer, TEXTS[::-1], 20) != key  # order matters: ids are per row
    assert cache_key(tokenizer, TEXTS, 21) != key
    other = AutoTokenizer.from_pretrained(tokenizer.name_or_path, local_files_only=True)
    assert cache_key(other, TEXTS, 20) == key  # the same tokenizer loaded again
    tokenizer(TEXTS, truncation=True, max_length=5)  # a call's settings do not count
    assert cache_key(tokenizer, TEXTS, 20) == key
    other.add_special_tokens({"additional_special_tokens": ["[LS-1]"]})  # a label token
    assert cache_key(other, TEXTS, 20) != key


def test_cache_hit_gives_identical_ids_and_batches(tokenizer, monkeypatch, tmp_path):
    token_cache.clear_memory()
    first = encode_cached(tokenizer, TEXTS, 12)
    expected = tokenizer(TEXTS, add_special_tokens=False, truncation=True, max_length=12)
    assert first.to_lists() == expected["input_ids"]
    calls = []
    real = token_cache.tokenize
    monkeypatch.setattr(token_cache, "tokenize", lambda *a: calls.append(1) or real(*a))
    assert encode_cached(tokenizer, list(TEXTS), 12) is first  # in-process hit
    assert calls == []
    encode_cached(tokenizer, TEXTS, 13)  # another budget: tokenised
    assert calls == [1]
    # on disk: a fresh process (empty memory) reads the ids back instead of tokenising
    stored = encode_cached(tokenizer, TEXTS, 12, cache_dir=tmp_path)  # memory hit: not stored
    token_cache.clear_memory()
    stored = encode_cached(tokenizer, TEXTS, 12, cache_dir=tmp_path)
    assert len(calls) == 2 and len(list(tmp_path.glob("*.npz"))) == 1
    assert not list(tmp_path.glob("*.tmp"))  # the atomic write left no temporary file
    token_cache.clear_memory()
    loaded = encode_cached(tokenizer, TEXTS, 12, cache_dir=tmp_path)
    assert len(calls) == 2
    np.testing.assert_array_equal(loaded.flat, stored.flat)
    np.testing.assert_array_equal(loaded.offsets, stored.offsets)
    method = _method()
    labels = _labels(len(TEXTS))
    a, b = method._pack(stored, labels), method._pack(loaded, labels)
    for idx in ([0, 3, 8], list(range(len(TEXTS)))):
        x, y = a.batch(idx), b.batch(idx)
        for field in ("input_ids", "attention_mask", "state_pos", "text_mask", "labels"):
            assert torch.equal(getattr(x, field), getattr(y, field)), field


def test_fit_tokenises_each_split_once(monkeypatch):
    """Train and dev are tokenised once in a fit, not once per epoch."""
    token_cache.clear_memory()
    calls = []
    real = token_cache.tokenize
    monkeypatch.setattr(token_cache, "tokenize", lambda *a: calls.append(len(a[1])) or real(*a))
    labels = _labels(len(TEXTS)).numpy().astype(np.uint8)
    train = _split(TEXTS, labels)
    dev = _split(TEXTS[:5], labels[:5])
    method = LabelMask(backbone="tiny-random", tiny_config=TINY, max_len=48, epochs=3, batch_size=4)
    method.fit(train, dev, seed=0)
    assert sorted(calls) == [5, len(TEXTS)]
    method.predict_scores(TEXTS[:5])
    assert sorted(calls) == [5, len(TEXTS)]


# --- packed rows, buckets, grouping ---------------------------------------------------


@pytest.mark.parametrize("position", ["after_cls", "end"])
def test_packed_batches_equal_collate(position):
    method = _method(template_position=position)
    ids = method._encode(TEXTS)
    labels = _labels(len(TEXTS))
    packed = method._pack(ids, labels)
    lists = ids.to_lists()
    for idx in ([0], [2, 8], [1, 3, 5, 7], list(range(len(TEXTS)))):
        got = packed.batch(idx)
        want = method._collate([lists[i] for i in idx], labels[idx])
        for field in ("input_ids", "attention_mask", "state_pos", "text_mask", "labels"):
            x, y = getattr(got, field), getattr(want, field)
            assert x.dtype == y.dtype and torch.equal(x, y), field


def test_bucket_padding_only_pads():
    method = _method()
    packed = method._pack(method._encode(TEXTS), _labels(len(TEXTS)))
    buckets = bucket_lengths(method._max_len, 4)
    assert buckets == [16, 32, 48] and padded_length(17, buckets) == 32
    assert padded_length(17, None) == 17
    idx = [0, 2, 4]
    plain, padded = packed.batch(idx), packed.batch(idx, buckets)
    t = plain.input_ids.shape[1]
    assert padded.input_ids.shape[1] == padded_length(t, buckets) > t
    assert torch.equal(padded.input_ids[:, :t], plain.input_ids)
    assert bool((padded.input_ids[:, t:] == method.tokenizer.pad_token_id).all())
    assert not padded.attention_mask[:, t:].any() and not padded.text_mask[:, t:].any()
    assert torch.equal(padded.state_pos, plain.state_pos)
    assert torch.equal(padded.labels, plain.labels)


def _epoch_rows(method, packed, gen) -> list[tuple]:
    """(word pieces of the row without padding, labels) of every row of one epoch."""
    batches, per_epoch = method._train_batches(packed, gen)
    out, count = [], 0
    for batch, size in batches(0):
        count += 1
        assert batch.input_ids.shape[0] == size
        for row in range(size):
            n = int(batch.attention_mask[row].sum())
            out.append(
                (tuple(batch.input_ids[row, :n].tolist()), tuple(batch.labels[row].tolist()))
            )
    assert count == per_epoch
    return out


def test_grouped_bucketed_batches_hold_the_same_rows_and_labels():
    texts = [" ".join(["word"] * (i % 13)) + f" row{i}" for i in range(70)]
    labels = _labels(len(texts), seed=1)
    plain = _method(batch_size=8)
    fast = _method(batch_size=8, group_by_length=True, pad_to="buckets", bucket_count=3)
    assert plain._buckets() is None and not plain._grouped()  # CPU eager default
    assert fast._buckets() == [16, 32, 48] and fast._grouped()
    assert _method(compile=True)._buckets() is not None  # compile: buckets by default
    on_cuda = _method()
    on_cuda._device = torch.device("cuda")  # only the device type is read here
    assert on_cuda._buckets() == bucket_lengths(48, 8) and not on_cuda._grouped()
    packed = plain._pack(plain._encode(texts), labels)
    want = _epoch_rows(plain, packed, torch.Generator().manual_seed(0))
    got = _epoch_rows(
        fast, fast._pack(fast._encode(texts), labels), torch.Generator().manual_seed(0)
    )
    assert len(want) == len(texts) and sorted(got) == sorted(want)
    assert got != want  # grouped: another batch order
    # reproducible from the seed
    again = _epoch_rows(
        fast, fast._pack(fast._encode(texts), labels), torch.Generator().manual_seed(0)
    )
    assert again == got


def test_plain_order_is_the_seeded_permutation_and_grouping_keeps_the_short_batch_last():
    n, bs = 37, 5
    plain = list(BatchOrder(n, bs, torch.Generator().manual_seed(4)))
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(4)).tolist()
    assert plain == [perm[i : i + bs] for i in range(0, n, bs)]  # today's batches
    lengths = torch.tensor([(i * 7) % 23 for i in range(n)])
    grouped = BatchOrder(n, bs, torch.Generator().manual_seed(4), lengths, window=3)
    batches = list(grouped)
    assert len(batches) == len(grouped) == 8
    assert sorted(i for b in batches for i in b) == list(range(n))
    assert [len(b) for b in batches] == [5] * 7 + [2]  # Accelerate's split batches need it
    spread = lambda bs_: sum(int(lengths[b].max() - lengths[b].min()) for b in bs_)  # noqa: E731
    assert spread(batches) < spread(plain)  # similar lengths share a batch


# --- the loop -------------------------------------------------------------------------


class _Toy(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(3, 2)


def test_loss_log_read_once_equals_per_step_reads():
    """The curve read once an epoch holds each logged step's own losses, as a read at that
    step would (the tensors are never modified after the step)."""
    model = _Toy()
    gen = torch.Generator().manual_seed(0)
    data = [(torch.randn(4, 3, generator=gen), torch.rand(4, 2, generator=gen)) for _ in range(7)]
    seen: list[tuple[float, float, float]] = []

    def step(batch, epoch):
        x, y = batch
        logits = model.linear(x)
        mtc = torch.nn.functional.binary_cross_entropy_with_logits(logits, y)
        mlm = (logits**2).mean()
        loss = mtc + 0.1 * mlm
        seen.append(tuple(float(t.detach()) for t in (loss, mtc, mlm)))  # per-step read
        return StepLosses(loss=loss, mtc=mtc, mlm=mlm)

    config = LoopConfig(lr=1e-2, epochs=5, log_every=3, progress=False)
    result = train_loop(model, lambda epoch: iter((b, 4) for b in data), 7, step, None, config)
    assert result.steps == 35 and [e["step"] for e in result.loss_curve] == list(range(3, 36, 3))
    for entry in result.loss_curve:
        loss, mtc, mlm = seen[entry["step"] - 1]
        assert (entry["loss"], entry["mtc_loss"], entry["mlm_loss"]) == (loss, mtc, mlm)
    assert result.loss_curve[0]["epoch"] == round(3 / 7, 4)
    log = LossLog(2, 10)
    log.add(2, 0, 1, StepLosses(torch.tensor(1.5), torch.tensor(1.5)))
    assert log.flush() == [
        {"step": 2, "epoch": 0.2, "mtc_loss": 1.5, "mlm_loss": None, "loss": 1.5}
    ]
    assert log.flush() == []


def test_optimizer_is_fused_by_default_on_cpu_too():
    from lmmtc.transformers.trainer import make_optimizer

    assert make_optimizer(_Toy(), 1e-3, 0.01).defaults["fused"] is True  # CPU: fused too
    assert not make_optimizer(_Toy(), 1e-3, 0.01, fused=False).defaults["fused"]
    assert make_optimizer(_Toy(), 1e-3, 0.01, fused=True).defaults["fused"] is True


def _losses_of_fit(**params) -> list[float]:
    """Per-step losses of a short fit on equal-length texts (one batch shape)."""
    texts = [" ".join(["word"] * 6) + f" w{i}" for i in range(16)]
    labels = _labels(len(texts), seed=2).numpy().astype(np.uint8)
    method = LabelMask(
        backbone="tiny-random",
        tiny_config=TINY,
        max_len=32,
        dropout=0.0,
        batch_size=8,
        lr=1e-3,
        max_steps=4,
        epochs=2,
        progress=False,
        device="cpu",
        pad_to="buckets",
        bucket_count=1,
        group_by_length=False,
        **params,
    )
    losses: list[float] = []
    step = method._step

    def recording_step(batch, epoch):
        out = step(batch, epoch)
        losses.append(float(out.loss.detach()))
        return out

    method._step = recording_step
    method.fit(_split(texts, labels), None, seed=0)
    assert method.run_info()["compiled"] == bool(params.get("compile"))
    return losses


def test_compiled_and_eager_training_give_the_same_losses():
    pytest.importorskip("torch._inductor")
    eager = _losses_of_fit()
    compiled = _losses_of_fit(compile=True)
    assert len(eager) == len(compiled) == 4
    np.testing.assert_allclose(compiled, eager, rtol=0, atol=1e-5)


def test_bucket_padding_changes_predictions_by_rounding_only():
    method = _method()
    plain = method.predict_scores(TEXTS)
    method.options.pad_to = "buckets"
    np.testing.assert_allclose(method.predict_scores(TEXTS), plain, rtol=0, atol=1e-5)


# --- random-base ----------------------------------------------------------------------


def test_random_base_has_bert_base_size_without_download():
    backbone = random_backbone("random-base", device="meta")  # no memory, no weights
    config = backbone.encoder.config
    assert (config.num_hidden_layers, config.hidden_size, config.num_attention_heads) == (
        12,
        768,
        12,
    )
    assert config.intermediate_size == 3072 and config.vocab_size == 30522  # uncased vocab
    n = sum(p.numel() for p in backbone.encoder.parameters())
    pooler = 768 * 768 + 768  # bert-base-uncased's 109.5M count includes its pooler
    assert n + pooler == pytest.approx(109_482_240, rel=1e-4)
    assert next(backbone.encoder.parameters()).device.type == "meta"
