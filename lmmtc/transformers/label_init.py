"""Initial embeddings of the 5L new label tokens (option ``new_token_init``)."""

from __future__ import annotations

import torch
from torch import nn

from lmmtc.transformers.template import LabelTokens


def _word_mean(tokenizer, emb: torch.Tensor, text: str, fallback: torch.Tensor) -> torch.Tensor:
    """Mean embedding of ``text``'s word pieces (``fallback`` when it has none known)."""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    ids = [i for i in ids if i != tokenizer.unk_token_id and i < emb.shape[0]]
    return emb[ids].mean(0) if ids else fallback


def init_label_embeddings(
    embeddings: nn.Embedding,
    tokens: LabelTokens,
    tokenizer,
    label_names: list[str],
    how: str,
    old_vocab: int,
    std: float,
    generator: torch.Generator | None = None,
) -> None:
    """Set the rows of the new tokens in place: random / mean / label_name."""
    weight = embeddings.weight
    with torch.no_grad():
        old = weight[:old_vocab]  # (V, H)
        mean = old.mean(0)
        new_ids = sorted(
            {int(i) for t in (tokens.ls, tokens.yes, tokens.no, tokens.mask, tokens.le) for i in t}
        )
        if how == "random":
            noise = torch.randn((len(new_ids), weight.shape[1]), generator=generator) * std
            weight[new_ids] = noise.to(weight.dtype)
            return
        weight[new_ids] = mean
        if how == "mean":
            return
        if how != "label_name":
            raise ValueError(f"new_token_init must be random, mean or label_name, got {how!r}")
        yes = _word_mean(tokenizer, old, "yes", mean)
        no = _word_mean(tokenizer, old, "no", mean)
        shared = len(set(tokens.ls.tolist())) == 1
        for i, name in enumerate(label_names):
            vec = mean if shared else _word_mean(tokenizer, old, name.replace("_", " "), mean)
            for ids in (tokens.ls, tokens.mask, tokens.le):
                weight[ids[i]] = vec
            weight[tokens.yes[i]] = (vec + yes) / 2
            weight[tokens.no[i]] = (vec + no) / 2


def grow_token_types(
    encoder: nn.Module, extra: int, std: float, generator: torch.Generator | None = None
) -> bool:
    """Add ``extra`` rows to the encoder's token type embeddings (types 2 .. 1 + extra for
    the labels' template tokens), drawn N(0, std) like any new BERT row, and record the
    new size in its config so that a saved model reloads. False when the backbone has no
    token type embeddings (nothing grown)."""
    embeddings = getattr(getattr(encoder, "embeddings", None), "token_type_embeddings", None)
    if not isinstance(embeddings, nn.Embedding):
        return False
    old = embeddings.weight.data  # (types, H)
    grown = nn.Embedding(old.shape[0] + extra, old.shape[1]).to(old.device, old.dtype)
    with torch.no_grad():
        grown.weight[: old.shape[0]] = old
        new = torch.randn((extra, old.shape[1]), generator=generator) * std
        grown.weight[old.shape[0] :] = new.to(old.device, old.dtype)
    encoder.embeddings.token_type_embeddings = grown
    encoder.config.type_vocab_size = old.shape[0] + extra
    return True
