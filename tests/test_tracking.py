"""Tracking: the loss curve and metrics of a run record, read back from each backend."""

from __future__ import annotations

import sys

import pytest
from factories import make_run_record

from benchmarks.running.options import parse_options
from benchmarks.running.tracking import TrackingUnavailable, log_run, log_run_safely, main
from benchmarks.store.records import Cell, RunRecord, write_record

CELL = Cell("smoke", "reuters", "lm_mlm", "", 2)


def make_record(scale: float = 1.0) -> RunRecord:
    """A finished run record with a known loss curve and metrics."""
    return make_run_record(
        CELL,
        params={"mlm_lambda": 0.05, "epochs": 2},
        dev={"micro_f1": 0.5 * scale, "hamming_loss": 0.1},
        test={"micro_f1": 0.25 * scale, "hamming_loss": 0.125},
        loss_curve=[
            {"step": 10, "epoch": 0.5, "mtc_loss": 0.75 * scale, "mlm_loss": 2.5, "loss": 0.875},
            {"step": 20, "epoch": 1.0, "mtc_loss": 0.5 * scale, "mlm_loss": None, "loss": 0.5},
        ],
    )


def tensorboard_scalars(run_dir) -> dict[str, list[tuple[int, float]]]:
    accumulator_module = pytest.importorskip(
        "tensorboard.backend.event_processing.event_accumulator"
    )
    accumulator = accumulator_module.EventAccumulator(str(run_dir))
    accumulator.Reload()
    return {
        tag: [(event.step, event.value) for event in accumulator.Scalars(tag)]
        for tag in accumulator.Tags()["scalars"]
    }


def test_tensorboard_event_file_holds_the_curve_and_metrics(tmp_path):
    pytest.importorskip("tensorboard")
    run_dir = log_run(make_record(), "tensorboard", tmp_path)
    assert run_dir == tmp_path / "smoke" / "reuters" / "lm_mlm" / "seed2"
    scalars = tensorboard_scalars(run_dir)
    assert scalars["train/mtc_loss"] == [(10, 0.75), (20, 0.5)]
    assert scalars["train/mlm_loss"] == [(10, 2.5)]  # a step without MLM logs nothing
    assert scalars["train/loss"] == [(10, 0.875), (20, 0.5)]
    assert scalars["dev/micro_f1"] == [(20, 0.5)]
    assert scalars["test/hamming_loss"] == [(20, 0.125)]

    log_run(make_record(scale=0.5), "tensorboard", tmp_path)  # the cell rerun
    again = tensorboard_scalars(run_dir)
    assert again["train/mtc_loss"] == [(10, 0.375), (20, 0.25)]
    assert again["test/micro_f1"] == [(20, 0.125)]


def test_mlflow_file_store_holds_the_curve_metrics_and_params(tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    from benchmarks.running.tracking import mlflow_uri

    log_run(make_record(), "mlflow", tmp_path)
    log_run(make_record(scale=0.5), "mlflow", tmp_path)  # rerun replaces the first
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    client = MlflowClient(tracking_uri=mlflow_uri(tmp_path))
    experiment = client.get_experiment_by_name("lmmtc-bench/smoke")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.run_name == CELL.label()
    assert run.data.tags["lmmtc.method"] == "lm_mlm" and run.data.tags["lmmtc.data"] == "synthetic"
    assert run.data.params == {"epochs": "2", "mlm_lambda": "0.05"}
    history = client.get_metric_history(run.info.run_id, "train/mtc_loss")
    assert sorted((m.step, m.value) for m in history) == [(10, 0.375), (20, 0.25)]
    assert [
        (m.step, m.value) for m in client.get_metric_history(run.info.run_id, "train/mlm_loss")
    ] == [(10, 2.5)]
    assert run.data.metrics["test/micro_f1"] == 0.125
    assert run.data.metrics["dev/hamming_loss"] == 0.1


def test_missing_backend_package_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow -> ImportError
    with pytest.raises(TrackingUnavailable, match="pip install mlflow"):
        log_run(make_record(), "mlflow", tmp_path)
    assert main(["--backend", "mlflow", "--results-dir", str(tmp_path)]) == 2


def test_tracking_is_off_by_default_and_cli_logs_existing_run_files(tmp_path):
    pytest.importorskip("tensorboard")
    options = parse_options(["--results-dir", str(tmp_path)])
    assert options.track.backend is None
    assert log_run_safely(make_record(), options.track.backend, options.track_dir) is None
    assert not (tmp_path / "tracking").exists()

    write_record(CELL.path(tmp_path / "results"), make_record())
    argv = ["--backend", "tensorboard", "--results-dir", str(tmp_path / "results")]
    assert main(argv) == 0
    run_dir = tmp_path / "results" / "tracking" / "tensorboard" / CELL.label()
    assert tensorboard_scalars(run_dir)["test/micro_f1"] == [(20, 0.25)]
