"""Experiment tracking for long runs (off by default): TensorBoard or MLflow.

:func:`log_run` writes one finished run record, the loss curve step by step
(``train/mtc_loss``, ``train/mlm_loss``, ``train/loss``) and the dev and test metrics
(``dev/<metric>``, ``test/<metric>`` at the last step), to

- TensorBoard: an event file under ``<log_dir>/<profile>/<dataset>/<method>/seed<S>``
  (``tensorboard --logdir <log_dir>``);
- MLflow: a local file store ``<log_dir>/mlruns`` (no server), one run per cell in the
  experiment ``lmmtc-bench/<profile>``, with the cell and the method parameters as tags
  and params (``MLFLOW_ALLOW_FILE_STORE=true mlflow ui --backend-store-uri <log_dir>/mlruns``).

Logging a cell again (``--overwrite``) replaces its earlier entry, as the run file is
replaced. The run files stay the source of truth; tracking is a view of them, so
``python -m benchmarks.running.tracking --backend tensorboard`` can also log existing run files.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from benchmarks.store.records import RunRecord, iter_records
from benchmarks.suite.paths import DEFAULT_RESULTS

BACKENDS = ("tensorboard", "mlflow")
LOSS_KEYS = ("mtc_loss", "mlm_loss", "loss")
INSTALL = {"tensorboard": "pip install tensorboard", "mlflow": "pip install mlflow"}
MLFLOW_BATCH = 1000  # MLflow's limit of metrics per log_batch call


class TrackingUnavailable(ValueError):
    """The chosen tracking backend's package is not installed."""


def check_backend(backend: str) -> None:
    """Fail before any work when ``backend`` is unknown or its package is missing."""
    if backend not in BACKENDS:
        raise TrackingUnavailable(f"unknown tracking backend {backend!r}; known: {BACKENDS}")
    try:
        if backend == "tensorboard":
            from torch.utils.tensorboard import SummaryWriter  # noqa: F401
        else:
            import mlflow  # noqa: F401
    except ImportError as err:
        raise TrackingUnavailable(
            f"--track {backend} needs the {backend} package ({INSTALL[backend]}): {err}"
        ) from None


def log_run_safely(record: RunRecord, backend: str | None, log_dir: Path) -> Path | None:
    """The runner's hook: log ``record`` when tracking is on; a tracking error is a
    warning, never a lost cell (the run file is already written)."""
    if not backend:
        return None
    try:
        return log_run(record, backend, log_dir)
    except Exception as err:  # disk full, a broken store: the run file is what counts
        print(f"warning: tracking to {backend} failed: {type(err).__name__}: {err}")
        return None


def log_run(record: RunRecord, backend: str, log_dir: Path) -> Path:
    """Log one run record to ``backend`` under ``log_dir``; return where it went
    (the TensorBoard run folder, or the MLflow store)."""
    check_backend(backend)
    if backend == "tensorboard":
        return _tensorboard(record, Path(log_dir))
    return _mlflow(record, Path(log_dir))


def curve_points(record: RunRecord) -> Iterator[tuple[str, float, int]]:
    """(name, value, step) of every logged loss of the record's loss curve."""
    for point in record.loss_curve or []:
        for key in LOSS_KEYS:
            if point.get(key) is not None:
                yield f"train/{key}", float(point[key]), int(point["step"])


def metric_points(record: RunRecord) -> Iterator[tuple[str, float, int]]:
    """(name, value, step) of the dev and test metrics, at the curve's last step."""
    curve = record.loss_curve or []
    step = int(curve[-1]["step"]) if curve else 0
    for split in ("dev", "test"):
        for metric, value in (record.metrics.get(split) or {}).items():
            if value is not None:
                yield f"{split}/{metric}", float(value), step


def _tensorboard(record: RunRecord, log_dir: Path) -> Path:
    from torch.utils.tensorboard import SummaryWriter

    run_dir = log_dir / record.cell.label()
    if run_dir.is_dir():  # the cell was rerun: its old events go, as its old run file did
        shutil.rmtree(run_dir)
    writer = SummaryWriter(log_dir=str(run_dir))
    try:
        for name, value, step in (*curve_points(record), *metric_points(record)):
            writer.add_scalar(name, value, step)
        config = json.dumps(dataclasses.asdict(record.config), indent=2)
        writer.add_text("config", f"```\n{config}\n```")
    finally:
        writer.close()
    return run_dir


@contextlib.contextmanager
def _file_store_allowed() -> Iterator[None]:
    """MLflow 3 refuses its file store unless ``MLFLOW_ALLOW_FILE_STORE`` is set; the
    store under ``log_dir`` is exactly what we want (no server, no database)."""
    previous = os.environ.get("MLFLOW_ALLOW_FILE_STORE")
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)
        else:
            os.environ["MLFLOW_ALLOW_FILE_STORE"] = previous


def mlflow_uri(log_dir: Path) -> str:
    """The tracking URI of the file store under ``log_dir``."""
    return (Path(log_dir) / "mlruns").resolve().as_uri()


def _mlflow(record: RunRecord, log_dir: Path) -> Path:
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    cell = record.cell
    with _file_store_allowed():
        client = MlflowClient(tracking_uri=mlflow_uri(log_dir))
        name = f"lmmtc-bench/{cell.profile}"
        experiment = client.get_experiment_by_name(name)
        experiment_id = experiment.experiment_id if experiment else client.create_experiment(name)
        for old in client.search_runs(
            [experiment_id], filter_string=f"tags.`lmmtc.cell` = '{cell.label()}'"
        ):
            client.delete_run(old.info.run_id)  # the cell was rerun
        tags = {f"lmmtc.{key}": str(value) for key, value in vars(cell).items()}
        tags["lmmtc.cell"] = cell.label()
        tags["lmmtc.data"] = "synthetic" if record.dataset.synthetic else "real"
        run = client.create_run(experiment_id, run_name=cell.label(), tags=tags)
        now = int(time.time() * 1000)
        metrics = [
            Metric(key, value, now, step)
            for key, value, step in (*curve_points(record), *metric_points(record))
        ]
        params = [
            Param(key, json.dumps(value)[:6000])
            for key, value in sorted(record.config.params.items())
        ]
        for start in range(0, max(len(metrics), 1), MLFLOW_BATCH):
            client.log_batch(
                run.info.run_id,
                metrics=metrics[start : start + MLFLOW_BATCH],
                params=params if start == 0 else [],
            )
        client.set_terminated(run.info.run_id)
    return Path(log_dir) / "mlruns"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.running.tracking",
        description="Log existing run files (loss curves and metrics) to TensorBoard or MLflow.",
    )
    parser.add_argument("--backend", dest="track", required=True, choices=BACKENDS)
    parser.add_argument(
        "--results-dir",
        type=Path,
        default=Path(DEFAULT_RESULTS),
        help="default: $LMMTC_RESULTS_DIR or the checkout's results/",
    )
    parser.add_argument("--profile", help="only this profile's run files")
    parser.add_argument(
        "--log-dir", dest="track_dir", type=Path, help="default <results-dir>/tracking/<backend>"
    )
    args = parser.parse_args(argv)
    log_dir = Path(args.track_dir or args.results_dir / "tracking" / args.track)
    try:
        check_backend(args.track)
    except TrackingUnavailable as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    count = 0
    for record in iter_records(args.results_dir, args.profile):
        log_run(record, args.track, log_dir)
        count += 1
    print(f"logged {count} run files to {args.track} under {log_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
