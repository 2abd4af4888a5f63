"""Pre-train a small BERT with MLM on a corpus of space-separated token ids (GAIC).

GAIC's texts are anonymised token ids, so no public checkpoint knows them; the paper
pre-trained its own BERT. Here: a WordPiece-free vocabulary (each id string is one token,
plus [PAD] [UNK] [CLS] [SEP] [MASK]) read by a BertTokenizer with whitespace splitting, a
BertForMaskedLM trained with BERT's MLM (the masking of :mod:`lmmtc.transformers.masking`),
saved as a normal Hugging Face folder. A fixed slice of the corpus is held out, and the
masked-token accuracy on it after each epoch (the curve the size and epochs are chosen
on) goes into the folder's ``pretrain_report.json``. ``pretrained_backbone_dir`` caches
that folder under a hash of the texts and the config, for the backbone spec
``pretrain:<size>``.

CLI: ``python -m lmmtc.transformers.gaic_pretrain DATA_DIR/gaic --size small`` pre-trains
on the train and dev texts (never test) and prints the curve.
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
REPORT = "pretrain_report.json"


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
    #: 5e-4 (ELECTRA-small's): a 2-layer, 128-wide model's held-out masked-token accuracy
    #: after 2 GAIC epochs (1,626 steps) was 11.5% at 1e-4 (of a 4-epoch schedule), 40.1%
    #: at 5e-4 (of 3), against 4.9% for always guessing the most frequent token
    #: (results/sweeps/gaic-pretrain).
    lr: float = 5e-4
    warmup_ratio: float = 0.06
    mask_prob: float = 0.15
    min_freq: int = 1
    max_steps: int | None = None
    seed: int = 0
    #: Texts held out (drawn with ``seed``) for the masked-token accuracy, at most a tenth
    #: of the corpus; they are not trained on.
    heldout: int = 1000
    #: 'auto': bf16 autocast on CUDA and on a CPU with native bf16, else fp32 (trainer's rule).
    precision: str = "auto"


SIZES = {
    "tiny": PretrainConfig(layers=2, hidden=64, heads=2, max_len=128, epochs=1),
    "mini": PretrainConfig(layers=2, hidden=128, heads=2),
    "small": PretrainConfig(),
    "medium": PretrainConfig(layers=6, hidden=384, heads=6),
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


def split_heldout(texts: Sequence[str], config: PretrainConfig) -> tuple[list[str], list[str]]:
    """(training texts, held-out texts): ``config.heldout`` texts (at most a tenth of the
    corpus) drawn with ``config.seed``, the same ones whatever the size or schedule."""
    n = min(config.heldout, len(texts) // 10)
    order = torch.randperm(len(texts), generator=torch.Generator().manual_seed(config.seed))
    held = set(order[:n].tolist())
    return (
        [t for i, t in enumerate(texts) if i not in held],
        [texts[i] for i in sorted(held)],
    )


def length_batches(
    lengths: Sequence[int], batch_size: int, gen: torch.Generator
) -> list[list[int]]:
    """Shuffled batches of similar lengths (less padding): a random order cut into pools
    of 50 batches, each pool sorted by length and cut into batches, the batches shuffled."""
    order = torch.randperm(len(lengths), generator=gen).tolist()
    pool = 50 * batch_size
    batches = []
    for begin in range(0, len(order), pool):
        chunk = sorted(order[begin : begin + pool], key=lambda i: lengths[i])
        batches += [chunk[j : j + batch_size] for j in range(0, len(chunk), batch_size)]
    return [batches[i] for i in torch.randperm(len(batches), generator=gen).tolist()]


def _mlm_batch(rows: list[list[int]], tokenizer, config: PretrainConfig, gen: torch.Generator):
    """(masked ids (B, T), attention (B, T), labels (B, T) with -100 off the chosen tokens)."""
    from lmmtc.transformers.masking import text_mlm_view
    from lmmtc.transformers.template import collate

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
    return masked, batch.attention_mask, labels


@torch.no_grad()
def heldout_mlm(model, ids: list[list[int]], tokenizer, config: PretrainConfig, device) -> dict:
    """Masked-token accuracy and loss on the held-out texts, BERT's masking drawn with a
    fixed seed (the same tokens masked after every epoch, for every size)."""
    from lmmtc.transformers.trainer import autocast

    if not ids:
        return {"heldout_mlm_accuracy": None, "heldout_mlm_loss": None, "heldout_tokens": 0}
    was_training = model.training
    model.eval()
    gen = torch.Generator().manual_seed(config.seed + 1)
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    correct, total, loss_sum = 0, 0, 0.0
    for begin in range(0, len(order), 128):
        rows = [ids[i] for i in order[begin : begin + 128]]
        masked, attention, labels = _mlm_batch(rows, tokenizer, config, gen)
        with autocast(device, config.precision):
            logits = model(input_ids=masked.to(device), attention_mask=attention.to(device)).logits
        chosen = labels != -100  # (B, T)
        picked = logits.float()[chosen.to(device)]  # (N, V)
        targets = labels[chosen].to(device)  # (N,)
        correct += int((picked.argmax(-1) == targets).sum())
        loss_sum += float(torch.nn.functional.cross_entropy(picked, targets, reduction="sum"))
        total += int(targets.numel())
    model.train(was_training)
    return {
        "heldout_mlm_accuracy": correct / max(1, total),
        "heldout_mlm_loss": loss_sum / max(1, total),
        "heldout_tokens": total,
    }


def pretrain(texts: Sequence[str], out_dir: str | Path, config: PretrainConfig) -> Path:
    """Build the vocabulary, pre-train a BertForMaskedLM with MLM, save it to ``out_dir``
    with ``pretrain_report.json`` (the held-out masked-token accuracy after each epoch)."""
    from transformers import BertConfig, BertForMaskedLM

    from lmmtc.seeding import set_seed
    from lmmtc.transformers.quiet import quiet_transformers
    from lmmtc.transformers.trainer import (
        autocast,
        compute_precision,
        linear_warmup_decay,
        make_optimizer,
    )

    out = Path(out_dir)
    set_seed(config.seed)
    train_texts, held_texts = split_heldout(texts, config)
    tokenizer = make_tokenizer(build_vocab(train_texts, config.min_freq), out)
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

    def encode(batch_texts: list[str]) -> list[list[int]]:
        return tokenizer(
            batch_texts, add_special_tokens=False, truncation=True, max_length=config.max_len - 2
        )["input_ids"]

    ids, held_ids = encode(train_texts), encode(held_texts)
    gen = torch.Generator().manual_seed(config.seed)
    per_epoch = (len(ids) + config.batch_size - 1) // config.batch_size
    total = config.epochs * per_epoch
    if config.max_steps is not None:
        total = min(total, config.max_steps)
    optimizer = make_optimizer(model, config.lr, 0.01)
    scheduler = linear_warmup_decay(optimizer, int(config.warmup_ratio * total), total)
    step, start, epoch, curve = 0, time.perf_counter(), 0, []
    counts = Counter(t for row in ids for t in row)
    top = counts.most_common(1)[0][0] if counts else -1
    while step < total:
        epoch += 1
        losses = []
        for rows_idx in length_batches([len(r) for r in ids], config.batch_size, gen):
            if step >= total:
                break
            masked, attention, labels = _mlm_batch(
                [ids[i] for i in rows_idx], tokenizer, config, gen
            )
            with autocast(device, config.precision):
                loss = model(
                    input_ids=masked.to(device),
                    attention_mask=attention.to(device),
                    labels=labels.to(device),
                ).loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            step += 1
            losses.append(float(loss.detach()))
        point = {"epoch": epoch, "steps": step, "seconds": round(time.perf_counter() - start, 1)}
        point["train_mlm_loss"] = sum(losses) / max(1, len(losses))
        point.update(heldout_mlm(model, held_ids, tokenizer, config, device))
        curve.append(point)
        print(json.dumps(point), flush=True)
    with quiet_transformers():
        model.save_pretrained(out)
        tokenizer.save_pretrained(out)
    targets = Counter(t for row in held_ids for t in row)
    report = {
        "config": asdict(config),
        "precision": compute_precision(device, config.precision),
        "device": device.type,
        "torch_threads": torch.get_num_threads(),
        "steps": step,
        "seconds": time.perf_counter() - start,
        "num_texts": len(texts),
        "train_texts": len(train_texts),
        "heldout_texts": len(held_texts),
        "vocab_size": len(tokenizer),
        # a reference: always guessing the most frequent training token
        "heldout_majority_accuracy": targets[top] / max(1, sum(targets.values())),
        "heldout_mlm_accuracy": curve[-1]["heldout_mlm_accuracy"] if curve else None,
        "curve": curve,
    }
    (out / REPORT).write_text(json.dumps(report, indent=1), encoding="utf-8")
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
    unknown = set(overrides) - set(asdict(SIZES[size]))
    if unknown:
        known = ", ".join(asdict(SIZES[size]))
        raise ValueError(f"unknown pre-training option(s) {sorted(unknown)}; known: {known}")
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


def backbone_info(folder: str | Path) -> dict:
    """What a run file records of a pre-trained folder: its cache key (corpus and config
    hash), config, compute precision, corpus size and held-out masked-token accuracy."""
    folder = Path(folder)
    report_path = folder / REPORT
    report = json.loads(report_path.read_text("utf-8")) if report_path.exists() else {}
    config = report.get("config", {})
    return {
        "pretrain_key": folder.name.rpartition("-")[2],
        "pretrain_config": config,
        "pretrain_precision": report.get("precision"),
        "pretrain_corpus_texts": report.get("num_texts"),
        "pretrain_heldout_mlm_accuracy": report.get("heldout_mlm_accuracy"),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", help="data set folder (its train and dev splits are the corpus)")
    parser.add_argument("--size", default="small", choices=sorted(SIZES))
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--max-len", type=int, default=None)
    parser.add_argument(
        "--corpus",
        default="train+dev",
        choices=("train", "train+dev"),
        help="which splits to pre-train on (never test)",
    )
    args = parser.parse_args(argv)
    from lmmtc.data import load_dataset

    pairs = (("epochs", args.epochs), ("max_steps", args.max_steps), ("max_len", args.max_len))
    overrides = {k: v for k, v in pairs if v}
    data = load_dataset(args.dataset)
    texts = list(data.train.texts)
    if args.corpus == "train+dev" and data.dev is not None:
        texts += list(data.dev.texts)
    print(pretrained_backbone_dir(texts, size=args.size, cache_dir=args.cache_dir, **overrides))


if __name__ == "__main__":
    main()
