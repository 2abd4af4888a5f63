"""The submitit launcher: one job per cell, results in the shared folder, one report."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from benchmarks.launch import main
from benchmarks.running.options import RunOptions, parse_options
from benchmarks.running.plan import plan_cells
from benchmarks.running.scaleout import make_executor, plan_jobs
from benchmarks.store.records import Cell
from benchmarks.suite.profiles import get_profile


def launch_options(argv):
    """The options ``python -m benchmarks.launch ARGV`` runs with."""
    return parse_options(argv, default_launcher="local")


pytest.importorskip("submitit")


@pytest.mark.slow  # local jobs in subprocesses: the README's test command leaves it out, CI runs it
def test_local_jobs_write_run_files_and_the_report_shows_them(tmp_path, dirs, capsys):
    argv = ["--dataset", "synthetic-small", "--method", "random", "--seeds", "1", "2", *dirs]
    assert main([*argv, "--launcher", "local", "--array-parallelism", "2"]) == 0
    out = capsys.readouterr().out
    assert "2 cells planned, 2 to run" in out and "submitted 2 jobs" in out
    results = tmp_path / "results"
    results_pickles = sorted((results / "launch_logs").glob("*/*_result.pkl"))
    assert len(results_pickles) == 2  # one job per cell
    f1, hl = [], []
    for seed in (1, 2):
        path = Cell("smoke", "synthetic-small", "random", "", seed).path(results)
        record = json.loads(path.read_text())
        assert record["cell"]["seed"] == seed
        f1.append(100 * record["metrics"]["test"]["micro_f1"])
        hl.append(record["metrics"]["test"]["hamming_loss"])
    assert f1[0] != f1[1]  # two seeds, two different runs
    # the parent rebuilt the report once, from the jobs' run files
    report = (results / "REPORT.smoke.md").read_text()
    row = next(
        line for line in report.splitlines() if line.startswith("| synthetic-small | random | 2 |")
    )
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[4] == f"{np.mean(f1):.2f} ± {np.std(f1, ddof=1):.2f}"  # Mi-F1, percent
    assert cells[6] == f"{np.mean(hl):.4f} ± {np.std(hl, ddof=1):.4f}"  # HL, a fraction

    assert main([*argv, "--launcher", "local"]) == 0  # all done: nothing is submitted
    assert "2 cells planned, 0 to run" in capsys.readouterr().out
    assert sorted((results / "launch_logs").glob("*/*_result.pkl")) == results_pickles


def test_failed_job_is_reported_with_its_cell(tmp_path, dirs, capsys, monkeypatch):
    (tmp_path / "failpkg").mkdir()
    (tmp_path / "failpkg" / "__init__.py").write_text("")
    (tmp_path / "failpkg" / "m.py").write_text(
        "class Fails:\n    def fit(self, train, dev, *, seed):\n"
        "        raise ValueError('bad fit')\n"
        "    def predict_scores(self, texts):\n        return []\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    argv = ["--dataset", "synthetic-small", "--method", "failpkg.m:Fails", *dirs]
    assert main([*argv, "--launcher", "debug", "--no-report"]) == 1
    out = capsys.readouterr().out
    assert "1 jobs failed" in out and "smoke/synthetic-small/failpkg.m:Fails/seed1" in out
    assert (
        not Cell("smoke", "synthetic-small", "failpkg.m:Fails").path(tmp_path / "results").exists()
    )


def test_each_job_plans_exactly_its_cells(tmp_path, dirs):
    """Every planned cell is in exactly one job, and the runner given a job's cell spec
    plans exactly that job's cells (so no two jobs write the same run file)."""
    options = launch_options(["--table", "3", "4", "--seeds", "1", "2", *dirs])
    profile = get_profile("smoke")
    planned = plan_cells(options, profile)
    jobs = plan_jobs(planned, options, {})
    cells = [cell for job in jobs for cell in job.cells]
    assert sorted(cells, key=Cell.label) == sorted((p.cell for p in planned), key=Cell.label)
    assert len(cells) == len(set(cells))
    for job in jobs:
        spec = RunOptions.from_json(job.spec)
        assert spec.no_report and spec.launch.launcher is None
        job_cells = {p.cell for p in plan_cells(spec, profile)}
        assert job_cells == set(job.cells)
    variants = {cell.variant for job in jobs for cell in job.cells if cell.method == "lm_mlm"}
    assert variants == {"", "same"}


@pytest.mark.parametrize("figures", [["5"], ["3", "5"]])
def test_a_job_plans_the_default_cell_of_an_alias(tmp_path, dirs, figures):
    """Figure 5's lambda0.05 is the default lm_mlm cell (tests/test_aliases.py): its job
    asks for it by the alias's variant when no selected experiment declares ``default``
    (Figure 5 alone), and keeps the attention maps Figure 3 asks of it."""
    argv = ["--figure", *figures, "--dataset", "goemotions", "--seeds", "1", *dirs]
    options = launch_options(argv)
    profile = get_profile("smoke")
    planned = {item.cell: item for item in plan_cells(options, profile)}
    base = Cell("smoke", "goemotions", "lm_mlm", "", 1)
    assert planned[base].aliases == (Cell("smoke", "goemotions", "lm_mlm", "lambda0.05", 1),)
    for job in plan_jobs(list(planned.values()), options, {}):
        job_plan = plan_cells(RunOptions.from_json(job.spec), profile)
        assert [item.cell for item in job_plan] == list(job.cells)
        assert [item.saves for item in job_plan] == [planned[c].saves for c in job.cells]
    assert planned[base].saves == (("attention",) if "3" in figures else ())


def test_slurm_options_reach_the_sbatch_script(tmp_path, dirs, monkeypatch):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "srun").write_text("#!/bin/sh\nexit 1\n")
    (fake / "srun").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:{os.environ['PATH']}")
    argv = ["--dataset", "reuters", "--method", "lm_mlm", "--launcher", "slurm", *dirs]
    argv += ["--partition", "gpu", "--gpus-per-node", "1", "--time", "90"]
    argv += ["--cpus-per-task", "8", "--mem-gb", "40", "--slurm-option", "account=lab"]
    executor = make_executor(launch_options(argv))
    script = executor._executor._make_submission_file_text("python -u -m x", "uid")
    for line in (
        "--partition=gpu",
        "--gpus-per-node=1",
        "--time=90",
        "--cpus-per-task=8",
        "--mem=40GB",
        "--account=lab",
    ):
        assert f"#SBATCH {line}" in script


def test_local_jobs_are_not_killed_by_submitits_two_minute_default(dirs):
    options = launch_options(["--dataset", "x", "--method", "prior", *dirs])
    assert options.launch.launcher == "local"
    assert make_executor(options)._executor.parameters["timeout_min"] == 7 * 24 * 60
