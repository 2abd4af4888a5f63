"""The report's tables: paper value, ours (mean ± std over seeds) and the difference.

Built from run files only (see :class:`RunIndex`). Each builder takes the experiment
that declares the table (its data sets, methods, variants, metrics and reference), so a
method added to an experiment appears in its table. A reproduced value "stands out"
when it differs from the paper's by more than the larger of twice the spread across
seeds and the metric's floor (1 point for percent metrics, 0.002 for Hamming loss):
with one seed the floor alone decides. Every row carries the data stamp (full, subset,
synthetic) and every table names its profile, so that no smoke table is mistaken for a
reproduction.

A table whose experiment declares ``against`` also shows, per metric, each row's
difference from its reference row on the same test documents with the 95% paired
bootstrap interval (:mod:`benchmarks.analysis.significance`), marked when the Holm-corrected
p-value over the table is below 0.05. A :class:`RunIndex` can re-score every run from
its stored scores (a metric added to the registry gets a value) or under another
threshold policy (:mod:`benchmarks.store.thresholds`).
"""

from __future__ import annotations

import dataclasses
import json
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from benchmarks.analysis.significance import (
    ALPHA,
    CONFIDENCE,
    RESAMPLES,
    Comparison,
    NotPaired,
    compare_runs,
    holm,
)
from benchmarks.store.records import (
    Cell,
    DataRecord,
    RecordError,
    RecordWarning,
    RunRecord,
    iter_records,
    read_data_record,
)
from benchmarks.store.scores import ScoresError, StoredScores, read_scores
from benchmarks.store.summary import group_runs, mean_std
from benchmarks.store.thresholds import DEFAULT_POLICY, DEV_IN_FIT, dev_in_fit
from benchmarks.suite.config import changes, resolve, same_as_default
from benchmarks.suite.profiles import get_profile
from benchmarks.suite.reference import PaperValue, Reference
from lmmtc.metrics import BUILTIN_METRICS, METRICS, PAPER_METRICS, auc_skipped_labels, evaluate

if TYPE_CHECKING:  # the experiment declarations import the builders of this module
    from benchmarks.suite.experiments import Experiment

MISSING = "missing"
PAPER_ONLY = "paper only"
NO_PAPER_VALUE = "no paper value"
#: Added to a row's data stamp when its runs were made with another config than the one
#: the experiment declares now (an edited YAML, a changed default, a --set).
OTHER_CONFIG = "other config"
NO_SCORES = "no scores"
#: Follows the variant of a row whose cell is its method's default cell (same config).
SAME_AS_DEFAULT = "= default"
REF = "ref"  # the significance cell of the reference row itself
MARK = "†"  # Holm-corrected p < ALPHA


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


def table_metrics(declared: Iterable[str]) -> tuple[str, ...]:
    """A table's metric columns: those its experiment declares, then every metric
    registered beyond the suite's own (so that a new metric shows up in every table)."""
    declared = tuple(declared)
    extra = [m for m in METRICS if m not in BUILTIN_METRICS and m not in declared]
    return (*declared, *extra)


def stands_out(metric: str, diff: float, std: float) -> bool:
    """A difference beyond twice the seed spread and the metric's floor."""
    return abs(diff) > max(2 * std, METRICS[metric].floor)


class RunIndex:
    """Every run file and data record of one profile, indexed for the table builders.

    ``rescore``: every run's metrics recomputed from its scores file (a run without one
    keeps its stored metrics); ``thresholds``: a threshold policy other than 0.5, under
    which every run is re-scored with cut-offs chosen on its dev scores, and a run
    without scores or whose method trained on dev has no values (:meth:`why_no_values`).
    """

    def __init__(
        self,
        results_dir: Path,
        profile: str,
        *,
        rescore: bool = False,
        thresholds: str = DEFAULT_POLICY,
    ) -> None:
        self.profile = profile
        self.thresholds = thresholds
        self._scores: dict[Path, StoredScores | ScoresError] = {}
        self._paired: dict[tuple, Comparison | NotPaired] = {}
        self._no_values: dict[Path | None, str] = {}  # run file -> why it has no values
        self._same: dict[str, bool] = {}  # (data set, method, variant, params) -> verdict
        records: Iterable[RunRecord] = iter_records(results_dir, profile)
        if rescore or thresholds != DEFAULT_POLICY:
            records = [self._rescored(record) for record in records]
        self.groups = group_runs(records)
        self.data: dict[str, DataRecord] = {}
        for path in sorted((Path(results_dir) / "runs" / profile).glob("*/data.json")):
            try:
                self.data[path.parent.name] = read_data_record(path)
            except RecordError as err:
                warnings.warn(f"skipped data record: {err}", RecordWarning, stacklevel=2)

    def scores(self, run: RunRecord) -> StoredScores:
        """A run's stored predictions (read once); :class:`ScoresError` when it has none.
        A scores file that is missing or replaced is warned about once, naming it."""
        key = run.path or Path(run.cell.label())
        if key not in self._scores:
            try:
                self._scores[key] = read_scores(run)
            except ScoresError as err:
                if run.scores is not None:
                    warnings.warn(f"scores not used: {err}", RecordWarning, stacklevel=2)
                self._scores[key] = err
        stored = self._scores[key]
        if isinstance(stored, ScoresError):
            raise stored
        return stored

    def _rescored(self, run: RunRecord) -> RunRecord:
        """``run`` with its metrics recomputed from its scores under the index's policy."""
        tuned = self.thresholds != DEFAULT_POLICY
        if tuned and dev_in_fit(run.method_info):
            self._no_values[run.path] = DEV_IN_FIT
            return dataclasses.replace(run, metrics={})
        try:
            stored = self.scores(run)
        except ScoresError:
            if not tuned:
                return run
            self._no_values[run.path] = NO_SCORES
            return dataclasses.replace(run, metrics={})
        cut = stored.cutoffs(self.thresholds)
        metrics = {
            split: evaluate(stored[split].labels, stored[split].scores, cut)
            for split in stored.splits
        }
        return dataclasses.replace(run, metrics=metrics)

    def why_no_values(self, dataset: str, method: str, variant: str = "") -> str | None:
        """Why a cell that has runs has no values under the index's policy: ``no scores``
        (run files without scores) or ``dev in fit`` (in-sample dev scores); else None."""
        runs = self.runs(dataset, method, variant)
        if not runs or any(run.metrics for run in runs):
            return None
        return self._no_values.get(runs[0].path, MISSING)

    def paired(
        self,
        dataset: str,
        row: tuple[str, str],
        against: tuple[str, str],
        metrics: Sequence[str],
        thresholds: str | None = None,
    ) -> Comparison:
        """Row (method, variant) against another on ``dataset`` under the threshold
        policy ``thresholds`` (default: the index's) (computed once); :class:`NotPaired`
        when they cannot be compared."""
        policy = thresholds or self.thresholds
        key = (dataset, row, against, tuple(metrics), policy)
        if key not in self._paired:
            try:
                self._paired[key] = compare_runs(
                    self.runs(dataset, *row),
                    self.runs(dataset, *against),
                    metrics,
                    thresholds=policy,
                    load=self.scores,
                )
            except NotPaired as err:
                self._paired[key] = err
        result = self._paired[key]
        if isinstance(result, NotPaired):
            raise result
        return result

    def same_as_default(
        self, dataset: str, method: str, variant: str, variant_params: dict[str, Any]
    ) -> bool:
        """Whether ``variant``'s cell is the method's default cell under this profile
        (:func:`benchmarks.suite.config.same_as_default`): the runner does not run it
        twice, so its row shows the default cell's runs (:meth:`shown_variant`)."""
        if not variant:
            return False
        key = json.dumps([dataset, method, variant, variant_params], sort_keys=True, default=str)
        if key not in self._same:
            try:
                subset = get_profile(self.profile).subset
            except (ValueError, KeyError):  # a profile the suite does not declare: no verdict
                self._same[key] = False
            else:
                self._same[key] = same_as_default(
                    method, dataset, self.profile, variant_params, profile_subset=subset
                )
        return self._same[key]

    def shown_variant(
        self, dataset: str, method: str, variant: str, variant_params: dict[str, Any]
    ) -> str:
        """The variant whose runs ``variant``'s row shows: the default cell's ("") for a
        variant that is that cell (:meth:`same_as_default`), unless only the variant has
        runs (run files made before the runner stopped running it); else ``variant``."""
        if self.same_as_default(dataset, method, variant, variant_params) and (
            self.runs(dataset, method) or not self.runs(dataset, method, variant)
        ):
            return ""
        return variant

    def runs(self, dataset: str, method: str, variant: str = "") -> list[RunRecord]:
        key = (self.profile, dataset, Cell(self.profile, dataset, method, variant).method_dir)
        return self.groups.get(key, [])

    def value(self, dataset: str, method: str, metric: str, variant: str = "") -> Value | None:
        """Mean ± std over the seeds of a cell's runs, in display units (None: no run)."""
        return value_of(self.runs(dataset, method, variant), metric)

    def scored_value(
        self,
        dataset: str,
        method: str,
        metric: str,
        variant: str = "",
        thresholds: str | None = None,
    ) -> Value | None:
        """Like :meth:`value` under the threshold policy ``thresholds`` (default: the
        index's): each run's stored value where its run file has one under the index's
        policy, else the metric computed from its scores file (a run file older than the
        metric, or another policy); a run without scores, or trained on dev under a tuned
        policy, gives none."""
        policy = thresholds or self.thresholds
        spec = METRICS[metric]
        values = []
        for run in self.runs(dataset, method, variant):
            value = run.metric(metric) if policy == self.thresholds else None
            if value is None and not (policy != DEFAULT_POLICY and dev_in_fit(run.method_info)):
                try:
                    stored = self.scores(run)
                except ScoresError:
                    continue
                test = stored["test"]
                if spec.applies_to(test.labels.shape[1]):
                    value = spec.score(test.labels, test.scores, stored.cutoffs(policy))
            if value is not None:
                values.append(value)
        return _mean_value(metric, values)

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
    return _mean_value(metric, values)


def _mean_value(metric: str, values: Sequence[float]) -> Value | None:
    """Mean ± std of fractions ``values`` in ``metric``'s display units (None: none)."""
    if not values:
        return None
    mean, std = mean_std([METRICS[metric].display(v) for v in values])
    return Value(mean, std, len(values))


def ours_text(metric: str, value: Value) -> str:
    """``mean ± std`` in the metric's display format; ``mean (n=1)`` for one seed, which
    has no spread to show."""
    spec = METRICS[metric]
    if value.seeds == 1:
        return f"{spec.format(value.mean)} (n=1)"
    return f"{spec.format(value.mean)} ± {spec.format(value.std)}"


def compare_cells(
    metric: str,
    paper: float | None,
    ours: Value | None,
    *,
    no_paper: str = "-",
    missing: str = MISSING,
) -> tuple[list[str], dict[str, Any]]:
    """Three display cells (paper, ours, diff) and their numbers; ``paper`` is a fraction
    or None, ``no_paper`` what the paper cell shows then, ``missing`` what the ours cell
    shows without a value."""
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
        return [paper_text, missing, "-"], numbers
    if paper_display is None:
        return [paper_text, ours_text(metric, ours), "-"], numbers
    diff = ours.mean - paper_display
    numbers[f"{metric}_diff"] = diff
    diff_text = spec.format_diff(diff)
    if stands_out(metric, diff, ours.std):
        diff_text = f"**{diff_text}**"
    return [paper_text, ours_text(metric, ours), diff_text], numbers


def metric_columns(metrics: Iterable[str], tested: bool = False) -> list[str]:
    """Per metric: paper, ours, Δ (and ``vs ref`` when the table tests against a row)."""
    cols: list[str] = []
    for metric in metrics:
        label = METRICS[metric].label
        cols += [f"{label} paper", f"{label} ours", f"{label} Δ"]
        cols += [f"{label} vs ref"] if tested else []
    return cols


Row = tuple[str, str, str]  # (data set, method, variant)


def significance_cells(
    experiment: Experiment, index: RunIndex, rows: Sequence[Row], metrics: Sequence[str]
) -> dict[tuple[Row, str], tuple[str, dict[str, Any]]]:
    """The ``vs ref`` cell and numbers of every (row, metric) of a table: ours − the
    reference row in display units with its paired bootstrap interval, marked with
    :data:`MARK` when the p-value, Holm-corrected over every test of the table, is below
    :data:`ALPHA`; ``ref`` on the reference row, ``no scores`` / ``no shared seed`` /
    ``other test rows`` where the two cannot be paired, ``-`` without runs."""
    columns = [(metric, metric, index.thresholds) for metric in metrics]
    return tested_cells(experiment, index, rows, columns)


#: A tested column: (its name in the numbers, the metric, the threshold policy).
Column = tuple[str, str, str]


def tested_cells(
    experiment: Experiment, index: RunIndex, rows: Sequence[Row], columns: Sequence[Column]
) -> dict[tuple[Row, str], tuple[str, dict[str, Any]]]:
    """:func:`significance_cells` for columns that may each take another threshold
    policy: keyed by (row, column name), Holm over every test of every column."""
    policies = {policy: tuple(dict.fromkeys(m for _, m, p in columns if p == policy))
                for _, _, policy in columns}  # fmt: skip
    outcome: dict[tuple[Row, str], Comparison | str] = {}
    for row in rows:
        dataset, method, variant = row
        against = experiment.tested_against(method)
        if against is None:
            continue
        ref = (against.method, against.variant)
        has_runs = bool(index.runs(dataset, method, variant))
        has_values = any(run.metrics for run in index.runs(dataset, method, variant))
        for policy, metrics in policies.items():
            if (method, variant) == ref:
                outcome[(row, policy)] = REF if has_values else "-"
            elif not has_runs or not index.runs(dataset, *ref):
                outcome[(row, policy)] = "-"
            else:
                try:
                    outcome[(row, policy)] = index.paired(
                        dataset, (method, variant), ref, metrics, policy
                    )
                except NotPaired as err:
                    outcome[(row, policy)] = err.short
    tests = [
        (row, name, metric, policy)
        for (row, policy), result in outcome.items()
        if isinstance(result, Comparison)
        for name, metric, column_policy in columns
        if column_policy == policy and metric in result.results
    ]
    p_values = [outcome[(row, policy)].results[metric].p_value for row, _, metric, policy in tests]
    adjusted = {(row, name): p for (row, name, _, _), p in zip(tests, holm(p_values))}
    cells: dict[tuple[Row, str], tuple[str, dict[str, Any]]] = {}
    for row in dict.fromkeys(row for row, _ in outcome):
        against = experiment.tested_against(row[1])
        for name, metric, policy in columns:
            result = outcome[(row, policy)]
            numbers: dict[str, Any] = {f"{name}_against": against.label}
            paired = result.results.get(metric) if isinstance(result, Comparison) else None
            if paired is None:
                text = result if isinstance(result, str) else "-"
                cells[(row, name)] = (text, numbers)
                continue
            spec = METRICS[metric]
            diff, low, high = (
                spec.display(x) for x in (paired.difference, paired.low, paired.high)
            )
            p_holm = adjusted[(row, name)]
            text = f"{spec.format_diff(diff)} [{spec.format_diff(low)}, {spec.format_diff(high)}]"
            if p_holm < ALPHA:
                text += f" {MARK}"
            numbers.update(
                {
                    f"{name}_vs_ref": diff,
                    f"{name}_vs_ref_low": low,
                    f"{name}_vs_ref_high": high,
                    f"{name}_p": paired.p_value,
                    f"{name}_p_holm": p_holm,
                }
            )
            cells[(row, name)] = (text, numbers)
    return cells


def significance_note(experiment: Experiment, tests: int) -> str:
    """The line under a table that explains its ``vs ref`` columns."""
    refs = "; ".join(
        f"{a.label}" + (f" for {', '.join(a.rows)}" if a.rows else "") for a in experiment.against
    )
    plural = "" if tests == 1 else "s"
    over = f"the {tests} test{plural} of this table" if tests else "this table's tests (none yet)"
    return (
        f"vs ref: ours − the reference row ({refs}) on the same test documents, mean over "
        f"the seeds both have, [{CONFIDENCE:.0%} paired bootstrap interval over test "
        f"documents, {RESAMPLES:,} resamples]; {MARK}: p < {ALPHA} after Holm's correction "
        f"over {over}; `{NO_SCORES}`: a run file without stored scores (rerun it with "
        f"--overwrite); `other test rows`: the two runs scored different test rows"
    )


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
    metrics = table_metrics(experiment.metrics)
    reference: Reference | None = experiment.reference
    ours = {(m, v.name) for m in experiment.methods for v in experiment.variants}
    tested = bool(experiment.against)
    table = Table(
        experiment.name,
        experiment.title,
        ["data set", "method", *metric_columns(metrics, tested), "data"],
    )
    rows = comparison_rows(experiment)
    significance = significance_cells(experiment, index, rows, metrics) if tested else {}
    for dataset, method, variant in rows:
        display = [dataset, method + (f"+{variant}" if variant else "")]
        numbers: dict[str, Any] = {"dataset": dataset, "method": method, "variant": variant}
        no_values = index.why_no_values(dataset, method, variant)
        for metric in metrics:
            paper = reference.value(dataset, method, variant, metric) if reference else PaperValue()
            cells, nums = compare_cells(
                metric,
                paper.value,
                index.value(dataset, method, metric, variant),
                no_paper="-" if paper.has_row else NO_PAPER_VALUE,
                missing=no_values or MISSING,
            )
            display += cells
            numbers.update(nums)
            if tested:
                text, nums = significance.get(((dataset, method, variant), metric), ("-", {}))
                display.append(text)
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
    if tested:
        table.notes.append(significance_note(experiment, _tests(significance)))
    table.notes += experiment.notes
    return table


def _slug(label: str) -> str:
    """A reference's label as a CSV column prefix (``authors' code`` -> ``authors_code``)."""
    return re.sub(r"\W+", "_", label).strip("_")


def references_table(experiment: Experiment, index: RunIndex) -> Table:
    """Our values beside every published source of the same rows, one row per (data set,
    method, metric): the paper's value and each other reference's (the authors' code's),
    ours (mean ± std, n seeds), ours − each of them (**bold** where it stands out), and,
    when the experiment tests against a row, ours − that row of ours on the same test
    documents with its paired interval (Holm over the table). A row without run files
    shows ``missing``; a row only a reference has is stamped ``paper only``."""
    metrics = table_metrics(experiment.metrics)
    references = [r for r in (experiment.reference, *experiment.other_references) if r]
    tested = bool(experiment.against)
    columns = ["data set", "method", "metric", *(r.label for r in references), "ours"]
    columns += [f"ours − {r.label}" for r in references] + (["vs ref"] if tested else [])
    table = Table(experiment.name, experiment.title, [*columns, "data"])
    ours = [(m, v.name) for m in experiment.methods for v in experiment.variants]
    rows: list[Row] = []
    for dataset in experiment.datasets:
        published = [row for r in references for row in r.rows(dataset)]
        rows += [(dataset, m, v) for m, v in dict.fromkeys([*published, *ours])]
    significance = significance_cells(experiment, index, rows, metrics) if tested else {}
    for row in rows:
        dataset, method, variant = row
        no_values = index.why_no_values(dataset, method, variant)
        if (method, variant) in ours:
            stamp = index.stamp(dataset, method, variant, experiment.variant_params(variant))
        else:
            stamp = PAPER_ONLY
        for metric in metrics:
            ours_value = index.value(dataset, method, metric, variant)
            numbers: dict[str, Any] = {
                "dataset": dataset,
                "method": method,
                "variant": variant,
                "metric": metric,
                "ours": ours_value.mean if ours_value else None,
                "std": ours_value.std if ours_value else None,
                "seeds": ours_value.seeds if ours_value else 0,
            }
            published_cells, diff_cells = [], []
            for reference in references:
                value = reference.value(dataset, method, variant, metric)
                no_value = "-" if value.has_row else f"no {reference.label} value"
                cells, nums = compare_cells(
                    metric, value.value, ours_value, no_paper=no_value, missing=MISSING
                )
                published_cells.append(cells[0])
                diff_cells.append(cells[2])
                slug = _slug(reference.label)
                numbers[slug] = nums[f"{metric}_paper"]
                numbers[f"ours_minus_{slug}"] = nums.get(f"{metric}_diff")
                entry = f"{dataset} {method} ({reference.label}): {value.note}"
                if value.note and entry not in table.notes:
                    table.notes.append(entry)
            if ours_value is None:
                ours_cell = no_values or MISSING
            else:  # ours_text says n=1 itself; a spread gets its seed count here
                seeds = ours_value.seeds
                ours_cell = ours_text(metric, ours_value) + (f" (n={seeds})" if seeds > 1 else "")
            display = [dataset, method + (f"+{variant}" if variant else "")]
            display += [METRICS[metric].label, *published_cells, ours_cell, *diff_cells]
            if tested:
                text, nums = significance.get((row, metric), ("-", {}))
                display.append(text)
                numbers.update({k.removeprefix(f"{metric}_"): v for k, v in nums.items()})
            table.rows.append([*display, stamp])
            table.numbers.append({**numbers, "data": stamp})
    table.notes += [
        f"{r.label}: {r.source}; transcribed in benchmarks/suite/reference/{r.file}"
        for r in references
        if r.source
    ]
    if tested:
        table.notes.append(significance_note(experiment, _tests(significance)))
    table.notes += experiment.notes
    return table


def _tests(significance: dict[tuple[Row, str], tuple[str, dict[str, Any]]]) -> int:
    return sum(any(k.endswith("_p_holm") for k in nums) for _, nums in significance.values())


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
    """Our values for each variant of an experiment (no paper numbers exist for these),
    with each metric's ``vs ref`` column when the experiment tests against a row."""
    metrics = table_metrics(experiment.metrics)
    tested = bool(experiment.against)
    columns = []
    for metric in metrics:
        label = METRICS[metric].label
        columns += [label, f"{label} vs ref"] if tested else [label]
    table = Table(
        experiment.name, experiment.title, ["data set", "method", "variant", *columns, "data"]
    )
    rows = [
        (dataset, method, variant.name)
        for dataset in experiment.datasets
        for method in experiment.methods
        for variant in experiment.variants
    ]
    significance = significance_cells(experiment, index, rows, metrics) if tested else {}
    aliases = []
    for dataset, method, variant in rows:
        params = experiment.variant_params(variant)
        alias = index.same_as_default(dataset, method, variant, params)
        shown = index.shown_variant(dataset, method, variant, params)
        values = [index.value(dataset, method, m, shown) for m in metrics]
        cells, numbers = [], {"dataset": dataset, "method": method, "variant": variant}
        numbers["same_as"] = method if alias else ""
        for metric, value in zip(metrics, values):
            cells.append(ours_text(metric, value) if value else MISSING)
            numbers[metric] = value.mean if value else None
            if tested:
                text, nums = significance.get(((dataset, method, variant), metric), ("-", {}))
                cells.append(text)
                numbers.update(nums)
        stamp = index.stamp(dataset, method, shown, params if shown else {})
        label = variant or "default"
        if alias:
            label += f" {SAME_AS_DEFAULT}"
            aliases.append(f"{variant}: the default {method} cell")
        table.rows.append([dataset, method, label, *cells, stamp])
        table.numbers.append({**numbers, "data": stamp})
    if tested:
        table.notes.append(significance_note(experiment, _tests(significance)))
    if aliases:
        table.notes.append(
            f"{SAME_AS_DEFAULT}: the variant's config resolves to the method's default one, "
            f"so the runner runs that cell once and the row shows its runs "
            f"({'; '.join(dict.fromkeys(aliases))})"
        )
    table.notes += experiment.notes
    return table


#: The tuned threshold policy of the readings table (chosen on each run's dev scores).
TUNED = "dev-global"
#: A reading "ranks labels" when its macro ROC-AUC (display units) reaches this.
LEARNS_AUC = 60.0
RANKS_LABELS = "ranks labels"
AT_THE_PRIOR = "at the prior"
NOT_RUN = "not run"


def _readings_columns(metrics: Sequence[str]) -> list[tuple[str, str, str, str]]:
    """(numbers name, metric, threshold policy, header) of each value column: a
    thresholded metric at 0.5 and at the dev-chosen global cut-off, a ranking metric
    (LRAP, AUC, P@k) once, since no cut-off changes it."""
    columns = []
    for metric in metrics:
        label = METRICS[metric].label
        if METRICS[metric].uses_scores:
            columns.append((metric, metric, DEFAULT_POLICY, label))
        else:
            columns.append((metric, metric, DEFAULT_POLICY, f"{label}@0.5"))
            columns.append((f"{metric}_{TUNED}", metric, TUNED, f"{label}@dev"))
    return columns


def readings_table(experiment: Experiment, index: RunIndex) -> Table:
    """One row per (data set, reading): each metric at 0.5 and, if it thresholds, at the
    dev-chosen global cut-off, each with its paired interval against the experiment's
    reference row (Holm over the table), and whether the reading ranks labels (macro
    AUC at least :data:`LEARNS_AUC`) or sits at the label prior. Values come from the
    run files, and from the scores files where a run file predates a metric or for the
    tuned cut-off; a row without run files shows ``-`` and ``not run``."""
    metrics = table_metrics(experiment.metrics)
    columns = _readings_columns(metrics)
    tested = bool(experiment.against)
    headers = []
    for _, _, _, header in columns:
        headers += [header, f"{header} vs ref"] if tested else [header]
    table = Table(
        experiment.name,
        experiment.title,
        ["data set", "method", "reading", *headers, "learns", "data"],
    )
    rows = [
        (dataset, method, variant.name)
        for dataset in experiment.datasets
        for method in experiment.methods
        for variant in experiment.variants
    ]
    tests = [(name, metric, policy) for name, metric, policy, _ in columns]
    significance = tested_cells(experiment, index, rows, tests) if tested else {}
    for row in rows:
        dataset, method, variant = row
        numbers: dict[str, Any] = {"dataset": dataset, "method": method, "variant": variant}
        cells = []
        ran = bool(index.runs(dataset, method, variant))
        for name, metric, policy, _ in columns:
            value = index.scored_value(dataset, method, metric, variant, policy) if ran else None
            cells.append(ours_text(metric, value) if value else "-")
            numbers[name] = value.mean if value else None
            if tested:
                text, nums = significance.get((row, name), ("-", {}))
                cells.append(text)
                numbers.update(nums)
        auc = index.scored_value(dataset, method, "macro_auc", variant) if ran else None
        learns = "-" if auc is None else RANKS_LABELS if auc.mean >= LEARNS_AUC else AT_THE_PRIOR
        stamp = index.stamp(dataset, method, variant, experiment.variant_params(variant))
        stamp = stamp if ran else NOT_RUN
        table.rows.append([dataset, method, variant or "default", *cells, learns, stamp])
        table.numbers.append({**numbers, "learns": learns, "data": stamp})
    table.notes.append(
        f"@0.5: the paper's threshold; @dev: one cut-off for every label, the best for "
        f"micro-F1 on the run's own dev scores ({TUNED}), applied to its test scores; "
        f"LRAP and Ma-AUC (macro ROC-AUC) rank the scores and need no cut-off"
    )
    table.notes.append(
        f"learns: `{RANKS_LABELS}` when Ma-AUC >= {LEARNS_AUC:g} (mean over seeds), "
        f"`{AT_THE_PRIOR}` below (0.5 x 100 is a constant score: the prior); `-`: not run"
    )
    skipped = _auc_skipped(experiment, index)
    if skipped:
        table.notes.append(
            "Ma-AUC skips the labels without a positive or without a negative test document: "
            + "; ".join(skipped)
        )
    if tested:
        note = significance_note(experiment, _tests(significance))
        table.notes.append(
            f"{note}; Ma-AUC is recomputed on each resample, {METRICS['macro_auc'].resamples:,} "
            f"resamples; @dev rows compare each run at its own dev-chosen cut-off"
        )
    table.notes += experiment.notes
    return table


def _auc_skipped(experiment: Experiment, index: RunIndex) -> list[str]:
    """Per data set, how many labels macro AUC skips on the test rows of the table's
    first run that has scores (``reuters: 12 of 90 labels``)."""
    found = []
    for dataset in experiment.datasets:
        against = [(a.method, a.variant) for a in experiment.against]
        cells = [*against, *((m, v.name) for m in experiment.methods for v in experiment.variants)]
        for method, variant in cells:
            labels = None
            for run in index.runs(dataset, method, variant):
                try:
                    labels = index.scores(run)["test"].labels
                except ScoresError:
                    continue
                break
            if labels is not None:
                skipped = auc_skipped_labels(labels)
                found.append(f"{dataset}: {skipped} of {labels.shape[1]} labels")
                break
    return found


def all_runs_table(index: RunIndex) -> Table:
    """Every (data set, method, variant) of the profile, including methods no paper
    table has (prior, lp, rakel, ...), with seeds, fit time and data stamp."""
    metrics = table_metrics((*PAPER_METRICS, "macro_f1"))
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
        text = text.replace(MARK, "$^\\dagger$")
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
