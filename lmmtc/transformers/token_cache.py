"""Tokenise each split once: word-piece ids cached in the process (and on disk on request).

Training re-reads the same texts every epoch (dev is scored after each epoch; several
methods and seeds of one run share a data set), so :func:`encode_cached` keys the ids by
what decides them: the tokenizer (class, name/path and its full serialised state: the
vocabulary, the added label tokens, normaliser and pre-tokeniser), the text budget and a
sha256 of the texts. A hit returns the same ids, so the batches built from them are
identical. The ids are kept packed (one flat int32 array and row offsets), not as lists of
Python ints: a 43k-text split costs a few MB instead of a hundred.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lmmtc.atomic import atomic_write

#: Bump when the stored format or the tokenizer call changes (invalidates disk entries).
FORMAT = 1
#: Entries kept in the process (least recently used dropped first): 3 splits x 2 text
#: budgets (with and without the template) of two data sets.
MEMORY_ENTRIES = 12

_MEMORY: OrderedDict[str, TokenIds] = OrderedDict()


@dataclass(frozen=True)
class TokenIds:
    """Word-piece ids of n texts: row i is ``flat[offsets[i]:offsets[i + 1]]``."""

    flat: np.ndarray  # (total,) int32
    offsets: np.ndarray  # (n + 1,) int64

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        """(n,) int64 word pieces per text."""
        return np.diff(self.offsets)

    def row(self, i: int) -> np.ndarray:
        return self.flat[self.offsets[i] : self.offsets[i + 1]]

    def to_lists(self) -> list[list[int]]:
        return [self.row(i).tolist() for i in range(len(self))]

    @classmethod
    def from_lists(cls, rows: Sequence[Sequence[int]]) -> TokenIds:
        lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        flat = np.fromiter((i for r in rows for i in r), dtype=np.int64, count=int(offsets[-1]))
        if flat.size and flat.max() >= 2**31:
            raise ValueError("token ids beyond int32")
        return cls(_frozen(flat.astype(np.int32)), _frozen(offsets))


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False  # shared by every hit: nobody may change it
    return array


def tokenizer_fingerprint(tokenizer) -> str:
    """sha256 of what decides a tokenizer's ids: class, name/path and its serialised
    state (vocabulary incl. added tokens, normaliser, pre-tokeniser, model). The
    truncation/padding settings are left out: each call sets them (we pass our own)."""
    h = hashlib.sha256()
    h.update(type(tokenizer).__name__.encode())
    h.update(b"\0" + str(getattr(tokenizer, "name_or_path", "")).encode() + b"\0")
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        state = json.loads(backend.to_str())
        state.pop("truncation", None)
        state.pop("padding", None)
        h.update(json.dumps(state, sort_keys=True).encode())
    else:  # a slow (Python) tokenizer: its vocabulary and settings
        h.update(json.dumps(sorted(tokenizer.get_vocab().items())).encode())
        h.update(
            json.dumps(getattr(tokenizer, "init_kwargs", {}), sort_keys=True, default=str).encode()
        )
    return h.hexdigest()


def texts_sha256(texts: Sequence[str]) -> str:
    """sha256 of the texts, in order (a JSON list: unambiguous separators)."""
    return hashlib.sha256(json.dumps(list(texts), ensure_ascii=False).encode()).hexdigest()


def cache_key(tokenizer, texts: Sequence[str], budget: int) -> str:
    """The key of ``texts`` tokenised by ``tokenizer`` and cut to ``budget`` word pieces."""
    try:
        import tokenizers

        version = tokenizers.__version__
    except ImportError:  # pragma: no cover - transformers depends on it
        version = ""
    parts = [f"v{FORMAT}", version, tokenizer_fingerprint(tokenizer), str(budget)]
    parts.append(texts_sha256(texts))
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def tokenize(tokenizer, texts: Sequence[str], budget: int) -> TokenIds:
    """Word-piece ids of each text, no special tokens, cut to ``budget`` (the template and
    [CLS]/[SEP] are added when batches are packed)."""
    rows = tokenizer(list(texts), add_special_tokens=False, truncation=True, max_length=budget)[
        "input_ids"
    ]
    return TokenIds.from_lists(rows)


def encode_cached(
    tokenizer, texts: Sequence[str], budget: int, cache_dir: str | Path | None = None
) -> TokenIds:
    """:func:`tokenize`, computed once per key: from the process's cache, else from
    ``cache_dir`` (``<key>.npz``, written atomically), else tokenised and stored."""
    key = cache_key(tokenizer, texts, budget)
    hit = _MEMORY.get(key)
    if hit is not None:
        _MEMORY.move_to_end(key)
        return hit
    ids = _load(Path(cache_dir) / f"{key}.npz") if cache_dir else None
    if ids is None or len(ids) != len(texts):
        ids = tokenize(tokenizer, texts, budget)
        if cache_dir:
            _store(Path(cache_dir) / f"{key}.npz", ids)
    _MEMORY[key] = ids
    while len(_MEMORY) > MEMORY_ENTRIES:
        _MEMORY.popitem(last=False)
    return ids


def clear_memory() -> None:
    """Empty the in-process cache (tests)."""
    _MEMORY.clear()


def _load(path: Path) -> TokenIds | None:
    if not path.exists():
        return None
    try:
        with np.load(path) as data:
            flat, offsets = data["flat"].astype(np.int32), data["offsets"].astype(np.int64)
    except (OSError, ValueError, KeyError):
        return None  # unreadable: tokenise again and overwrite
    if offsets.ndim != 1 or len(offsets) < 1 or offsets[-1] != flat.size:
        return None
    return TokenIds(_frozen(flat), _frozen(offsets))


def _store(path: Path, ids: TokenIds) -> None:
    """Write ``ids`` to ``path`` atomically (a temporary file in the same folder, then
    renamed), so that a concurrent reader sees the whole file or none."""
    with atomic_write(path, "wb") as out:
        np.savez(out, flat=ids.flat, offsets=ids.offsets)
