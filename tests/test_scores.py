"""Every prediction kept: the scores file beside each run file, re-scoring from it (the
stored metrics exactly; a metric registered later in every table), old run files
without scores, Figure 3's attention maps from the same file."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from factories import make_run_record

from benchmarks.analysis.report import build_report
from benchmarks.analysis.tables import RunIndex
from benchmarks.run import main
from benchmarks.running.harness import subset_split
from benchmarks.store.records import Cell, iter_records, read_record
from benchmarks.store.scores import (
    ScoresError,
    artefact_path,
    as_stored,
    ids_sha256,
    read_scores,
    scores_path,
)
from lmmtc.data import load_dataset
from lmmtc.metrics import METRICS, Metric

COMMITTED = Path(__file__).resolve().parents[1] / "results"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """prior, br and cc on the smoke Reuters stand-in (100 test rows, 90 labels), seed 1."""
    root = tmp_path_factory.mktemp("scores")
    argv = ["--dataset", "reuters", "--method", "prior", "br", "cc", "--no-report"]
    argv += ["--data-dir", str(root / "data"), "--results-dir", str(root / "results")]
    assert main([*argv, "--raw-dir", str(root / "no-raw")]) == 0
    return root


def copy_results(runs: Path, tmp_path: Path) -> Path:
    """A private copy of the module's results folder (tests write reports into it)."""
    return Path(shutil.copytree(runs / "results", tmp_path / "results"))


def test_scores_file_beside_each_run_file_named_and_hashed(runs):
    dataset = load_dataset("synthetic-reuters", runs / "data")  # the stand-in the runs used
    scored = {name: subset_split(dataset.split(name), 100) for name in ("dev", "test")}
    for method in ("prior", "br", "cc"):
        path = Cell("smoke", "reuters", method).path(runs / "results")
        record = read_record(path)
        assert record.scores.file == "seed1.scores.npz" == scores_path(path).name
        assert hashlib.sha256(scores_path(path).read_bytes()).hexdigest() == record.scores.sha256
        stored = read_scores(record)
        for name, split in scored.items():
            assert stored[name].scores.shape == (100, 90) == split.labels.shape
            assert stored[name].scores.dtype == np.float32
            assert (stored[name].labels == split.labels).all()  # packed bits, unpacked
            # the ids of the scored rows, in order: the smoke cap's subset, not the split
            assert (
                stored[name].ids_sha256
                == ids_sha256(split.ids)
                != ids_sha256(dataset.split(name).ids)
            )


def test_rescoring_reproduces_the_stored_metrics_exactly(runs):
    stored = {r.path: r.metrics for r in iter_records(runs / "results")}
    index = RunIndex(runs / "results", "smoke", rescore=True)
    rescored = {run.path: run.metrics for group in index.groups.values() for run in group}
    assert rescored == stored and len(stored) == 3


def test_committed_runs_with_scores_rescore_to_their_metrics():
    """The committed br, cc and prior runs carry scores that give their metrics exactly."""
    with_scores = [r for r in iter_records(COMMITTED, "cpu") if r.scores is not None]
    assert {(r.cell.dataset, r.cell.method) for r in with_scores} >= {
        (d, m) for d in ("reuters", "goemotions", "gaic") for m in ("br", "cc", "prior")
    }
    for record in with_scores:  # compressed: never more than the scores' own bytes
        path = record.path.parent / record.scores.file
        with np.load(path) as stored:
            width = 2 if int(stored["format"]) >= 2 else 4  # float16 from format 2 on
            values = sum(stored[k].size for k in stored.files if k.endswith("_scores"))
        assert path.stat().st_size <= width * values + 4096, path
    index = RunIndex(COMMITTED, "cpu", rescore=True)
    for record in with_scores:
        (rescored,) = [
            r
            for r in index.runs(record.cell.dataset, record.cell.method, record.cell.variant)
            if r.path == record.path
        ]
        # the stored metrics exactly; a metric newer than the run file (LRAP, macro AUC)
        # is added by the rescoring
        kept = {
            split: {k: v for k, v in values.items() if k in record.metrics[split]}
            for split, values in rescored.metrics.items()
        }
        assert kept == record.metrics, record.path
        assert {"lrap", "macro_auc"} <= set(rescored.metrics["test"]), record.path


def test_a_metric_registered_later_appears_in_every_table_after_rescore(
    runs, tmp_path, monkeypatch
):
    def share_predicted(y_true: np.ndarray, y_pred: np.ndarray) -> float:
        return float(np.mean(y_pred))

    monkeypatch.setitem(
        METRICS, "share_predicted", Metric("share_predicted", "Pred", share_predicted, False)
    )
    results = copy_results(runs, tmp_path)
    build_report(results, rescore=True)
    br = read_record(Cell("smoke", "reuters", "br").path(results))
    stored = read_scores(br)["test"]
    expected = 100 * float(np.mean(stored.scores > 0.5))  # by hand, from the stored scores
    all_runs = (results / "tables" / "smoke" / "all_runs.md").read_text()
    row = next(line for line in all_runs.splitlines() if line.startswith("| reuters | br |"))
    assert "| Pred |" in all_runs and f"| {expected:.2f} (n=1) |" in row
    for name in ("table2", "table3", "table4", "ablation", "figure5"):
        assert "Pred" in (results / "tables" / "smoke" / f"{name}.md").read_text(), name
    table3 = (results / "tables" / "smoke" / "table3.md").read_text()
    row = next(line for line in table3.splitlines() if line.startswith("| reuters | br |"))
    assert f"| {expected:.2f} (n=1) |" in row  # paper "-", ours, no Δ
    # without --rescore the run files hold no value for it
    build_report(results)
    all_runs = (results / "tables" / "smoke" / "all_runs.md").read_text()
    row = next(line for line in all_runs.splitlines() if line.startswith("| reuters | br |"))
    assert row.count("missing") == 1


def test_old_run_files_without_scores_load_and_show_no_scores(runs, tmp_path):
    results = copy_results(runs, tmp_path)
    old = Cell("smoke", "reuters", "cc").path(results)
    data = json.loads(old.read_text())
    data["schema_version"] = 1  # as written before scores were kept
    del data["scores"], data["artefacts"], data["dataset"]["nonstandard"]
    old.write_text(json.dumps(data))
    scores_path(old).unlink()
    record = read_record(old)
    assert record.scores is None and record.metrics == data["metrics"]
    with pytest.raises(ScoresError, match=r"no scores \(the run predates stored scores\)"):
        read_scores(record)
    build_report(results)
    table3 = (results / "tables" / "smoke" / "table3.md").read_text()
    row = next(line for line in table3.splitlines() if line.startswith("| reuters | cc |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[5] == "no scores" and cells[9] == "no scores"  # Mi-F1 and HL "vs ref"
    assert cells[3] == f"{100 * data['metrics']['test']['micro_f1']:.2f} (n=1)"


def test_a_replaced_or_missing_scores_file_is_named(runs, tmp_path):
    results = copy_results(runs, tmp_path)
    path = Cell("smoke", "reuters", "br").path(results)
    npz = scores_path(path)
    npz.write_bytes(npz.read_bytes() + b"x")
    with pytest.raises(ScoresError, match=r"seed1\.scores\.npz: sha256 differs from the one in"):
        read_scores(read_record(path))
    npz.unlink()
    with pytest.raises(ScoresError, match=r"scores file named by .*seed1\.json is missing"):
        read_scores(read_record(path))
    with pytest.warns(UserWarning, match="scores not used"):
        RunIndex(results, "smoke", rescore=True)


def test_attention_maps_are_found_in_the_scores_file_or_an_older_npz(tmp_path):
    record = make_run_record(Cell("smoke", "d", "lm_mlm"))
    run = Cell("smoke", "d", "lm_mlm").path(tmp_path / "results")
    run.parent.mkdir(parents=True)
    record.path = run
    assert artefact_path(record, "attention") is None
    legacy = run.with_suffix(".npz")  # seed1.npz, as earlier runs wrote it
    np.savez(legacy, attention=np.ones((2, 3, 3)))
    assert artefact_path(record, "attention") == legacy
    record.artefacts = {"attention": "seed1.scores.npz"}
    np.savez(scores_path(run), attention=np.zeros((2, 3, 3)))
    assert artefact_path(record, "attention") == scores_path(run)


def test_float16_storage_keeps_every_decision_at_the_threshold():
    """Scores just above 0.5 would round to 0.5 in float16; they stay above it, so the
    paper's decisions are the model's own; the others round to the nearest float16."""
    scores = np.array([[0.5, 0.50001, 0.5 + 2**-13, 0.49999, 0.123456789, 1.0]], np.float32)
    stored = as_stored(scores)
    assert stored.dtype == np.float32
    assert ((stored > 0.5) == (scores > 0.5)).all()
    assert stored[0, 1] == stored[0, 2] == 0.5 + 2**-11  # the next float16 above 0.5
    assert stored[0, 0] == 0.5 and stored[0, 3] == 0.5  # 0.49999 rounds to 0.5: not above
    assert stored[0, 4] == np.float32(np.float16(0.123456789)) != scores[0, 4]
    assert (as_stored(stored) == stored).all()  # stored values are stored exactly


def test_new_files_hold_float16_and_old_float32_files_still_load(runs, tmp_path):
    results = copy_results(runs, tmp_path)
    record = read_record(Cell("smoke", "reuters", "br").path(results))
    path = scores_path(record.path)
    with np.load(path) as data:
        arrays = dict(data)
    assert int(arrays["format"]) == 2 and arrays["test_scores"].dtype == np.float16
    new = read_scores(record)
    # a format-1 file (float32 scores), as written before: the same values load
    old = {**arrays, "format": np.asarray(1)}
    old.update({f"{s}_scores": arrays[f"{s}_scores"].astype(np.float32) for s in ("dev", "test")})
    np.savez_compressed(path, **old)
    record.scores.sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    loaded = read_scores(record)
    for split in ("dev", "test"):
        assert loaded[split].scores.dtype == np.float32
        assert (loaded[split].scores == new[split].scores).all()
        assert (loaded[split].labels == new[split].labels).all()
