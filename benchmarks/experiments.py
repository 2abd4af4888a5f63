"""Experiments as declarations: which data sets, methods, variants and artefacts each of
the paper's tables and figures needs. The runner expands them into cells; the report
reads the resulting run files. Adding an experiment never touches the runner.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from benchmarks.runfiles import Cell
from lmmtc.suggest import did_you_mean

PAPER_DATASETS = ("gaic", "aapd", "reuters", "rmsc", "goemotions", "toxic")
TRANSFORMERS = ("bert", "bert_mlm", "lm", "lm_mlm")


@dataclass(frozen=True)
class Variant:
    """A named set of parameter overrides of a method ("" is the default configuration)."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)


DEFAULT = Variant("")


@dataclass(frozen=True)
class Experiment:
    """One table or figure of the paper (or of the suite's own analyses)."""

    name: str
    title: str
    datasets: tuple[str, ...]
    methods: tuple[str, ...] = ()
    variants: tuple[Variant, ...] = (DEFAULT,)
    # Which methods take which variants; methods absent here run the default only.
    variant_methods: tuple[str, ...] = ()
    artefacts: tuple[str, ...] = ()  # extra outputs a cell must save, e.g. "attention"
    reference: str | None = None  # the paper's table CSV this experiment is compared to

    def variants_for(self, method: str) -> tuple[Variant, ...]:
        if not self.variant_methods or method in self.variant_methods:
            return self.variants
        return (DEFAULT,)

    def cells(self, profile: str, seeds: Iterable[int]) -> list[Cell]:
        seeds = tuple(seeds)
        return [
            Cell(profile, dataset, method, variant.name, seed)
            for dataset in self.datasets
            for method in self.methods
            for variant in self.variants_for(method)
            for seed in seeds
        ]

    def variant_params(self, name: str) -> dict[str, Any]:
        for variant in self.variants:
            if variant.name == name:
                return dict(variant.params)
        raise KeyError(f"experiment {self.name!r} has no variant {name!r}")


LAMBDAS = (0.0, 0.01, 0.05, 0.1, 0.5, 1.0)

EXPERIMENTS: dict[str, Experiment] = {
    e.name: e
    for e in (
        Experiment(
            "table1",
            "Table 1: data set statistics",
            datasets=PAPER_DATASETS,
            reference="table1_datasets.csv",
        ),
        Experiment(
            "table2",
            "Table 2: Bert, Bert+MLM, LM, LM+MLM on the six data sets",
            datasets=PAPER_DATASETS,
            methods=TRANSFORMERS,
            reference="table2_main.csv",
        ),
        Experiment(
            "table3",
            "Table 3: baselines on AAPD, Reuters-21578 and RMSC",
            datasets=("aapd", "reuters", "rmsc"),
            methods=("br", "cc", "cnn", *TRANSFORMERS),
            reference="table3_baselines.csv",
        ),
        Experiment(
            "table4",
            "Table 4: different (diff) vs shared (same) label tokens",
            datasets=("rmsc", "goemotions"),
            methods=("lm_mlm",),
            variants=(DEFAULT, Variant("same", {"template": "same"})),
            reference="table4_mask_strategy.csv",
        ),
        Experiment(
            "figure1",
            "Figure 1: Pearson correlation of label pairs",
            datasets=("aapd", "reuters", "goemotions"),
        ),
        Experiment(
            "figure3",
            "Figure 3: test-set label correlation beside label-to-label attention",
            datasets=("aapd", "reuters", "goemotions"),
            methods=("lm_mlm",),
            artefacts=("attention",),
        ),
        Experiment(
            "figure4",
            "Figure 4: MTC and MLM loss every 10 batches",
            datasets=("rmsc", "goemotions"),
            methods=("lm_mlm",),
        ),
        Experiment(
            "figure5",
            "Figure 5: performance under different lambda (MLM weight)",
            datasets=("rmsc", "goemotions"),
            methods=("lm_mlm",),
            variants=tuple(Variant(f"lambda{lam:g}", {"mlm_lambda": lam}) for lam in LAMBDAS),
        ),
        Experiment(
            "ablation",
            "Ablation: the implementation choices the paper leaves open",
            datasets=("reuters", "goemotions"),
            methods=("lm_mlm",),
            variants=(
                DEFAULT,
                Variant("readout-cls", {"readout": "cls"}),
                Variant("bce-some-visible", {"bce_input": "some_visible"}),
                Variant("mlm-text", {"mlm_target": "text"}),
                Variant("init-label-name", {"new_token_init": "label_name"}),
                # the public implementation's reading (DESIGN.md): shared label unit, a
                # random number of labels masked with BCE on those, text MLM weight 1 early
                Variant(
                    "public-impl",
                    {
                        "readout": "label",
                        "label_head": "shared",
                        "bce_input": "some_visible",
                        "bce_on": "masked",
                        "mlm_target": "text",
                        "mlm_schedule": [[3, 1.0]],
                        "mlm_lambda": 0.0,
                    },
                ),
            ),
        ),
    )
}
#: ``--table N`` and ``--figure N`` map to these experiments.
TABLES = {n: f"table{n}" for n in (1, 2, 3, 4)}
FIGURES = {n: f"figure{n}" for n in (1, 3, 4, 5)}


def get_experiment(name: str) -> Experiment:
    """The experiment called ``name``, or an error with a did-you-mean hint."""
    if name in EXPERIMENTS:
        return EXPERIMENTS[name]
    hint = did_you_mean(name, EXPERIMENTS)
    raise ValueError(f"unknown experiment {name!r}.{hint} Known: {', '.join(EXPERIMENTS)}")
