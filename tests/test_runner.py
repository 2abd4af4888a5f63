"""The runner end to end on synthetic data: run files, skipping, errors, determinism."""

from __future__ import annotations

import json
import textwrap

import pytest

from benchmarks.run import main
from benchmarks.running.plan import dataset_key
from benchmarks.store.records import SCHEMA_VERSION, Cell, write_json_atomic


def _run_file(tmp_path, method="prior", seed=1, dataset="synthetic-small"):
    return tmp_path / "results" / "runs" / "smoke" / dataset / method / f"seed{seed}.json"


def test_two_seeds_write_two_run_files_then_nothing_reruns(tmp_path, dirs, capsys):
    argv = ["--dataset", "synthetic-small", "--method", "prior", "--seeds", "1", "2", *dirs]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "2 cells run" in out and "synthetic-small  prior" in out
    record = json.loads(_run_file(tmp_path).read_text())
    assert record["schema_version"] == SCHEMA_VERSION
    assert record["cell"] == {
        "profile": "smoke",
        "dataset": "synthetic-small",
        "method": "prior",
        "variant": "",
        "seed": 1,
    }
    assert record["dataset"]["synthetic"] is True
    assert set(record["dataset"]["hashes"]) >= {"train.jsonl", "test.jsonl", "labels.txt"}
    assert set(record["metrics"]["test"]) >= {
        "subset_accuracy",
        "micro_f1",
        "micro_jaccard",
        "hamming_loss",
        "macro_f1",
    }
    for key in ("packages", "git", "device", "python"):
        assert key in record["environment"]
    assert record["environment"]["packages"]["numpy"]
    assert record["timing"]["peak_rss_mb"] > 0
    assert _run_file(tmp_path, seed=2).exists()
    mtime = _run_file(tmp_path).stat().st_mtime_ns

    assert main(argv) == 0
    assert "0 cells run" in capsys.readouterr().out
    assert _run_file(tmp_path).stat().st_mtime_ns == mtime

    assert main([*argv, "--overwrite"]) == 0
    assert "2 cells run" in capsys.readouterr().out


def test_prior_metrics_equal_hand_computation(tmp_path, dirs):
    from lmmtc.data import load_dataset
    from lmmtc.metrics import hamming_loss

    assert main(["--dataset", "synthetic-small", "--method", "prior", "--seeds", "1", *dirs]) == 0
    record = json.loads(_run_file(tmp_path).read_text())
    data = load_dataset(tmp_path / "data" / "synthetic-small")
    prior = data.train.labels.mean(axis=0)
    expected = hamming_loss(data.test.labels, (prior > 0.5)[None, :].repeat(len(data.test), 0))
    assert record["metrics"]["test"]["hamming_loss"] == pytest.approx(expected)


def test_same_seed_same_metrics_and_other_seed_differs(tmp_path, dirs):
    base = ["--dataset", "synthetic-small", "--method", "random", *dirs]
    assert main([*base, "--seeds", "7"]) == 0
    first = json.loads(_run_file(tmp_path, "random", 7).read_text())["metrics"]
    assert main([*base, "--seeds", "7", "--overwrite"]) == 0
    again = json.loads(_run_file(tmp_path, "random", 7).read_text())["metrics"]
    assert first == again
    assert main([*base, "--seeds", "8"]) == 0
    other = json.loads(_run_file(tmp_path, "random", 8).read_text())["metrics"]
    assert other != first


def test_unknown_method_fails_before_any_work(tmp_path, dirs, capsys):
    assert main(["--dataset", "synthetic-small", "--method", "prir", *dirs]) == 2
    assert "Did you mean 'prior'" in capsys.readouterr().err
    assert not (tmp_path / "results").exists()


def test_bad_method_parameter_is_reported(tmp_path, dirs, capsys):
    argv = ["--dataset", "synthetic-small", "--method", "prior", "--set", "nope=1", *dirs]
    assert main(argv) == 2  # refused before any cell runs (issue 22)
    err = capsys.readouterr().err
    assert "error: --set nope=1: method 'prior' has no option 'nope'. Its options: none" in err
    assert not _run_file(tmp_path).exists()


def test_unavailable_dataset_named_with_dataset_fails_and_the_others_run(tmp_path, dirs, capsys):
    argv = ["--dataset", "toxic", "synthetic-small", "--method", "prior", "--profile", "cpu", *dirs]
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "FAILED data set toxic: no converted data in" in out
    assert "Log in to Kaggle" in out
    assert "1 data sets failed:\n  toxic: no converted data" in out
    assert (tmp_path / "results" / "runs" / "cpu" / "synthetic-small" / "prior").is_dir()


def test_experiment_data_set_without_files_is_skipped_with_how_to(tmp_path, dirs, capsys):
    """``--table 3`` in the cpu profile runs what is available: absent raw files of a
    data set the experiment lists are not a failure, and the run says how to get them."""
    assert main(["--table", "3", "--profile", "cpu", "--no-report", *dirs]) == 0
    out = capsys.readouterr().out
    assert "skipped data set reuters: no converted data in" in out
    assert "missing data sets: aapd, reuters, rmsc" in out


def test_stale_run_file_from_other_data_is_rerun(tmp_path, dirs, capsys):
    argv = ["--dataset", "synthetic-small", "--method", "prior", "--seeds", "1", *dirs]
    assert main(argv) == 0
    path = _run_file(tmp_path)
    record = json.loads(path.read_text())
    record["dataset"]["hashes"]["train.jsonl"] = "0" * 64
    path.write_text(json.dumps(record))
    capsys.readouterr()
    assert main(argv) == 0
    assert "1 cells run" in capsys.readouterr().out


def test_run_file_from_another_config_is_rerun(tmp_path, dirs, capsys):
    """An edited YAML or a new --set reruns the cells it changes, and says why."""
    argv = ["--dataset", "synthetic-small", "--method", "br", "--seeds", "1", *dirs]
    assert main(argv) == 0
    capsys.readouterr()
    changed = [*argv, "--set", "min_df=2"]
    assert main([*changed, "--dry-run"]) == 0
    assert "smoke/synthetic-small/br/seed1" in (out := capsys.readouterr().out)
    assert "rerun" in out and "1 cells, 1 to run" in out
    assert main(changed) == 0
    captured = capsys.readouterr()
    assert "1 cells run" in captured.out
    assert "its config changed (min_df: 1 -> 2)" in captured.out + captured.err
    assert json.loads(_run_file(tmp_path, "br").read_text())["config"]["params"]["min_df"] == 2
    assert main(changed) == 0
    assert "0 cells run" in capsys.readouterr().out


def test_display_only_parameters_do_not_make_a_run_file_stale(tmp_path, dirs, capsys):
    argv = ["--dataset", "synthetic-small", "--method", "br", "--seeds", "1", *dirs]
    assert main(argv) == 0
    record = json.loads(_run_file(tmp_path, "br").read_text())
    record["config"]["params"]["progress"] = True  # shown differently, computed the same
    _run_file(tmp_path, "br").write_text(json.dumps(record))
    capsys.readouterr()
    assert main(argv) == 0
    assert "0 cells run" in capsys.readouterr().out


def test_config_that_no_longer_resolves_is_rerun_and_reported(tmp_path, dirs, capsys, monkeypatch):
    """A done cell whose config now fails (a broken YAML, say) must fail loudly, not
    count as done; so must a --set that the method does not accept."""
    from benchmarks.suite import config as config_mod

    argv = ["--dataset", "synthetic-small", "--method", "br", "--seeds", "1", *dirs]
    assert main(argv) == 0
    capsys.readouterr()
    assert main([*argv, "--set", "no_such_option=1"]) == 2
    captured = capsys.readouterr()
    assert "method 'br' has no option 'no_such_option'" in captured.err

    def broken(*args, **kwargs):
        raise ValueError("br.yaml: line 3: mapping values are not allowed here")

    monkeypatch.setattr(config_mod, "resolve", broken)
    assert main([*argv, "--dry-run"]) == 2  # checked before any work (issue 22)
    assert "br.yaml: line 3" in capsys.readouterr().err
    assert main(argv) == 2
    assert "br.yaml: line 3" in capsys.readouterr().err


def test_malformed_set_fails_before_any_work(tmp_path, dirs, capsys):
    argv = ["--dataset", "synthetic-small", "--method", "br", "--seeds", "1", *dirs]
    assert main([*argv, "--set", "epochs", "--dry-run"]) == 2
    assert "--set expects key=value" in capsys.readouterr().err
    assert not (tmp_path / "results").exists()


def test_dry_run_lists_cells_and_runs_nothing(tmp_path, dirs, capsys):
    argv = ["--dataset", "synthetic-small", "--method", "prior", "random", "--seeds", "1", "2"]
    assert main([*argv, "--dry-run", *dirs]) == 0
    out = capsys.readouterr().out
    assert (
        "smoke/synthetic-small/prior/seed1" in out and "smoke/synthetic-small/random/seed2" in out
    )
    assert "4 cells, 4 to run" in out
    assert not (tmp_path / "results").exists()


def test_list_shows_datasets_methods_experiments(dirs, capsys):
    assert main(["--list", *dirs]) == 0
    out = capsys.readouterr().out
    for expected in ("reuters", "Emotion", "prior", "table2", "synthetic-small", "smoke"):
        assert expected in out


def test_external_method_on_a_user_folder(tmp_path, dirs, monkeypatch):
    package = tmp_path / "extpkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "m.py").write_text(
        textwrap.dedent("""
        import numpy as np

        class Always:
            def fit(self, train, dev, *, seed):
                self.n = train.labels.shape[1]

            def predict_scores(self, texts):
                return np.full((len(texts), self.n), 0.9)
        """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    folder = tmp_path / "mydata"
    folder.mkdir()
    (folder / "train.jsonl").write_text('{"text": "a", "labels": ["x"]}\n' * 10)
    (folder / "test.jsonl").write_text('{"text": "b", "labels": ["x"]}\n')
    assert main(["--dataset", str(folder), "--method", "extpkg.m:Always", *dirs]) == 0
    key = dataset_key(str(folder))  # the folder's name and a hash of its path
    assert key.startswith("mydata-") and len(key) == len("mydata-") + 8
    path = tmp_path / "results" / "runs" / "smoke" / key / "extpkg.m.Always" / "seed1.json"
    record = json.loads(path.read_text())
    assert record["metrics"]["test"]["micro_f1"] == 1.0
    assert record["method"]["family"] == "external"


def test_atomic_write_leaves_no_partial_file(tmp_path):
    path = Cell("smoke", "d", "m").path(tmp_path)
    with pytest.raises(TypeError):
        write_json_atomic(path, {"ok": 1, "bad": object()})
    assert not path.exists()
    assert not path.parent.exists() or list(path.parent.iterdir()) == []


def test_set_values_are_parsed_as_yaml_numbers_lists_and_strings():
    from benchmarks.suite.config import parse_override

    assert parse_override("lr=1e-4") == ("lr", 1e-4)
    assert parse_override("epochs=3") == ("epochs", 3)
    assert parse_override("backbone=minilm") == ("backbone", "minilm")
    assert parse_override("subset={train: 10}") == ("subset", {"train": 10})
    with pytest.raises(ValueError, match="key=value"):
        parse_override("lr")


def test_subset_caps_later_yaml_wins_profile_is_a_ceiling_set_replaces(tmp_path):
    from benchmarks.suite.config import resolve

    (tmp_path / "m.yaml").write_text(
        "defaults: {a: 1}\nprofiles:\n  cpu: {subset: {train: 50, dev: 9}}\n"
        "datasets:\n  d: {a: 2, subset: {train: 70}}\n"
    )
    caps = {"train": 60, "test": 5}
    got = resolve("m", "d", "cpu", profile_subset=caps, config_dir=tmp_path)
    assert got.params == {"a": 2}
    assert got.subset == {"train": 60, "dev": 9, "test": 5}  # 70 from datasets.d, capped
    got = resolve(
        "m",
        "d",
        "cpu",
        profile_subset=caps,
        overrides={"subset": {"train": 500}},
        config_dir=tmp_path,
    )
    assert got.subset == {"train": 500, "dev": 9, "test": 5}
    assert got.sources == ("defaults", "profiles.cpu", "datasets.d", "--set")
