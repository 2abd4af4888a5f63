"""Experiments as declarations: which data sets, methods, variants and cell outputs each
of the paper's tables and figures needs, which paper values it is compared with, and
which builder draws it. The runner expands an experiment into cells; the report runs
each experiment's table and figure builders over the resulting run files. Adding an
experiment, or a method to one, touches this file only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from benchmarks.store.records import Cell
from benchmarks.suite.reference import AUTHORS_CODE_GAIC, Reference, Table1Reference
from data_prep.registry import paper_datasets
from lmmtc.metrics import PAPER_METRICS
from lmmtc.suggest import lookup
from lmmtc.transformers.readings import READINGS

PAPER_DATASETS = paper_datasets()  # Table 1's data sets, from their declarations
TRANSFORMERS = ("bert", "bert_mlm", "lm", "lm_mlm")


@dataclass(frozen=True)
class Variant:
    """A named set of parameter overrides of a method ("" is the default configuration)."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)


DEFAULT = Variant("")


@dataclass(frozen=True)
class Against:
    """The row a table tests its other rows against: each row's difference from the cell
    ``method`` (+ ``variant``) on the same data set and test documents, with its paired
    bootstrap interval and a Holm-corrected marker. ``rows``: the methods it is the
    reference of (empty: every method of the table)."""

    method: str
    variant: str = ""
    rows: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.method + (f"+{self.variant}" if self.variant else "")


@dataclass(frozen=True)
class Experiment:
    """One table or figure of the paper (or of the suite's own analyses).

    ``saves``: extra outputs a cell must keep beside its run file (``attention``);
    ``reference``: the paper's values it is compared with; ``other_references``: other
    published values of the same rows (the authors' code's), shown beside the paper's by
    the ``references`` builder; ``against``: the row(s) each
    row is tested against (paired significance); ``metrics``: the columns of its table;
    ``table`` / ``figure``: the names of the builders the report calls
    (:mod:`benchmarks.analysis.builders`); ``notes``: lines printed under
    its table.
    """

    name: str
    title: str
    datasets: tuple[str, ...]
    methods: tuple[str, ...] = ()
    variants: tuple[Variant, ...] = (DEFAULT,)
    saves: tuple[str, ...] = ()
    reference: Reference | None = None
    other_references: tuple[Reference, ...] = ()
    against: tuple[Against, ...] = ()
    metrics: tuple[str, ...] = PAPER_METRICS
    table: str | None = None
    figure: str | None = None
    notes: tuple[str, ...] = ()

    def cells(self, profile: str, seeds: Iterable[int]) -> list[Cell]:
        seeds = tuple(seeds)
        return [
            Cell(profile, dataset, method, variant.name, seed)
            for dataset in self.datasets
            for method in self.methods
            for variant in self.variants
            for seed in seeds
        ]

    def tested_against(self, method: str) -> Against | None:
        """The reference row of ``method``'s rows, or None when the table tests none."""
        return next((a for a in self.against if not a.rows or method in a.rows), None)

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
            reference=Table1Reference(),
            table="data",
            notes=(
                "tokens: whitespace words, each CJK character one token; dev: the converter's "
                "development split (the paper's Table 1 omits it). Where the paper's split has "
                "no dev part (Reuters 8,630 / 2,158; Toxic 7:3) compare its train with our "
                "train+dev",
            ),
        ),
        Experiment(
            "table2",
            "Table 2: Bert, Bert+MLM, LM, LM+MLM on the six data sets",
            datasets=PAPER_DATASETS,
            methods=TRANSFORMERS,
            reference=Reference("table2_main.csv"),
            against=(Against("bert"),),
            table="comparison",
        ),
        Experiment(
            "gaic_authors",
            "GAIC: the paper, the authors' code and ours",
            datasets=("gaic",),
            methods=TRANSFORMERS,
            reference=Reference(
                "table2_main.csv", source="the paper's Table 2, GAIC row", datasets=("gaic",)
            ),
            other_references=(AUTHORS_CODE_GAIC,),
            against=(Against("bert"),),
            metrics=("subset_accuracy", "micro_f1", "micro_jaccard"),
            table="references",
            notes=(
                "the paper's GAIC row is the authors' code's row cut to whole points: that "
                "code is the best evidence of the recipe behind the paper's numbers",
            ),
        ),
        Experiment(
            "table3",
            "Table 3: baselines on AAPD, Reuters-21578 and RMSC",
            datasets=("aapd", "reuters", "rmsc"),
            methods=("br", "cc", "cnn", *TRANSFORMERS),
            reference=Reference("table3_baselines.csv"),
            # the classical rows against br; the transformer rows against bert as in
            # Table 2 (they may score a test subset that the classical rows do not)
            against=(Against("br", rows=("br", "cc", "cnn")), Against("bert", rows=TRANSFORMERS)),
            metrics=("micro_f1", "hamming_loss"),
            table="comparison",
        ),
        Experiment(
            "table4",
            "Table 4: different (diff) vs shared (same) label tokens",
            datasets=("rmsc", "goemotions"),
            methods=("lm_mlm",),
            # shared tokens: no per-label token types either, or labels stay told apart
            variants=(DEFAULT, Variant("same", {"template": "same", "token_types": "none"})),
            reference=Reference(
                "table4_mask_strategy.csv",
                method="lm_mlm",
                variant_column="template",
                variants=(("diff", ""), ("same", "same")),
            ),
            against=(Against("lm_mlm"),),
            table="comparison",
        ),
        Experiment(
            "figure1",
            "Figure 1: Pearson correlation of label pairs",
            datasets=("aapd", "reuters", "goemotions"),
            figure="figure1",
        ),
        Experiment(
            "figure3",
            "Figure 3: test-set label correlation beside label-to-label attention",
            datasets=("aapd", "reuters", "goemotions"),
            methods=("lm_mlm",),
            saves=("attention",),
            figure="figure3",
        ),
        Experiment(
            "figure4",
            "Figure 4: MTC and MLM loss every 10 batches",
            datasets=("rmsc", "goemotions"),
            methods=("lm_mlm",),
            figure="figure4",
        ),
        Experiment(
            "figure5",
            "Figure 5: performance under different lambda (MLM weight)",
            datasets=("rmsc", "goemotions"),
            methods=("lm_mlm",),
            variants=tuple(Variant(f"lambda{lam:g}", {"mlm_lambda": lam}) for lam in LAMBDAS),
            metrics=("micro_f1", "subset_accuracy"),
            table="variants",
            figure="figure5",
            notes=(f"lambda values: {', '.join(f'{x:g}' for x in LAMBDAS)}",),
        ),
        Experiment(
            "ablation",
            "Which reading of LM-MTC: the declared readings side by side (the choices the "
            "paper leaves open), each against bert",
            datasets=("reuters", "goemotions"),
            methods=("lm_mlm",),
            variants=(
                DEFAULT,  # the default reading
                *(Variant(name, {"reading": name}) for name in READINGS if name != "default"),
                Variant("readout-cls", {"readout": "cls"}),
                # bert with lm's text budget (max_len - 3L - 2): on Reuters at 512 tokens
                # the 270 template tokens leave lm 240 word pieces against bert's 510
                Variant(
                    "bert-lm-text",
                    {
                        "reading": None,
                        "template": None,
                        "readout": "cls",
                        "mlm_target": None,
                        "mask_count": "all",
                        "reserve_template": True,
                    },
                ),
            ),
            against=(Against("bert"),),
            # micro-F1 at 0.5 and at the dev-chosen cut-off, then the threshold-free two:
            # "no signal" (AUC at 0.5) and "miscalibrated" (AUC high, F1 low) differ
            metrics=("micro_f1", "macro_auc", "lrap"),
            table="readings",
            notes=("readings: lmmtc/transformers/readings.py; docs/readings.md",),
        ),
    )
}
#: ``--table N`` and ``--figure N`` map to these experiments.
TABLES = {n: f"table{n}" for n in (1, 2, 3, 4)}
FIGURES = {n: f"figure{n}" for n in (1, 3, 4, 5)}


def get_experiment(name: str) -> Experiment:
    """The experiment called ``name``, or an error with a did-you-mean hint."""
    return lookup(EXPERIMENTS, name, "experiment")
