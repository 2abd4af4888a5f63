"""Bad input fails loudly (issue 12): one line naming the file, line or flag, a non-zero
exit code where something requested did not run, no traceback, and no run file lost or
overwritten."""

from __future__ import annotations

import errno
import importlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmarks.analysis.report import main as report_main
from benchmarks.run import main
from benchmarks.running import execute
from benchmarks.running.options import build_parser
from benchmarks.running.plan import dataset_key
from benchmarks.store.records import Cell, DataStamp, read_record, write_json_atomic
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
        "--dataset synthetic-small: not in the selected experiments (table1, table2, gaic_authors, "
        "table3, table4, figure1, figure3, figure4, figure5, ablation), which use gaic, aapd,",
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


def test_empty_run_file_is_rerun_with_a_line(use_world, tmp_path, capsys):
    assert use_world(ADHOC, capsys)[0] == 0
    path = Cell("smoke", "synthetic-small", "prior").path(tmp_path / "results")
    path.write_bytes(b"")
    code, output = use_world(ADHOC, capsys)
    assert code == 0
    assert f"rerun smoke/synthetic-small/prior/seed1: unreadable run file ({path}" in output
    assert "empty file" in output and "1 cells run" in output
    assert read_record(path).cell.method == "prior"


def test_unreadable_run_file_is_kept_unless_overwrite(use_world, tmp_path, capsys):
    """Issue 22: a run file the suite cannot read may hold a result: never replaced
    without --overwrite, and the cell counts as not run (exit 1)."""
    assert use_world(ADHOC, capsys)[0] == 0
    path = Cell("smoke", "synthetic-small", "prior").path(tmp_path / "results")
    path.write_bytes(b'{"schema_version": 2, "cell": {')
    code, output = use_world(ADHOC, capsys)
    assert code == 1
    assert "FAILED smoke/synthetic-small/prior/seed1: not run, its run file is kept" in output
    assert "0 cells run" in output and "1 cells failed" in output
    assert path.read_bytes() == b'{"schema_version": 2, "cell": {'
    assert use_world([*ADHOC, "--overwrite"], capsys)[0] == 0
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


# ---------------------------------------------------------------- round two (issue 22)

ROUND_TWO_METHODS = """
import sys

import numpy as np


class Exits:
    def fit(self, train, dev, *, seed):
        sys.exit(3)

    def predict_scores(self, texts):
        return np.zeros((len(texts), 1))


class Slow:
    def fit(self, train, dev, *, seed):
        import os
        import time

        open(os.environ["LMMTC_TEST_MARK"], "w").close()
        time.sleep(60)

    def predict_scores(self, texts):
        return np.zeros((len(texts), 1))
"""


def _cli(tmp_path: Path, module: str, argv: list[str]) -> subprocess.CompletedProcess:
    """``python -m module argv`` in a fresh process, as a user types it (about 4 s of
    imports each: the cases where the process boundary matters)."""
    env = {**os.environ, "PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{tmp_path}"}
    env["LMMTC_TEST_MARK"] = str(tmp_path / "fit-started")

    return subprocess.run(
        [sys.executable, "-m", module, *argv],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _in_process(module: str, argv: list[str], capfd) -> tuple[int, str]:
    """``module.main(argv)`` in this process, ended as ``python -m module`` ends it
    (``sys.exit(main())``): the exit status and everything written to stdout and stderr."""
    command = importlib.import_module(module)
    try:
        code = command.main(argv)
    except SystemExit as stop:  # argparse, or sys.exit inside
        code = stop.code
    captured = capfd.readouterr()
    output = captured.out + captured.err
    if code is None:
        code = 0
    elif not isinstance(code, int):  # sys.exit("message"): printed, status 1
        output, code = f"{output}{code}\n", 1
    return code, output


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """``tmp_path`` as a fresh process of :func:`_cli` sees it: the working folder, first
    on the import path, and no module of an earlier test's ``pkg22`` left imported."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("LMMTC_TEST_MARK", str(tmp_path / "fit-started"))

    def forget() -> None:
        for name in [n for n in sys.modules if n == "pkg22" or n.startswith("pkg22.")]:
            del sys.modules[name]

    forget()
    yield tmp_path
    forget()


def _ran(tmp_path: Path, argv: list[str]) -> None:
    """Run cells in this process (a fixture's setup), into ``tmp_path/results``."""
    full = [*argv, "--results-dir", str(tmp_path / "results"), "--no-report"]
    full += ["--data-dir", str(tmp_path / "data"), "--raw-dir", str(tmp_path / "raw")]
    assert main(full) == 0


def _prior(tmp_path: Path, seed: int = 1) -> Path:
    return Cell("smoke", "synthetic-small", "prior", "", seed).path(tmp_path / "results")


def _edit_json(path: Path, edit) -> None:
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


def _setup_newer(tmp_path: Path) -> None:
    _ran(tmp_path, [*ADHOC, "random"])
    _edit_json(_prior(tmp_path), lambda d: d.update(schema_version=3))


def _setup_truncated(tmp_path: Path) -> None:
    _ran(tmp_path, ADHOC)
    _prior(tmp_path).write_text('{"schema_version": 2, "cell": {')


def _setup_metric(value):
    def setup(tmp_path: Path) -> None:
        _ran(tmp_path, [*ADHOC, "--seeds", "1", "2"])
        _edit_json(_prior(tmp_path, 2), lambda d: d["metrics"]["test"].update(micro_f1=value))

    return setup


def _setup_data_json(tmp_path: Path) -> None:
    _ran(tmp_path, ADHOC)
    data = tmp_path / "results" / "runs" / "smoke" / "synthetic-small" / "data.json"
    _edit_json(data, lambda d: d["statistics"].update(train=999999))


def _setup_corrupt_data_json(tmp_path: Path) -> None:
    _ran(tmp_path, ADHOC)
    (tmp_path / "results" / "runs" / "smoke" / "synthetic-small" / "data.json").write_text("{")


def _setup_seed1(tmp_path: Path) -> None:
    _ran(tmp_path, [*ADHOC, "random"])


def _setup_lock(host: str, config: str):
    def setup(tmp_path: Path) -> None:
        lock = Path(str(_prior(tmp_path)) + ".lock")
        lock.parent.mkdir(parents=True, exist_ok=True)
        holder = {"pid": os.getpid(), "host": host, "started": "2026-01-01T00:00:00+0000"}
        lock.write_text(json.dumps({**holder, "token": "t", "config": config}))

    return setup


def _setup_methods(tmp_path: Path) -> None:
    (tmp_path / "pkg22").mkdir()
    (tmp_path / "pkg22" / "__init__.py").write_text("")
    (tmp_path / "pkg22" / "m.py").write_text(ROUND_TWO_METHODS)
    (tmp_path / "pkg22" / "broken.py").write_text("def fit(:\n")


def _setup_folder(labels: bytes | None = None, train_rows: int = 6):
    def setup(tmp_path: Path) -> None:
        rows = [{"id": f"r{i}", "text": f"text {i}", "labels": ["a"] if i % 2 else ["b"]}
                for i in range(8)]  # fmt: skip
        folder = tmp_path / "mine"
        _jsonl(folder, "train", rows[:train_rows])
        _jsonl(folder, "test", rows[6:])
        if labels is not None:
            (folder / "labels.txt").write_bytes(labels)

    return setup


def _setup_gzip(tmp_path: Path) -> None:
    import gzip

    folder = write_goemotions(tmp_path / "raw" / "goemotions")
    train = folder / "train.tsv"
    train.write_bytes(gzip.compress(train.read_bytes()))


def _setup_stale_tmp(tmp_path: Path) -> None:
    import socket

    _ran(tmp_path, ADHOC)
    dead = subprocess.run(["true"]).args and _dead_pid()
    host = "".join(c if c.isalnum() or c in "_-" else "_" for c in socket.gethostname())
    stale = _prior(tmp_path).with_name(f".seed1.scores.npz.{host}.{dead}.abcd1234.tmp")
    stale.write_bytes(b"partial")


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          check=True, capture_output=True, text=True)  # fmt: skip
    return int(done.stdout)


def _setup_stale_threshold_table(tmp_path: Path) -> None:
    _ran(tmp_path, ADHOC)
    tables = tmp_path / "results" / "tables" / "smoke"
    tables.mkdir(parents=True)
    (tables / "table2_dev-global.md").write_text("stale: no scores\n")


def _no_setup(tmp_path: Path) -> None:
    pass


RUN = "benchmarks.run"
DIRS = ["--results-dir", "results", "--data-dir", "data", "--raw-dir", "raw"]
SMALL = ["--dataset", "synthetic-small", "--method"]
AGAINST = ["--profile", "smoke", "--dataset", "synthetic-small", "--results-dir", "results"]
KEPT_LINE = "the runner keeps it: move it away, or rerun its cell with --overwrite to replace it"

#: (class, setup, module, argv, message fragment, exit status), each run in a fresh process.
ROUND_TWO = [
    (
        "1 newer run file kept",
        _setup_newer,
        RUN,
        [*ADHOC, *DIRS],
        f"schema_version 3 is newer than this suite reads (2); update lmmtc-bench to read it "
        f"({KEPT_LINE})",
        1,
    ),
    (
        "1 corrupt run file kept",
        _setup_truncated,
        RUN,
        [*ADHOC, *DIRS],
        f"not valid JSON (Expecting property name enclosed in double quotes); the file is "
        f"truncated or corrupt; {KEPT_LINE}",
        1,
    ),
    (
        "1 compare keeps it too",
        _setup_newer,
        "benchmarks.compare",
        ["--method", "prior", "--against", "random", *AGAINST],
        "they are kept: the runner never replaces them without --overwrite",
        1,
    ),
    (
        "2 unknown key, br",
        _no_setup,
        RUN,
        [*SMALL, "br", "--set", "unknown_key=1", *DIRS],
        "error: --set unknown_key=1: method 'br' has no option 'unknown_key'. Its options: n_jobs",
        2,
    ),
    (
        "2 unknown key, bert",
        _no_setup,
        RUN,
        [*SMALL, "bert", "--set", "unknown_key=1", *DIRS],
        "error: --set unknown_key=1: method 'bert' has no option 'unknown_key'. Its options: "
        "backbone",
        2,
    ),
    (
        "2 unknown key, prior",
        _no_setup,
        RUN,
        [*ADHOC, "--set", "unknown_key=1", *DIRS],
        "error: --set unknown_key=1: method 'prior' has no option 'unknown_key'. Its options: none",
        2,
    ),
    (
        "2 range, bert epochs",
        _no_setup,
        RUN,
        [*SMALL, "bert", "--set", "epochs=-3", *DIRS],
        "error: --set epochs=-3: method 'bert' option epochs=-3 is out of range: expected a whole "
        "number >= 1; default 40",
        2,
    ),
    (
        "2 type, lr=abc",
        _no_setup,
        RUN,
        [*SMALL, "cnn", "--set", "lr=abc", *DIRS],
        "error: --set lr=abc: method 'cnn' option lr='abc': expected a number; default 0.001",
        2,
    ),
    (
        "3 NaN metric",
        _setup_metric(float("nan")),
        "benchmarks.report",
        ["--results-dir", "results"],
        "seed2.json: metrics.test.micro_f1 is nan, not a finite number",
        0,
    ),
    (
        "3 string metric",
        _setup_metric("0.9"),
        "benchmarks.report",
        ["--results-dir", "results"],
        "seed2.json: metrics.test.micro_f1 is '0.9', not a finite number",
        0,
    ),
    (
        "3 hand-edited data.json",
        _setup_data_json,
        "benchmarks.report",
        ["--results-dir", "results"],
        "data.json: its content does not match its digest (edited after the runner wrote it); "
        "the next run of any cell of its data set rebuilds it",
        0,
    ),
    (
        "4 missing seeds",
        _setup_seed1,
        "benchmarks.compare",
        ["--method", "prior", "--against", "random", "--seeds", "1", "2", "3", *AGAINST],
        "error: --seeds 1 2 3: prior on synthetic-small has no readable run file for seeds [2, 3] "
        "(it has [1])",
        1,
    ),
    (
        "4 a run against itself",
        _setup_seed1,
        "benchmarks.compare",
        ["--method", "prior", "--against", "prior", *AGAINST],
        "note: --against prior is the method itself: its runs compared with themselves "
        "differ by 0 with p = 1 by construction",
        0,
    ),
    (
        "5 locked with another config",
        _setup_lock(__import__("socket").gethostname(), "other"),
        RUN,
        [*ADHOC, *DIRS],
        "with another config; rerun this command when it has finished",
        1,
    ),
    (
        "5 locked on another host",
        _setup_lock("another-host.example", "other"),
        RUN,
        [*ADHOC, *DIRS],
        "on another host; rerun this command when it has finished",
        1,
    ),
    (
        "6 --all with --table",
        _no_setup,
        RUN,
        ["--all", "--table", "2", *DIRS],
        "error: --all runs every experiment: drop --table",
        2,
    ),
    (
        "6 --list with filters",
        _no_setup,
        RUN,
        ["--list", "--method", "prior"],
        "error: --list lists what exists and runs nothing: drop --method",
        2,
    ),
    (
        "7 report of a folder without run files",
        _no_setup,
        "benchmarks.report",
        ["--results-dir", "."],
        "error: no run files under runs; check --results-dir",
        1,
    ),
    (
        "8 stale threshold tables rebuilt",
        _setup_stale_threshold_table,
        "benchmarks.report",
        ["--results-dir", "results"],
        "wrote results/REPORT.smoke.md",
        0,
    ),
    (
        "9 fit raising SystemExit",
        _setup_methods,
        RUN,
        [*SMALL, "pkg22.m:Exits", "prior", *DIRS],
        "FAILED smoke/synthetic-small/pkg22.m:Exits/seed1: SystemExit: 3",
        1,
    ),
    (
        "9 SyntaxError in a method module",
        _setup_methods,
        RUN,
        [*SMALL, "pkg22.broken:X", *DIRS],
        "error: cannot import module 'pkg22.broken' for method 'pkg22.broken:X': ",
        2,
    ),
    (
        "9 launch --time -5",
        _no_setup,
        "benchmarks.launch",
        [*ADHOC, "--time", "-5", *DIRS],
        "argument --time: -5 is not >= 1",
        2,
    ),
    (
        "10 labels.txt with a BOM",
        _setup_folder("\ufeffa\nb\n".encode()),
        RUN,
        ["--dataset", "mine", "--method", "prior", *DIRS],
        "1 cells run",
        0,
    ),
    (
        "10 labels.txt with trailing spaces",
        _setup_folder(b"a \nb\n"),
        RUN,
        ["--dataset", "mine", "--method", "prior", *DIRS],
        "mine/labels.txt:1: label 'a ' has spaces or tabs around it; remove them",
        1,
    ),
    (
        "10 gzip named .tsv",
        _setup_gzip,
        RUN,
        ["--dataset", "goemotions", "--method", "prior", "--profile", "cpu", *DIRS],
        "train.tsv: a gzip-compressed file (it starts with gzip's magic bytes), not utf-8 text",
        1,
    ),
    (
        "10 one train row, no dev",
        _setup_folder(train_rows=1),
        RUN,
        ["--dataset", "mine", "--method", "prior", *DIRS],
        "mine/train.jsonl: 1 record(s) and no dev.jsonl: a dev split is carved from train, which "
        "needs at least 2 records",
        1,
    ),
    (
        "10 mod:Missing",
        _no_setup,
        RUN,
        [*SMALL, "baselines.trivial:Prior", *DIRS],
        "module 'baselines.trivial' has no attribute 'Prior'. Did you mean 'LabelPrior'?",
        2,
    ),
    (
        "10 results dir that is a file",
        lambda t: (t / "afile").write_text(""),
        RUN,
        [*ADHOC, "--results-dir", "afile"],
        "error: --results-dir afile: a file, not a folder",
        2,
    ),
    (
        "10 corrupt data.json advice",
        _setup_corrupt_data_json,
        "benchmarks.report",
        ["--results-dir", "results"],
        "data.json:1: not valid JSON (Expecting property name enclosed in double quotes); the file "
        "is truncated or corrupt; the next run of any cell of its data set rebuilds it",
        0,
    ),
    (
        "10 stale temporary file removed",
        _setup_stale_tmp,
        RUN,
        [*ADHOC, "--overwrite", *DIRS],
        "1 cells run",
        0,
    ),
]


def _check_round_two(tmp_path, setup, argv, fragment, code, got, output, before) -> None:
    """The case's line and exit status, no traceback, no run file lost, nothing left over."""
    assert fragment in output, output
    assert got == code, output
    assert "Traceback" not in output
    line = next(line for line in output.splitlines() if fragment in line)
    assert len(line) < 1200, line  # one line, not a dump
    if "--overwrite" not in argv:  # no run file replaced or lost
        assert {p: p.read_bytes() for p in before} == before
    assert not list(tmp_path.rglob("*.lock")) or "_setup_lock" in setup.__qualname__
    assert " nan" not in "".join(p.read_text() for p in (tmp_path / "results").glob("REPORT*"))
    assert not list((tmp_path / "results").rglob("*.tmp"))
    tables = tmp_path / "results" / "tables" / "smoke"
    if (tables / "table2_dev-global.md").exists():
        assert "stale" not in (tables / "table2_dev-global.md").read_text()


@pytest.mark.parametrize(
    ("setup", "module", "argv", "fragment", "code"),
    [case[1:] for case in ROUND_TWO],
    ids=[case[0] for case in ROUND_TWO],
)
def test_round_two_through_the_command_line(in_tmp, capfd, setup, module, argv, fragment, code):
    """Issue 22: each class of bad input through its command's ``main`` (what
    ``python -m`` runs, in this process to spare the imports): its one line, its exit
    status, no traceback, and no run file lost."""
    setup(in_tmp)
    before = {p: p.read_bytes() for p in (in_tmp / "results").rglob("seed*.json")}
    capfd.readouterr()  # the setup's own runs
    got, output = _in_process(module, argv, capfd)
    _check_round_two(in_tmp, setup, argv, fragment, code, got, output, before)


#: The cases also run as ``python -m``, one per command whose exit status they check
#: there: a method module with a SyntaxError imported by a fresh interpreter (exit 2),
#: the report's warnings on a fresh stderr (exit 0), compare's refusal (exit 1).
IN_A_FRESH_PROCESS = ("9 SyntaxError in a method module", "3 NaN metric", "4 missing seeds")


@pytest.mark.parametrize(
    ("setup", "module", "argv", "fragment", "code"),
    [case[1:] for case in ROUND_TWO if case[0] in IN_A_FRESH_PROCESS],
    ids=[case[0] for case in ROUND_TWO if case[0] in IN_A_FRESH_PROCESS],
)
def test_round_two_in_a_fresh_process(tmp_path, setup, module, argv, fragment, code):
    """The same checks with ``python -m module`` as a user types it."""
    setup(tmp_path)
    before = {p: p.read_bytes() for p in (tmp_path / "results").rglob("seed*.json")}
    done = _cli(tmp_path, module, argv)
    output = done.stdout + done.stderr
    _check_round_two(tmp_path, setup, argv, fragment, code, done.returncode, output, before)


def test_every_fresh_process_case_is_a_round_two_case():
    assert set(IN_A_FRESH_PROCESS) <= {case[0] for case in ROUND_TWO}


def test_ctrl_c_is_one_line_and_exit_130(tmp_path):
    import signal
    import time

    _setup_methods(tmp_path)
    env = {**os.environ, "PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{tmp_path}"}
    env["LMMTC_TEST_MARK"] = str(tmp_path / "fit-started")
    argv = [sys.executable, "-m", RUN, *SMALL, "pkg22.m:Slow", *DIRS]
    proc = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    for _ in range(1200):  # until fit has started
        if (tmp_path / "fit-started").exists() or proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out + err
    assert err.strip().splitlines()[-1] == "interrupted; rerun the same command to resume"
    assert "Traceback" not in out + err
    assert not list((tmp_path / "results").rglob("*.lock"))


def test_list_into_a_closed_pipe_is_quiet(tmp_path):

    command = f"{sys.executable} -m {RUN} --list | head -1"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.stdout == "Data sets (named):\n"
    assert done.stderr == "" and done.returncode == 0


def test_a_method_raising_keyboard_interrupt_fails_its_cell_only(use_world, world, capsys):
    (world.root / "badpkg" / "kbd.py").write_text(
        "class Kbd:\n    def fit(self, train, dev, *, seed):\n        raise KeyboardInterrupt\n"
        "    def predict_scores(self, texts):\n        return []\n"
    )
    code, output = use_world([*ON_SMALL, "badpkg.kbd:Kbd", "prior"], capsys)
    assert code == 1
    assert "FAILED smoke/synthetic-small/badpkg.kbd:Kbd/seed1: KeyboardInterrupt" in output
    assert "1 cells run" in output


def test_failed_launched_job_names_its_error_line(tmp_path):
    from types import SimpleNamespace

    from benchmarks.running.scaleout import job_error_line

    log = tmp_path / "job.out"
    log.write_text("loading\nFAILED smoke/x/prior/seed1: ValueError: bad\n1 cells failed:\n")
    handle = SimpleNamespace(paths=SimpleNamespace(stdout=log, stderr=tmp_path / "none"))
    assert job_error_line(handle) == "FAILED smoke/x/prior/seed1: ValueError: bad"


def test_declared_options_read_the_methods_own_declarations():
    from benchmarks.running.harness import declared_options, lowest_value
    from lmmtc.registry import get_method

    br = declared_options(get_method("br").cls)
    assert {"n_jobs", "classifier", "C_grid", "min_df"} <= set(br)  # **kwargs followed
    assert lowest_value(br["min_df"]) == 0  # int | float: a fraction is allowed
    assert lowest_value(br["max_iter"]) == 1
    bert = declared_options(get_method("bert").cls)
    assert bert["template"].default is None  # the class's DEFAULTS over the dataclass's
    assert lowest_value(bert["epochs"]) == 1
    assert declared_options(get_method("prior").cls) == {}
