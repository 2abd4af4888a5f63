"""Pre-train a small BERT with MLM on a corpus of space-separated token ids (GAIC).

GAIC's texts are anonymised token ids, so no public checkpoint knows them; the paper
pre-trained its own BERT. Here: a WordPiece-free vocabulary (each id string is one token,
plus [PAD] [UNK] [CLS] [SEP] [MASK]) read by a BertTokenizer with whitespace splitting, a
BertForMaskedLM trained with BERT's MLM (the masking of :mod:`lmmtc.transformers.masking`),
saved as a normal Hugging Face folder. ``pretrained_backbone_dir`` caches that folder
under a hash of the texts and the config, for the backbone spec ``pretrain:<size>``.

CLI: ``python -m lmmtc.transformers.gaic_pretrain DATA_DIR/gaic --size small --out DIR``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
DEFAULT_CACHE = "~/.cache/lmmtc-bench/backbones"


@dataclass(frozen=True)
class PretrainConfig:
    """Size and schedule of the pre-training; ``SIZES`` names a few."""

    layers: int = 4
    hidden: int = 256
    heads: int = 4
    intermediate: int | None = None  # default 4 x hidden
    max_len: int = 256
    epochs: int = 3
    batch_size: int = 32
    lr: float = 1e-4
    warmup_ratio: float = 0.06
    mask_prob: float = 0.15
    min_freq: int = 1
    max_steps: int | None = None
    seed: int = 0


SIZES = {
    "tiny": PretrainConfig(layers=2, hidden=64, heads=2, max_len=128, epochs=1),
    "small": PretrainConfig(),
    "base": PretrainConfig(layers=12, hidden=768, heads=12, max_len=512, epochs=10),
}


def build_vocab(texts: Sequence[str], min_freq: int = 1) -> list[str]:
    """Specials, then every whitespace token seen ``min_freq`` times, most frequent first."""
    counts = Counter(tok for text in texts for tok in text.split())
    tokens = sorted((t for t, c in counts.items() if c >= min_freq), key=lambda t: (-counts[t], t))
    return list(SPECIALS) + [t for t in tokens if t not in SPECIALS]


def make_tokenizer(vocab: list[str], folder: Path):
    """A BertTokenizer over ``vocab`` that maps each whitespace token to one id."""
    from transformers import BertTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    return BertTokenizer(
        str(folder / "vocab.txt"),
        do_lower_case=False,
        tokenize_chinese_chars=False,
        strip_accents=False,
    )


def pretrain(texts: Sequence[str], out_dir: str | Path, config: PretrainConfig) -> Path:
    """Build the vocabulary, pre-train a BertForMaskedLM with MLM, save it to ``out_dir``."""
    from transformers import BertConfig, BertForMaskedLM

    from lmmtc.seeding import set_seed
    from lmmtc.transformers.masking import text_mlm_view
    from lmmtc.transformers.quiet import quiet_transformers
    from lmmtc.transformers.template import collate
    from lmmtc.transformers.trainer import linear_warmup_decay, make_optimizer

    out = Path(out_dir)
    set_seed(config.seed)
    tokenizer = make_tokenizer(build_vocab(texts, config.min_freq), out)
    bert_config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=config.hidden,
        num_hidden_layers=config.layers,
        num_attention_heads=config.heads,
        intermediate_size=config.intermediate or 4 * config.hidden,
        max_position_embeddings=max(512, config.max_len),
        pad_token_id=tokenizer.pad_token_id,
    )
    model = BertForMaskedLM(bert_config)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device).train()
    ids = tokenizer(
        list(texts), add_special_tokens=False, truncation=True, max_length=config.max_len - 2
    )["input_ids"]
    gen = torch.Generator().manual_seed(config.seed)
    per_epoch = (len(ids) + config.batch_size - 1) // config.batch_size
    total = config.epochs * per_epoch
    if config.max_steps is not None:
        total = min(total, config.max_steps)
    optimizer = make_optimizer(model, config.lr, 0.01)
    scheduler = linear_warmup_decay(optimizer, int(config.warmup_ratio * total), total)
    step, start, losses = 0, time.perf_counter(), []
    while step < total:
        order = torch.randperm(len(ids), generator=gen).tolist()
        for begin in range(0, len(order), config.batch_size):
            if step >= total:
                break
            rows = [ids[i] for i in order[begin : begin + config.batch_size]]
            batch = collate(
                rows,
                None,
                cls_id=tokenizer.cls_token_id,
                sep_id=tokenizer.sep_token_id,
                pad_id=tokenizer.pad_token_id,
                tokens=None,
            )
            masked, positions, targets = text_mlm_view(
                batch.input_ids,
                batch.text_mask,
                tokenizer.mask_token_id,
                len(tokenizer),
                config.mask_prob,
                gen,
            )
            labels = torch.full_like(batch.input_ids, -100)
            labels[positions[:, 0], positions[:, 1]] = targets
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda"):
                loss = model(
                    input_ids=masked.to(device),
                    attention_mask=batch.attention_mask.to(device),
                    labels=labels.to(device),
                ).loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            step += 1
            losses.append(float(loss.detach()))
    with quiet_transformers():
        model.save_pretrained(out)
        tokenizer.save_pretrained(out)
    report = {
        "config": asdict(config),
        "steps": step,
        "seconds": time.perf_counter() - start,
        "final_mlm_loss": sum(losses[-10:]) / max(1, len(losses[-10:])),
        "num_texts": len(texts),
        "vocab_size": len(tokenizer),
    }
    (out / "pretrain_report.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    return out


def corpus_key(texts: Sequence[str], config: PretrainConfig) -> str:
    """Hash of the training texts and the config: the cache folder's name."""
    digest = hashlib.sha256(json.dumps(asdict(config), sort_keys=True).encode())
    for text in texts:
        digest.update(text.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()[:16]


def resolve_config(size: str = "small", **overrides) -> PretrainConfig:
    """A named size with some fields overridden (unknown names fail)."""
    if size not in SIZES:
        raise ValueError(f"unknown pre-training size {size!r}; known: {', '.join(SIZES)}")
    return PretrainConfig(**{**asdict(SIZES[size]), **overrides})


def pretrained_backbone_dir(
    texts: Sequence[str], *, size: str = "small", cache_dir: str | None = None, **overrides
) -> Path:
    """The cached pre-trained folder for these texts and config; pre-train when absent."""
    config = resolve_config(size or "small", **overrides)
    root = Path(os.path.expanduser(cache_dir or DEFAULT_CACHE))
    folder = root / f"pretrain-{size}-{corpus_key(texts, config)}"
    if (folder / "config.json").exists() and (folder / "vocab.txt").exists():
        return folder
    partial = folder.with_name(folder.name + f".tmp{os.getpid()}")
    pretrain(texts, partial, config)
    partial.rename(folder)  # atomic: a half-written folder is never used
    return folder


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", help="data set folder (its train split is the corpus)")
    parser.add_argument("--size", default="small", choices=sorted(SIZES))
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--max-steps", type=int, default=None)
    args = parser.parse_args(argv)
    from lmmtc.data import load_dataset

    overrides = {k: v for k, v in (("epochs", args.epochs), ("max_steps", args.max_steps)) if v}
    texts = load_dataset(args.dataset).train.texts
    print(pretrained_backbone_dir(texts, size=args.size, cache_dir=args.cache_dir, **overrides))


if __name__ == "__main__":
    main()
