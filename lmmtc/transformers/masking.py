"""Which label tokens a training input masks, the inputs built from that, and the MLM
targets.

Every random draw takes an explicit ``torch.Generator`` so that a seed fixes the run.
"""

from __future__ import annotations

import torch

from lmmtc.transformers.template import MASK, NO, YES, LabelTokens

IGNORE = -100
MASK_COUNTS = ("bernoulli", "random", "ctran", "all")


def gold_states(labels: torch.Tensor) -> torch.Tensor:
    """(B, L) 0/1 labels -> (B, L) states YES/NO."""
    return torch.where(labels > 0.5, YES, NO).long()


def draw_masked(
    shape: tuple[int, int], mask_count: str, prob: float, gen: torch.Generator | None
) -> torch.Tensor:
    """(B, L) bool: which label tokens a training input masks.

    ``bernoulli``: each label independently with ``prob``, at least one per row (a row
    with none gets one label chosen uniformly; the paper's "mask the token with a certain
    probability", 0.15). ``random``: k ~ U{1..L} per batch, k random labels per row (the
    authors' code). ``ctran``: k ~ U{ceil(L/4)..L} drawn for each row (C-Tran's 25%-100%
    unknown). ``all``: every label (the inference input)."""
    b, n_lab = shape
    if mask_count == "all":
        return torch.ones((b, n_lab), dtype=torch.bool)
    if mask_count in ("random", "ctran"):
        if mask_count == "random":
            k = torch.randint(1, n_lab + 1, (1,), generator=gen).expand(b)  # (B,) one k
        else:
            low = -(-n_lab // 4)  # ceil(L / 4)
            k = torch.randint(low, n_lab + 1, (b,), generator=gen)  # (B,) a k a row
        order = torch.rand((b, n_lab), generator=gen).argsort(dim=1)  # a permutation a row
        rank = order.argsort(dim=1)  # (B, L): each label's place in its row's permutation
        return rank < k[:, None]
    if mask_count != "bernoulli":
        raise ValueError(f"mask_count must be one of {MASK_COUNTS}, got {mask_count!r}")
    masked = torch.rand((b, n_lab), generator=gen) < prob  # (B, L)
    fallback = torch.randint(0, n_lab, (b,), generator=gen)  # (B,) drawn for every row
    empty = ~masked.any(dim=1)  # (B,)
    masked[empty, fallback[empty]] = True
    return masked


def masked_states(
    labels: torch.Tensor,
    masked: torch.Tensor,
    noise: float = 0.0,
    gen: torch.Generator | None = None,
) -> torch.Tensor:
    """(B, L) labels and (B, L) bool mask -> states: MASK where masked, else gold YES/NO,
    each visible one flipped with probability ``noise`` (the authors' wrong_label_ratio;
    no draw at all when it is 0, so that the other draws stay as they were)."""
    shown = gold_states(labels)  # (B, L)
    if noise > 0:
        flip = torch.rand(tuple(labels.shape), generator=gen) < noise  # (B, L)
        shown = torch.where(flip, YES + NO - shown, shown)
    return torch.where(masked, MASK, shown)


def apply_states(
    input_ids: torch.Tensor, state_pos: torch.Tensor, states: torch.Tensor, tokens: LabelTokens
) -> torch.Tensor:
    """A copy of ``input_ids`` (B, T) with each label's state token set from ``states`` (B, L)."""
    out = input_ids.clone()
    out.scatter_(1, state_pos, tokens.state_ids(states).to(out.device))
    return out


def label_targets(
    state_pos: torch.Tensor, labels: torch.Tensor, masked: torch.Tensor, tokens: LabelTokens
) -> tuple[torch.Tensor, torch.Tensor]:
    """The label MLM's targets: (N, 2) (row, column) of the masked label tokens and (N,)
    their gold YES-i/NO-i ids, in row-major order of ``masked`` (B, L)."""
    rows, cols = masked.nonzero(as_tuple=True)
    positions = torch.stack([rows, state_pos[rows, cols]], dim=1)  # (N, 2)
    targets = tokens.state_ids(gold_states(labels))[rows, cols]  # (N,)
    return positions, targets


def label_mlm_view(
    input_ids: torch.Tensor,
    state_pos: torch.Tensor,
    labels: torch.Tensor,
    tokens: LabelTokens,
    prob: float,
    gen: torch.Generator | None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """An input with the gold labels shown as YES-i/NO-i, each masked ``bernoulli`` with
    ``prob`` (at least one a row), and its label MLM targets.

    Returns (ids (B, T), positions (N, 2) of the masked label tokens as (row, column),
    targets (N,) the true YES-i/NO-i ids)."""
    masked = draw_masked(tuple(labels.shape), "bernoulli", prob, gen)  # (B, L)
    ids = apply_states(input_ids, state_pos, masked_states(labels, masked), tokens)
    positions, targets = label_targets(state_pos, labels, masked, tokens)
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
