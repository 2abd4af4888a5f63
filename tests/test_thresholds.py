"""Threshold policies: cut-offs by hand, chosen on dev only (shuffling or replacing the
test scores changes nothing), and the report's extra tables under a policy, with the run
files and the default tables unchanged."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from benchmarks.analysis.report import build_report, main
from benchmarks.compare import main as compare_main
from benchmarks.run import main as run_main
from benchmarks.store.records import Cell, read_record
from benchmarks.store.scores import SplitScores, StoredScores, read_scores
from benchmarks.store.thresholds import MIN_DEV_POSITIVES, best_f1_cutoff, cutoffs
from lmmtc.metrics import METRICS, evaluate, threshold


def test_best_cutoff_by_hand():
    labels = np.array([1, 0, 1, 0])
    scores = np.array([0.9, 0.8, 0.7, 0.1])
    # predicting the top 1, 2, 3, 4 scores: F1 = 2/3, 1/2, 4/5, 2/3 -> the top 3, so the
    # cut-off lies halfway between 0.7 and 0.1
    assert best_f1_cutoff(labels, scores) == pytest.approx(0.4)
    assert threshold(scores[None, :], best_f1_cutoff(labels, scores)).tolist() == [[1, 1, 1, 0]]
    # a tie in F1 (top 1: 2/3, top 2: 2/3) goes to the higher cut-off
    assert best_f1_cutoff(np.array([1, 0, 0]), np.array([0.9, 0.6, 0.2])) == pytest.approx(0.75)
    # everything predicted: just below the lowest score; no positive: no cut-off
    assert best_f1_cutoff(np.array([1, 1]), np.array([0.3, 0.3])) < 0.3
    assert best_f1_cutoff(np.array([0, 0]), np.array([0.3, 0.6])) is None


def test_per_label_cutoffs_fall_back_to_the_global_one_below_five_dev_positives():
    rng = np.random.default_rng(0)
    labels = np.zeros((40, 3), dtype=np.uint8)
    labels[:MIN_DEV_POSITIVES, 0] = 1  # label 0: 5 positives, its own cut-off
    labels[: MIN_DEV_POSITIVES - 1, 1] = 1  # label 1: 4 positives, the global one
    labels[::2, 2] = 1
    scores = rng.random((40, 3))
    scores[:MIN_DEV_POSITIVES, 0] = 0.2 + rng.random(MIN_DEV_POSITIVES) / 10  # low but apart
    scores[MIN_DEV_POSITIVES:, 0] = rng.random(35) / 10
    per_label = cutoffs("dev-per-label", labels, scores)
    overall = cutoffs("dev-global", labels, scores)
    assert overall.shape == (3,) and len(set(overall)) == 1
    assert overall[0] == pytest.approx(best_f1_cutoff(labels, scores))
    assert 0.1 < per_label[0] < 0.2  # separates label 0's positives perfectly
    assert per_label[1] == overall[1]
    assert per_label[2] == pytest.approx(best_f1_cutoff(labels[:, 2], scores[:, 2]))
    assert (cutoffs("0.5", labels, scores) == 0.5).all()
    with pytest.raises(ValueError, match="unknown threshold policy 'dev'; known: 0.5, dev-"):
        cutoffs("dev", labels, scores)


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """br and cc kept off the dev rows (``refit=false``), so their dev scores are held out."""
    root = tmp_path_factory.mktemp("thresholds")
    argv = ["--dataset", "reuters", "--method", "br", "cc", "--no-report", "--set", "refit=false"]
    argv += ["--data-dir", str(root / "data"), "--results-dir", str(root / "results")]
    assert run_main([*argv, "--raw-dir", str(root / "no-raw")]) == 0
    return root / "results"


def test_thresholds_chosen_on_dev_never_look_at_test(smoke):
    stored = read_scores(read_record(Cell("smoke", "reuters", "br").path(smoke)))
    test = stored["test"]
    rng = np.random.default_rng(1)
    shuffled = SplitScores(test.scores[rng.permutation(len(test.scores))], test.labels, "x")
    replaced = SplitScores(rng.random(test.scores.shape).astype(np.float32), test.labels, "y")
    for policy in ("dev-global", "dev-per-label"):
        chosen = stored.cutoffs(policy)
        assert not np.allclose(chosen, 0.5)
        for other in (shuffled, replaced):
            again = StoredScores({"dev": stored["dev"], "test": other}).cutoffs(policy)
            assert (again == chosen).all()


def test_report_writes_a_table_per_policy_beside_each_paper_table(smoke, tmp_path):
    results = Path(shutil.copytree(smoke, tmp_path / "results"))
    runs = sorted((results / "runs").rglob("seed*"))
    before = {p: hashlib.sha256(p.read_bytes()).digest() for p in runs}
    build_report(results)
    tables = results / "tables" / "smoke"
    default = {p.name: p.read_bytes() for p in tables.iterdir()}
    assert main(["--results-dir", str(results), "--thresholds", "dev-per-label"]) == 0
    for name in ("table2", "table3", "table4"):
        for ext in ("md", "tex", "csv"):
            assert (tables / f"{name}_dev-per-label.{ext}").stat().st_size > 0
    assert not (tables / "table1_dev-per-label.md").exists()
    assert not (tables / "ablation_dev-per-label.md").exists()
    assert {p.name: p.read_bytes() for p in tables.iterdir() if p.name in default} == default
    assert {p: hashlib.sha256(p.read_bytes()).digest() for p in runs} == before
    report = (results / "REPORT.smoke.md").read_text()
    assert "(thresholds: dev-per-label, chosen on dev)" in report
    # br's value is the test metric at the per-label cut-offs chosen on its dev scores
    stored = read_scores(read_record(Cell("smoke", "reuters", "br").path(results)))
    expected = evaluate(
        stored["test"].labels, stored["test"].scores, stored.cutoffs("dev-per-label")
    )
    table = (tables / "table3_dev-per-label.md").read_text()
    row = next(line for line in table.splitlines() if line.startswith("| reuters | br |"))
    assert f"| {METRICS['micro_f1'].display(expected['micro_f1']):.2f} (n=1) |" in row
    assert expected != evaluate(stored["test"].labels, stored["test"].scores)
    # the default report, rebuilt, has no policy section again
    build_report(results)
    assert "thresholds: dev-per-label" not in (results / "REPORT.smoke.md").read_text()


def test_a_run_trained_on_dev_gets_no_tuned_thresholds(smoke, tmp_path, capsys):
    """Refit on train + dev: in-sample dev scores, so the tables say so instead of a value."""
    results = Path(shutil.copytree(smoke, tmp_path / "results"))
    path = Cell("smoke", "reuters", "cc").path(results)
    data = json.loads(path.read_text())
    data["method_info"]["chosen"]["refit_on_train_dev"] = True  # what refit=true reports
    path.write_text(json.dumps(data))
    build_report(results, thresholds=["dev-global"])
    table = (results / "tables" / "smoke" / "table3_dev-global.md").read_text()
    row = next(line for line in table.splitlines() if line.startswith("| reuters | cc |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[3] == cells[5] == "dev in fit"  # Mi-F1 ours and its vs-ref cell
    argv = ["--results-dir", str(results), "--dataset", "reuters", "--method", "cc"]
    assert compare_main([*argv, "--against", "br", "--thresholds", "dev-global"]) == 1
    assert "trained on its dev rows" in capsys.readouterr().err
    assert compare_main([*argv, "--against", "br", "--json"]) == 0  # at 0.5 it compares
