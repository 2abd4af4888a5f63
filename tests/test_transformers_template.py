"""LM-MTC template, input views and MLM masking (no training; a second or two)."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest
import torch

from lmmtc.transformers import masking
from lmmtc.transformers.backbone import tiny_random_backbone
from lmmtc.transformers.methods import LabelMaskMLM
from lmmtc.transformers.template import (
    MASK,
    NO,
    YES,
    add_label_tokens,
    collate,
    encode_texts,
    label_token_strings,
    text_budget,
)

LABELS = ["sports", "politics", "science"]


@pytest.fixture(scope="module")
def tokenizer():
    return tiny_random_backbone().tokenizer


def _ids(tok, strings):
    return tok.convert_tokens_to_ids(strings)


def test_template_ids_for_known_states(tokenizer):
    tok = tokenizer
    base = len(tok)
    tokens = add_label_tokens(tok, 3, "diff")
    assert len(tok) == base + 15  # 5L new tokens
    assert all(i >= base for i in tokens.ls.tolist() + tokens.le.tolist())
    ids = tokens.template_ids(torch.tensor([[YES, NO, MASK]]))[0].tolist()
    expected = [
        "[LS-1]",
        "[YES-1]",
        "[LE-1]",
        "[LS-2]",
        "[NO-2]",
        "[LE-2]",
        "[LS-3]",
        "[MASK-3]",
        "[LE-3]",
    ]
    assert ids == _ids(tok, expected)
    # the tokenizer keeps each label token whole (special token), never splits it
    assert (
        tok("[MASK-3] word", add_special_tokens=False)["input_ids"][0] == _ids(tok, ["[MASK-3]"])[0]
    )


def test_same_variant_shares_tokens(tokenizer):
    rows = label_token_strings(4, "same")
    assert all(row == ["[LS]", "[YES]", "[NO]", "[LMASK]", "[LE]"] for row in rows)
    tokens = add_label_tokens(tokenizer, 4, "same")
    ids = tokens.template_ids(torch.tensor([[YES, NO, MASK, YES]]))[0].tolist()
    ls, yes, no, lmask, le = _ids(tokenizer, rows[0])
    assert ids == [ls, yes, le, ls, no, le, ls, lmask, le, ls, yes, le]


@pytest.mark.parametrize("position", ["after_cls", "end"])
def test_template_never_truncated_text_is(tokenizer, position):
    tok = tokenizer
    tokens = add_label_tokens(tok, 3, "diff")
    max_len = 20
    budget = text_budget(max_len, 3, with_template=True)
    assert budget == max_len - 3 * 3 - 2
    enc = encode_texts(tok, ["a b c d e f g h i j k l m n o p q r s t", "short"], budget)
    assert len(enc.text_ids[0]) == budget
    batch = collate(
        enc.text_ids,
        None,
        cls_id=tok.cls_token_id,
        sep_id=tok.sep_token_id,
        pad_id=tok.pad_token_id,
        tokens=tokens,
        position=position,
    )
    assert batch.input_ids.shape == (2, max_len)
    template = tokens.template_ids(torch.full((1, 3), MASK))[0]
    for row in range(2):
        ids = batch.input_ids[row]
        assert ids[0] == tok.cls_token_id
        start = 1 if position == "after_cls" else 1 + len(enc.text_ids[row])
        assert ids[start : start + 9].tolist() == template.tolist()
        assert ids[batch.state_pos[row]].tolist() == tokens.mask.tolist()
        n = int(batch.attention_mask[row].sum())
        assert ids[n - 1] == tok.sep_token_id
        assert int(batch.text_mask[row].sum()) == len(enc.text_ids[row])
    with pytest.raises(ValueError, match="raise max_len"):
        text_budget(10, 3, with_template=True)


@pytest.fixture(scope="module")
def lm_mlm_method():
    """An lm_mlm method built (not trained) on the tiny random BERT."""
    method = LabelMaskMLM(
        backbone="tiny-random",
        max_len=32,
        mask_prob=0.5,
        progress=False,
        reading="paper-literal",  # the label MLM over V'
    )
    method._build(LABELS, None, seed=0)
    method._gen = torch.Generator().manual_seed(0)
    return method


def _batch(method, labels):
    enc = encode_texts(method.tokenizer, ["one two three", "four five", "six"], method._budget)
    return method._collate(enc.text_ids, torch.tensor(labels, dtype=torch.float32))


def test_no_gold_label_visible_in_the_bce_view_of_the_separate_reading():
    """mlm_view 'separate' (the suite's earlier default): the BCE rows are the inference
    input; the single view of Algorithm 1 is tested in test_lmmtc_objective.py."""
    method = LabelMaskMLM(
        backbone="tiny-random", max_len=32, mask_prob=0.5, reading="two-view", progress=False
    )
    method._build(LABELS, None, seed=0)
    method._gen = torch.Generator().manual_seed(0)
    tokens = method.tokens
    batch = _batch(method, [[1, 0, 1], [0, 1, 0], [1, 1, 1]])
    gold = set(tokens.yes.tolist() + tokens.no.tolist())
    for _ in range(5):
        ids, _, on, positions, targets, lam = method._views(batch, epoch=0.0)
        bce_rows = ids[:3]  # the label MLM view is stacked below the BCE rows
        assert not any(int(i) in gold for i in bce_rows.flatten())
        assert bce_rows.gather(1, batch.state_pos).tolist() == [tokens.mask.tolist()] * 3
        assert on is None and lam == pytest.approx(0.05)


def test_label_mlm_positions_are_the_masked_ones(lm_mlm_method):
    method, tokens = lm_mlm_method, lm_mlm_method.tokens
    labels = torch.tensor([[1, 0, 1], [0, 1, 0], [1, 1, 1]], dtype=torch.float32)
    batch = _batch(method, labels.tolist())
    gen = torch.Generator().manual_seed(3)
    ids, positions, targets = masking.label_mlm_view(
        batch.input_ids, batch.state_pos, labels, tokens, 0.5, gen
    )
    mask_ids = set(tokens.mask.tolist())
    masked_here = {
        (r, int(c)) for r in range(3) for c in batch.state_pos[r] if int(ids[r, c]) in mask_ids
    }
    assert masked_here == {tuple(p) for p in positions.tolist()}
    assert 0 < len(masked_here) < 9
    for (r, c), target in zip(positions.tolist(), targets.tolist(), strict=True):
        label = batch.state_pos[r].tolist().index(c)
        assert target == (tokens.yes if labels[r, label] else tokens.no)[label]
    # unmasked label tokens show the gold state
    for r in range(3):
        for j, c in enumerate(batch.state_pos[r].tolist()):
            if (r, c) not in masked_here:
                expected = tokens.yes[j] if labels[r, j] else tokens.no[j]
                assert int(ids[r, c]) == int(expected)


def test_text_mlm_masks_only_text(lm_mlm_method):
    method = lm_mlm_method
    batch = _batch(method, [[1, 0, 1], [0, 1, 0], [1, 1, 1]])
    gen = torch.Generator().manual_seed(0)
    ids, positions, targets = masking.text_mlm_view(
        batch.input_ids, batch.text_mask, method.tokenizer.mask_token_id, 100, 0.9, gen
    )
    assert positions.shape[0] > 0
    assert all(batch.text_mask[r, c] for r, c in positions.tolist())
    changed = (ids != batch.input_ids).nonzero().tolist()
    assert {tuple(p) for p in changed} <= {tuple(p) for p in positions.tolist()}
    assert targets.tolist() == [int(batch.input_ids[r, c]) for r, c in positions.tolist()]


def test_mlm_loss_only_at_masked_positions(lm_mlm_method):
    """Gathered-position MLM equals full-vocabulary MLM with -100 labels elsewhere, and a
    change to any unmasked position's would-be target leaves the loss unchanged."""
    net = lm_mlm_method.network.eval()
    torch.manual_seed(0)
    hidden = torch.randn(2, 7, net.encoder.config.hidden_size)
    positions = torch.tensor([[0, 2], [1, 5]])
    targets = torch.tensor([11, 42])
    gathered = torch.nn.functional.cross_entropy(net.mlm_logits(hidden, positions), targets)
    full_labels = torch.full((2, 7), masking.IGNORE)
    full_labels[0, 2], full_labels[1, 5] = 11, 42
    full = net.mlm(hidden.reshape(-1, hidden.shape[-1]))  # (B*T, V')
    reference = torch.nn.functional.cross_entropy(full, full_labels.flatten(), ignore_index=-100)
    assert torch.allclose(gathered, reference, atol=1e-6)
    full_labels[0, 3] = 7  # an unmasked position gets a target: the gathered loss ignores it
    assert torch.allclose(
        gathered, torch.nn.functional.cross_entropy(net.mlm_logits(hidden, positions), targets)
    )


def test_random_mask_count_and_bce_on_masked(tokenizer):
    method = LabelMaskMLM(
        backbone="tiny-random",
        max_len=32,
        mask_count="random",
        bce_on="masked",
        readout="label",
        label_head="shared",
        progress=False,
    )
    method._build(LABELS, None, seed=0)
    method._gen = torch.Generator().manual_seed(1)
    batch = _batch(method, [[1, 0, 1], [0, 1, 0], [1, 1, 1]])
    ids, _, on, _, _, _ = method._views(batch, 0.0)
    states = ids[:3].gather(1, batch.state_pos)
    is_mask = states == method.tokens.mask
    assert torch.equal(on, is_mask)
    assert is_mask.any() and int(is_mask.sum(1)[0]) == int(is_mask.sum(1)[1])  # k per batch


def test_options_reject_contradictions():
    with pytest.raises(TypeError, match="Did you mean"):
        LabelMaskMLM(mlm_lambada=0.1)
    with pytest.raises(ValueError, match="readout"):
        LabelMaskMLM(readout="pooler")
    with pytest.raises(TypeError, match="folded into mask_count"):
        LabelMaskMLM(bce_input="all_masked")
    with pytest.raises(ValueError, match="no visible label"):
        LabelMaskMLM(reading="paper-literal", mask_count="all")
    from baselines.bert import Bert

    with pytest.raises(ValueError, match="without a template"):
        Bert(readout="label")
    assert LabelMaskMLM(mlm_schedule=[[2, 1.0]]).options.lambda_at(1.5) == 1.0
    assert LabelMaskMLM(mlm_schedule=[[2, 1.0]]).options.lambda_at(2.0) == 0.05


@pytest.mark.parametrize("name", ["bert", "bert_mlm", "lm", "lm_mlm"])
def test_every_config_cell_constructs_the_method(name):
    """Each profile x data set of configs/methods/<name>.yaml gives valid keywords."""
    from benchmarks.suite.config import resolve
    from lmmtc.registry import get_method

    for profile in ("smoke", "cpu", "paper"):
        for dataset in ("gaic", "aapd", "reuters", "rmsc", "goemotions", "toxic"):
            get_method(name).cls(**resolve(name, dataset, profile).params)
