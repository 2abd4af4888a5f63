"""Kim's CNN for multi-label text classification (Kim 2014; the paper's Table 3 "CNN").

Word embeddings (trained from scratch, or initialised from a GloVe-format text file) ->
1-D convolutions of widths 3, 4, 5 with 100 feature maps each -> ReLU -> max over time
-> dropout 0.5 -> a linear layer to L logits; sigmoid + binary cross-entropy. Adam,
early stopping on dev micro-F1 with the best epoch's weights kept in memory.
Deterministic on CPU for a seed: set_seed() plus a seeded torch.Generator for shuffling.
"""

from __future__ import annotations

import copy
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from baselines.features import tokenizer
from lmmtc.data import Split, carve_dev
from lmmtc.metrics import METRICS
from lmmtc.registry import register_method
from lmmtc.seeding import set_seed

PAD, UNK = 0, 1


class Vocabulary:
    """Token -> id map built from training texts (ids 0 and 1: padding and unknown)."""

    def __init__(self, tokens: Sequence[str]) -> None:
        self.itos = ["<pad>", "<unk>", *tokens]
        self.stoi = {tok: i for i, tok in enumerate(self.itos)}

    @classmethod
    def build(cls, token_lists: Sequence[list[str]], min_count: int, max_vocab: int | None):
        counts = Counter(tok for toks in token_lists for tok in toks)
        # most frequent first, ties by token so the order does not depend on dict order
        ranked = sorted(
            (t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t)
        )
        return cls(ranked[:max_vocab] if max_vocab else ranked)

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, tokens: Sequence[str], max_len: int) -> list[int]:
        return [self.stoi.get(tok, UNK) for tok in tokens[:max_len]]


def load_word_vectors(path: str | Path, vocab: Vocabulary, dim: int) -> tuple[np.ndarray, int]:
    """Rows of a GloVe-format file (``word v1 ... v_dim`` a line) for the vocabulary's
    words; returns (matrix (V, dim) with NaN rows where absent, number of words found).
    A first line ``count dim`` (word2vec text format) is skipped."""
    matrix = np.full((len(vocab), dim), np.nan, dtype=np.float32)
    found = 0
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            parts = line.rstrip().split(" ")
            if len(parts) != dim + 1:
                if len(parts) == 2:  # word2vec header
                    continue
                raise ValueError(
                    f"{path}: a line has {len(parts) - 1} values, expected {dim} "
                    f"(set embedding_dim to the file's dimension)"
                )
            index = vocab.stoi.get(parts[0])
            if index is not None and index > UNK and np.isnan(matrix[index, 0]):
                matrix[index] = np.asarray(parts[1:], dtype=np.float32)
                found += 1
    return matrix, found


class KimCNN(nn.Module):
    """Embedding -> parallel Conv1d (one per width) -> ReLU -> max-over-time -> dropout -> linear."""

    def __init__(
        self,
        vocab_size: int,
        num_labels: int,
        embedding_dim: int = 300,
        filter_sizes: Sequence[int] = (3, 4, 5),
        num_filters: int = 100,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=PAD)
        self.convs = nn.ModuleList(
            nn.Conv1d(embedding_dim, num_filters, kernel_size=k) for k in filter_sizes
        )
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(num_filters * len(filter_sizes), num_labels)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        lengths = (ids != PAD).sum(dim=1, keepdim=True)  # (B, 1)
        x = self.embedding(ids).transpose(1, 2)  # (B, T) -> (B, D, T)
        pooled = []
        for conv in self.convs:
            h = torch.relu(conv(x))  # (B, F, T - k + 1)
            # windows that start past a text's end see only padding: zero them (h >= 0, so
            # the max is unchanged) so a text's score does not depend on its batch's padding
            starts = torch.arange(h.shape[2], device=ids.device)  # (T - k + 1,)
            valid = starts < (lengths - conv.kernel_size[0] + 1).clamp(min=1)  # (B, T - k + 1)
            pooled.append(h.masked_fill(~valid.unsqueeze(1), 0.0).amax(dim=2))  # (B, F)
        return self.out(self.dropout(torch.cat(pooled, dim=1)))  # (B, L) logits


def _bce(labels: np.ndarray, scores: np.ndarray) -> float:
    """Mean binary cross-entropy of probabilities ``scores`` against 0/1 ``labels`` (n, L)."""
    p = np.clip(scores, 1e-7, 1 - 1e-7)
    return float(-np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p)))


def _resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


@register_method("cnn", family="neural")
class KimCNNMethod:
    """Kim's CNN (widths 3/4/5 x 100 maps, max-over-time pooling), BCE, early stopping on dev."""

    def __init__(
        self,
        *,
        analyzer: str = "word",
        embedding_dim: int = 300,
        embeddings_path: str | None = None,
        freeze_embeddings: bool = False,
        filter_sizes: Sequence[int] = (3, 4, 5),
        num_filters: int = 100,
        dropout: float = 0.5,
        min_count: int = 1,
        max_vocab: int | None = 50_000,
        max_len: int = 256,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        batch_size: int = 50,
        epochs: int = 20,
        patience: int = 3,
        log_every: int = 10,
        device: str = "auto",
    ) -> None:
        self.analyzer = analyzer
        self.tokenize = tokenizer(analyzer)
        self.embedding_dim = int(embedding_dim)
        self.embeddings_path = embeddings_path
        self.freeze_embeddings = freeze_embeddings
        self.filter_sizes = tuple(int(k) for k in filter_sizes)
        self.num_filters = int(num_filters)
        self.dropout = float(dropout)
        self.min_count = int(min_count)
        self.max_vocab = max_vocab
        self.max_len = int(max_len)
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.batch_size = int(batch_size)
        self.epochs = int(epochs)
        self.patience = int(patience)
        self.log_every = int(log_every)
        self.device = _resolve_device(device)
        self.vocab: Vocabulary | None = None
        self.model: KimCNN | None = None
        self.loss_curve: list[dict] = []
        self.history: list[dict] = []
        self.info: dict = {}

    # ----------------------------------------------------------------- data
    def _encode(self, texts: Sequence[str]) -> list[list[int]]:
        return [self.vocab.encode(self.tokenize(t), self.max_len) for t in texts]

    def _batch(self, encoded: list[list[int]], rows: Sequence[int]) -> torch.Tensor:
        """Pad the rows to the longest in the batch (at least the widest filter)."""
        width = max(max(self.filter_sizes), *(len(encoded[i]) for i in rows))
        ids = torch.full((len(rows), width), PAD, dtype=torch.long)  # (B, T)
        for r, i in enumerate(rows):
            ids[r, : len(encoded[i])] = torch.as_tensor(encoded[i], dtype=torch.long)
        return ids.to(self.device)

    def _batches(self, encoded: list[list[int]], generator: torch.Generator) -> list[list[int]]:
        """Shuffled batches of similar lengths: the rows are shuffled, cut into pools of 50
        batches, each pool sorted by length and cut into batches, and the batches shuffled.
        Less padding than random batches (Reuters texts run from 10 to 200+ tokens); the same
        batches for a seed."""
        order = torch.randperm(len(encoded), generator=generator).tolist()
        pool = 50 * self.batch_size
        batches = []
        for lo in range(0, len(order), pool):
            chunk = sorted(order[lo : lo + pool], key=lambda i: len(encoded[i]))
            batches += [
                chunk[b : b + self.batch_size] for b in range(0, len(chunk), self.batch_size)
            ]
        return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]

    def _init_embeddings(self, model: KimCNN) -> int:
        """Kim's init: U(-0.25, 0.25) for every word, file vectors copied where present."""
        weight = model.embedding.weight.data  # (V, D)
        weight.uniform_(-0.25, 0.25)
        weight[PAD].zero_()
        if not self.embeddings_path:
            return 0
        vectors, found = load_word_vectors(self.embeddings_path, self.vocab, self.embedding_dim)
        present = ~np.isnan(vectors[:, 0])
        weight[torch.as_tensor(present)] = torch.as_tensor(vectors[present]).to(weight.device)
        if self.freeze_embeddings:
            model.embedding.weight.requires_grad_(False)
        return found

    # ----------------------------------------------------------------- protocol
    def fit(self, train: Split, dev: Split | None, *, seed: int) -> None:
        """Train with early stopping on dev micro-F1; keeps the best epoch's weights."""
        set_seed(seed)
        start = time.perf_counter()
        if dev is None:
            train, dev = carve_dev(train)
        train_tokens = [self.tokenize(t) for t in train.texts]
        self.vocab = Vocabulary.build(train_tokens, self.min_count, self.max_vocab)
        encoded = [self.vocab.encode(toks, self.max_len) for toks in train_tokens]
        dev_encoded = self._encode(dev.texts)
        targets = torch.as_tensor(train.labels, dtype=torch.float32)  # (n, L)

        self.model = KimCNN(
            len(self.vocab),
            train.labels.shape[1],
            self.embedding_dim,
            self.filter_sizes,
            self.num_filters,
            self.dropout,
        ).to(self.device)
        found = self._init_embeddings(self.model)
        params = [p for p in self.model.parameters() if p.requires_grad]
        optimizer = torch.optim.Adam(params, lr=self.lr, weight_decay=self.weight_decay)
        loss_fn = nn.BCEWithLogitsLoss()
        generator = torch.Generator().manual_seed(seed)

        best_f1, best_loss, best_state, best_epoch, bad_epochs, step = -1.0, np.inf, None, 0, 0, 0
        self.loss_curve, self.history = [], []
        for epoch in range(1, self.epochs + 1):
            self.model.train()
            running = []
            for rows in self._batches(encoded, generator):
                logits = self.model(self._batch(encoded, rows))  # (B, L)
                loss = loss_fn(logits, targets[rows].to(self.device))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                step += 1
                running.append(loss.item())
                if step % self.log_every == 0:
                    self.loss_curve.append(
                        {"step": step, "epoch": epoch, "loss": float(np.mean(running))}
                    )
                    running = []
            dev_scores = self._scores(dev_encoded)  # (n_dev, L)
            dev_f1 = METRICS["micro_f1"].score(dev.labels, dev_scores)
            dev_loss = _bce(dev.labels, dev_scores)
            self.history.append(
                {"epoch": epoch, "step": step, "dev_micro_f1": dev_f1, "dev_loss": dev_loss}
            )
            # better dev micro-F1 wins; equal F1 (e.g. 0 while no score has crossed 0.5
            # yet) is an improvement when the dev loss fell, so patience is not spent early
            if (dev_f1, -dev_loss) > (best_f1, -best_loss):
                best_f1, best_loss, best_epoch, bad_epochs = dev_f1, dev_loss, epoch, 0
                best_state = copy.deepcopy(self.model.state_dict())
            else:
                bad_epochs += 1
                if bad_epochs >= self.patience:
                    break
        self.model.load_state_dict(best_state)
        self.info = {
            "best_epoch": best_epoch,
            "best_dev_micro_f1": best_f1,
            "epochs_run": len(self.history),
            "history": self.history,
            "vocab_size": len(self.vocab),
            "pretrained_words_found": found,
            "num_parameters": sum(p.numel() for p in self.model.parameters()),
            "device": str(self.device),
            "fit_s": time.perf_counter() - start,
        }

    @torch.no_grad()
    def _scores(self, encoded: list[list[int]]) -> np.ndarray:
        self.model.eval()
        # sort by length so each batch pads little; scatter back to input order
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
        out = np.zeros((len(encoded), self.model.out.out_features))
        for lo in range(0, len(order), 256):
            rows = order[lo : lo + 256]
            out[rows] = torch.sigmoid(self.model(self._batch(encoded, rows))).cpu().numpy()
        return out  # (n, L)

    def predict_scores(self, texts: Sequence[str]) -> np.ndarray:
        """Sigmoid probabilities (n, L) of the best dev epoch's network."""
        if self.model is None:
            raise RuntimeError("fit() must be called before predict_scores()")
        return self._scores(self._encode(texts))

    def run_info(self) -> dict:
        return self.info
