"""The report: its numbers are the run files' numbers, beside the paper's values."""

from __future__ import annotations

import copy
import json
import re

import numpy as np
import pytest

from benchmarks.analysis.report import build_report
from benchmarks.run import main
from benchmarks.store.records import Cell, write_json_atomic


@pytest.fixture(scope="module")
def smoke_results(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    dirs = [
        "--data-dir",
        str(root / "data"),
        "--results-dir",
        str(root / "results"),
        "--raw-dir",
        str(root / "no-raw"),
    ]
    assert (
        main(
            [
                "--dataset",
                "reuters",
                "--method",
                "prior",
                "random",
                "--seeds",
                "1",
                "2",
                "--no-report",
                *dirs,
            ]
        )
        == 0
    )
    assert main(["--table", "1", "--no-report", *dirs]) == 0
    results = root / "results"
    # Two "bert" runs on reuters with known metrics, made from a real run record, so that
    # Table 2's arithmetic can be checked by hand.
    base = json.loads(Cell("smoke", "reuters", "random", "", 1).path(results).read_text())
    for seed, f1 in ((1, 0.80), (2, 0.90)):
        record = copy.deepcopy(base)
        record["cell"].update(method="bert", seed=seed)
        record["metrics"]["test"]["micro_f1"] = f1
        write_json_atomic(Cell("smoke", "reuters", "bert", "", seed).path(results), record)
    build_report(results)
    return results


def test_report_numbers_equal_run_files(smoke_results):
    report = (smoke_results / "REPORT.smoke.md").read_text()
    for method in ("prior", "random"):
        values = []
        for seed in (1, 2):
            path = Cell("smoke", "reuters", method, "", seed).path(smoke_results)
            values.append(100 * json.loads(path.read_text())["metrics"]["test"]["micro_f1"])
        mean, std = np.mean(values), np.std(values, ddof=1)
        row = next(
            line for line in report.splitlines() if line.startswith(f"| reuters | {method} | 2 |")
        )
        assert f"{mean:.2f} ± {std:.2f}" in row


def test_table2_shows_paper_ours_and_difference(smoke_results):
    table = (smoke_results / "tables" / "smoke" / "table2.md").read_text()
    row = next(line for line in table.splitlines() if line.startswith("| reuters | bert |"))
    # paper 89.09; ours mean 85.00, std 7.07 over the two seeds; diff -4.09 is within 2 std
    assert "| 89.09 | 85.00 ± 7.07 | -4.09 |" in row
    # the fake bert runs carry random's (empty) parameters, not bert's declared config
    assert row.rstrip(" |").endswith("synthetic (other config)")
    lm_row = next(line for line in table.splitlines() if line.startswith("| reuters | lm |"))
    assert "missing" in lm_row
    assert lm_row.rstrip(" |").endswith("missing")  # no run: no data stamp of its own


def test_reference_notes_are_text_in_every_table():
    """A reference table without a note column gives empty notes, never 'nan' lines."""
    from benchmarks.suite.experiments import EXPERIMENTS
    from benchmarks.suite.reference import REFERENCE_DIR, PaperValue, load_reference

    for path in sorted(REFERENCE_DIR.glob("*.csv")):
        notes = load_reference(path.name)["note"]
        assert all(isinstance(note, str) for note in notes), path.name
    table4 = EXPERIMENTS["table4"].reference
    assert table4.value("goemotions", "lm_mlm", "same", "micro_f1") == PaperValue(0.5138, "", True)
    assert table4.value("goemotions", "lm_mlm", "", "hamming_loss") == PaperValue(0.0304, "", True)
    assert table4.rows("rmsc") == [("lm_mlm", ""), ("lm_mlm", "same")]
    # an illegible cell: the row exists, the value does not, the note says why
    gaic_lm = EXPERIMENTS["table2"].reference.value("gaic", "lm", "", "subset_accuracy")
    assert gaic_lm.value is None and gaic_lm.has_row and "illegible" in gaic_lm.note
    assert not EXPERIMENTS["table2"].reference.value("gaic", "cc", "", "micro_f1").has_row


def test_table1_counts_and_stamp(smoke_results):
    csv = (smoke_results / "tables" / "smoke" / "table1.csv").read_text()
    assert "reuters" in csv
    table = (smoke_results / "tables" / "smoke" / "table1.md").read_text()
    row = next(line for line in table.splitlines() if line.startswith("| reuters |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1:3] == ["90", "90"]  # labels: paper, ours
    train, train_dev, test = int(cells[4]), int(cells[5]), int(cells[7])
    assert train_dev == train + int(cells[8]) and (cells[6], test) == ("2158", 200)
    assert cells[-1] == "synthetic"


def test_report_warns_about_the_profile_and_links_figures(smoke_results):
    report = (smoke_results / "REPORT.smoke.md").read_text()
    assert "SMOKE PROFILE" in report and "not a reproduction" in report
    links = re.findall(r"\((figures/smoke/[^)]+\.png)\)", report)
    assert any("figure1_reuters" in link for link in links)
    for link in links:
        assert (smoke_results / link).stat().st_size > 1000
    assert (
        (smoke_results / "tables" / "smoke" / "table3.tex")
        .read_text()
        .startswith("\\begin{tabular}")
    )


def test_latex_marks_standing_out_differences_in_bold(smoke_results):
    table = (smoke_results / "tables" / "smoke" / "table2.md").read_text()
    row = next(line for line in table.splitlines() if line.startswith("| reuters | bert |"))
    # subset accuracy of a random guesser is far below the paper's 85.25: bold
    assert re.search(r"\| \*\*-\d+\.\d\d\*\* \|", row)
