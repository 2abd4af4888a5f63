"""The training views of a batch: which label states the BCE pass sees, and the MLM masks.

Every random draw takes an explicit ``torch.Generator`` so that a seed fixes the run.
"""

from __future__ import annotations

import torch

from lmmtc.transformers.template import MASK, NO, YES, LabelTokens

IGNORE = -100


def gold_states(labels: torch.Tensor) -> torch.Tensor:
    """(B, L) 0/1 labels -> (B, L) states YES/NO."""
    return torch.where(labels > 0.5, YES, NO).long()


def bce_states(labels: torch.Tensor, mask_count: str, gen: torch.Generator | None) -> torch.Tensor:
    """States of the BCE pass: every label MASK (``all``, the inference input), or a random
    number k ~ U{1..L} of labels per batch masked, the others shown as YES/NO (``random``)."""
    b, n_lab = labels.shape
    if mask_count == "all":
        return torch.full((b, n_lab), MASK, dtype=torch.long)
    if mask_count != "random":
        raise ValueError(f"mask_count must be 'all' or 'random', got {mask_count!r}")
    k = int(torch.randint(1, n_lab + 1, (1,), generator=gen))
    order = torch.rand((b, n_lab), generator=gen).argsort(dim=1)  # a random permutation a row
    masked = torch.zeros((b, n_lab), dtype=torch.bool).scatter_(1, order[:, :k], True)
    return torch.where(masked, MASK, gold_states(labels))


def apply_states(
    input_ids: torch.Tensor, state_pos: torch.Tensor, states: torch.Tensor, tokens: LabelTokens
) -> torch.Tensor:
    """A copy of ``input_ids`` (B, T) with each label's state token set from ``states`` (B, L)."""
    out = input_ids.clone()
    out.scatter_(1, state_pos, tokens.state_ids(states).to(out.device))
    return out


def label_mlm_view(
    input_ids: torch.Tensor,
    state_pos: torch.Tensor,
    labels: torch.Tensor,
    tokens: LabelTokens,
    prob: float,
    gen: torch.Generator | None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The label MLM view: the gold labels shown as YES-i/NO-i, each masked with ``prob``.

    Returns (ids (B, T), positions (N, 2) of the masked label tokens as (row, column),
    targets (N,) the true YES-i/NO-i ids)."""
    gold = gold_states(labels)  # (B, L)
    masked = torch.rand(gold.shape, generator=gen) < prob  # (B, L)
    ids = apply_states(input_ids, state_pos, torch.where(masked, MASK, gold), tokens)
    rows, cols = masked.nonzero(as_tuple=True)
    positions = torch.stack([rows, state_pos[rows, cols]], dim=1)  # (N, 2)
    targets = tokens.state_ids(gold)[rows, cols]  # (N,)
    return ids, positions, targets


def text_mlm_view(
    input_ids: torch.Tensor,
    text_mask: torch.Tensor,
    mask_id: int,
    vocab_size: int,
    prob: float,
    gen: torch.Generator | None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """BERT's text MLM: each text word piece chosen with ``prob``; of those 80% -> [MASK],
    10% -> a random word piece of the original vocabulary, 10% kept.

    Returns (ids (B, T), positions (N, 2), targets (N,) the original ids)."""
    chosen = (torch.rand(input_ids.shape, generator=gen) < prob) & text_mask  # (B, T)
    roll = torch.rand(input_ids.shape, generator=gen)
    random_ids = torch.randint(0, vocab_size, input_ids.shape, generator=gen)
    ids = input_ids.clone()
    ids = torch.where(chosen & (roll < 0.8), mask_id, ids)
    ids = torch.where(chosen & (roll >= 0.8) & (roll < 0.9), random_ids, ids)
    rows, cols = chosen.nonzero(as_tuple=True)
    return ids, torch.stack([rows, cols], dim=1), input_ids[rows, cols]
