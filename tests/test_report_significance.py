"""The report's significance columns: each row against its table's reference row, the
interval and p-value the comparison CLI gives, Holm over the table, the marker, and
``n=1`` for one seed; ``python -m benchmarks.compare --against`` from run files."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from benchmarks.analysis.report import build_report
from benchmarks.analysis.significance import compare_runs, holm
from benchmarks.compare import main as compare_main
from benchmarks.run import main as run_main
from benchmarks.store.records import Cell, read_record
from benchmarks.store.scores import scores_path
from benchmarks.suite.experiments import EXPERIMENTS
from lmmtc.metrics import METRICS

COMMITTED = Path(__file__).resolve().parents[1] / "results"


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """br, cc and prior on the smoke Reuters stand-in, plus prior's run filed as ``cnn``
    (a method far below br, so that its difference is marked)."""
    root = tmp_path_factory.mktemp("significance")
    argv = ["--dataset", "reuters", "--method", "prior", "br", "cc", "--no-report"]
    argv += ["--data-dir", str(root / "data"), "--results-dir", str(root / "results")]
    assert run_main([*argv, "--raw-dir", str(root / "no-raw")]) == 0
    results = root / "results"
    prior = Cell("smoke", "reuters", "prior").path(results)
    cnn = Cell("smoke", "reuters", "cnn").path(results)
    cnn.parent.mkdir()
    data = json.loads(prior.read_text())
    data["cell"]["method"] = "cnn"
    cnn.write_text(json.dumps(data))
    shutil.copy(scores_path(prior), scores_path(cnn))
    build_report(results)
    return results


def _row(path: Path, prefix: str) -> list[str]:
    line = next(line for line in path.read_text().splitlines() if line.startswith(prefix))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_table3_marks_each_row_against_br_with_holm_over_the_table(results):
    table = results / "tables" / "smoke" / "table3.md"
    columns = _row(table, "| data set |")
    assert columns[2:6] == ["Mi-F1 paper", "Mi-F1 ours", "Mi-F1 Δ", "Mi-F1 vs ref"]
    assert _row(table, "| reuters | br |")[5] == "ref"
    runs = {
        m: [read_record(Cell("smoke", "reuters", m).path(results))] for m in ("br", "cc", "cnn")
    }
    metrics = ("micro_f1", "hamming_loss")
    compared = {m: compare_runs(runs[m], runs["br"], metrics) for m in ("cc", "cnn")}
    tests = [(m, metric) for m in ("cc", "cnn") for metric in metrics]
    adjusted = dict(zip(tests, holm([compared[m].results[x].p_value for m, x in tests])))
    frame = pd.read_csv(results / "tables" / "smoke" / "table3.csv")
    for method in ("cc", "cnn"):
        cells = _row(table, f"| reuters | {method} |")
        numbers = frame[(frame["dataset"] == "reuters") & (frame["method"] == method)].iloc[0]
        for metric, column in zip(metrics, (5, 9)):
            spec, paired = METRICS[metric], compared[method].results[metric]
            shown = [
                spec.format_diff(spec.display(x))
                for x in (paired.difference, paired.low, paired.high)
            ]
            expected = f"{shown[0]} [{shown[1]}, {shown[2]}]"
            marked = adjusted[(method, metric)] < 0.05
            assert cells[column] == expected + (" †" if marked else ""), (method, metric)
            assert numbers[f"{metric}_p"] == pytest.approx(paired.p_value)
            assert numbers[f"{metric}_p_holm"] == pytest.approx(adjusted[(method, metric)])
            assert numbers[f"{metric}_against"] == "br"
    # prior (as cnn) predicts no label: far below br, marked; cc is not br's twin
    assert _row(table, "| reuters | cnn |")[5].endswith("†")
    assert compared["cnn"].results["micro_f1"].high < 0
    # 2 rows x 2 metrics, and the smallest p-value (1/10,001) times 4 is still marked
    assert "over the 4 tests of this table" in (results / "REPORT.smoke.md").read_text()
    assert min(adjusted.values()) == pytest.approx(4 / 10_001)


def test_one_seed_shows_n_1_and_latex_gets_a_dagger(results):
    cells = _row(results / "tables" / "smoke" / "table3.md", "| reuters | br |")
    assert re.fullmatch(r"\d+\.\d\d \(n=1\)", cells[3])
    tex = (results / "tables" / "smoke" / "table3.tex").read_text()
    assert "$^\\dagger$" in tex and "†" not in tex


def test_rows_that_cannot_be_paired_say_why(results, tmp_path):
    copy = Path(shutil.copytree(results, tmp_path / "results"))
    cc = Cell("smoke", "reuters", "cc").path(copy)
    data = json.loads(cc.read_text())
    data["cell"]["seed"] = 2  # br has seed 1 only
    cc.with_name("seed2.json").write_text(json.dumps(data))
    shutil.copy(scores_path(cc), scores_path(cc.with_name("seed2.json")))
    cc.unlink()
    build_report(copy)
    assert _row(copy / "tables" / "smoke" / "table3.md", "| reuters | cc |")[5] == "no shared seed"
    assert compare_main(_against(copy, "cc", "br")) == 1


def test_every_reference_row_is_declared_with_its_table():
    assert [(a.method, a.rows) for a in EXPERIMENTS["table2"].against] == [("bert", ())]
    table3 = EXPERIMENTS["table3"]
    assert table3.tested_against("cc").method == "br"
    assert table3.tested_against("lm_mlm").method == "bert"
    assert EXPERIMENTS["table4"].tested_against("lm_mlm").label == "lm_mlm"
    assert EXPERIMENTS["ablation"].tested_against("lm_mlm").variant == ""
    assert EXPERIMENTS["figure5"].tested_against("lm_mlm") is None


def _against(results: Path, method: str, against: str, *extra: str) -> list[str]:
    return [
        "--results-dir", str(results), "--dataset", "reuters", "--method", method,
        "--against", against, *extra,
    ]  # fmt: skip


def test_compare_against_prints_every_metric_as_json(results, capsys):
    assert compare_main(_against(results, "cc", "br", "--json")) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["seeds"] == [1] and out["test_documents"] == 100 and out["resamples"] == 10_000
    assert set(out["metrics"]) == set(METRICS)  # 90 labels: P@3 applies
    br = read_record(Cell("smoke", "reuters", "br").path(results)).metrics["test"]
    cc = read_record(Cell("smoke", "reuters", "cc").path(results)).metrics["test"]
    for name in ("subset_accuracy", "micro_f1", "micro_jaccard", "hamming_loss", "macro_f1"):
        entry = out["metrics"][name]
        assert (entry["a"], entry["b"]) == (cc[name], br[name])  # the run files' values
        assert entry["difference"] == pytest.approx(cc[name] - br[name], abs=1e-15)
        assert entry["low"] <= entry["difference"] <= entry["high"]
        assert 0 < entry["p_value"] <= 1


def test_compare_against_itself_and_its_text_output(results, capsys):
    assert compare_main(_against(results, "br", "br", "--json")) == 0
    out = json.loads(capsys.readouterr().out)
    for entry in out["metrics"].values():
        assert (entry["difference"], entry["low"], entry["high"], entry["p_value"]) == (0, 0, 0, 1)
    assert compare_main(_against(results, "cc", "br")) == 0
    text = capsys.readouterr().out
    assert "cc against br on reuters" in text and "Mi-F1" in text and "95% interval" in text


def test_compare_against_refuses_what_it_cannot_do(results, capsys):
    assert compare_main(_against(results, "cc", "lm")) == 1
    assert "no run files for lm on reuters" in capsys.readouterr().err
    argv = _against(results, "cc", "br")
    assert compare_main([*argv, "--set", "C=1"]) == 2
    assert "--against reads run files only and runs nothing: drop --set" in capsys.readouterr().err
    assert compare_main([*argv, "--dataset", "reuters", "goemotions"]) == 2
    assert "give exactly one --dataset (got 2)" in capsys.readouterr().err


def test_done_when_goemotions_cc_against_br_from_the_committed_files(capsys):
    argv = ["--results-dir", str(COMMITTED), "--profile", "cpu", "--dataset", "goemotions"]
    assert compare_main([*argv, "--method", "cc", "--against", "br", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["test_documents"] == 5427 and set(out["metrics"]) == set(METRICS)
    micro = out["metrics"]["micro_f1"]
    assert micro["low"] > 0 and micro["p_value"] < 0.001  # CC's lead over BR is not noise
