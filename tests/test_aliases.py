"""A variant cell whose resolved config is its method's default cell's (issue 20): Figure
5's ``lm_mlm+lambda0.05`` while the default reading trains at lambda 0.05. It is not
planned, run or counted; ``--dry-run`` names the cell that computes it; the variants
table and Figure 5 show that cell's runs for it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from factories import make_run_record

from benchmarks.analysis.figures import figure5
from benchmarks.analysis.tables import SAME_AS_DEFAULT, RunIndex, variant_table
from benchmarks.run import main
from benchmarks.running.budget import priority_plan
from benchmarks.running.options import parse_options
from benchmarks.running.plan import Planned, default_cell, plan_cells
from benchmarks.store.records import Cell, write_record
from benchmarks.suite import config
from benchmarks.suite.experiments import get_experiment
from benchmarks.suite.profiles import get_profile
from lmmtc.transformers import readings

FIGURE5 = get_experiment("figure5")


def _item(profile: str, variant: str, dataset: str = "goemotions", seed: int = 1) -> Planned:
    cell = Cell(profile, dataset, "lm_mlm", variant, seed)
    return Planned(cell, FIGURE5.variant_params(variant))


@pytest.mark.parametrize("profile", ["smoke", "cpu", "gpu"])
@pytest.mark.parametrize("dataset", ["goemotions", "rmsc"])
def test_lambda005_is_the_default_cell_and_lambda01_is_not(profile, dataset):
    """On the real configs: the base cell's params leave mlm_lambda to the reading (0.05),
    the variant sets it; what the method trains with is the same."""
    prof = get_profile(profile)
    base = config.resolve("lm_mlm", dataset, profile, profile_subset=prof.subset)
    assert "mlm_lambda" not in base.params  # the reading's default, not the YAML's
    assert config.trained_params("lm_mlm", base.params)["mlm_lambda"] == 0.05
    seed2 = Cell(profile, dataset, "lm_mlm", "", 2)
    assert default_cell(_item(profile, "lambda0.05", dataset, 2), prof, {}) == seed2
    for variant in ("lambda0", "lambda0.01", "lambda0.1", "lambda0.5", "lambda1"):
        assert default_cell(_item(profile, variant, dataset), prof, {}) is None
    # --set changes both cells alike: still one computation
    assert default_cell(_item(profile, "lambda0.05", dataset), prof, {"epochs": 2}) is not None
    # ... unless it is the very key the variant sets
    assert default_cell(_item(profile, "lambda0.1", dataset), prof, {"mlm_lambda": 0.3}) == Cell(
        profile, dataset, "lm_mlm", "", 1
    )


def test_a_changed_default_moves_the_alias(monkeypatch):
    """Decided on resolved configs, not names: a default reading at lambda 0.1 makes
    lambda0.1 the default cell and lambda0.05 a cell of its own."""
    default = readings.READINGS["default"]
    changed = dataclasses.replace(default, mlm={**default.mlm, "mlm_lambda": 0.1})
    monkeypatch.setitem(readings.READINGS, "default", changed)
    gpu = get_profile("gpu")
    assert default_cell(_item("gpu", "lambda0.05"), gpu, {}) is None
    assert default_cell(_item("gpu", "lambda0.1"), gpu, {}) == Cell("gpu", "goemotions", "lm_mlm")
    labels = [item.cell.label() for item in plan_cells(_figure5_options(), gpu)]
    assert "gpu/goemotions/lm_mlm+lambda0.05/seed1" in labels
    assert "gpu/goemotions/lm_mlm+lambda0.1/seed1" not in labels


def test_lm_is_not_an_alias_of_lm_mlm_at_lambda_0():
    """lm is 'lm_mlm at lambda 0' in what it computes (tests/test_lmmtc_objective.py), but
    another method with other options (no MLM target, no head): no cross-method alias."""
    cpu = get_profile("cpu")
    lm = config.resolve("lm", "goemotions", "cpu", profile_subset=cpu.subset)
    zero = config.resolve(
        "lm_mlm", "goemotions", "cpu", profile_subset=cpu.subset, variant_params={"mlm_lambda": 0}
    )
    assert config.changes(lm.params, lm.subset, zero) == ["mlm_lambda: '<unset>' -> 0"]
    trained = config.trained_params("lm", lm.params), config.trained_params("lm_mlm", zero.params)
    assert config.param_changes(*trained) == [
        "mlm_head: None -> 'bert'",
        "mlm_lambda: 0.05 -> 0",
        "mlm_target: None -> 'text'",
    ]
    assert default_cell(_item("cpu", "lambda0"), cpu, {}) is None


def _figure5_options(*extra: str):
    return parse_options(
        ["--profile", "gpu", "--figure", "5", "--dataset", "goemotions", "--seeds", "1", *extra]
    )


def test_plan_and_dry_run_leave_the_alias_out(tmp_path, dirs, capsys):
    planned = plan_cells(_figure5_options(*dirs), get_profile("gpu"))
    lambdas = ("0", "0.01", "", "0.1", "0.5", "1")  # the default cell at lambda0.05's place
    assert [item.cell for item in planned] == [
        Cell("gpu", "goemotions", "lm_mlm", f"lambda{x}" if x else "", 1) for x in lambdas
    ]
    assert planned[2].aliases == (Cell("gpu", "goemotions", "lm_mlm", "lambda0.05", 1),)
    assert planned[2].variant_params == {}
    argv = ["--profile", "gpu", "--figure", "5", "--dataset", "goemotions", "--seeds", "1"]
    assert main([*argv, "--dry-run", *dirs]) == 0
    out = capsys.readouterr().out
    line = next(row for row in out.splitlines() if "lambda0.05" in row)
    assert line.split() == ["gpu/goemotions/lm_mlm+lambda0.05/seed1", "same", "as"] + [
        "gpu/goemotions/lm_mlm/seed1"
    ]
    # 6 cells at ~2.0 min each: the alias is not counted
    assert "6 cells (1 more the same as one of them, not run), 6 to run, estimated 11.7" in out
    # --variant lambda0.05 alone plans the default cell
    assert main([*argv, "--variant", "lambda0.05", "--dry-run", *dirs]) == 0
    out = capsys.readouterr().out
    assert "gpu/goemotions/lm_mlm/seed1" in out and "1 cells (1 more" in out
    assert main([*argv, "--budget", "600", "--dry-run", *dirs]) == 0
    out = capsys.readouterr().out
    line = next(row for row in out.splitlines() if "lambda0.05" in row)
    assert line.split()[1:] == ["same", "as", "gpu/goemotions/lm_mlm/seed1"]
    assert sum(" runs " in row or " left " in row for row in out.splitlines()) == 6


def test_priority_plan_runs_the_default_cell_once():
    """The gpu window's list: Figure 5's lambda0.05 is Table 2's lm_mlm seed 1, planned
    once at Table 2's place and listed as its alias."""
    planned = priority_plan(parse_options(["--profile", "gpu", "--priority"]), get_profile("gpu"))
    cells = [item.cell for item in planned]
    alias = Cell("gpu", "goemotions", "lm_mlm", "lambda0.05", 1)
    assert alias not in cells and not any(c.variant == "lambda0.05" for c in cells)
    base = cells.index(Cell("gpu", "goemotions", "lm_mlm", "", 1))
    assert base == 6 and planned[base].aliases == (alias,)


def _write(results: Path, cell: Cell, f1: float, params: dict | None = None) -> None:
    """A run file of ``cell`` made with the config its cell resolves to now."""
    smoke = get_profile("smoke")
    resolved = config.resolve(
        cell.method,
        cell.dataset,
        "smoke",
        profile_subset=smoke.subset,
        variant_params=FIGURE5.variant_params(cell.variant) if cell.variant else {},
    )
    record = make_run_record(cell, test={"micro_f1": f1, "subset_accuracy": f1 / 2})
    record.config.params, record.config.subset = params or resolved.params, resolved.subset
    write_record(cell.path(results), record)


def _row(table, dataset: str, variant: str) -> list[str]:
    return next(r for r in table.rows if r[0] == dataset and r[2].split()[0] == variant)


def test_variants_table_and_figure5_show_the_default_cells_runs(tmp_path):
    results = tmp_path / "results"
    for seed, f1 in ((1, 0.40), (2, 0.50)):
        _write(results, Cell("smoke", "goemotions", "lm_mlm", "", seed), f1)
    _write(results, Cell("smoke", "goemotions", "lm_mlm", "lambda0.1", 1), 0.30)
    table = variant_table(FIGURE5, RunIndex(results, "smoke"))
    assert _row(table, "goemotions", "lambda0.05") == [
        "goemotions",
        "lm_mlm",
        f"lambda0.05 {SAME_AS_DEFAULT}",
        "45.00 ± 7.07",
        "22.50 ± 3.54",
        "synthetic",  # made with the default cell's config: not flagged "other config"
    ]
    assert _row(table, "goemotions", "lambda0.1")[2:] == [
        "lambda0.1",
        "30.00 (n=1)",
        "15.00 (n=1)",
        "synthetic",
    ]
    assert _row(table, "goemotions", "lambda1")[3:] == ["missing", "missing", "missing"]
    assert (
        _row(table, "rmsc", "lambda0.05")[2:] == [f"lambda0.05 {SAME_AS_DEFAULT}"] + ["missing"] * 3
    )
    numbers = [n for n in table.numbers if n["variant"] == "lambda0.05"]
    assert [n["same_as"] for n in numbers] == ["lm_mlm", "lm_mlm"]
    assert numbers[1]["micro_f1"] == pytest.approx(45.0)
    assert any("lambda0.05: the default lm_mlm cell" in note for note in table.notes)
    drawn = figure5(FIGURE5, RunIndex(results, "smoke"), tmp_path / "figures")
    assert [p.name for p in drawn["all"]] == ["figure5.png", "figure5.pdf"]


def test_older_run_files_of_the_alias_still_read(tmp_path):
    """Run files of lm_mlm+lambda0.05 made before it was an alias: read, shown while the
    default cell has none, and the default cell's runs once it has."""
    results = tmp_path / "results"
    own = Cell("smoke", "goemotions", "lm_mlm", "lambda0.05", 1)
    _write(results, own, 0.20)
    row = _row(variant_table(FIGURE5, RunIndex(results, "smoke")), "goemotions", "lambda0.05")
    assert row[3:] == ["20.00 (n=1)", "10.00 (n=1)", "synthetic"]
    _write(results, Cell("smoke", "goemotions", "lm_mlm", "", 1), 0.60)
    index = RunIndex(results, "smoke")
    assert _row(variant_table(FIGURE5, index), "goemotions", "lambda0.05")[3] == "60.00 (n=1)"
    assert [run.cell for run in index.runs("goemotions", "lm_mlm", "lambda0.05")] == [own]
