"""Tests over the registries: every method, every experiment and every metric is checked
from its declaration, so a new one is covered without a new hand-written tuple."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from benchmarks.analysis.builders import (
    FIGURE_BUILDERS,
    TABLE_BUILDERS,
    figure_builder,
    table_builder,
)
from benchmarks.analysis.tables import NO_PAPER_VALUE, PAPER_ONLY, RunIndex, comparison_table
from benchmarks.running.harness import build_method
from benchmarks.suite.config import resolve
from benchmarks.suite.experiments import EXPERIMENTS
from benchmarks.suite.profiles import PROFILES
from lmmtc.metrics import METRICS, THRESHOLD, evaluate, threshold
from lmmtc.registry import get_method, list_methods

METHODS = [spec.name for spec in list_methods()]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_method_builds_from_its_config_on_every_paper_data_set(method, profile):
    spec = get_method(method)
    assert spec.family in {"trivial", "linear", "neural", "transformer"}
    assert spec.description
    for dataset in EXPERIMENTS["table2"].datasets:
        config = resolve(method, dataset, profile)
        build_method(spec, config.params)  # every key is a constructor keyword


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_every_experiment_plans_cells_that_resolve(name):
    experiment = EXPERIMENTS[name]
    assert experiment.table or experiment.figure, "an experiment must make something"
    for cell in experiment.cells("smoke", (1,)):
        spec = get_method(cell.method)
        params = experiment.variant_params(cell.variant)
        build_method(spec, resolve(spec.name, cell.dataset, "smoke", variant_params=params).params)
    for metric in experiment.metrics:
        assert metric in METRICS
    for reference in (experiment.reference, *experiment.other_references):
        if reference is not None:
            frame = reference.frame()
            assert set(frame["dataset"]) <= set(experiment.datasets), (name, reference.file)


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_every_experiment_names_builders_the_analysis_holds(name):
    experiment = EXPERIMENTS[name]
    assert experiment.table is None or table_builder(experiment) is TABLE_BUILDERS[experiment.table]
    assert (
        experiment.figure is None
        or figure_builder(experiment) is FIGURE_BUILDERS[experiment.figure]
    )


def test_an_unknown_builder_name_is_a_one_line_error():
    typo = dataclasses.replace(EXPERIMENTS["table2"], table="comparisn")
    with pytest.raises(
        KeyError, match="'table2' names the table builder 'comparisn'.*'comparison'"
    ):
        table_builder(typo)


@pytest.mark.parametrize("name", [n for n, e in EXPERIMENTS.items() if e.table is not None])
def test_every_table_builds_from_no_runs(name, tmp_path):
    experiment = EXPERIMENTS[name]
    table = table_builder(experiment)(experiment, RunIndex(tmp_path, "smoke"))
    assert table.name == name and table.rows
    assert all(len(row) == len(table.columns) for row in table.rows)


def test_a_method_added_to_an_experiment_appears_in_its_table(tmp_path):
    """One declaration adds a row: ``prior`` joins Table 3 with no paper value; the
    paper's rows without a method of ours stay, stamped paper only."""
    table3 = dataclasses.replace(
        EXPERIMENTS["table3"], methods=(*EXPERIMENTS["table3"].methods, "prior")
    )
    table = comparison_table(table3, RunIndex(tmp_path, "smoke"))
    rows = {(row[0], row[1]): row for row in table.rows}
    for dataset in table3.datasets:
        prior = rows[(dataset, "prior")]
        hl_paper = table.columns.index("HL paper")
        assert prior[2] == NO_PAPER_VALUE and prior[hl_paper] == NO_PAPER_VALUE
        assert rows[(dataset, "br")][2] != NO_PAPER_VALUE
    assert rows[("aapd", "HAN")][-1] == PAPER_ONLY


@pytest.mark.parametrize("name", sorted(METRICS))
def test_every_metric_declares_how_it_is_shown(name):
    metric = METRICS[name]
    assert metric.label and metric.floor > 0
    assert metric.from_display(metric.display(0.25)) == pytest.approx(0.25)
    assert metric.format(metric.display(0.25)).count(".") == 1


def test_one_threshold_rule_for_the_harness_and_dev_selection():
    """A score of exactly 0.5 is not a prediction (eq. 6: strictly greater), whether the
    harness or a method's dev selection asks."""
    y_true = np.array([[1, 0], [0, 1]])
    scores = np.array([[THRESHOLD, 0.2], [0.1, 0.9]])
    assert threshold(scores).tolist() == [[0, 0], [0, 1]]
    micro_f1 = METRICS["micro_f1"]
    assert micro_f1.score(y_true, scores) == evaluate(y_true, scores)["micro_f1"] == 2 / 3
    assert not METRICS["hamming_loss"].higher_is_better
    assert METRICS["hamming_loss"].improvement(0.1, 0.2) > 0
    assert METRICS["micro_f1"].improvement(0.1, 0.2) < 0
