"""The GAIC section "the paper, the authors' code and ours": the authors' numbers as their
README prints them, and the section built from synthetic run and scores files on 4 test
documents of 2 labels, every number by hand."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
from factories import make_run_record

from benchmarks.analysis.builders import table_builder
from benchmarks.analysis.report import build_report
from benchmarks.analysis.tables import MISSING, RunIndex
from benchmarks.store.records import Cell, write_record
from benchmarks.store.scores import SplitScores, write_scores
from benchmarks.suite.experiments import EXPERIMENTS, TRANSFORMERS
from benchmarks.suite.reference import AUTHORS_CODE_GAIC, PaperValue
from lmmtc.metrics import evaluate

TITLE = "GAIC: the paper, the authors' code and ours"

#: github.com/DunZhang/LM-MLC README.md (e55889a), GAIC test table: Acc, Micro-F1,
#: Jaccard-score, 1 - hamming_loss, as printed.
AUTHORS_README = {
    "bert": (0.894, 0.925, 0.861, 0.988),
    "bert_mlm": (0.874, 0.917, 0.8467, 0.987),
    "lm": (0.900, 0.930, 0.869, 0.989),
    "lm_mlm": (0.921, 0.950, 0.906, 0.992),
}
METRICS = ("subset_accuracy", "micro_f1", "micro_jaccard")


def test_the_loader_reads_the_authors_numbers_exactly():
    assert AUTHORS_CODE_GAIC.rows("gaic") == [(m, "") for m in TRANSFORMERS]
    for method, (acc, f1, jaccard, one_minus_hl) in AUTHORS_README.items():
        got = [AUTHORS_CODE_GAIC.value("gaic", method, "", m).value for m in METRICS]
        assert got == pytest.approx([acc, f1, jaccard], abs=1e-12), method
        hamming = AUTHORS_CODE_GAIC.value("gaic", method, "", "hamming_loss").value
        assert hamming == pytest.approx(1 - one_minus_hl, abs=1e-12), method
    assert AUTHORS_CODE_GAIC.value("gaic", "bert", "", "micro_f1") == PaperValue(0.925, "", True)
    assert not AUTHORS_CODE_GAIC.value("aapd", "bert", "", "micro_f1").has_row
    assert "DunZhang/LM-MLC" in AUTHORS_CODE_GAIC.source


def test_the_paper_row_is_the_authors_row_cut_to_whole_points():
    """The experiment's note says so; the two CSVs must keep agreeing."""
    experiment = EXPERIMENTS["gaic_authors"]
    assert set(experiment.reference.frame()["dataset"]) == {"gaic"}  # Table 2's GAIC row only
    checked = 0
    for method in TRANSFORMERS:
        for metric in METRICS:
            paper = experiment.reference.value("gaic", method, "", metric).value
            authors = AUTHORS_CODE_GAIC.value("gaic", method, "", metric).value
            if paper is not None:
                assert round(100 * paper) == math.floor(round(100 * authors, 6)), (method, metric)
                checked += 1
    assert checked == 10  # two of the paper's twelve cells are illegible


LABELS = np.array([[1, 0], [0, 1], [1, 0], [0, 1]])  # (4, 2) test = dev
SCORES = {
    # every document right: Acc, Mi-F1, Mi-Jac 100
    "bert": [[0.9, 0.1], [0.1, 0.9], [0.8, 0.2], [0.2, 0.8]],
    # label 0 everywhere: Acc 2/4, TP 2 FP 2 FN 2: Mi-F1 4/8, Mi-Jac 2/6
    "lm_mlm": [[0.6, 0.4]] * 4,
}


def _write_run(results: Path, method: str, seed: int) -> None:
    cell = Cell("cpu", "gaic", method, "", seed)
    path = cell.path(results)
    path.parent.mkdir(parents=True, exist_ok=True)
    split = SplitScores.of([f"d{i}" for i in range(4)], LABELS, np.array(SCORES[method]))
    stored = write_scores(path, {"dev": split, "test": split}, {})
    metrics = evaluate(LABELS, split.scores)
    record = make_run_record(cell, test=metrics, dev=metrics)
    dataset = dataclasses.replace(
        record.dataset, num_labels=2, sizes={"train": 10, "dev": 4, "test": 4}
    )
    write_record(path, dataclasses.replace(record, dataset=dataset, scores=stored))


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> Path:
    results = tmp_path_factory.mktemp("gaic-authors")
    for method, seed in (("bert", 1), ("bert", 2), ("lm_mlm", 1)):
        _write_run(results, method, seed)
    return results


@pytest.fixture(scope="module")
def table(results):
    experiment = EXPERIMENTS["gaic_authors"]
    assert table_builder(experiment).__name__ == "references_table"
    return table_builder(experiment)(experiment, RunIndex(results, "cpu"))


def _rows(table) -> dict[tuple[str, str], dict[str, str]]:
    return {(row[1], row[2]): dict(zip(table.columns, row)) for row in table.rows}


def test_paper_authors_and_ours_side_by_side_by_hand(table):
    assert table.title == TITLE
    assert table.columns == [
        "data set", "method", "metric", "paper", "authors' code", "ours",
        "ours − paper", "ours − authors' code", "vs ref", "data",
    ]  # fmt: skip
    rows = _rows(table)
    assert [(m, metric) for m, metric in rows] == [
        (m, label) for m in TRANSFORMERS for label in ("Acc", "Mi-F1", "Mi-Jac")
    ]
    bert_acc = rows[("bert", "Acc")]
    # two seeds of 100: 100 - 89 (paper), 100 - 89.4 (authors), both beyond the 1-point floor
    assert [bert_acc[c] for c in table.columns[3:9]] == [
        "89.00", "89.40", "100.00 ± 0.00 (n=2)", "**+11.00**", "**+10.60**", "ref",
    ]  # fmt: skip
    jaccard = rows[("lm_mlm", "Mi-Jac")]  # the paper's cell is illegible, the authors' is not
    assert [jaccard[c] for c in table.columns[3:8]] == [
        "-", "90.60", "33.33 (n=1)", "-", "**-57.27**",
    ]  # fmt: skip
    f1 = rows[("lm_mlm", "Mi-F1")]
    assert [f1[c] for c in ("paper", "authors' code", "ours", "ours − paper")] == [
        "95.00", "95.00", "50.00 (n=1)", "**-45.00**",
    ]  # fmt: skip
    # ours − bert on the same 4 test documents (seed 1, the one both have)
    assert rows[("lm_mlm", "Acc")]["vs ref"].startswith("-50.00 [")
    assert f1["vs ref"].startswith("-50.00 [")
    assert jaccard["vs ref"].startswith("-66.67 [")
    numbers = {(n["method"], n["metric"]): n for n in table.numbers}
    lm_jac = numbers[("lm_mlm", "micro_jaccard")]
    assert lm_jac["ours"] == pytest.approx(100 / 3)
    assert lm_jac["authors_code"] == pytest.approx(90.6)
    assert lm_jac["ours_minus_authors_code"] == pytest.approx(100 / 3 - 90.6)
    assert lm_jac["paper"] is None and lm_jac["ours_minus_paper"] is None
    assert lm_jac["vs_ref"] == pytest.approx(-200 / 3) and lm_jac["against"] == "bert"
    assert lm_jac["vs_ref_low"] <= lm_jac["vs_ref"] <= lm_jac["vs_ref_high"]
    assert numbers[("bert", "subset_accuracy")]["seeds"] == 2


def test_methods_without_runs_show_missing(table):
    rows = _rows(table)
    for method in ("bert_mlm", "lm"):
        for metric in ("Acc", "Mi-F1", "Mi-Jac"):
            row = rows[(method, metric)]
            assert row["ours"] == MISSING and row["data"] == MISSING
            assert row["ours − paper"] == row["ours − authors' code"] == row["vs ref"] == "-"
    assert rows[("lm", "Acc")]["paper"] == "-"  # illegible in the paper
    assert rows[("lm", "Acc")]["authors' code"] == "90.00"


def test_the_notes_name_the_sources(table):
    notes = "\n".join(table.notes)
    assert "github.com/DunZhang/LM-MLC" in notes and "authors_code_gaic.csv" in notes
    assert "gaic lm (paper): accuracy printed as '9'" in notes
    assert "cut to whole points" in notes


def test_the_report_has_the_section(results):
    build_report(results, ["cpu"])
    report = (results / "REPORT.md").read_text(encoding="utf-8")
    assert f"### {TITLE}" in report
    assert "| gaic | lm_mlm | Mi-F1 | 95.00 | 95.00 | 50.00 (n=1) | **-45.00** | **-45.00** |" in (
        report
    )
    assert (results / "tables" / "cpu" / "gaic_authors.csv").stat().st_size > 0
