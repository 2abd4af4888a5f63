"""The report's tables: paper value, ours (mean ± std over seeds) and the difference.

Built from run files only (see :class:`RunIndex`). Each builder takes the experiment
that declares the table (its data sets, methods, variants, metrics and reference), so a
method added to an experiment appears in its table. A reproduced value "stands out"
when it differs from the paper's by more than the larger of twice the spread across
seeds and the metric's floor (1 point for percent metrics, 0.002 for Hamming loss):
with one seed the floor alone decides. Every row carries the data stamp (full, subset,
synthetic) and every table names its profile, so that no smoke table is mistaken for a
reproduction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from benchmarks.config import changes, resolve
from benchmarks.profiles import get_profile
from benchmarks.records import (
    Cell,
    DataRecord,
    RecordError,
    RunRecord,
    iter_records,
    read_data_record,
)
from benchmarks.reference import PaperValue, Reference
from benchmarks.summary import group_runs, mean_std
from lmmtc.metrics import METRICS, PAPER_METRICS

if TYPE_CHECKING:  # the experiment declarations import the builders of this module
    from benchmarks.experiments import Experiment

MISSING = "missing"
PAPER_ONLY = "paper only"
NO_PAPER_VALUE = "no paper value"
#: Added to a row's data stamp when its runs were made with another config than the one
#: the experiment declares now (an edited YAML, a changed default, a --set).
OTHER_CONFIG = "other config"


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


def stands_out(metric: str, diff: float, std: float) -> bool:
    """A difference beyond twice the seed spread and the metric's floor."""
    return abs(diff) > max(2 * std, METRICS[metric].floor)


class RunIndex:
    """Every run file and data record of one profile, indexed for the table builders."""

    def __init__(self, results_dir: Path, profile: str) -> None:
        self.profile = profile
        self.groups = group_runs(iter_records(results_dir, profile))
        self.data: dict[str, DataRecord] = {}
        for path in sorted((Path(results_dir) / "runs" / profile).glob("*/data.json")):
            try:
                self.data[path.parent.name] = read_data_record(path)
            except RecordError as err:
                import warnings

                warnings.warn(f"skipped data record: {err}", stacklevel=2)

    def runs(self, dataset: str, method: str, variant: str = "") -> list[RunRecord]:
        key = (self.profile, dataset, Cell(self.profile, dataset, method, variant).method_dir)
        return self.groups.get(key, [])

    def value(self, dataset: str, method: str, metric: str, variant: str = "") -> Value | None:
        """Mean ± std over the seeds of a cell's runs, in display units (None: no run)."""
        return value_of(self.runs(dataset, method, variant), metric)

    def stamp(
        self,
        dataset: str,
        method: str | None = None,
        variant: str = "",
        variant_params: dict[str, Any] | None = None,
    ) -> str:
        """The data stamp of a cell's runs (``missing`` when it has none) or, without a
        method, of the data set's record. With ``variant_params`` (the experiment's
        declaration of the cell), runs made with another config are flagged."""
        if method is not None:
            runs = self.runs(dataset, method, variant)
            if not runs:
                return MISSING
            stamp = runs[0].dataset.stamp
            if variant_params is not None and self.other_config(runs, variant_params):
                stamp += f" ({OTHER_CONFIG})"
            return stamp
        record = self.data.get(dataset)
        return record.dataset.stamp if record else MISSING

    def other_config(self, runs: Sequence[RunRecord], variant_params: dict[str, Any]) -> bool:
        """Whether any run's parameters differ from what the cell resolves to now."""
        run = runs[0]
        try:
            profile = get_profile(self.profile)
            current = resolve(
                run.cell.method,
                run.cell.dataset,
                self.profile,
                profile_subset=profile.subset,
                variant_params=variant_params,
            )
        except (ValueError, KeyError):  # an unknown profile or a broken YAML: no verdict
            return False
        return any(changes(r.config.params, r.config.subset, current) for r in runs)


def value_of(runs: Sequence[RunRecord], metric: str, split: str = "test") -> Value | None:
    """Mean ± std of ``metric`` over ``runs`` (those that have it), in display units."""
    values = [v for v in (run.metric(metric, split) for run in runs) if v is not None]
    if not values:
        return None
    mean, std = mean_std([METRICS[metric].display(v) for v in values])
    return Value(mean, std, len(values))


def ours_text(metric: str, value: Value) -> str:
    """``mean ± std`` in the metric's display format."""
    spec = METRICS[metric]
    return f"{spec.format(value.mean)} ± {spec.format(value.std)}"


def compare_cells(
    metric: str, paper: float | None, ours: Value | None, *, no_paper: str = "-"
) -> tuple[list[str], dict[str, Any]]:
    """Three display cells (paper, ours, diff) and their numbers; ``paper`` is a fraction
    or None, ``no_paper`` what the paper cell shows then."""
    spec = METRICS[metric]
    paper_display = spec.display(paper) if paper is not None else None
    numbers = {
        f"{metric}_paper": paper_display,
        f"{metric}_ours": ours.mean if ours else None,
        f"{metric}_std": ours.std if ours else None,
        f"{metric}_seeds": ours.seeds if ours else 0,
    }
    paper_text = spec.format(paper_display) if paper_display is not None else no_paper
    if ours is None:
        return [paper_text, MISSING, "-"], numbers
    if paper_display is None:
        return [paper_text, ours_text(metric, ours), "-"], numbers
    diff = ours.mean - paper_display
    numbers[f"{metric}_diff"] = diff
    diff_text = spec.format_diff(diff)
    if stands_out(metric, diff, ours.std):
        diff_text = f"**{diff_text}**"
    return [paper_text, ours_text(metric, ours), diff_text], numbers


def metric_columns(metrics: Iterable[str]) -> list[str]:
    cols: list[str] = []
    for metric in metrics:
        label = METRICS[metric].label
        cols += [f"{label} paper", f"{label} ours", f"{label} Δ"]
    return cols


def comparison_rows(experiment: Experiment) -> list[tuple[str, str, str]]:
    """(data set, method, variant) of a comparison table: per data set the paper's rows in
    the order it prints them, then the experiment's cells the paper does not have."""
    reference = experiment.reference
    rows: list[tuple[str, str, str]] = []
    for dataset in experiment.datasets:
        ours = [(dataset, m, v.name) for m in experiment.methods for v in experiment.variants]
        paper = [(dataset, m, v) for m, v in reference.rows(dataset)] if reference else []
        rows += paper + [row for row in ours if row not in paper]
    return rows


def comparison_table(experiment: Experiment, index: RunIndex) -> Table:
    """Each row's metrics beside the paper's: a row the paper has but the experiment does
    not run is stamped ``paper only``; a row the experiment runs but the paper lacks
    shows ``no paper value``."""
    metrics = experiment.metrics
    reference: Reference | None = experiment.reference
    ours = {(m, v.name) for m in experiment.methods for v in experiment.variants}
    table = Table(
        experiment.name, experiment.title, ["data set", "method", *metric_columns(metrics), "data"]
    )
    for dataset, method, variant in comparison_rows(experiment):
        display = [dataset, method + (f"+{variant}" if variant else "")]
        numbers: dict[str, Any] = {"dataset": dataset, "method": method, "variant": variant}
        for metric in metrics:
            paper = reference.value(dataset, method, variant, metric) if reference else PaperValue()
            cells, nums = compare_cells(
                metric,
                paper.value,
                index.value(dataset, method, metric, variant),
                no_paper="-" if paper.has_row else NO_PAPER_VALUE,
            )
            display += cells
            numbers.update(nums)
            entry = f"{dataset} {method}: {paper.note}"
            if paper.note and entry not in table.notes:
                table.notes.append(entry)
        if (method, variant) in ours:
            stamp = index.stamp(dataset, method, variant, experiment.variant_params(variant))
        else:
            stamp = PAPER_ONLY
        table.rows.append([*display, stamp])
        numbers["data"] = stamp
        table.numbers.append(numbers)
    table.notes += experiment.notes
    return table


def data_table(experiment: Experiment, index: RunIndex) -> Table:
    """Data set statistics from the data records, beside the paper's Table 1."""
    table = Table(
        experiment.name,
        experiment.title,
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
    for dataset in experiment.datasets:
        paper = experiment.reference.row(dataset) if experiment.reference else None
        record = index.data.get(dataset)
        stats = record.statistics if record else None
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
    table.notes += experiment.notes
    return table


def variant_table(experiment: Experiment, index: RunIndex) -> Table:
    """Our values for each variant of an experiment (no paper numbers exist for these)."""
    metrics = experiment.metrics
    labels = [METRICS[m].label for m in metrics]
    table = Table(
        experiment.name, experiment.title, ["data set", "method", "variant", *labels, "data"]
    )
    for dataset in experiment.datasets:
        for method in experiment.methods:
            for variant in experiment.variants:
                values = [index.value(dataset, method, m, variant.name) for m in metrics]
                cells = [ours_text(m, v) if v else MISSING for m, v in zip(metrics, values)]
                stamp = index.stamp(dataset, method, variant.name, dict(variant.params))
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
    table.notes += experiment.notes
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
            *[METRICS[m].label for m in metrics],
            "fit s",
            "train rows",
            "data",
        ],
    )
    for (_, dataset, method_dir), runs in sorted(index.groups.items()):
        cells = []
        numbers: dict[str, Any] = {"dataset": dataset, "method": method_dir}
        for metric in metrics:
            value = value_of(runs, metric)
            cells.append(ours_text(metric, value) if value else MISSING)
            numbers[metric] = value.mean if value else None
        fit = sum(r.timing.fit_seconds for r in runs) / len(runs)
        stamp = runs[0].dataset.stamp
        table.rows.append(
            [
                dataset,
                method_dir,
                str(len(runs)),
                *cells,
                f"{fit:.1f}",
                str(runs[0].dataset.sizes["train"]),
                stamp,
            ]
        )
        table.numbers.append({**numbers, "fit_seconds": fit, "data": stamp})
    return table


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
