"""The report's tables: paper value, ours (mean ± std over seeds) and the difference.

Built from run files only (see :class:`RunIndex`). A reproduced value "stands out"
when it differs from the paper's by more than the larger of twice the spread across
seeds and a floor (1 point for percent metrics, 0.002 for Hamming loss): with one seed
the floor alone decides. Every row carries the data stamp (full, subset, synthetic) and
every table names its profile, so that no smoke table is mistaken for a reproduction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.experiments import EXPERIMENTS, LAMBDAS
from benchmarks.reference import load_reference, paper_value
from benchmarks.runfiles import Cell, iter_runs, read_run
from benchmarks.summary import data_stamp, group_runs, mean_std
from lmmtc.metrics import PAPER_METRICS

METRIC_LABELS = {
    "subset_accuracy": "Acc",
    "micro_f1": "Mi-F1",
    "micro_jaccard": "Mi-Jac",
    "hamming_loss": "HL",
    "macro_f1": "Ma-F1",
}
MISSING = "missing"


@dataclass
class Value:
    """One reproduced number: mean and std over seeds, in the metric's display unit."""

    mean: float
    std: float
    seeds: int


@dataclass
class Table:
    """A rendered table: display rows plus the numbers behind them (for the CSV)."""

    name: str
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    numbers: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def scale(metric: str, value: float) -> float:
    """Display unit: percent for the paper's percent metrics, fraction for Hamming loss."""
    return value if metric == "hamming_loss" else 100.0 * value


def fmt(metric: str, value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.4f}" if metric == "hamming_loss" else f"{value:.2f}"


def stands_out(metric: str, diff: float, std: float) -> bool:
    floor = 0.002 if metric == "hamming_loss" else 1.0
    return abs(diff) > max(2 * std, floor)


class RunIndex:
    """Every run file and data record of one profile, indexed for the table builders."""

    def __init__(self, results_dir: Path, profile: str) -> None:
        self.profile = profile
        self.groups = group_runs(iter_runs(results_dir, profile))
        self.data: dict[str, dict[str, Any]] = {}
        for path in sorted((Path(results_dir) / "runs" / profile).glob("*/data.json")):
            self.data[path.parent.name] = read_run(path)

    def runs(self, dataset: str, method: str, variant: str = "") -> list[dict[str, Any]]:
        key = (self.profile, dataset, Cell(self.profile, dataset, method, variant).method_dir)
        return self.groups.get(key, [])

    def value(self, dataset: str, method: str, metric: str, variant: str = "") -> Value | None:
        runs = self.runs(dataset, method, variant)
        if not runs:
            return None
        mean, std = mean_std([scale(metric, r["metrics"]["test"][metric]) for r in runs])
        return Value(mean, std, len(runs))

    def stamp(self, dataset: str, method: str | None = None, variant: str = "") -> str:
        """The data stamp of a cell's runs (``missing`` when it has none) or, without a
        method, of the data set's record."""
        if method is not None:
            runs = self.runs(dataset, method, variant)
            return data_stamp(runs[0]["dataset"]) if runs else MISSING
        record = self.data.get(dataset)
        return data_stamp(record["dataset"]) if record else MISSING


def compare_cells(
    metric: str, paper: float | None, ours: Value | None
) -> tuple[list[str], dict[str, Any]]:
    """Three display cells (paper, ours, diff) and their numbers."""
    paper_display = scale(metric, paper) if paper is not None else None
    numbers = {
        f"{metric}_paper": paper_display,
        f"{metric}_ours": ours.mean if ours else None,
        f"{metric}_std": ours.std if ours else None,
        f"{metric}_seeds": ours.seeds if ours else 0,
    }
    if ours is None:
        return [fmt(metric, paper_display), MISSING, "-"], numbers
    ours_text = f"{fmt(metric, ours.mean)} ± {fmt(metric, ours.std)}"
    if paper_display is None:
        return ["-", ours_text, "-"], numbers
    diff = ours.mean - paper_display
    numbers[f"{metric}_diff"] = diff
    diff_text = f"{diff:+.4f}" if metric == "hamming_loss" else f"{diff:+.2f}"
    if stands_out(metric, diff, ours.std):
        diff_text = f"**{diff_text}**"
    return [fmt(metric, paper_display), ours_text, diff_text], numbers


def metric_columns(metrics: Iterable[str]) -> list[str]:
    cols: list[str] = []
    for metric in metrics:
        label = METRIC_LABELS[metric]
        cols += [f"{label} paper", f"{label} ours", f"{label} Δ"]
    return cols


def comparison_table(
    name: str,
    title: str,
    index: RunIndex,
    reference: str,
    rows: Sequence[tuple[str, str, str, dict[str, str]]],
    metrics: Sequence[str],
) -> Table:
    """Rows of (dataset, method, variant, reference keys) compared metric by metric."""
    table = Table(name, title, ["data set", "method", *metric_columns(metrics), "data"])
    for dataset, method, variant, keys in rows:
        display = [dataset, method + (f"+{variant}" if variant else "")]
        numbers: dict[str, Any] = {"dataset": dataset, "method": method, "variant": variant}
        for metric in metrics:
            paper, note = paper_value(reference, metric, **keys)
            cells, nums = compare_cells(
                metric, paper, index.value(dataset, method, metric, variant)
            )
            display += cells
            numbers.update(nums)
            entry = f"{dataset} {method}: {note}"
            if note and entry not in table.notes:
                table.notes.append(entry)
        stamp = index.stamp(dataset, method, variant)
        table.rows.append([*display, stamp])
        numbers["data"] = stamp
        table.numbers.append(numbers)
    return table


def table1(index: RunIndex) -> Table:
    """Data set statistics from the data records, beside the paper's Table 1."""
    reference = load_reference("table1_datasets.csv").set_index("dataset")
    table = Table(
        "table1",
        "Table 1: data set statistics",
        [
            "data set",
            "labels paper",
            "labels ours",
            "train paper",
            "train ours",
            "train+dev ours",
            "test paper",
            "test ours",
            "dev ours",
            "labels/doc",
            "mean tokens",
            "p95 tokens",
            "data",
        ],
    )
    for dataset in EXPERIMENTS["table1"].datasets:
        paper = reference.loc[dataset] if dataset in reference.index else None
        record = index.data.get(dataset)
        stats = record["statistics"] if record else None
        paper_cells = [
            str(int(paper[c])) if paper is not None else "-" for c in ("labels", "train", "test")
        ]
        ours = (
            [
                str(stats["labels"]),
                str(stats["train"]),
                str(stats["train"] + stats["dev"]),
                str(stats["test"]),
                str(stats["dev"]),
                f"{stats['labels_per_doc']:.2f}",
                f"{stats['mean_tokens']:.1f}",
                f"{stats['p95_tokens']:.0f}",
            ]
            if stats
            else [MISSING] * 8
        )
        stamp = index.stamp(dataset)
        table.rows.append(
            [
                dataset,
                paper_cells[0],
                ours[0],
                paper_cells[1],
                ours[1],
                ours[2],
                paper_cells[2],
                ours[3],
                *ours[4:],
                stamp,
            ]
        )
        table.numbers.append(
            {
                "dataset": dataset,
                **({k: v for k, v in stats.items() if k != "label_frequency"} if stats else {}),
                "data": stamp,
            }
        )
    table.notes.append(
        "tokens: whitespace words, each CJK character one token; dev: the converter's "
        "development split (the paper's Table 1 omits it). Where the paper's split has no "
        "dev part (Reuters 8,630 / 2,158; Toxic 7:3) compare its train with our train+dev"
    )
    return table


def table2(index: RunIndex) -> Table:
    experiment = EXPERIMENTS["table2"]
    paper_names = {"bert": "Bert", "bert_mlm": "Bert+MLM", "lm": "LM", "lm_mlm": "LM+MLM"}
    rows = [
        (d, m, "", {"dataset": d, "model": paper_names[m]})
        for d in experiment.datasets
        for m in experiment.methods
    ]
    return comparison_table(
        "table2", experiment.title, index, "table2_main.csv", rows, PAPER_METRICS
    )


def table3(index: RunIndex) -> Table:
    experiment = EXPERIMENTS["table3"]
    reference = load_reference("table3_baselines.csv")
    ours_methods = set(experiment.methods)
    rows = []
    for dataset in experiment.datasets:
        for _, ref in reference[reference["dataset"] == dataset].iterrows():
            method = ref["method"] if isinstance(ref["method"], str) else ref["model"]
            rows.append((dataset, method, "", {"dataset": dataset, "model": ref["model"]}))
    table = comparison_table(
        "table3",
        experiment.title,
        index,
        "table3_baselines.csv",
        rows,
        ("micro_f1", "hamming_loss"),
    )
    for row, numbers in zip(table.rows, table.numbers):
        if numbers["method"] not in ours_methods:
            row[-1] = "paper only"
            numbers["data"] = "paper only"
    return table


def table4(index: RunIndex) -> Table:
    experiment = EXPERIMENTS["table4"]
    rows = [
        (d, "lm_mlm", v.name, {"dataset": d, "template": v.name or "diff"})
        for d in experiment.datasets
        for v in experiment.variants
    ]
    return comparison_table(
        "table4", experiment.title, index, "table4_mask_strategy.csv", rows, PAPER_METRICS
    )


def variant_table(index: RunIndex, name: str, metrics: Sequence[str]) -> Table:
    """Our values for each variant of an experiment (no paper numbers exist for these)."""
    experiment = EXPERIMENTS[name]
    labels = [METRIC_LABELS[m] for m in metrics]
    table = Table(name, experiment.title, ["data set", "method", "variant", *labels, "data"])
    for dataset in experiment.datasets:
        for method in experiment.methods:
            for variant in experiment.variants_for(method):
                values = [index.value(dataset, method, m, variant.name) for m in metrics]
                cells = [
                    f"{fmt(m, v.mean)} ± {fmt(m, v.std)}" if v else MISSING
                    for m, v in zip(metrics, values)
                ]
                stamp = index.stamp(dataset, method, variant.name)
                table.rows.append([dataset, method, variant.name or "default", *cells, stamp])
                table.numbers.append(
                    {
                        "dataset": dataset,
                        "method": method,
                        "variant": variant.name,
                        **{m: (v.mean if v else None) for m, v in zip(metrics, values)},
                        "data": stamp,
                    }
                )
    if name == "figure5":
        table.notes.append(f"lambda values: {', '.join(f'{x:g}' for x in LAMBDAS)}")
    return table


def all_runs_table(index: RunIndex) -> Table:
    """Every (data set, method, variant) of the profile, including methods no paper
    table has (prior, lp, rakel, ...), with seeds, fit time and data stamp."""
    metrics = (*PAPER_METRICS, "macro_f1")
    table = Table(
        "all_runs",
        "All runs of this profile (test split)",
        [
            "data set",
            "method",
            "seeds",
            *[METRIC_LABELS[m] for m in metrics],
            "fit s",
            "train rows",
            "data",
        ],
    )
    for (_, dataset, method_dir), runs in sorted(index.groups.items()):
        cells = []
        numbers: dict[str, Any] = {"dataset": dataset, "method": method_dir}
        for metric in metrics:
            mean, std = mean_std([scale(metric, r["metrics"]["test"][metric]) for r in runs])
            cells.append(f"{fmt(metric, mean)} ± {fmt(metric, std)}")
            numbers[metric] = mean
        fit = sum(r["timing"]["fit_seconds"] for r in runs) / len(runs)
        stamp = data_stamp(runs[0]["dataset"])
        table.rows.append(
            [
                dataset,
                method_dir,
                str(len(runs)),
                *cells,
                f"{fit:.1f}",
                str(runs[0]["dataset"]["sizes"]["train"]),
                stamp,
            ]
        )
        table.numbers.append({**numbers, "fit_seconds": fit, "data": stamp})
    return table


def build_tables(index: RunIndex) -> list[Table]:
    return [
        table1(index),
        table2(index),
        table3(index),
        table4(index),
        variant_table(index, "figure5", ("micro_f1", "subset_accuracy")),
        variant_table(index, "ablation", ("micro_f1", "subset_accuracy", "hamming_loss")),
        all_runs_table(index),
    ]


def to_markdown(table: Table) -> str:
    lines = [
        "| " + " | ".join(table.columns) + " |",
        "|" + "|".join("---" for _ in table.columns) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in table.rows]
    return "\n".join(lines)


def to_latex(table: Table) -> str:
    def tex(text: str) -> str:
        text = text.replace("\\", "\\textbackslash{}")
        for char in "&%$#_{}":
            text = text.replace(char, "\\" + char)
        text = text.replace("±", "$\\pm$").replace("Δ", "$\\Delta$")
        if text.startswith("**") and text.endswith("**"):
            text = "\\textbf{" + text[2:-2] + "}"
        return text

    spec = "l" * len(table.columns)
    body = [" & ".join(tex(c) for c in table.columns) + " \\\\", "\\hline"]
    body += [" & ".join(tex(c) for c in row) + " \\\\" for row in table.rows]
    return "\n".join(
        ["\\begin{tabular}{" + spec + "}", "\\hline", *body, "\\hline", "\\end{tabular}"]
    )


def write_table(table: Table, out_dir: Path) -> dict[str, Path]:
    """Markdown, LaTeX and CSV files of a table; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "md": out_dir / f"{table.name}.md",
        "tex": out_dir / f"{table.name}.tex",
        "csv": out_dir / f"{table.name}.csv",
    }
    paths["md"].write_text(f"{table.title}\n\n{to_markdown(table)}\n", encoding="utf-8")
    paths["tex"].write_text(to_latex(table) + "\n", encoding="utf-8")
    pd.DataFrame(table.numbers).to_csv(paths["csv"], index=False)
    return paths
