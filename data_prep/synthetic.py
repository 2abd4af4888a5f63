"""Synthetic multi-label text data sets with controllable label correlations.

Used by the tests and by the smoke profile where real data is absent. Every data set
made here is stamped ``"synthetic": true`` in meta.json; run files and tables carry the
stamp on, so that no one mistakes a synthetic number for a reproduction.

The generative story, one document at a time:

1. Labels are grouped into ``num_clusters`` clusters (label j belongs to cluster j mod C).
2. A primary label is drawn (Zipf-like frequencies, so some labels are rare). Every other
   label of its cluster joins with probability ``correlation``; every label outside the
   cluster joins with probability ``noise_label_prob``. Strong ``correlation`` gives the
   block-structured co-occurrence the paper's Figure 1 shows.
3. Each positive label contributes ``signal_words`` words drawn from its own keyword
   list, each dropped with probability ``signal_dropout``; background words drawn from a
   shared vocabulary fill the rest of the document, whose length is Poisson(``mean_length``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from data_prep.canonical import Record, write_dataset

SYNTHETIC_VERSION = 1
_SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "zu", "pe", "do", "gri", "fa", "hu")


@dataclass(frozen=True)
class SyntheticConfig:
    """Parameters of a synthetic data set; the same config and seed give the same files."""

    name: str = "synthetic"
    num_labels: int = 8
    num_clusters: int = 3
    correlation: float = 0.7  # P(another label of the primary's cluster is on)
    noise_label_prob: float = 0.02  # P(a label outside the cluster is on)
    zipf_exponent: float = 0.8  # label frequency skew of the primary label
    signal_words: int = 2  # keywords emitted per positive label
    signal_dropout: float = 0.2  # P(a keyword is dropped): makes the task imperfect
    keywords_per_label: int = 6
    vocab_size: int = 400  # background vocabulary
    mean_length: int = 20  # background words per document
    n_train: int = 400
    n_dev: int = 100
    n_test: int = 100
    seed: int = 0

    def fingerprint(self) -> str:
        """Short hash of the config, used to name cached folders."""
        blob = json.dumps(asdict(self), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:10]


def _words(rng: np.random.Generator, count: int, prefix: str = "") -> list[str]:
    """``count`` distinct pronounceable pseudo-words."""
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < count:
        word = prefix + "".join(rng.choice(_SYLLABLES, size=rng.integers(2, 4)))
        if word not in seen:
            seen.add(word)
            out.append(word)
    return out


def generate(config: SyntheticConfig) -> tuple[dict[str, list[Record]], list[str]]:
    """The records of train, dev and test, and the label names."""
    if config.num_labels < 2 or not 1 <= config.num_clusters <= config.num_labels:
        raise ValueError("need num_labels >= 2 and 1 <= num_clusters <= num_labels")
    rng = np.random.default_rng(config.seed)
    label_names = [f"topic_{j:02d}" for j in range(config.num_labels)]
    keywords = [
        _words(rng, config.keywords_per_label, prefix=f"k{j}") for j in range(config.num_labels)
    ]
    background = _words(rng, config.vocab_size)
    cluster = np.arange(config.num_labels) % config.num_clusters
    freq = 1.0 / np.arange(1, config.num_labels + 1) ** config.zipf_exponent
    freq /= freq.sum()

    def one_document(index: int) -> tuple[str, list[int]]:
        primary = rng.choice(config.num_labels, p=freq)
        same = cluster == cluster[primary]
        probs = np.where(same, config.correlation, config.noise_label_prob)
        on = rng.random(config.num_labels) < probs
        on[primary] = True
        words: list[str] = []
        for j in np.flatnonzero(on):
            for word in rng.choice(keywords[j], size=config.signal_words):
                if rng.random() >= config.signal_dropout:
                    words.append(str(word))
        length = int(rng.poisson(config.mean_length))
        words.extend(str(w) for w in rng.choice(background, size=length))
        rng.shuffle(words)
        return " ".join(words) if words else background[0], [int(j) for j in np.flatnonzero(on)]

    splits: dict[str, list[Record]] = {}
    for split, size in (("train", config.n_train), ("dev", config.n_dev), ("test", config.n_test)):
        records = []
        for i in range(size):
            text, on = one_document(i)
            records.append(
                Record(id=f"{split}-{i:05d}", text=text, labels=tuple(label_names[j] for j in on))
            )
        splits[split] = records
    return splits, label_names


def write_synthetic(out_dir: Path | str, config: SyntheticConfig = SyntheticConfig()) -> Path:
    """Generate a synthetic data set and write it in the canonical format to ``out_dir``."""
    splits, label_names = generate(config)
    meta = {
        "name": config.name,
        "source": "synthetic (data_prep.synthetic): generated, not real text",
        "synthetic": True,
        "converter": "data_prep.synthetic",
        "converter_version": SYNTHETIC_VERSION,
        "generator_config": asdict(config),
        "language": "synthetic",
    }
    return write_dataset(Path(out_dir), splits, label_names, meta)


#: Named synthetic sets the runner knows (``--dataset synthetic-small`` etc.).
PRESETS: dict[str, SyntheticConfig] = {
    "synthetic-small": SyntheticConfig(name="synthetic-small"),
    "synthetic-correlated": SyntheticConfig(
        name="synthetic-correlated",
        num_labels=12,
        num_clusters=3,
        correlation=0.85,
        n_train=800,
        n_dev=200,
        n_test=200,
        seed=1,
    ),
}
