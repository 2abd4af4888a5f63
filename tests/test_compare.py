"""benchmarks.compare: a method of one's own beside the paper and the suite's baselines,
whose numbers are the run files' numbers."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pandas as pd
import pytest

from benchmarks.compare import CompareOptions, available_datasets, main
from benchmarks.running.plan import dataset_key
from benchmarks.store.records import Cell
from benchmarks.suite.profiles import get_profile

METHOD = "cmppkg.m:Noisy"


@pytest.fixture
def noisy_method(tmp_path, monkeypatch):
    """An outside package with a seed-dependent method (so the seed spread is not 0)."""
    package = tmp_path / "cmppkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "m.py").write_text(
        textwrap.dedent("""
        import numpy as np

        class Noisy:
            def fit(self, train, dev, *, seed):
                self.prior = train.labels.mean(axis=0)
                self.rng = np.random.default_rng(seed)

            def predict_scores(self, texts):
                noise = self.rng.random((len(texts), len(self.prior)))
                return np.clip(self.prior + noise - 0.4, 0, 1)
        """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    folder = tmp_path / "mydata"
    folder.mkdir()
    (folder / "train.jsonl").write_text(
        "".join(
            json.dumps({"text": f"t{i}", "labels": ["x", "y"][: 1 + i % 2]}) + "\n"
            for i in range(20)
        )
    )
    (folder / "test.jsonl").write_text(
        '{"text": "a", "labels": ["x"]}\n{"text": "b", "labels": ["y"]}\n'
    )
    return folder


def _runs(results, dataset, method, seeds=(1, 2)):
    return [
        json.loads(Cell("smoke", dataset, method, "", s).path(results).read_text())["metrics"][
            "test"
        ]
        for s in seeds
    ]


def _row(markdown: str, dataset: str, method: str) -> list[str]:
    prefix = f"| {dataset} | {method} |"
    line = next(line for line in markdown.splitlines() if line.startswith(prefix))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_compare_table_numbers_equal_run_files_and_paper(tmp_path, dirs, noisy_method, capsys):
    argv = ["--method", METHOD, "--no-paper", "--dataset", "reuters", str(noisy_method)]
    assert main([*argv, "--seeds", "1", "2", "--baselines", "prior", *dirs]) == 0
    printed = capsys.readouterr().out
    results = tmp_path / "results"
    table_md = (results / "tables" / "smoke" / "compare_cmppkg.m.Noisy.md").read_text()
    assert table_md in printed and "SMOKE PROFILE" in table_md

    new_f1 = [100 * m["micro_f1"] for m in _runs(results, "reuters", METHOD)]
    new_hl = [m["hamming_loss"] for m in _runs(results, "reuters", METHOD)]
    prior_f1 = 100 * _runs(results, "reuters", "prior")[0]["micro_f1"]
    mean, std = np.mean(new_f1), np.std(new_f1, ddof=1)
    assert std > 0

    # columns: data set, method, source, seeds, Acc, Acc Δ, Mi-F1, Mi-F1 Δ, Mi-Jac, Δ, HL, Δ, data
    new_row = _row(table_md, "reuters", METHOD)
    assert new_row[2:4] == ["new", "2"]
    assert new_row[6] == f"{mean:.2f} ± {std:.2f}"
    assert new_row[10] == f"{np.mean(new_hl):.4f} ± {np.std(new_hl, ddof=1):.4f}"
    assert new_row[-1] == "synthetic"
    prior_row = _row(table_md, "reuters", "prior")
    assert prior_row[2] == "suite" and prior_row[6] == f"{prior_f1:.2f} ± 0.00"
    assert prior_row[7].strip("*") == f"{mean - prior_f1:+.2f}"
    paper_row = _row(table_md, "reuters", "LM+MLM")
    assert paper_row[2] == "paper Table 2" and paper_row[6] == "89.97"
    assert paper_row[7].strip("*") == f"{mean - 89.97:+.2f}"
    assert _row(table_md, "reuters", "CNN-RNN")[2] == "paper Table 3"

    csv = pd.read_csv(results / "tables" / "smoke" / "compare_cmppkg.m.Noisy.csv")
    by = csv.set_index(["dataset", "method"])
    assert by.loc[("reuters", METHOD), "micro_f1"] == pytest.approx(mean)
    assert by.loc[("reuters", METHOD), "micro_f1_std"] == pytest.approx(std)
    assert by.loc[("reuters", "prior"), "micro_f1_delta"] == pytest.approx(mean - prior_f1)
    assert by.loc[("reuters", "LM+MLM"), "micro_f1_delta"] == pytest.approx(mean - 89.97)
    assert by.loc[("reuters", "LM+MLM"), "hamming_loss_delta"] == pytest.approx(
        np.mean(new_hl) - 0.00264
    )
    # the user's folder: the new method and the baseline, no paper rows
    key = dataset_key(str(noisy_method))  # a folder is filed under its name and path hash
    assert set(csv.loc[csv["dataset"] == key, "source"]) == {"new", "suite"}


def test_without_baselines_every_other_run_is_shown_and_nothing_rerun(
    tmp_path, dirs, noisy_method, capsys
):
    argv = ["--method", METHOD, "--no-paper", "--dataset", str(noisy_method), *dirs]
    assert main([*argv, "--baselines", "prior", "random"]) == 0
    capsys.readouterr()
    assert main([*argv, "--no-run"]) == 0
    table_md = capsys.readouterr().out
    key = dataset_key(str(noisy_method))
    assert _row(table_md, key, "prior")[2] == "suite"
    assert _row(table_md, key, "random")[2] == "suite"


def test_unknown_method_stops_before_the_table(tmp_path, dirs, capsys):
    assert main(["--method", "nopkg.m:X", "--no-paper", "--dataset", "synthetic-small", *dirs]) == 2
    assert "cannot import module 'nopkg.m'" in capsys.readouterr().err
    assert not (tmp_path / "results" / "tables").exists()


def test_available_datasets_are_those_with_files_or_stand_ins(tmp_path):
    (tmp_path / "data" / "aapd").mkdir(parents=True)
    (tmp_path / "data" / "aapd" / "train.jsonl").write_text("")
    (tmp_path / "raw" / "toxic").mkdir(parents=True)
    args = CompareOptions(
        "m", data_dir=tmp_path / "data", raw_dir=tmp_path / "raw", datasets=["x/y"]
    )
    assert available_datasets(args, get_profile("cpu")) == ["aapd", "toxic", "x/y"]
    assert available_datasets(args, get_profile("smoke")) == [
        "gaic",
        "aapd",
        "reuters",
        "rmsc",
        "goemotions",
        "toxic",
        "x/y",
    ]
    args.no_paper = True
    assert available_datasets(args, get_profile("smoke")) == ["x/y"]


def test_compare_on_real_goemotions(tmp_path, dirs, noisy_method, shared_raw, capsys):
    """The outside method on the real GoEmotions files (converted on demand, smoke subset)."""
    raw = shared_raw("goemotions").parent
    argv = ["--method", METHOD, "--no-paper", "--dataset", "goemotions", "--seeds", "1"]
    real_dirs = [*dirs[:4], "--raw-dir", str(raw)]
    assert main([*argv, "--baselines", "prior", *real_dirs]) == 0
    results = tmp_path / "results"
    record = json.loads(Cell("smoke", "goemotions", METHOD, "", 1).path(results).read_text())
    assert record["dataset"]["synthetic"] is False
    assert record["dataset"]["full_sizes"] == {"train": 43410, "dev": 5426, "test": 5427}
    table_md = (results / "tables" / "smoke" / "compare_cmppkg.m.Noisy.md").read_text()
    row = _row(table_md, "goemotions", METHOD)
    assert row[6] == f"{100 * record['metrics']['test']['micro_f1']:.2f} (n=1)"  # one seed
    assert row[-1] == "subset"
    assert _row(table_md, "goemotions", "LM+MLM")[6] == "59.07"  # the paper's Emotion row
