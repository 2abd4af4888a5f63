"""Bad input fails loudly (issue 12): one line naming the file, line or flag, a non-zero
exit code where something requested did not run, no traceback, and no run file lost or
overwritten."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmarks import execute
from benchmarks.options import build_parser
from benchmarks.plan import dataset_key
from benchmarks.records import Cell, DataStamp, read_record, write_json_atomic
from benchmarks.report import main as report_main
from benchmarks.run import main
from data_prep.synthetic import PRESETS, write_synthetic
from tests.fixtures_raw import write_goemotions

REPO_ROOT = Path(__file__).resolve().parents[1]

METHODS = """
import numpy as np


class _Base:
    def fit(self, train, dev, *, seed):
        self.n = train.labels.shape[1]


class Logits(_Base):
    def predict_scores(self, texts):
        return np.linspace(-3, 3, len(texts) * self.n).reshape(len(texts), self.n)


class NaNs(_Base):
    def predict_scores(self, texts):
        scores = np.full((len(texts), self.n), 0.5)
        scores[0, 0] = np.nan
        return scores


class Shape(_Base):
    def predict_scores(self, texts):
        return np.full((len(texts), self.n + 1), 0.5)


class BadInfo(_Base):
    def predict_scores(self, texts):
        return np.full((len(texts), self.n), 0.5)

    def run_info(self):
        return {"device": "cpu", "labels": {"a", "b"}}
"""


@dataclass
class World:
    """Broken folders and methods shared by the tests of this module."""

    root: Path
    data: Path
    folders: dict[str, Path]


def _jsonl(folder: Path, split: str, rows: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    root = tmp_path_factory.mktemp("bad-inputs")
    (root / "badpkg").mkdir()
    (root / "badpkg" / "__init__.py").write_text("")
    (root / "badpkg" / "m.py").write_text(METHODS)
    rows = [
        {"id": f"t{i}", "text": f"text {i}", "labels": ["x"] if i % 2 else ["y"]} for i in range(8)
    ]
    folders = {}

    folders["badjson"] = root / "badjson"
    _jsonl(folders["badjson"], "test", rows[:2])
    (folders["badjson"] / "train.jsonl").write_text(json.dumps(rows[2]) + '\n{"text": "a", \n')

    folders["latin1"] = root / "latin1"
    _jsonl(folders["latin1"], "test", rows[:2])
    (folders["latin1"] / "train.jsonl").write_bytes(
        (json.dumps(rows[2]) + "\n").encode()
        + '{"text": "caf\xe9", "labels": ["x"]}\n'.encode("latin-1")
    )

    folders["duplicate"] = root / "duplicate"
    _jsonl(folders["duplicate"], "train", [{"id": "d1", "text": "a", "labels": ["x"]}, *rows[2:]])
    _jsonl(folders["duplicate"], "test", [{"id": "d1", "text": "b", "labels": ["y"]}])

    folders["unlabelled"] = root / "unlabelled"
    _jsonl(folders["unlabelled"], "train", [{**r, "labels": []} for r in rows[2:]])
    _jsonl(folders["unlabelled"], "test", [{**r, "labels": []} for r in rows[:2]])
    (folders["unlabelled"] / "labels.txt").write_text("x\ny\n")

    folders["edited"] = write_synthetic(root / "edited", PRESETS["synthetic-small"])
    train = folders["edited"] / "train.jsonl"
    train.write_text(train.read_text().replace('"text": "', '"text": "edited ', 1))

    folders["raw"] = root / "raw"
    write_goemotions(folders["raw"] / "goemotions")  # 3 train rows: not the release

    folders["good"] = root / "good"
    _jsonl(folders["good"], "train", rows[2:])
    _jsonl(folders["good"], "test", rows[:2])
    return World(root, root / "data", folders)


@pytest.fixture
def use_world(world, tmp_path, monkeypatch):
    """The world's method package importable; returns a runner in ``tmp_path``."""
    monkeypatch.syspath_prepend(str(world.root))

    def run(argv: list[str], capsys) -> tuple[int, str]:
        full = [*argv, "--results-dir", str(tmp_path / "results"), "--no-report"]
        if "--data-dir" not in argv:
            full += ["--data-dir", str(world.data)]
        if "--raw-dir" not in argv:
            full += ["--raw-dir", str(tmp_path / "no-raw")]
        try:
            code = main(full)
        except SystemExit as stop:  # argparse: a bad flag value
            code = stop.code
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    return run


ADHOC = ["--dataset", "synthetic-small", "--method", "prior"]
ON_SMALL = ["--dataset", "synthetic-small", "--method"]

#: (input, argv with {folder} placeholders, expected message fragment, exit code)
BAD_INPUTS = [
    (
        "folder that does not exist",
        ["--dataset", "/nonexistent/lmmtc", "--method", "prior"],
        "/nonexistent/lmmtc: no such folder; expected a folder holding train.jsonl and test.jsonl",
        1,
    ),
    (
        "unknown data set name",
        ["--dataset", "nosuchset", "--method", "prior"],
        "FAILED data set nosuchset: unknown data set 'nosuchset': not a folder",
        1,
    ),
    (
        "malformed JSONL",
        ["--dataset", "{badjson}", "--method", "prior"],
        "{badjson}/train.jsonl:2: not valid JSON",
        1,
    ),
    (
        "non-UTF-8 line",
        ["--dataset", "{latin1}", "--method", "prior"],
        "{latin1}/train.jsonl:2: not valid UTF-8 at byte offset 61",
        1,
    ),
    (
        "sha256 mismatch after an edit",
        ["--dataset", "{edited}", "--method", "prior"],
        "{edited}/train.jsonl: sha256 ",
        1,
    ),
    (
        "duplicate id across train and test",
        ["--dataset", "{duplicate}", "--method", "prior"],
        "{duplicate}/test.jsonl:1: id 'd1' is also at train.jsonl:1 (a possible train/test leak)",
        1,
    ),
    (
        "no positive label at all",
        ["--dataset", "{unlabelled}", "--method", "prior"],
        "no record of train.jsonl, test.jsonl has a positive label",
        1,
    ),
    (
        "raw files that are not the public release",
        ["--dataset", "goemotions", "--method", "prior", "--profile", "cpu", "--raw-dir", "{raw}"],
        "train.tsv: 3 lines, the public release has 43,410",
        1,
    ),
    (
        "raw logits",
        [*ON_SMALL, "badpkg.m:Logits"],
        "Logits.predict_scores on the dev split returned values outside [0, 1] (min -3, max 3); "
        "expected probabilities: apply a sigmoid to raw logits",
        1,
    ),
    (
        "NaN scores",
        [*ON_SMALL, "badpkg.m:NaNs"],
        "NaNs.predict_scores on the dev split returned 1 NaN or infinite values",
        1,
    ),
    (
        "scores of the wrong shape",
        [*ON_SMALL, "badpkg.m:Shape"],
        "Shape.predict_scores on the dev split returned shape (100, 9), expected (100, 8)",
        1,
    ),
    (
        "run_info() that JSON cannot store",
        [*ON_SMALL, "badpkg.m:BadInfo"],
        "BadInfo.run_info() returned a value a run file cannot store at ['labels'] (a set)",
        1,
    ),
    (
        "--set value that is not YAML",
        [*ADHOC, "--set", "C=[1"],
        "error: --set 'C=[1': the value is not valid YAML",
        2,
    ),
    (
        "negative row cap",
        [*ADHOC, "--set", "subset={train: -5}"],
        "subset train: -5 is not a row cap; expected a whole number of rows >= 1",
        2,
    ),
    (
        "row cap of an unknown split",
        [*ADHOC, "--set", "subset={trian: 5}"],
        "unknown split 'trian'; expected train, dev, test",
        2,
    ),
    (
        "negative seed",
        [*ADHOC, "--seeds", "-1"],
        "argument --seeds: -1 is out of range; seeds are 0 to 4294967295",
        2,
    ),
    (
        "--all with a data set no experiment uses",
        ["--all", "--dataset", "synthetic-small"],
        "--dataset synthetic-small: not in the selected experiments (table1, table2, table3, "
        "table4, figure1, figure3, figure4, figure5, ablation), which use gaic, aapd,",
        2,
    ),
    (
        "--variant that no experiment has",
        ["--all", "--variant", "nope"],
        "--variant nope: not in the selected experiments (table1,",
        2,
    ),
    (
        "--method the experiment does not run",
        ["--table", "4", "--method", "br"],
        "--method br: not in the selected experiments (table4), which run lm_mlm",
        2,
    ),
    (
        "filters that match nothing together",
        ["--experiment", "table3", "table4", "--method", "br", "--variant", "same"],
        "--method br --variant same: no cell of the selected experiments (table3, table4) "
        "matches all of these together",
        2,
    ),
    (
        "--variant without an experiment",
        [*ADHOC, "--variant", "same"],
        "--variant same: variants belong to experiments",
        2,
    ),
]


@pytest.mark.parametrize(
    ("argv", "fragment", "code"),
    [case[1:] for case in BAD_INPUTS],
    ids=[case[0] for case in BAD_INPUTS],
)
def test_bad_input_gives_one_line_and_exit_code(
    world, use_world, tmp_path, capsys, argv, fragment, code
):
    def fill(text: str) -> str:
        for name, path in world.folders.items():
            text = text.replace(f"{{{name}}}", str(path))
        return text

    fragment = fill(fragment)
    got, output = use_world([fill(part) for part in argv], capsys)
    assert fragment in output
    assert got == code
    assert "Traceback" not in output
    line = next(line for line in output.splitlines() if fragment in line)
    assert len(line) < 600, line  # one line, not a dump
    runs = tmp_path / "results" / "runs"
    if code == 2:  # refused before any work
        assert not runs.exists()
    else:  # nothing half-written: no run file of a failed cell, no lock left behind
        assert not list(runs.glob("**/seed*.json")) if runs.exists() else True
        assert not list(runs.glob("**/*.lock")) if runs.exists() else True


def test_help_states_the_exit_status_and_the_data_set_rule():
    text = build_parser().format_help()
    assert "1  a data set, cell or the report failed" in text
    assert "one an experiment\n     lists whose files are absent is skipped" in text
    assert "2  bad options" in text


def test_one_bad_data_set_or_cell_never_stops_the_others(world, use_world, tmp_path, capsys):
    latin1 = world.folders["latin1"]
    argv = ["--dataset", str(latin1), "synthetic-small", "--method", "prior", "badpkg.m:Logits"]
    code, output = use_world(argv, capsys)
    assert code == 1
    assert f"{latin1}/train.jsonl:2: not valid UTF-8" in output
    assert "FAILED smoke/synthetic-small/badpkg.m:Logits/seed1: MethodOutputError:" in output
    assert Cell("smoke", "synthetic-small", "prior").path(tmp_path / "results").exists()
    assert "1 data sets failed:" in output and "1 cells failed:" in output


def test_debug_shows_the_traceback(world, use_world, capsys):
    code, output = use_world([*ON_SMALL, "badpkg.m:Logits", "--debug"], capsys)
    assert code == 1
    assert "Traceback (most recent call last)" in output and "check_scores" in output
    with pytest.raises(ValueError, match="not valid YAML"):
        main([*ADHOC, "--set", "C=[1", "--debug"])


# ---------------------------------------------------------------- a user's folder's key


def test_user_folder_called_reuters_never_replaces_the_suite_cells(
    world, use_world, tmp_path, capsys
):
    results = tmp_path / "results"
    assert use_world(["--dataset", "reuters", "--method", "prior"], capsys)[0] == 0
    suite = Cell("smoke", "reuters", "prior").path(results)
    suite_bytes = suite.read_bytes()
    suite_data = (suite.parent.parent / "data.json").read_bytes()

    mine = tmp_path / "mine" / "reuters"
    shutil.copytree(world.folders["good"], mine)
    code, output = use_world(["--dataset", str(mine), "--method", "prior"], capsys)
    assert code == 0
    key = dataset_key(str(mine))
    assert key.startswith("reuters-") and key != "reuters"
    assert f"data set {key}: the folder {mine}" in output
    record = read_record(Cell("smoke", key, "prior").path(results))
    assert record.dataset.sizes["test"] == 2 and not record.dataset.synthetic
    assert suite.read_bytes() == suite_bytes  # the suite's cell and data.json untouched
    assert (suite.parent.parent / "data.json").read_bytes() == suite_data
    assert (results / "runs" / "smoke" / key / "data.json").exists()
    # the key is stable: a rerun finds the cell done
    assert (
        use_world(["--dataset", str(mine), "--method", "prior"], capsys)[1].count("0 cells run")
        == 1
    )


def test_bare_suite_name_beside_a_folder_of_that_name_means_the_suite(
    world, use_world, tmp_path, capsys, monkeypatch
):
    shutil.copytree(world.folders["good"], tmp_path / "reuters")
    monkeypatch.chdir(tmp_path)
    assert use_world(["--dataset", "reuters", "--method", "prior"], capsys)[0] == 0
    record = read_record(Cell("smoke", "reuters", "prior").path(tmp_path / "results"))
    assert record.dataset.stand_in_for == "reuters"  # the suite's (stand-in), not the folder
    assert use_world(["--dataset", "./reuters", "--method", "prior"], capsys)[0] == 0
    assert Cell("smoke", dataset_key("./reuters"), "prior").path(tmp_path / "results").exists()


def test_dataset_dot_files_runs_inside_the_layout(world, use_world, tmp_path, capsys, monkeypatch):
    folder = tmp_path / "my data"
    shutil.copytree(world.folders["good"], folder)
    monkeypatch.chdir(folder)
    assert use_world(["--dataset", ".", "--method", "prior"], capsys)[0] == 0
    key = dataset_key(".")
    assert key.startswith("my_data-")
    files = sorted((tmp_path / "results").rglob("seed*.json"))
    assert files == [Cell("smoke", key, "prior").path(tmp_path / "results")]


# ---------------------------------------------------------------- run files


@pytest.mark.parametrize(
    ("content", "why"),
    [(b"", "empty file"), (b'{"schema_version": 2, "cell": {', "not valid JSON")],
    ids=["empty", "truncated"],
)
def test_unreadable_run_file_is_rerun_with_a_line(use_world, tmp_path, capsys, content, why):
    assert use_world(ADHOC, capsys)[0] == 0
    path = Cell("smoke", "synthetic-small", "prior").path(tmp_path / "results")
    path.write_bytes(content)
    code, output = use_world(ADHOC, capsys)
    assert code == 0
    assert f"rerun smoke/synthetic-small/prior/seed1: unreadable run file ({path}" in output
    assert why in output and "1 cells run" in output
    assert read_record(path).cell.method == "prior"


def test_report_skips_an_unreadable_run_file_with_a_warning(use_world, tmp_path, capsys):
    assert use_world(ADHOC, capsys)[0] == 0
    bad = Cell("smoke", "synthetic-small", "prior", "", 2).path(tmp_path / "results")
    bad.write_text("")
    assert report_main(["--results-dir", str(tmp_path / "results")]) == 0
    captured = capsys.readouterr()
    assert f"warning: skipped run file: {bad}: empty file" in captured.err
    assert "Traceback" not in captured.err
    assert (
        "| synthetic-small | prior | 1 |" in (tmp_path / "results" / "REPORT.smoke.md").read_text()
    )


@pytest.mark.parametrize(
    ("error", "reason"),
    [(errno.ENOSPC, "No space left on device"), (errno.EACCES, "Permission denied")],
    ids=["full", "read-only"],
)
def test_unwritable_results_fail_each_cell_with_its_metrics_printed(
    use_world, tmp_path, capsys, monkeypatch, error, reason
):
    def refuse(path, record):
        raise OSError(error, os.strerror(error), str(path))

    monkeypatch.setattr(execute, "write_record", refuse)
    code, output = use_world([*ADHOC, "random"], capsys)
    assert code == 1
    results = tmp_path / "results"
    for method in ("prior", "random"):  # the second cell still tried
        path = Cell("smoke", "synthetic-small", method).path(results)
        assert (
            f"FAILED smoke/synthetic-small/{method}/seed1: cannot write {path}: {reason}" in output
        )
        assert (
            f"unsaved test metrics of smoke/synthetic-small/{method}/seed1: subset_accuracy="
            in output
        )
        assert not path.exists()
    assert "FAILED data set synthetic-small: cannot write" in output  # its data.json
    assert not list(results.glob("**/*.lock"))
    assert "Traceback" not in output


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_results_folder(use_world, tmp_path, capsys):
    (tmp_path / "results").mkdir()
    (tmp_path / "results").chmod(0o555)
    try:
        code, output = use_world(ADHOC, capsys)
    finally:
        (tmp_path / "results").chmod(0o755)
    assert code == 1 and "Permission denied" in output and "Traceback" not in output


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_run_files_get_the_users_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        path = tmp_path / "runs" / "seed1.json"
        write_json_atomic(path, {"ok": 1})
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    assert [p.name for p in path.parent.iterdir()] == ["seed1.json"]


def test_nonstandard_data_is_stamped_in_the_run_file_and_the_summary(
    world, use_world, tmp_path, capsys
):
    argv = ["--dataset", "goemotions", "--method", "prior", "--profile", "cpu"]
    argv += ["--raw-dir", str(world.folders["raw"]), "--allow-nonstandard"]
    data = tmp_path / "own-data"  # the converted copy must not leak into other tests
    argv += ["--data-dir", str(data)]
    code, output = use_world(argv, capsys)
    assert code == 0, output
    record = read_record(Cell("cpu", "goemotions", "prior").path(tmp_path / "results"))
    assert "the public release has 43,410" in record.dataset.nonstandard["reason"]
    assert record.dataset.stamp == "full (nonstandard)"
    assert "full (nonstandard)" in output  # the summary's data column


def test_stamp_names_nonstandard_data():
    stamp = DataStamp("d", "/d", False, None, None, None, None, None, {}, 2, False, {}, {}, True)
    assert stamp.stamp == "subset"
    stamp.nonstandard = {"reason": "train.tsv: 3 lines"}
    assert stamp.stamp == "subset (nonstandard)"
    stamp.synthetic = True
    assert stamp.stamp == "synthetic"


# ---------------------------------------------------------------- the checkout's results


def test_smoke_run_in_a_checkout_leaves_it_clean(tmp_path, capsys):
    """The README's main command (a smoke run) writes into the checkout's results/; the
    committed files there must stay byte-identical and everything new must be ignored."""
    git = shutil.which("git")
    if git is None or not (REPO_ROOT / ".git").exists():
        pytest.skip("needs git and a checkout")
    listed = subprocess.run(
        [git, "ls-files", "results"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    checkout = tmp_path / "checkout"
    for rel in [*listed, ".gitignore"]:
        (checkout / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / rel, checkout / rel)
    before = {rel: (checkout / rel).read_bytes() for rel in listed}

    def status() -> str:
        return subprocess.run(
            [git, "status", "--porcelain", "--untracked-files=all"],
            cwd=checkout,
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    subprocess.run([git, "init", "-q"], cwd=checkout, check=True)
    subprocess.run([git, "add", "-A"], cwd=checkout, check=True)
    staged = status()
    argv = [*ADHOC, "--seeds", "1", "2", "--results-dir", str(checkout / "results")]
    argv += ["--data-dir", str(tmp_path / "data"), "--raw-dir", str(tmp_path / "raw")]
    assert main(argv) == 0
    assert {rel: (checkout / rel).read_bytes() for rel in listed} == before
    assert status() == staged  # nothing modified, nothing new that git would show
    assert f"report: {checkout / 'results' / 'REPORT.smoke.md'}" in capsys.readouterr().out
    assert (
        "| synthetic-small | prior | 2 |" in (checkout / "results" / "REPORT.smoke.md").read_text()
    )
