"""`--all` in the smoke profile end to end on one data set: every experiment's cells run,
and every table and figure the report promises exists and holds the run files' numbers."""

from __future__ import annotations

import json
import re

import pytest

from benchmarks.run import main
from benchmarks.running.plan import Planned, default_cell
from benchmarks.store.records import Cell
from benchmarks.suite.experiments import EXPERIMENTS
from benchmarks.suite.profiles import get_profile

#: end to end (every GoEmotions cell of the smoke profile): the README's test command
#: leaves it out, CI runs it
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smoke_all(tmp_path_factory):
    root = tmp_path_factory.mktemp("smoke-all")
    argv = [
        "--all",
        "--profile", "smoke",
        "--dataset", "goemotions",  # no raw files here: its synthetic stand-in (28 labels)
        "--set", "subset={train: 48, dev: 16, test: 24}",
        "--set", "progress=false",
        "--set", "batch_size=4",  # 12 steps: the loss curve, logged every 10, gets a point
        "--data-dir", str(root / "data"),
        "--raw-dir", str(root / "no-raw"),
        "--results-dir", str(root / "results"),
    ]  # fmt: skip
    assert main(argv) == 0
    return root / "results"


def test_every_goemotions_cell_of_every_experiment_ran(smoke_all):
    runs = smoke_all / "runs" / "smoke" / "goemotions"
    methods = sorted(p.name for p in runs.iterdir() if p.is_dir())
    smoke = get_profile("smoke")
    expected = {
        cell.method_dir
        for experiment in EXPERIMENTS.values()
        for cell in experiment.cells("smoke", (1,))
        if cell.dataset == "goemotions"
        # a variant that is its method's default cell runs as that cell (test_aliases.py)
        and default_cell(Planned(cell, experiment.variant_params(cell.variant)), smoke, {}) is None
    }
    assert methods == sorted(expected)
    assert "lm_mlm+lambda0.05" not in methods  # the default lm_mlm cell
    assert {"bert", "bert_mlm", "lm", "lm_mlm", "lm_mlm+same", "lm_mlm+lambda0.5"} <= set(methods)
    record = json.loads(Cell("smoke", "goemotions", "lm_mlm").path(smoke_all).read_text())
    assert record["dataset"]["synthetic"] and record["dataset"]["stand_in_for"] == "goemotions"
    assert record["dataset"]["sizes"] == {"train": 48, "dev": 16, "test": 24}
    assert record["loss_curve"] and record["loss_curve"][0]["mlm_loss"] is not None
    assert record["artefacts"] == {"attention": "seed1.scores.npz"}  # beside the scores
    assert record["scores"]["file"] == "seed1.scores.npz"


def test_report_has_every_table_and_figure_of_the_data_set(smoke_all):
    tables = [name for name, e in EXPERIMENTS.items() if e.table is not None]
    assert {"table1", "table2", "table3", "table4", "figure5", "ablation"} <= set(tables)
    for name in [*tables, "all_runs"]:
        for ext in ("md", "tex", "csv"):
            assert (smoke_all / "tables" / "smoke" / f"{name}.{ext}").stat().st_size > 0
    for name in ("figure1_goemotions", "figure3_goemotions", "figure4_goemotions", "figure5"):
        for ext in ("png", "pdf"):
            assert (smoke_all / "figures" / "smoke" / f"{name}.{ext}").stat().st_size > 1000
    table4 = (smoke_all / "tables" / "smoke" / "table4.md").read_text()
    same = json.loads(Cell("smoke", "goemotions", "lm_mlm", "same").path(smoke_all).read_text())
    f1 = 100 * same["metrics"]["test"]["micro_f1"]
    row = next(line for line in table4.splitlines() if "| goemotions | lm_mlm+same |" in line)
    assert f"| 51.38 | {f1:.2f} (n=1) |" in row  # paper's "same" on Emotion beside ours


def test_figure3_and_the_significance_columns_read_the_scores_files(smoke_all):
    from benchmarks.analysis.figures import _attention
    from benchmarks.analysis.tables import RunIndex

    attention = _attention(RunIndex(smoke_all, "smoke"), "goemotions", "lm_mlm")
    assert attention is not None and attention.shape[1:] == (28, 28)  # (layers, L, L)
    table4 = (smoke_all / "tables" / "smoke" / "table4.md").read_text()
    columns = next(line for line in table4.splitlines() if line.startswith("| data set |"))
    at = [c.strip() for c in columns.strip("|").split("|")].index("Mi-F1 vs ref")
    row = next(line for line in table4.splitlines() if "| goemotions | lm_mlm+same |" in line)
    cell = [c.strip() for c in row.strip("|").split("|")][at]
    assert re.fullmatch(r"[+-]\d+\.\d\d \[[+-]\d+\.\d\d, [+-]\d+\.\d\d\]( †)?", cell), cell
