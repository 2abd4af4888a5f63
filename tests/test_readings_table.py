"""The ablation's "Which reading of LM-MTC" table from synthetic run and scores files:
bert and two readings on 4 test documents of 2 labels, every number by hand."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from factories import make_run_record

from benchmarks.analysis.builders import table_builder
from benchmarks.analysis.tables import AT_THE_PRIOR, NOT_RUN, RANKS_LABELS, RunIndex
from benchmarks.store.records import Cell, write_record
from benchmarks.store.scores import SplitScores, write_scores
from benchmarks.suite.experiments import EXPERIMENTS
from lmmtc.metrics import evaluate

LABELS = np.array([[1, 0], [0, 1], [1, 0], [0, 1]])  # (4, 2) test = dev
SCORES = {
    # perfect: every metric 100
    ("bert", ""): [[0.9, 0.1], [0.1, 0.9], [0.8, 0.2], [0.2, 0.8]],
    # the same scores for every document: label 0 predicted everywhere (F1 1/2), AUC 1/2
    # (all tied), LRAP (1 + 1/2 + 1 + 1/2) / 4 = 3/4; on dev every cut-off that keeps
    # both labels gives F1 2/3 > 1/2
    ("lm_mlm", ""): [[0.6, 0.4]] * 4,
    # ranked right but below 0.5: F1 0 at 0.5, 1 at the dev cut-off (0.25), AUC 1, LRAP 1
    ("lm_mlm", "paper-literal"): [[0.3, 0.1], [0.1, 0.3], [0.4, 0.2], [0.2, 0.4]],
}


def _write_run(results: Path, method: str, variant: str) -> None:
    cell = Cell("cpu", "goemotions", method, variant, 1)
    scores = np.array(SCORES[(method, variant)])
    ids = [f"d{i}" for i in range(4)]
    path = cell.path(results)
    path.parent.mkdir(parents=True, exist_ok=True)
    split = SplitScores.of(ids, LABELS, scores)
    stored = write_scores(path, {"dev": split, "test": split}, {})
    record = make_run_record(cell, test={}, dev={})
    # a run file that predates the threshold-free metrics: LRAP and AUC from the scores
    metrics = {
        k: v for k, v in evaluate(LABELS, split.scores).items() if k not in ("lrap", "macro_auc")
    }
    dataset = dataclasses.replace(
        record.dataset, num_labels=2, sizes={"train": 10, "dev": 4, "test": 4}
    )
    record = dataclasses.replace(
        record, dataset=dataset, scores=stored, metrics={"dev": metrics, "test": metrics}
    )
    write_record(path, record)


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    results = tmp_path_factory.mktemp("readings")
    for method, variant in SCORES:
        _write_run(results, method, variant)
    experiment = EXPERIMENTS["ablation"]
    assert table_builder(experiment).__name__ == "readings_table"
    return table_builder(experiment)(experiment, RunIndex(results, "cpu"))


def _rows(table) -> dict[str, dict[str, str]]:
    return {row[2]: dict(zip(table.columns, row)) for row in table.rows if row[0] == "goemotions"}


def test_each_reading_by_hand_beside_bert(table):
    assert table.columns[3:] == [
        "Mi-F1@0.5", "Mi-F1@0.5 vs ref", "Mi-F1@dev", "Mi-F1@dev vs ref",
        "Ma-AUC", "Ma-AUC vs ref", "LRAP", "LRAP vs ref", "learns", "data",
    ]  # fmt: skip
    rows = _rows(table)
    default, literal = rows["default"], rows["paper-literal"]
    values = ["Mi-F1@0.5", "Mi-F1@dev", "Ma-AUC", "LRAP"]
    assert [default[c] for c in values] == [
        "50.00 (n=1)", "66.67 (n=1)", "50.00 (n=1)", "75.00 (n=1)",
    ]  # fmt: skip
    assert [literal[c] for c in values] == [
        "0.00 (n=1)", "100.00 (n=1)", "100.00 (n=1)", "100.00 (n=1)",
    ]  # fmt: skip
    assert default["learns"] == AT_THE_PRIOR and literal["learns"] == RANKS_LABELS
    # ours − bert (100 everywhere) with its paired interval
    diffs = [default[f"{c} vs ref"].split(" [")[0] for c in values]
    assert diffs == ["-50.00", "-33.33", "-50.00", "-25.00"]
    assert literal["Mi-F1@0.5 vs ref"].startswith("-100.00 [-100.00, -100.00]")
    for column in ("Mi-F1@dev", "Ma-AUC", "LRAP"):  # the same decisions and ranks as bert
        assert literal[f"{column} vs ref"] == "+0.00 [+0.00, +0.00]"
    numbers = {n["variant"]: n for n in table.numbers if n["dataset"] == "goemotions"}
    assert numbers[""]["micro_f1_dev-global"] == pytest.approx(200 / 3)
    assert numbers[""]["macro_auc_vs_ref"] == pytest.approx(-50.0)
    assert any("Ma-AUC >= 60" in note for note in table.notes)
    assert any("goemotions: 0 of 2 labels" in note for note in table.notes)


def test_a_reading_without_run_files_shows_not_run(table):
    rows = _rows(table)
    ctran = rows["ctran"]
    assert ctran["data"] == NOT_RUN and ctran["learns"] == "-"
    assert all(ctran[c] == "-" for c in table.columns[3:-2])
    reuters = [row for row in table.rows if row[0] == "reuters"]
    assert reuters and all(row[-1] == NOT_RUN for row in reuters)
