"""--budget and --priority (issue 15): the priority order, the estimate from earlier run
files, cells that do not fit left for the next window, and a cell cut off at the
deadline leaving no run file. Costs are faked; the methods are tiny external classes."""

from __future__ import annotations

import importlib
import sys
import textwrap
import time

import pytest
from factories import make_run_record

from benchmarks.run import main
from benchmarks.running import budget
from benchmarks.running.budget import (
    EXIT_CELLS_LEFT,
    Estimate,
    History,
    order_by_priority,
    priority_plan,
    run_within_budget,
)
from benchmarks.running.execute import DataCache
from benchmarks.running.options import parse_options
from benchmarks.running.plan import Planned
from benchmarks.store.records import Cell
from benchmarks.suite.profiles import get_profile
from lmmtc.deadline import DeadlineReached, check, time_limit

GPU = get_profile("gpu")


def _labels(planned: list[Planned]) -> list[str]:
    return [item.cell.label() for item in planned]


def test_priority_plan_of_the_gpu_profile_in_its_order():
    planned = priority_plan(parse_options(["--profile", "gpu", "--priority"]), GPU)
    labels = _labels(planned)
    assert labels[:9] == [
        f"gpu/goemotions/{method}/seed{seed}"
        for method in ("bert", "lm", "lm_mlm")
        for seed in (1, 2, 3)
    ]
    # lambda0.05 is the default lm_mlm cell (tests/test_aliases.py): not planned again
    lambdas = ("0", "0.01", "0.1", "0.5", "1")
    assert labels[9:14] == [f"gpu/goemotions/lm_mlm+lambda{x}/seed1" for x in lambdas]
    # Table 4's default variant is Table 2's lm_mlm cell (planned once, at its first place)
    assert labels[14:17] == [f"gpu/goemotions/lm_mlm+same/seed{s}" for s in (1, 2, 3)]
    from lmmtc.transformers.readings import READINGS

    ablation = [r for r in READINGS if r != "default"] + ["readout-cls", "bert-lm-text"]
    end = 17 + len(ablation)
    assert labels[17:end] == [f"gpu/goemotions/lm_mlm+{v}/seed1" for v in ablation]
    assert labels[end : end + 12] == [  # GAIC's Table 2 row, every method, after GoEmotions
        f"gpu/gaic/{method}/seed{seed}"
        for method in ("bert", "bert_mlm", "lm", "lm_mlm")
        for seed in (1, 2, 3)
    ]
    assert labels[end + 12 : end + 21] == [
        f"gpu/reuters/{method}/seed{seed}"
        for method in ("bert", "lm", "lm_mlm")
        for seed in (1, 2, 3)
    ]
    assert labels[end + 21 :] == [
        f"gpu/{d}/bert_mlm/seed{s}" for d in ("reuters", "goemotions") for s in (1, 2, 3)
    ]
    assert len(set(labels)) == len(labels) == end + 27


def test_priority_plan_narrowed_by_the_command_line(tmp_path):
    options = parse_options(
        ["--profile", "gpu", "--priority", "--dataset", "goemotions", "--seeds", "2"]
    )
    labels = _labels(priority_plan(options, GPU))
    # figure5 and the ablation are seed 1 only: nothing of them is left at seed 2
    assert labels == [
        "gpu/goemotions/bert/seed2",
        "gpu/goemotions/lm/seed2",
        "gpu/goemotions/lm_mlm/seed2",
        "gpu/goemotions/lm_mlm+same/seed2",
        "gpu/goemotions/bert_mlm/seed2",
    ]
    (tmp_path / "reuters").mkdir()  # a user's folder called reuters is not the suite's
    folder = ["--profile", "gpu", "--priority", "--dataset", str(tmp_path / "reuters")]
    assert priority_plan(parse_options(folder), GPU) == []
    suite = ["--profile", "gpu", "--priority", "--dataset", "reuters"]
    cells = {item.cell for item in priority_plan(parse_options(suite), GPU)}
    assert {cell.dataset for cell in cells} == {"reuters"} and len(cells) == 12


def test_order_by_priority_puts_unnamed_cells_last_in_plan_order():
    cells = [
        Cell("gpu", "aapd", "bert", "", 1),  # named by no entry
        Cell("gpu", "reuters", "lm", "", 2),  # entry 4
        Cell("gpu", "goemotions", "lm_mlm", "lambda0.1", 1),  # entry 1 (figure5, seed 1)
        Cell("gpu", "goemotions", "lm_mlm", "lambda0.1", 2),  # figure5 seed 2: no entry
        Cell("gpu", "goemotions", "bert", "", 3),  # entry 0
    ]
    ordered = [item.cell for item in order_by_priority([Planned(c) for c in cells], GPU)]
    assert ordered == [cells[4], cells[2], cells[1], cells[0], cells[3]]


def test_the_gpu_profile_leaves_out_other_families(capsys):
    assert main(["--profile", "gpu", "--dataset", "goemotions", "--method", "br", "--dry-run"]) == 2
    assert "profile 'gpu' runs transformer methods only, not br" in capsys.readouterr().err
    assert main(["--profile", "gpu", "--table", "3", "--dataset", "reuters", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "profile gpu: 9 cells of br, cc, cnn left out (transformer only)" in out
    assert "gpu/reuters/bert/seed1" in out and "/br/" not in out


def test_history_estimate_scales_earlier_runs_of_the_same_device_class(tmp_path):
    here = budget.planned_device_class({})  # a method without a device param: the CPU
    record = make_run_record(Cell("gpu", "goemotions", "bert", "", 1))
    record.environment.device = f"{here} (2 logical cores)"
    record.dataset.sizes = {"train": 1000, "dev": 100, "test": 200}
    record.config.params = {"epochs": 2}
    record.timing.fit_seconds, record.timing.test_predict_seconds = 40.0, 4.0
    other = make_run_record(Cell("gpu", "goemotions", "bert", "", 2))
    other.environment.device = "cuda: NVIDIA H200"  # another device class: not used
    history = History([record, other])
    # 40 + 4 + 4 x 100/200 = 46 s for 1,000 rows x 2 epochs -> 500 rows x 1 epoch: 11.5 s
    found = history.estimate(Cell("gpu", "goemotions", "bert", "", 3), 500, {"epochs": 1}, here)
    assert found == Estimate(11.5, f"1 earlier runs on {here}")
    variant = Cell("gpu", "goemotions", "bert", "x", 1)
    assert history.estimate(variant, 1000, {"epochs": 2}, here).source.endswith("(other variants)")
    assert history.estimate(Cell("gpu", "reuters", "bert", "", 1), 1, {}, here) is None


def test_deadline_stops_a_loop_and_nested_limits_keep_the_earlier():
    with time_limit(time.monotonic() + 60):
        check()
        with time_limit(time.monotonic() - 1), pytest.raises(DeadlineReached):
            check()
        check()  # the outer limit again
    check()  # no limit


METHODS = textwrap.dedent("""
    import numpy as np

    from lmmtc import deadline

    #: seconds added to the test's clock (time.monotonic): a long run without the wait
    SKIPPED = [0.0]


    class Quick:
        def fit(self, train, dev, *, seed):
            self.n = train.labels.shape[1]

        def predict_scores(self, texts):
            return np.full((len(texts), self.n), 0.9)


    class Big(Quick):
        pass


    class Hog(Quick):
        \"\"\"Trains for hours (on the test's clock), checking the deadline as the loops do.\"\"\"

        def fit(self, train, dev, *, seed):
            super().fit(train, dev, seed=seed)
            for _ in range(1000):
                SKIPPED[0] += 60.0
                deadline.check()
""")


@pytest.fixture
def external(tmp_path, monkeypatch):
    """Methods Quick, Big (estimated 1e6 s) and Hog (runs past any budget) with fake
    estimates, and a clock that Hog moves forward."""
    package = tmp_path / "budgetpkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "m.py").write_text(METHODS)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("budgetpkg", "budgetpkg.m"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    module = importlib.import_module("budgetpkg.m")
    real = time.monotonic
    monkeypatch.setattr(time, "monotonic", lambda: real() + module.SKIPPED[0])
    costs = {"budgetpkg.m:Quick": 0.01, "budgetpkg.m:Big": 1e6, "budgetpkg.m:Hog": 0.01}

    def fake_estimate(item, profile, overrides, rows, history):
        return Estimate(costs[item.cell.method], "fake")

    monkeypatch.setattr(budget, "estimate_cell", fake_estimate)
    yield tmp_path
    for name in ("budgetpkg", "budgetpkg.m"):
        sys.modules.pop(name, None)


def test_budget_skips_what_does_not_fit_and_leaves_no_file_for_a_cut_off_cell(
    external, dirs, capsys
):
    options = parse_options(
        ["--dataset", "synthetic-small", "--method", "x", "--budget", "1000", *dirs]
    )
    profile = get_profile("smoke")
    cells = [
        Cell("smoke", "synthetic-small", "budgetpkg.m:Quick", "", 1),
        Cell("smoke", "synthetic-small", "budgetpkg.m:Big", "", 1),  # never fits
        Cell("smoke", "synthetic-small", "budgetpkg.m:Quick", "", 2),
        Cell("smoke", "synthetic-small", "budgetpkg.m:Hog", "", 1),  # overruns: cut off
        Cell("smoke", "synthetic-small", "budgetpkg.m:Quick", "", 3),  # after: not started
    ]
    data = DataCache(options, profile)
    outcome = run_within_budget(
        [Planned(c) for c in cells], options, profile, data, time.monotonic()
    )
    assert outcome.written == [
        cells[0].path(options.results_dir),
        cells[2].path(options.results_dir),
    ]
    assert outcome.failures == []
    left = {item.cell: why for item, _, why in outcome.left}
    assert list(left) == [cells[1], cells[3], cells[4]]
    assert left[cells[1]] == "needs ~1000000 s, more than the whole budget (fake)"
    assert left[cells[3]] == "cut off at the deadline"
    assert left[cells[4]] == "the budget is spent (fake)"
    files = sorted(p.name for p in (options.results_dir / "runs").rglob("*") if p.is_file())
    # Quick's two with their scores; nothing of Hog, no temp file, no lock left
    assert files == ["seed1.json", "seed1.scores.npz", "seed2.json", "seed2.scores.npz"]
    assert outcome.exit_code(0) == EXIT_CELLS_LEFT and outcome.exit_code(1) == 1
    out = capsys.readouterr().out
    assert "budget: smoke/synthetic-small/budgetpkg.m:Hog/seed1 cut off at the deadline" in out
    assert "left for the next window: 3 cells" in out


def test_runner_budget_exit_status_and_rerun_goes_on(external, dirs, capsys):
    argv = ["--dataset", "synthetic-small", "--method", "budgetpkg.m:Quick", "budgetpkg.m:Hog"]
    argv += ["--seeds", "1", "--budget", "1000", "--no-report", *dirs]
    assert main(argv) == EXIT_CELLS_LEFT
    out = capsys.readouterr().out
    assert "1 cells run" in out and "left for the next window: 1 cells" in out
    quick = Cell("smoke", "synthetic-small", "budgetpkg.m:Quick", "", 1).path(external / "results")
    assert quick.exists()
    hog = Cell("smoke", "synthetic-small", "budgetpkg.m:Hog", "", 1).path(external / "results")
    assert not [p for p in hog.parent.rglob("*") if p.is_file()]  # no file, no lock left
    # the next window: Quick is done, Hog is cut off again
    assert main(argv) == EXIT_CELLS_LEFT
    assert "0 cells run" in capsys.readouterr().out


def test_budget_options_are_checked_before_any_work(dirs, capsys):
    base = ["--dataset", "synthetic-small", "--method", "prior", *dirs]
    assert main([*base, "--budget", "0"]) == 2
    assert "--budget takes a positive number of seconds, got 0" in capsys.readouterr().err
    assert main([*base, "--budget", "60", "--launcher", "local"]) == 2
    assert "--budget runs the cells in this process" in capsys.readouterr().err
    assert main([*base, "--priority"]) == 2
    assert "profile 'smoke' declares no priority list" in capsys.readouterr().err


def test_budget_dry_run_lists_the_order_and_what_fits(dirs, capsys):
    argv = ["--profile", "gpu", "--priority", "--dataset", "goemotions", "--budget", "300"]
    assert main([*argv, "--dry-run", *dirs]) == 0
    lines = capsys.readouterr().out.splitlines()
    # 43,410 rows (Table 1) x 1 epoch x 2.7 s per 1,000 = 117 s; with the margin of 1.15
    # two fit in 300 s, the third does not
    assert [line.split()[:2] for line in lines[:3]] == [
        ["gpu/goemotions/bert/seed1", "runs"],
        ["gpu/goemotions/bert/seed2", "runs"],
        ["gpu/goemotions/bert/seed3", "left"],
    ]
    assert "~117 s (the gpu profile's cost table)" in lines[0]
    assert lines[-1] == "budget 300 s: ~234 s of cells fit (estimates)"


@pytest.mark.usefixtures("one_torch_thread")
def test_the_training_and_evaluation_loops_stop_at_the_deadline(tmp_path):
    from benchmarks.running.tasks import prepare_dataset
    from lmmtc.registry import get_method

    data = prepare_dataset("synthetic-small", data_dir=tmp_path, raw_dir=None)
    train, dev = data.train.subset(range(32)), data.dev.subset(range(8))
    method = get_method("lm").cls(
        backbone="tiny-random", text_len=16, epochs=1, batch_size=8, progress=False
    )
    with time_limit(time.monotonic() - 1), pytest.raises(DeadlineReached):
        method.fit(train, dev, seed=1)
    assert method.loss_curve == []  # stopped before its first step
    method.fit(train, dev, seed=1)  # no limit: 4 steps
    assert method.run_info()["steps"] == 4
    with time_limit(time.monotonic() - 1), pytest.raises(DeadlineReached):
        method.predict_scores(dev.texts)
    assert method.predict_scores(dev.texts).shape == (8, len(data.label_names))


def test_the_gpu_cost_table_follows_the_committed_h200_runs():
    """The gpu profile's seconds per 1,000 rows and epoch: the slowest method's fastest run
    in the committed H200 sweep (fit with its dev passes, per 1,000 rows x epochs), plus
    10% for the test pass, loading and tokenising."""
    from pathlib import Path

    from benchmarks.store.records import iter_records

    sweep = Path(__file__).resolve().parents[1] / "results" / "sweeps" / "goemotions-h200"
    fastest: dict[str, float] = {}
    records = [r for folder in sorted(sweep.iterdir()) for r in iter_records(folder)]
    assert len(records) == 35
    for record in records:
        assert record.environment.device == "cuda: NVIDIA H200"
        work = record.dataset.sizes["train"] / 1000 * record.config.params["epochs"]
        rate = record.timing.fit_seconds / work
        fastest[record.cell.method] = min(fastest.get(record.cell.method, rate), rate)
    assert set(fastest) == {"bert", "bert_mlm", "lm", "lm_mlm"}
    assert max(fastest.values()) == pytest.approx(2.43, abs=0.005)  # lm_mlm: 24.3 s / 10
    assert GPU.cost_per_1k["transformer"] == pytest.approx(1.1 * max(fastest.values()), abs=0.05)


def test_gaic_transformer_cells_cost_at_their_own_measured_rate():
    """GAIC's small pre-trained BERT is costed at its own rate, other data sets at the
    profile's transformer rate."""
    from benchmarks.running.estimate import DATASET_COST_PER_1K, table_seconds
    from benchmarks.suite.profiles import get_profile

    cpu = get_profile("cpu")
    rate = DATASET_COST_PER_1K[("cpu", "transformer", "gaic")]
    assert table_seconds("transformer", 24000, 4, cpu, "gaic") == 24 * 4 * rate
    assert table_seconds("transformer", 24000, 4, cpu, "reuters") == 24 * 4 * 80
    assert table_seconds("linear", 24000, 1, cpu, "gaic") == 24 * 3  # other families: theirs
