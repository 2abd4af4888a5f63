"""Cell locks: runners sharing a results folder split the cells, each run exactly once."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.run import main
from benchmarks.running.tasks import prepare_dataset
from benchmarks.store.locks import UNREADABLE_GRACE_SECONDS, CellLock, lock_path, read_holder
from benchmarks.store.records import Cell

REPO_ROOT = Path(__file__).resolve().parents[1]


def _write_lock(run_file: Path, pid: int, host: str, token: str = "t") -> Path:
    path = lock_path(run_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"pid": pid, "host": host, "started": "2026-01-01T00:00:00+0000", "token": token}
    path.write_text(json.dumps(payload))
    return path


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True)  # fmt: skip
    return int(done.stdout)


def test_second_claim_is_refused_until_the_first_is_released(tmp_path):
    run_file = tmp_path / "m" / "seed1.json"
    first, second = CellLock(run_file), CellLock(run_file)
    assert first.acquire() is None
    assert lock_path(run_file).name == "seed1.json.lock"
    holder = read_holder(lock_path(run_file))
    assert (holder.pid, holder.host) == (os.getpid(), socket.gethostname())
    assert (
        second.acquire() == f"pid {os.getpid()} on {socket.gethostname()}, since {holder.started}"
    )
    first.release()
    assert not lock_path(run_file).exists()
    assert second.acquire() is None
    second.release()
    assert list(run_file.parent.iterdir()) == []


def test_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    run_file = tmp_path / "seed1.json"
    _write_lock(run_file, _dead_pid(), socket.gethostname())
    lock = CellLock(run_file)
    assert lock.acquire() is None
    assert read_holder(lock_path(run_file)).token == lock.mine.token
    lock.release()
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no aside file left


@pytest.mark.parametrize(
    ("pid", "host", "held_by"),
    [
        (os.getppid(), socket.gethostname(), f"pid {os.getppid()} on {socket.gethostname()}"),
        (1, "elsewhere.example", "pid 1 on elsewhere.example"),  # cannot be checked: honoured
    ],
    ids=["live-here", "other-host"],
)
def test_live_or_unknowable_lock_is_honoured(tmp_path, pid, host, held_by):
    run_file = tmp_path / "seed1.json"
    path = _write_lock(run_file, pid, host)
    before = path.read_bytes()
    lock = CellLock(run_file)
    assert lock.acquire().startswith(held_by)
    lock.release()  # never held: removes nothing
    assert path.read_bytes() == before


def test_unreadable_lock_is_held_while_fresh_and_taken_over_when_old(tmp_path):
    run_file = tmp_path / "seed1.json"
    lock_path(run_file).write_text("")  # a holder killed between creating and writing it
    assert CellLock(run_file).acquire().startswith("a runner that is starting")
    old = time.time() - UNREADABLE_GRACE_SECONDS - 5
    os.utime(lock_path(run_file), (old, old))
    lock = CellLock(run_file)
    assert lock.acquire() is None
    lock.release()


def test_release_leaves_a_lock_that_is_no_longer_ours(tmp_path):
    run_file = tmp_path / "seed1.json"
    lock = CellLock(run_file)
    assert lock.acquire() is None
    _write_lock(run_file, 1, "elsewhere.example", token="theirs")  # replaced by hand
    lock.release()
    assert read_holder(lock_path(run_file)).token == "theirs"


def test_runner_skips_a_cell_another_runner_holds(tmp_path, dirs, capsys):
    """The same cell with the same config on this host: skipped, exit 0 (the holder writes
    what was asked); another config (or a holder that does not say): not run, exit 1."""
    from benchmarks.running.execute import config_digest
    from benchmarks.running.options import parse_options
    from benchmarks.running.plan import Planned
    from benchmarks.suite.profiles import get_profile

    run_file = Cell("smoke", "synthetic-small", "prior").path(tmp_path / "results")
    lock = _write_lock(run_file, os.getppid(), socket.gethostname())
    argv = ["--dataset", "synthetic-small", "--method", "prior", "random", "--no-report", *dirs]
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert (
        f"FAILED smoke/synthetic-small/prior/seed1: not run: another runner holds {lock} "
        f"(pid {os.getppid()} on {socket.gethostname()}" in out
    )
    options = parse_options(argv)
    digest = config_digest(
        Planned(Cell("smoke", "synthetic-small", "prior")), get_profile("smoke"), options
    )
    payload = json.loads(lock.read_text())
    lock.write_text(json.dumps({**payload, "config": digest}))
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert (
        f"skipped smoke/synthetic-small/prior/seed1: another runner on this host runs it "
        f"with the same config (pid {os.getppid()}" in out
    )
    assert not run_file.exists() and lock.exists()
    assert Cell("smoke", "synthetic-small", "random").path(tmp_path / "results").exists()
    assert not lock_path(Cell("smoke", "synthetic-small", "random").path(tmp_path)).exists()


SLOW_METHOD = """
import os
import time

import numpy as np


class Slow:
    '''The prior, slowly, noting each fit in $FIT_LOG (so a cell run twice shows).'''

    def fit(self, train, dev, *, seed):
        with open(os.environ["FIT_LOG"], "a") as log:
            log.write(f"{seed}\\n")
        time.sleep(0.3)
        self.prior = train.labels.mean(axis=0)

    def predict_scores(self, texts):
        return np.tile(self.prior, (len(texts), 1))
"""


@pytest.mark.slow  # two runner processes: the README's test command leaves it out, CI runs it
def test_two_runners_on_one_results_folder_run_each_cell_once(tmp_path):
    (tmp_path / "slowpkg").mkdir()
    (tmp_path / "slowpkg" / "__init__.py").write_text("")
    (tmp_path / "slowpkg" / "m.py").write_text(SLOW_METHOD)
    prepare_dataset("synthetic-small", data_dir=tmp_path / "data", raw_dir=None)  # made once
    log = tmp_path / "fits.log"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO_ROOT)]),
        "FIT_LOG": str(log),
    }
    seeds = [str(s) for s in range(1, 7)]
    argv = [sys.executable, "-m", "benchmarks.run", "--dataset", "synthetic-small"]
    argv += ["--method", "slowpkg.m:Slow", "prior", "random", "--seeds", *seeds, "--no-report"]
    argv += ["--data-dir", str(tmp_path / "data"), "--results-dir", str(tmp_path / "results")]
    argv += ["--raw-dir", str(tmp_path / "raw")]
    runners = [
        subprocess.Popen(argv, env=env, cwd=tmp_path, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [runner.communicate(timeout=600)[0] for runner in runners]
    assert [runner.returncode for runner in runners] == [0, 0], outputs
    assert sorted(log.read_text().split()) == sorted(seeds)  # each slow cell fitted once
    ran = [int(out.split(" cells run")[0].split()[-1]) for out in outputs]
    assert sum(ran) == 3 * len(seeds), outputs  # every cell run by exactly one runner
    results = tmp_path / "results"
    for method in ("slowpkg.m:Slow", "prior", "random"):
        for seed in seeds:
            assert Cell("smoke", "synthetic-small", method, "", int(seed)).path(results).exists()
    assert not list(results.glob("**/*.lock")) and not list(results.glob("**/.*"))
