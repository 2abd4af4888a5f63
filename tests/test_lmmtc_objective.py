"""LM-MTC's training objective (issue 13): the single view of Algorithm 1 (one input with
gold and masked label tokens, one encoder pass, BCE and label MLM at the masked labels),
the separate two-view reading, the masking draws, and the options that select them."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pytest
import torch

from baselines.bert import Bert, BertMLM
from lmmtc.transformers import masking
from lmmtc.transformers.methods import LabelMask, LabelMaskMLM
from lmmtc.transformers.template import MASK, encode_texts

pytestmark = pytest.mark.usefixtures("one_torch_thread")

LABELS = ["sports", "politics", "science", "art", "food", "travel"]
GOLD = [[1, 0, 1, 0, 0, 1], [0, 1, 0, 0, 1, 0], [1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0]]
TEXTS = ["one two three", "four five", "six", "seven eight nine ten"]
# The paper-literal reading (lmmtc/transformers/readings.py): these tests check its single
# view; fp32 so that hand-computed losses compare to 1e-6.
TINY = {
    "backbone": "tiny-random",
    "max_len": 48,
    "progress": False,
    "device": "cpu",
    "precision": "fp32",
    "reading": "paper-literal",
}


def _built(cls, seed: int = 0, **params):
    """A method built (not trained) on the tiny random BERT, masking draws seeded."""
    method = cls(**{**TINY, **params})
    method._build(LABELS, None, seed=0)
    method._gen = torch.Generator().manual_seed(seed)
    return method


def _batch(method, labels=GOLD):
    enc = encode_texts(method.tokenizer, TEXTS, method._budget)
    return method._collate(enc.text_ids, torch.tensor(labels, dtype=torch.float32))


@pytest.fixture(scope="module")
def lm_mlm():
    # mask_prob 0.4: both masked and visible labels in most rows of a 6-label batch
    return _built(LabelMaskMLM, mask_prob=0.4)


def _states_at_labels(method, ids, batch):
    """(B, L) ids at the label state positions -> (B, L) MASK / YES / NO / -1 codes."""
    tok = method.tokens
    at = ids.gather(1, batch.state_pos)  # (B, L)
    codes = torch.full_like(at, -1)
    codes[at == tok.mask] = MASK
    codes[at == tok.yes] = 1
    codes[at == tok.no] = 0
    return codes


def test_single_view_shows_gold_labels_where_unmasked_and_mask_where_masked(lm_mlm):
    method = lm_mlm
    batch = _batch(method)
    labels = batch.labels.long()
    seen_masked = seen_visible = 0
    for _ in range(10):
        ids, attention, on, positions, targets, lam = method._views(batch, epoch=0.0)
        assert ids.shape == batch.input_ids.shape  # one view: (B, T), not (2B, T)
        assert torch.equal(attention, batch.attention_mask)
        codes = _states_at_labels(method, ids, batch)  # (B, L)
        masked = codes == MASK
        assert torch.equal(on, masked)  # the BCE covers exactly the masked labels
        assert bool((masked.sum(1) >= 1).all())  # at least one masked label a row
        assert torch.equal(codes[~masked], labels[~masked])  # gold YES/NO elsewhere
        # nothing outside the label state tokens changes
        outside = torch.ones_like(ids, dtype=torch.bool).scatter_(1, batch.state_pos, False)
        assert torch.equal(ids[outside], batch.input_ids[outside])
        # label MLM: the gold YES-i/NO-i ids at exactly the masked label positions
        rows, cols = masked.nonzero(as_tuple=True)
        assert positions.tolist() == torch.stack([rows, batch.state_pos[rows, cols]], 1).tolist()
        gold_ids = torch.where(labels.bool(), method.tokens.yes, method.tokens.no)  # (B, L)
        assert targets.tolist() == gold_ids[rows, cols].tolist()
        assert lam == pytest.approx(0.05)
        seen_masked += int(masked.sum())
        seen_visible += int((~masked).sum())
    assert seen_masked > 0 and seen_visible > 0


def test_bce_is_the_mean_over_the_masked_labels_only(lm_mlm):
    """The step's MTC loss equals the BCE averaged over the masked labels, recomputed
    from the same input; the MLM loss is the cross-entropy at the masked positions."""
    method = lm_mlm
    method.network.eval()  # no dropout: the recomputation must match
    batch = _batch(method)
    method._gen.manual_seed(5)
    losses = method._step(batch, 0.0)
    method._gen.manual_seed(5)
    ids, attention, on, positions, targets, lam = method._views(batch, 0.0)
    with torch.no_grad():
        hidden = method.network.encode(ids, attention).last_hidden_state
        logits = method.network.label_logits(hidden, batch.state_pos)  # (B, L)
        bce = torch.nn.functional.binary_cross_entropy_with_logits(
            logits, batch.labels, reduction="none"
        )
        mlm = torch.nn.functional.cross_entropy(
            method.network.mlm_logits(hidden, positions), targets
        )
    assert not bool(on.all())  # some labels visible, so "masked only" differs from "all"
    assert float(losses.mtc.detach()) == pytest.approx(float(bce[on].mean()), abs=1e-6)
    assert float(losses.mtc.detach()) != pytest.approx(float(bce.mean()), abs=1e-6)
    assert float(losses.mlm.detach()) == pytest.approx(float(mlm), abs=1e-5)
    assert float(losses.loss.detach()) == pytest.approx(float(bce[on].mean() + lam * mlm), abs=1e-5)
    method.network.train()


def test_bce_on_all_covers_every_label(lm_mlm):
    method = _built(LabelMaskMLM, mask_prob=0.4, bce_on="all")
    ids, _, on, _, _, _ = method._views(_batch(method), 0.0)
    assert on is None
    assert (_states_at_labels(method, ids, _batch(method)) != MASK).any()  # still gold shown


def test_bernoulli_rate_is_mask_prob_with_at_least_one_per_row():
    gen = torch.Generator().manual_seed(0)
    n_lab, p = 28, 0.15
    masked = masking.draw_masked((20000, n_lab), "bernoulli", p, gen)
    assert bool((masked.sum(1) >= 1).all())
    expected = p + (1 - p) ** n_lab / n_lab  # a row with none gets one label
    assert float(masked.float().mean()) == pytest.approx(expected, abs=0.003)
    per_label = masked.float().mean(0)  # independent of the label
    assert float(per_label.max() - per_label.min()) < 0.03
    # with 3 labels most rows would draw none: each of those gets exactly one, uniformly
    few = masking.draw_masked((20000, 3), "bernoulli", p, gen)
    counts = few.sum(1)
    assert int(counts.min()) == 1
    one = 3 * p * (1 - p) ** 2 + (1 - p) ** 3
    assert float((counts == 1).float().mean()) == pytest.approx(one, abs=0.01)
    assert float(few.float().mean(0).std()) < 0.01


def test_random_and_all_mask_counts():
    gen = torch.Generator().manual_seed(1)
    for _ in range(5):
        masked = masking.draw_masked((8, 10), "random", 0.15, gen)
        k = masked.sum(1)
        assert bool((k == k[0]).all()) and 1 <= int(k[0]) <= 10  # k ~ U{1..L} per batch
    assert bool(masking.draw_masked((4, 6), "all", 0.15, gen).all())
    with pytest.raises(ValueError, match="mask_count"):
        masking.draw_masked((4, 6), "some", 0.15, gen)


def test_draws_follow_the_generator():
    a = masking.draw_masked((64, 28), "bernoulli", 0.15, torch.Generator().manual_seed(3))
    b = masking.draw_masked((64, 28), "bernoulli", 0.15, torch.Generator().manual_seed(3))
    c = masking.draw_masked((64, 28), "bernoulli", 0.15, torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_lm_and_lm_mlm_see_the_identical_input():
    lm = _built(LabelMask, seed=11)
    lm_mlm = _built(LabelMaskMLM, seed=11)
    assert lm.options.mask_count == lm_mlm.options.mask_count == "bernoulli"
    batch = _batch(lm)
    for _ in range(5):
        a, b = lm._views(batch, 0.0), lm_mlm._views(batch, 0.0)
        assert torch.equal(a.input_ids, b.input_ids) and torch.equal(a.bce_on, b.bce_on)
        assert a.mlm_positions is None and b.mlm_positions is not None


def test_lm_is_lm_mlm_with_lambda_zero(tmp_path):
    """Table 2's LM row and Figure 5's lambda = 0 point are the same model: the same seed
    gives the same losses and predictions (the unused MLM head disturbs no draw)."""
    from data_prep.synthetic import SyntheticConfig, write_synthetic
    from lmmtc.data import load_dataset

    config = SyntheticConfig(num_labels=4, n_train=48, n_dev=8, n_test=16, mean_length=5)
    data = load_dataset(write_synthetic(tmp_path, config))
    quick = {
        **TINY,
        "tiny_config": {"hidden_size": 32, "intermediate_size": 64},
        "max_len": 32,
        "epochs": 1,
        "max_steps": 6,
        "batch_size": 8,
        "lr": 1e-3,
    }
    runs = []
    for cls, extra in ((LabelMask, {}), (LabelMaskMLM, {"mlm_lambda": 0.0})):
        method = cls(**quick, **extra)
        method.fit(data.train, None, seed=3)
        runs.append((method.predict_scores(data.test.texts), method.loss_curve))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1]


def _count_encoder_calls(method, monkeypatch):
    shapes: list[tuple[int, ...]] = []
    encode = method.network.encode

    def spy(input_ids, attention_mask, output_attentions=False):
        shapes.append(tuple(input_ids.shape))
        return encode(input_ids, attention_mask, output_attentions)

    monkeypatch.setattr(method.network, "encode", spy)
    return shapes


def test_single_view_step_is_one_encoder_pass_and_a_head_over_masked_positions(lm_mlm, monkeypatch):
    method = lm_mlm
    batch = _batch(method)
    shapes = _count_encoder_calls(method, monkeypatch)
    head_rows: list[int] = []
    handle = method.network.mlm.register_forward_hook(
        lambda module, args, out: head_rows.append(args[0].shape[0])
    )
    try:
        method._gen.manual_seed(2)
        method._step(batch, 0.0)
    finally:
        handle.remove()
    method._gen.manual_seed(2)
    n_masked = int(method._views(batch, 0.0).bce_on.sum())
    assert shapes == [tuple(batch.input_ids.shape)]  # (B, T) once, not (2B, T)
    assert head_rows == [n_masked]  # the MLM head sees the masked positions only
    assert method.network.mlm.kind == "linear"  # eq. 3's W_m
    assert method.network.mlm.decoder.out_features == len(method.tokenizer)  # V'


def test_separate_view_stacks_two_views(monkeypatch):
    method = _built(LabelMaskMLM, reading="two-view", mask_prob=0.4)
    assert method.options.mask_count == "all"
    batch = _batch(method)
    b = batch.input_ids.shape[0]
    ids, attention, on, positions, targets, _ = method._views(batch, 0.0)
    assert ids.shape == (2 * b, batch.input_ids.shape[1]) and attention.shape == ids.shape
    assert on is None  # the BCE view masks every label
    assert bool((_states_at_labels(method, ids[:b], batch) == MASK).all())
    second = _states_at_labels(method, ids[b:], batch)
    masked = second == MASK
    assert torch.equal(second[~masked], batch.labels.long()[~masked])
    assert bool((positions[:, 0] >= b).all()) and positions.shape[0] == int(masked.sum())
    shapes = _count_encoder_calls(method, monkeypatch)
    method._step(batch, 0.0)
    assert shapes == [(2 * b, batch.input_ids.shape[1])]


def test_all_masked_lm_sees_the_inference_input():
    method = _built(LabelMask, mask_count="all")
    batch = _batch(method)
    ids, _, on, positions, _, lam = method._views(batch, 0.0)
    assert torch.equal(ids, batch.input_ids) and on is None and positions is None
    assert lam == 0.0


@pytest.mark.parametrize(
    ("cls", "params", "mask_count", "mlm_view", "mlm_head"),
    [
        (LabelMask, {}, "random", "single", None),
        (LabelMaskMLM, {}, "random", "single", "bert"),
        (LabelMask, {"reading": "paper-literal"}, "bernoulli", "single", None),
        (LabelMaskMLM, {"reading": "paper-literal"}, "bernoulli", "single", "linear"),
        (LabelMaskMLM, {"reading": "two-view"}, "all", "separate", "linear"),
        (
            LabelMaskMLM,
            {"reading": "paper-literal", "mlm_head": "bert"},
            "bernoulli",
            "single",
            "bert",
        ),
        (LabelMask, {"mask_count": "all"}, "all", "single", None),
        (LabelMaskMLM, {"mask_count": "random", "mlm_target": "text"}, "random", "single", "bert"),
        (Bert, {}, "all", "single", None),
        (BertMLM, {}, "all", "single", "bert"),
    ],
)
def test_options_resolve_and_run_info_records_them(cls, params, mask_count, mlm_view, mlm_head):
    method = cls(**params)
    opt = method.options
    assert (opt.mask_count, opt.mlm_view, opt.mlm_head) == (mask_count, mlm_view, mlm_head)
    info = method.run_info()
    assert (info["mask_count"], info["mlm_view"]) == (mask_count, mlm_view)
    assert info["options"]["mask_count"] == mask_count
    assert info["options"]["mlm_view"] == mlm_view
    again = cls(**info["options"]).options  # save/load passes the resolved options back
    assert (again.mask_count, again.mlm_view, again.mlm_head) == (mask_count, mlm_view, mlm_head)


@pytest.mark.parametrize(
    ("cls", "params", "match"),
    [
        (LabelMaskMLM, {"bce_input": "all_masked"}, "folded into mask_count"),
        (LabelMask, {"mlm_view": "separate"}, "needs mlm_target 'label'"),
        (BertMLM, {"mlm_view": "separate"}, "needs mlm_target 'label'"),
        (LabelMaskMLM, {"reading": "paper-literal", "mask_count": "all"}, "no visible label"),
        (Bert, {"mask_count": "bernoulli"}, "needs label tokens"),
        (LabelMask, {"reserve_template": True}, "reserve_template is for bert"),
        (LabelMaskMLM, {"mlm_view": "two"}, "mlm_view must be one of"),
        (LabelMaskMLM, {"mask_count": "some_visible"}, "mask_count must be one of"),
        (LabelMaskMLM, {"bce_on": "visible"}, "bce_on must be one of"),
    ],
)
def test_contradictory_options_fail_clearly(cls, params, match):
    with pytest.raises((TypeError, ValueError), match=match):
        cls(**params)


def test_reserve_template_gives_bert_lm_text_length():
    """On Reuters (L = 90) at 512 tokens lm reads 512 - 2 - 270 = 240 word pieces of text;
    bert with reserve_template reads the same 240, plain bert 510."""
    lm = LabelMask(backbone="tiny-random", max_len=512)
    bert = Bert(backbone="tiny-random", max_len=512)
    short = Bert(backbone="tiny-random", max_len=512, reserve_template=True)
    labels = [f"l{i}" for i in range(90)]
    config = type("Config", (), {"max_position_embeddings": 512})()
    for method in (lm, bert, short):
        method.label_names = labels
        method._set_lengths(config)
    assert (lm._budget, bert._budget, short._budget) == (240, 510, 240)
