"""Label tokens and the LM-MTC template (eq. 2 of the paper), encoding and batching.

Each label i (1-based, in labels.txt order) is written as three tokens
``[LS-i] [state] [LE-i]`` where the state is ``[YES-i]``, ``[NO-i]`` or ``[MASK-i]``. The
``same`` variant (Table 4) uses one shared ``[LS] [YES] [NO] [LMASK] [LE]`` for every label
(``[LMASK]``, not BERT's ``[MASK]``, so that the two variants differ only in sharing).
The template is put right after [CLS] (or at the end, before [SEP]) and is never
truncated: the text gets ``max_len - 3L - 2`` word pieces.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

NO, YES, MASK = 0, 1, 2  # label states, as stored in a (B, L) long tensor
TEMPLATES = ("diff", "same")
POSITIONS = ("after_cls", "end")


def label_token_strings(num_labels: int, variant: str) -> list[list[str]]:
    """``[[LS, YES, NO, MASK, LE] for each label]``: per label or shared."""
    if variant == "diff":
        return [
            [f"[LS-{i}]", f"[YES-{i}]", f"[NO-{i}]", f"[MASK-{i}]", f"[LE-{i}]"]
            for i in range(1, num_labels + 1)
        ]
    if variant == "same":
        return [["[LS]", "[YES]", "[NO]", "[LMASK]", "[LE]"]] * num_labels
    raise ValueError(f"template must be one of {TEMPLATES}, got {variant!r}")


@dataclass
class LabelTokens:
    """Token ids of the template, one row per label: (L,) tensors."""

    ls: torch.Tensor
    yes: torch.Tensor
    no: torch.Tensor
    mask: torch.Tensor
    le: torch.Tensor
    new_tokens: list[str]  # the distinct added token strings, in id order

    @property
    def num_labels(self) -> int:
        return int(self.ls.numel())

    def state_ids(self, states: torch.Tensor) -> torch.Tensor:
        """Token ids of label states (B, L) in {NO, YES, MASK} -> (B, L)."""
        table = torch.stack([self.no, self.yes, self.mask], dim=1).to(states.device)  # (L, 3)
        return table.gather(1, states.T).T  # (B, L)

    def template_ids(self, states: torch.Tensor) -> torch.Tensor:
        """(B, L) states -> (B, 3L) ids ``[LS-i] [state] [LE-i]`` for i = 1..L."""
        b = states.shape[0]
        ls = self.ls.to(states.device).expand(b, -1)
        le = self.le.to(states.device).expand(b, -1)
        return torch.stack([ls, self.state_ids(states), le], dim=2).reshape(b, -1)


def add_label_tokens(tokenizer, num_labels: int, variant: str) -> LabelTokens:
    """Add the template's tokens to ``tokenizer`` as special tokens; return their ids."""
    rows = label_token_strings(num_labels, variant)
    distinct = list(dict.fromkeys(tok for row in rows for tok in row))
    tokenizer.add_special_tokens(
        {"additional_special_tokens": distinct}, replace_extra_special_tokens=False
    )
    ids = torch.tensor([tokenizer.convert_tokens_to_ids(row) for row in rows])  # (L, 5)
    unk = tokenizer.unk_token_id
    if unk is not None and bool((ids == unk).any()):
        raise RuntimeError("the tokenizer did not accept the label tokens")
    return LabelTokens(ids[:, 0], ids[:, 1], ids[:, 2], ids[:, 3], ids[:, 4], distinct)


@dataclass
class Encoded:
    """Tokenised texts, before the template: word-piece ids truncated to the text budget."""

    text_ids: list[list[int]]
    labels: torch.Tensor | None  # (n, L) float, or None at prediction time


def text_budget(max_len: int, num_labels: int, with_template: bool) -> int:
    """Word pieces left for the text: max_len - 3L - 2 ([CLS], [SEP])."""
    budget = max_len - 2 - (3 * num_labels if with_template else 0)
    if budget < 1:
        raise ValueError(
            f"max_len {max_len} leaves no room for text after a template of {num_labels} labels "
            f"(3L + 2 = {3 * num_labels + 2} tokens): raise max_len"
        )
    return budget


def encode_texts(tokenizer, texts: Sequence[str], budget: int, labels=None) -> Encoded:
    """Word-piece ids of each text, cut to ``budget`` (the template is added per batch)."""
    batch = tokenizer(list(texts), add_special_tokens=False, truncation=True, max_length=budget)[
        "input_ids"
    ]
    y = None if labels is None else torch.as_tensor(labels, dtype=torch.float32)
    return Encoded([list(ids) for ids in batch], y)


@dataclass
class Batch:
    """A padded batch. ``input_ids`` carries every label state as MASK; views change them."""

    input_ids: torch.Tensor  # (B, T)
    attention_mask: torch.Tensor  # (B, T)
    state_pos: torch.Tensor | None  # (B, L) position of each label's state token
    text_mask: torch.Tensor  # (B, T) bool: True at text word pieces (MLM candidates)
    labels: torch.Tensor | None  # (B, L) float


def collate(
    text_ids: Sequence[list[int]],
    labels: torch.Tensor | None,
    *,
    cls_id: int,
    sep_id: int,
    pad_id: int,
    tokens: LabelTokens | None,
    position: str = "after_cls",
) -> Batch:
    """Build ``[CLS] template text [SEP]`` (or ``[CLS] text template [SEP]``), padded to the
    longest row of the batch (dynamic padding). Without ``tokens``: ``[CLS] text [SEP]``."""
    if position not in POSITIONS:
        raise ValueError(f"template_position must be one of {POSITIONS}, got {position!r}")
    b = len(text_ids)
    n_lab = tokens.num_labels if tokens is not None else 0
    lengths = [len(ids) + 2 + 3 * n_lab for ids in text_ids]
    t = max(lengths)
    input_ids = torch.full((b, t), pad_id, dtype=torch.long)
    attention = torch.zeros((b, t), dtype=torch.long)
    text_mask = torch.zeros((b, t), dtype=torch.bool)
    state_pos = None
    if tokens is not None:
        template = tokens.template_ids(torch.full((1, n_lab), MASK, dtype=torch.long))[0]
        state_pos = torch.empty((b, n_lab), dtype=torch.long)
    for row, ids in enumerate(text_ids):
        n = len(ids)
        input_ids[row, 0] = cls_id
        start = 1 + (3 * n_lab if position == "after_cls" else 0)  # first text position
        input_ids[row, start : start + n] = torch.as_tensor(ids, dtype=torch.long)
        text_mask[row, start : start + n] = True
        if tokens is not None:
            tpl = 1 if position == "after_cls" else 1 + n
            input_ids[row, tpl : tpl + 3 * n_lab] = template
            state_pos[row] = tpl + 1 + 3 * torch.arange(n_lab)
        input_ids[row, lengths[row] - 1] = sep_id
        attention[row, : lengths[row]] = 1
    return Batch(input_ids, attention, state_pos, text_mask, labels)
