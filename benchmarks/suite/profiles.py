"""Profiles: the budget a run gets (data size, backbone, epochs, seeds).

A profile sets what every cell may cost; the per-method YAML files in
``benchmarks/suite/configs/methods/`` hold the method parameters of each profile.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lmmtc.suggest import lookup


@dataclass(frozen=True)
class Priority:
    """One entry of a profile's priority list: an experiment's cells, narrowed to some data
    sets, methods, variants (``default`` for the default configuration) and seeds (empty:
    all of the experiment's, the profile's seeds)."""

    experiment: str
    datasets: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    variants: tuple[str, ...] = ()
    seeds: tuple[int, ...] = ()


@dataclass(frozen=True)
class Profile:
    """A named budget. ``subset`` caps rows per split for every method (a method's own
    config may cap further); ``synthetic_fallback`` stands a synthetic set in for a paper
    data set whose raw files are absent (stamped synthetic in run files and tables)."""

    name: str
    description: str
    seeds: tuple[int, ...]
    subset: dict[str, int] = field(default_factory=dict)
    synthetic_fallback: bool = False
    # Rough seconds per 1,000 training examples and epoch, per method family, on this
    # profile's reference device: used only by --dry-run's cost estimate.
    cost_per_1k: dict[str, float] = field(default_factory=dict)
    # Method families this profile runs (empty: all); cells of others are left out.
    families: tuple[str, ...] = ()
    # The order in which --budget runs cells (first entry first); --priority plans these.
    priority: tuple[Priority, ...] = ()


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke",
        description="CI: a few hundred examples per data set, tiny random BERT, 1 epoch, "
        "synthetic stand-ins where raw data is absent; minutes on 2 CPU cores",
        seeds=(1,),
        subset={"train": 300, "dev": 100, "test": 100},
        synthetic_fallback=True,
        cost_per_1k={"trivial": 0.01, "linear": 2, "neural": 5, "transformer": 60},
    ),
    "cpu": Profile(
        name="cpu",
        description="real numbers without a GPU: full data for BR/CC/CNN, stated subsets "
        "and the offline all-MiniLM-L6-v2 for the transformer methods",
        seeds=(1,),
        # transformer: measured on GoEmotions (MiniLM, 2 cores) 29 s for bert and
        # bert_mlm, 87 for lm, 161 for lm_mlm (fit incl. dev evaluation); 80 between them.
        cost_per_1k={"trivial": 0.01, "linear": 3, "neural": 30, "transformer": 80},
    ),
    "gpu": Profile(
        name="gpu",
        description="full training sets on a GPU in short windows (--budget): the offline "
        "all-MiniLM-L6-v2 (not bert-base: the only pre-trained encoder that installs without "
        "the hub), the paper's recipe but 1 epoch on GoEmotions and 5 on Reuters (not 40), "
        "3 seeds; transformer methods only",
        seeds=(1, 2, 3),
        families=("transformer",),
        # Seconds per 1,000 rows and epoch on an H200, from the committed sweep
        # (results/sweeps/goemotions-h200): the fastest run of the slowest method, lm_mlm,
        # 625 steps in 24.3 s with its dev passes (38.8 ms a step, four cells sharing the
        # card: 2.43 s per 1,000 rows), plus 10% for the test pass, loading and tokenising:
        # a GoEmotions cell ~117 s (tests/test_budget.py recomputes it from the run files).
        # Run files of the same method, data set and card replace it (benchmarks/running/budget.py).
        cost_per_1k={"transformer": 2.7},
        priority=(
            Priority("table2", ("goemotions",), ("bert", "lm", "lm_mlm")),
            Priority("figure5", ("goemotions",), seeds=(1,)),
            Priority("table4", ("goemotions",)),
            Priority("ablation", ("goemotions",), seeds=(1,)),
            # GAIC's full Table 2 row (the authors' own numbers are known; issue 23)
            Priority("table2", ("gaic",)),
            Priority("table2", ("reuters",), ("bert", "lm", "lm_mlm")),
            Priority("table2", ("goemotions", "reuters"), ("bert_mlm",)),
        ),
    ),
    "paper": Profile(
        name="paper",
        description="the paper's setting on a GPU node: full data, bert-base backbones, "
        "40 epochs, 3 seeds",
        seeds=(1, 2, 3),
        cost_per_1k={"trivial": 0.01, "linear": 3, "neural": 5, "transformer": 8},
    ),
}


def get_profile(name: str) -> Profile:
    """The profile called ``name``; unknown names list the known ones."""
    return lookup(PROFILES, name, "profile")
