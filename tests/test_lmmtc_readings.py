"""The declared readings of LM-MTC (lmmtc/transformers/readings.py): what each sets, top-p
inference on a hand-worked example, C-Tran masking, label noise, per-label token types,
and model selection that a tie on dev micro-F1 cannot fool."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml
from torch import nn

from lmmtc.transformers import masking
from lmmtc.transformers.methods import LabelMask, LabelMaskMLM
from lmmtc.transformers.readings import (
    MLM_KEYS,
    READING_KEYS,
    READINGS,
    decision_table,
    get_reading,
)
from lmmtc.transformers.template import MASK, NO, YES, encode_texts, label_token_types
from lmmtc.transformers.trainer import DevScore, LoopResult, _evaluate_epoch

ROOT = Path(__file__).resolve().parents[1]
LABELS = ["a", "b", "c"]
TINY = {"backbone": "tiny-random", "max_len": 40, "progress": False, "device": "cpu"}


def _built(cls=LabelMask, **params):
    method = cls(**{**TINY, **params})
    method._build(LABELS, None, seed=0)
    return method


def _batch(method, texts=("one two", "three"), labels=((1, 0, 1), (0, 1, 0))):
    enc = encode_texts(method.tokenizer, list(texts), method._budget)
    return method._collate(enc.text_ids, torch.tensor(labels, dtype=torch.float32))


# --- the declarations -------------------------------------------------------------------


@pytest.mark.parametrize("name", list(READINGS))
@pytest.mark.parametrize("cls", [LabelMask, LabelMaskMLM])
def test_every_reading_builds_and_sets_what_it_declares(name, cls):
    options = cls(reading=name).options
    reading = get_reading(name)
    for key, value in reading.options.items():
        assert getattr(options, key) == value, key
    if cls is LabelMaskMLM:
        for key, value in reading.mlm.items():
            assert getattr(options, key) == value, key
    else:
        assert options.mlm_target is None and options.mlm_head is None
    assert options.reading == name


def test_defaults_follow_the_stated_rule():
    """lm: the authors' label-mask training with the paper's one pass; lm_mlm adds the text
    MLM at the paper's fixed lambda 0.05, the auxiliary bert_mlm has too."""
    from baselines.bert import BertMLM

    lm, lm_mlm, bert_mlm = LabelMask().options, LabelMaskMLM().options, BertMLM().options
    assert (lm.reading, lm.mask_count, lm.label_noise, lm.token_types, lm.inference) == (
        "default",
        "random",
        0.01,
        "per_label",
        "one_pass",
    )
    assert lm.mlm_target is None
    assert (lm_mlm.mlm_target, lm_mlm.mlm_lambda, lm_mlm.mlm_until) == ("text", 0.05, None)
    assert (lm_mlm.mlm_target, lm_mlm.mlm_head, lm_mlm.mask_prob) == (
        bert_mlm.mlm_target,
        bert_mlm.mlm_head,
        bert_mlm.mask_prob,
    )
    assert bert_mlm.reading is None


def test_params_override_a_reading_and_unknown_readings_are_named():
    assert LabelMask(reading="authors-code", inference="one_pass").options.inference == "one_pass"
    with pytest.raises(ValueError, match="unknown reading 'authors'.*Known: default"):
        LabelMask(reading="authors")
    from baselines.bert import Bert

    with pytest.raises(ValueError, match="readings are for lm and lm_mlm"):
        Bert(reading="default")


def test_method_files_set_no_reading_key():
    """A key a reading owns, set in a method YAML, would silently override every reading."""
    owned = set(READING_KEYS) | set(MLM_KEYS)
    folder = next((ROOT / "benchmarks").rglob("configs/methods"))
    paths = sorted(folder.glob("lm*.yaml")) + [folder / "_transformer.yaml"]
    assert len(paths) >= 3
    for path in paths:
        text = yaml.safe_load(path.read_text(encoding="utf-8"))
        layers = [text.get("defaults") or {}]
        for profile in (text.get("profiles") or {}).values():
            layers.append(profile or {})
            layers += list(((profile or {}).get("datasets") or {}).values())
        for layer in layers:
            assert not owned & set(layer), f"{path.name} sets {owned & set(layer)}"


def test_docs_readings_table_is_the_declarations():
    committed = (ROOT / "docs" / "readings.md").read_text(encoding="utf-8")
    assert decision_table() in committed, "regenerate docs/readings.md (see its header)"


def test_ablation_runs_every_reading():
    from benchmarks.suite.experiments import EXPERIMENTS

    variants = {v.name: v.params for v in EXPERIMENTS["ablation"].variants}
    for name in READINGS:
        assert variants["" if name == "default" else name].get("reading", "default") == name


def test_a_readings_options_reach_the_run_info(tmp_path):
    """A fitted cell records its reading, every resolved option and what chose its epoch."""
    from data_prep.synthetic import SyntheticConfig, write_synthetic
    from lmmtc.data import load_dataset

    config = SyntheticConfig(num_labels=3, n_train=24, n_dev=8, n_test=8, mean_length=5)
    data = load_dataset(write_synthetic(tmp_path, config))
    method = LabelMaskMLM(
        **{**TINY, "reading": "authors-code", "epochs": 1, "batch_size": 8, "text_len": 16}
    )
    method.fit(data.train, data.dev, seed=1)
    info = method.run_info()
    assert info["options"]["reading"] == "authors-code"
    assert info["options"]["inference"] == "top_p"
    assert info["options"]["mlm_until"] == 0.6
    assert info["token_types"] == "per_label"
    assert info["selected_by"].startswith("dev ")
    assert len(info["dev_lrap_per_epoch"]) == 1


# --- inference ----------------------------------------------------------------------------


def test_top_p_inference_on_a_hand_worked_three_label_example(monkeypatch):
    """Pass 1 (all masked): p = (0.60, 0.10, 0.55); label b is farthest from 0.5 -> fixed
    at 0.10, NO written. Pass 2 (b = NO): p = (0.70, -, 0.45); a is farther (0.20 vs
    0.05) -> fixed at 0.70, YES written. Pass 3 (a = YES, b = NO): c -> 0.80. Scores
    (0.70, 0.10, 0.80); one pass would give (0.60, 0.10, 0.55)."""
    method = _built(reading="authors-code")
    batch = _batch(method, texts=("one two",), labels=((0, 0, 0),))
    table = {
        (MASK, MASK, MASK): (0.60, 0.10, 0.55),
        (MASK, NO, MASK): (0.70, 0.99, 0.45),
        (YES, NO, MASK): (0.99, 0.99, 0.80),
    }
    tokens = method.tokens
    seen = []

    def fake_probs(ids, attention, state_pos):
        at = ids.gather(1, state_pos)[0]  # (L,) token ids of the states
        states = tuple(
            MASK if int(t) == int(m) else YES if int(t) == int(y) else NO
            for t, m, y in zip(at, tokens.mask, tokens.yes)
        )
        seen.append(states)
        return torch.tensor([table[states]])

    monkeypatch.setattr(method, "_label_probs", fake_probs)
    scores = method._batch_scores(batch)
    assert scores.tolist()[0] == pytest.approx([0.70, 0.10, 0.80])
    assert seen == list(table)  # three passes, in this order
    one_pass = _built(reading="authors-code-one-pass")
    monkeypatch.setattr(one_pass, "_label_probs", fake_probs)
    seen.clear()
    assert one_pass._batch_scores(batch).tolist()[0] == pytest.approx([0.60, 0.10, 0.55])
    assert len(seen) == 1


def test_top_p_on_the_real_network_matches_one_pass_on_its_first_fixed_label():
    """The label top-p fixes first is scored on the all-masked input, as one pass scores it."""
    top_p = _built(reading="authors-code")
    batch = _batch(top_p)
    top_p.network.eval()
    with torch.no_grad():
        first = top_p._label_probs(batch.input_ids, batch.attention_mask, batch.state_pos)
        iterated = top_p._batch_scores(batch)
    pick = (first - 0.5).abs().argmax(dim=1)
    rows = torch.arange(len(pick))
    assert torch.allclose(iterated[rows, pick], first[rows, pick])
    assert bool(((iterated > 0) & (iterated < 1)).all())


# --- training inputs ----------------------------------------------------------------------


def test_ctran_masks_a_quarter_to_all_of_the_labels_in_each_row():
    gen = torch.Generator().manual_seed(0)
    masked = masking.draw_masked((4000, 10), "ctran", 0.15, gen)  # (B, L)
    counts = masked.sum(1)
    assert int(counts.min()) == 3 and int(counts.max()) == 10  # ceil(10 / 4) .. 10
    assert set(counts.tolist()) == set(range(3, 11))  # every k drawn, per row
    assert abs(float(counts.float().mean()) - 6.5) < 0.1


def test_label_noise_flips_visible_labels_at_its_rate_and_never_masked_ones():
    gen = torch.Generator().manual_seed(0)
    labels = (torch.rand((2000, 8), generator=gen) < 0.3).float()
    masked = torch.rand((2000, 8), generator=gen) < 0.5
    states = masking.masked_states(labels, masked, 0.2, gen)
    assert bool((states[masked] == MASK).all())
    shown = masking.gold_states(labels)[~masked]
    rate = float((states[~masked] != shown).float().mean())
    assert 0.18 < rate < 0.22
    assert torch.equal(
        masking.masked_states(labels, masked), masking.masked_states(labels, masked, 0.0, gen)
    )


def test_per_label_token_types_mark_each_labels_three_tokens():
    method = _built()  # default reading: per_label token types
    batch = _batch(method)
    types = label_token_types(batch.input_ids, batch.state_pos)  # (B, T)
    pos = batch.state_pos[0]
    for i, p in enumerate(pos.tolist()):
        assert types[0, p - 1 : p + 2].tolist() == [2 + i] * 3
    assert int((types[0] > 0).sum()) == 3 * len(LABELS)
    encoder = method.network.encoder
    assert encoder.config.type_vocab_size == 2 + len(LABELS)
    assert encoder.embeddings.token_type_embeddings.num_embeddings == 2 + len(LABELS)
    assert method.network.label_types
    assert not _built(reading="paper-literal").network.label_types


# --- model selection ----------------------------------------------------------------------


class _Bar:
    def set_postfix(self, **_):
        pass


@pytest.mark.parametrize(
    ("scores", "best_epoch", "criterion"),
    [
        ([(0.0, 0.30), (0.0, 0.50), (0.0, 0.40)], 2, "dev lrap (dev micro_f1 0 at every epoch)"),
        ([(0.20, 0.9), (0.30, 0.40), (0.30, 0.60)], 3, "dev lrap (tie on dev micro_f1 0.3000)"),
        ([(0.10, 0.9), (0.30, 0.40), (0.20, 0.60)], 2, "dev micro_f1"),
    ],
)
def test_model_selection_breaks_ties_and_zeros_by_lrap(scores, best_epoch, criterion):
    model = nn.Linear(2, 1)
    result, best_state = LoopResult(), None
    for epoch, (f1, lrap) in enumerate(scores):
        with torch.no_grad():
            model.bias.fill_(float(epoch))  # the weights tell the epochs apart
        best_state = _evaluate_epoch(
            lambda f1=f1, lrap=lrap: DevScore(f1, lrap), result, model, best_state, epoch, _Bar()
        )
    assert result.best_epoch == best_epoch
    assert result.selected_by == criterion
    assert float(best_state["bias"]) == best_epoch - 1
    assert result.dev_lrap == [s[1] for s in scores]
