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


def label_token_types(input_ids: torch.Tensor, state_pos: torch.Tensor) -> torch.Tensor:
    """(B, T) token type ids: 2 + i at label i's three template tokens ``[LS-i] [state]
    [LE-i]`` (0-based i; state_pos (B, L) is the middle one), 0 elsewhere (the authors'
    token_type_strategy 'diff')."""
    b, n_lab = state_pos.shape
    types = torch.zeros_like(input_ids)
    value = (2 + torch.arange(n_lab, device=state_pos.device)).expand(b, -1)  # (B, L)
    for offset in (-1, 0, 1):
        types.scatter_(1, state_pos + offset, value)
    return types


def batch_pin_memory(batch: Batch) -> Batch:
    """``batch`` with its tensors in page-locked memory (CUDA only): host-to-device copies
    from it can run asynchronously (``non_blocking=True``)."""
    pin = lambda t: None if t is None else t.pin_memory()  # noqa: E731
    return Batch(
        pin(batch.input_ids),
        pin(batch.attention_mask),
        pin(batch.state_pos),
        pin(batch.text_mask),
        pin(batch.labels),
    )


# --- packed rows: the whole split laid out once, batches by indexing ------------------


def bucket_lengths(max_len: int, count: int) -> list[int]:
    """``count`` evenly spaced sequence lengths up to ``max_len``, each a multiple of 8
    (tensor-core friendly) but the last, which is ``max_len`` itself: the few shapes a
    bucket-padded batch can take (e.g. 512, 8 -> 64, 128, ..., 512; 148, 8 -> 24, ..., 144,
    148)."""
    if count < 1:
        raise ValueError(f"bucket_count must be >= 1, got {count}")
    step = -(-max_len // count)  # ceil
    step = -(-step // 8) * 8
    lengths = [min(k * step, max_len) for k in range(1, count + 1)]
    return sorted(set(lengths) | {max_len})


def padded_length(longest: int, buckets: Sequence[int] | None) -> int:
    """The length a batch whose longest row has ``longest`` tokens is padded to: itself
    (dynamic padding) without buckets, else the smallest bucket that holds it."""
    if not buckets:
        return longest
    for length in buckets:
        if length >= longest:
            return length
    raise ValueError(f"a row of {longest} tokens is longer than the largest bucket {buckets[-1]}")


@dataclass
class PackedRows:
    """Every row of a split laid out once as ``[CLS] template text [SEP]`` (or ``[CLS] text
    template [SEP]``), right-padded to the longest row: a batch is then a slice of rows and
    a few vectorised masks, with no Python loop over rows and no tokenisation per step."""

    ids: torch.Tensor  # (n, W) int32, W = the longest row
    total: torch.Tensor  # (n,) long: tokens per row incl. [CLS], template, [SEP]
    text_start: torch.Tensor  # (n,) long: position of each row's first text word piece
    text_len: torch.Tensor  # (n,) long
    template_start: torch.Tensor | None  # (n,) long: position of [LS-1]; None without template
    num_labels: int  # L of the template (0 without)
    pad_id: int
    labels: torch.Tensor | None  # (n, L) float, or None at prediction time

    def __len__(self) -> int:
        return int(self.total.shape[0])

    def batch(self, idx, buckets: Sequence[int] | None = None) -> Batch:
        """The rows ``idx`` (list or (B,) tensor) as a :class:`Batch`, padded to their
        longest row, or to the next bucket length when ``buckets`` is given. Equal to
        :func:`collate` of the same rows at the same padded length."""
        idx = torch.as_tensor(idx, dtype=torch.long)
        total = self.total[idx]  # (B,)
        t = padded_length(int(total.max()), buckets)
        width = self.ids.shape[1]
        ids = self.ids[idx, : min(t, width)].long()  # (B, min(T, W))
        if t > width:
            ids = torch.nn.functional.pad(ids, (0, t - width), value=self.pad_id)  # (B, T)
        pos = torch.arange(t)  # (T,)
        attention = (pos < total[:, None]).long()  # (B, T)
        start = self.text_start[idx][:, None]  # (B, 1)
        text_mask = (pos >= start) & (pos < start + self.text_len[idx][:, None])  # (B, T)
        state_pos = None
        if self.template_start is not None:
            offsets = 1 + 3 * torch.arange(self.num_labels)  # (L,): [state] after [LS-i]
            state_pos = self.template_start[idx][:, None] + offsets  # (B, L)
        labels = None if self.labels is None else self.labels[idx]
        return Batch(ids, attention, state_pos, text_mask, labels)


def pack_rows(
    text_ids,
    labels: torch.Tensor | None,
    *,
    cls_id: int,
    sep_id: int,
    pad_id: int,
    tokens: LabelTokens | None,
    position: str = "after_cls",
) -> PackedRows:
    """Lay out every row of a split once (see :class:`PackedRows`); ``text_ids`` is a
    :class:`~lmmtc.transformers.token_cache.TokenIds` (flat ids + offsets)."""
    import numpy as np

    if position not in POSITIONS:
        raise ValueError(f"template_position must be one of {POSITIONS}, got {position!r}")
    n_lab = tokens.num_labels if tokens is not None else 0
    n = len(text_ids)
    text_len = text_ids.lengths  # (n,)
    total = text_len + 2 + 3 * n_lab  # (n,)
    width = int(total.max()) if n else 2 + 3 * n_lab
    ids = np.full((n, width), pad_id, dtype=np.int32)
    ids[:, 0] = cls_id
    rows = np.arange(n)
    after_cls = position == "after_cls"
    text_start = np.full(n, 1 + 3 * n_lab if after_cls else 1, dtype=np.int64)
    template_start = None
    if tokens is not None:
        template = tokens.template_ids(torch.full((1, n_lab), MASK, dtype=torch.long))[0]
        template_start = np.ones(n, dtype=np.int64) if after_cls else 1 + text_len
        cols = template_start[:, None] + np.arange(3 * n_lab)  # (n, 3L)
        ids[rows[:, None], cols] = template.numpy().astype(np.int32)
    # text: row r's j-th word piece goes to column text_start[r] + j
    row_of = np.repeat(rows, text_len)  # (total word pieces,)
    within = np.arange(text_ids.flat.size) - text_ids.offsets[:-1][row_of]
    ids[row_of, text_start[row_of] + within] = text_ids.flat
    ids[rows, total - 1] = sep_id
    as_long = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.int64))  # noqa: E731
    return PackedRows(
        ids=torch.from_numpy(ids),
        total=as_long(total),
        text_start=as_long(text_start),
        text_len=as_long(text_len),
        template_start=None if template_start is None else as_long(template_start),
        num_labels=n_lab,
        pad_id=pad_id,
        labels=None if labels is None else torch.as_tensor(labels, dtype=torch.float32),
    )


class BatchOrder:
    """The training batches of an epoch as lists of row indices, drawn afresh from ``gen``
    each time it is iterated; also a DataLoader ``batch_sampler`` (Accelerate shards it).

    Without ``lengths``: ``torch.randperm(n, generator=gen)`` cut into batches, the order of
    a DataLoader with ``shuffle=True`` and that generator. With ``lengths`` (grouping by
    length): the permutation is cut into windows of ``window`` batches, each window sorted
    by length (longest first, stable) and cut into batches, and the full batches are
    shuffled by ``gen``; the one short batch (n % batch_size rows) always comes last, as
    Accelerate's split batches expect. Every row appears exactly once per epoch."""

    drop_last = False

    def __init__(
        self,
        n: int,
        batch_size: int,
        gen: torch.Generator,
        lengths: torch.Tensor | None = None,
        window: int = 50,
    ) -> None:
        self.n, self.batch_size, self.gen = n, batch_size, gen
        self.lengths, self.window = lengths, window

    def __len__(self) -> int:
        return (self.n + self.batch_size - 1) // self.batch_size

    def __iter__(self):
        bs = self.batch_size
        order = torch.randperm(self.n, generator=self.gen)  # (n,)
        if self.lengths is None:
            for start in range(0, self.n, bs):
                yield order[start : start + bs].tolist()
            return
        batches = []
        for start in range(0, self.n, self.window * bs):
            rows = order[start : start + self.window * bs]
            rows = rows[torch.argsort(self.lengths[rows], descending=True, stable=True)]
            batches += [rows[j : j + bs] for j in range(0, len(rows), bs)]
        short = batches.pop() if batches and len(batches[-1]) < bs else None
        for k in torch.randperm(len(batches), generator=self.gen).tolist():
            yield batches[k].tolist()
        if short is not None:
            yield short.tolist()
