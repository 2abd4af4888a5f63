"""Shared test fixtures: where the real raw files are, and small generated data sets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
#: ../shared/data/raw beside the checkout (CI has it; elsewhere the real-data tests skip).
SHARED_RAW = Path(os.environ.get("LMMTC_SHARED_RAW", REPO_ROOT.parent / "shared" / "data" / "raw"))


#: pytest-xdist workers when the command line names none (the test extra installs it):
#: both cores of the CI machine. ``-n 0`` runs in one process.
XDIST_WORKERS = 2


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """The README's ``python -m pytest -q -ra`` on both cores: pytest-xdist with
    :data:`XDIST_WORKERS` workers, one test file per worker at a time (``loadfile``: a
    module's fixtures, e.g. its trained runs, are built once), unless ``-n`` was given or
    pytest-xdist is not installed (then one process, as before)."""
    if not config.pluginmanager.hasplugin("xdist") or hasattr(config, "workerinput"):
        return
    if config.option.numprocesses is None and not config.option.collectonly:
        config.option.numprocesses = XDIST_WORKERS
        if config.option.dist == "no":
            config.option.dist = "loadfile"
            # files in the order pytest_collection_modifyitems gives (the slowest first),
            # not xdist's default of the most tests first (which put the slow files, each
            # of a few tests, last: one worker ran them while the other sat idle)
            config.option.loadscopereorder = False


#: The slowest test files, slowest first (CPU seconds on the 2-core machine under load,
#: ``-n 0 --durations``): they start first, so that the short files fill in around them
#: and both workers finish together. Every other file follows in its usual order.
SLOWEST_FIRST = (
    "test_device_window.py",  # 63: the window script rehearsed, 8 interpreters
    "test_smoke_all.py",  # 47: every GoEmotions cell of the smoke profile
    "test_baselines_real.py",  # 46: BR and CC on the real Reuters and GAIC
    "test_tutorial.py",  # 42: docs/tutorial.md as one script
    "test_transformers_accelerate.py",  # 35: accelerate launch, two processes
    "test_bad_inputs.py",  # 33
    "test_thresholds.py",  # 30
    "test_report_significance.py",  # 30
    "test_locks.py",  # 21
    "test_launch.py",  # 21
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The files of :data:`SLOWEST_FIRST` first, in its order; each file's tests stay
    together and in their own order (a stable sort)."""
    missing = [name for name in SLOWEST_FIRST if not (Path(__file__).parent / name).is_file()]
    if missing:
        raise pytest.UsageError(
            f"tests/conftest.py: SLOWEST_FIRST names {', '.join(missing)}, no such test "
            f"file; rename or remove it there"
        )
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


#: Threads of each test process's (and its subprocesses') OpenMP and BLAS pools unless
#: the environment names some: with two workers on two cores, a second torch thread a
#: worker only contends (measured: one smoke ``lm_mlm`` cell, 18.3 s of CPU on two
#: threads, 10.9 s on one; results are the same on CPU).
TEST_THREADS = "1"


def pytest_configure(config: pytest.Config) -> None:
    """One OpenMP/BLAS thread a process, set before any test module imports torch or
    numpy; the workers and every subprocess a test starts inherit it."""
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, TEST_THREADS)


def raw_dir_or_skip(name: str) -> Path:
    """The real raw folder of data set ``name``, or skip the test when it is absent."""
    path = SHARED_RAW / name
    if not path.is_dir():
        pytest.skip(f"real raw files not available at {path}")
    return path


@pytest.fixture
def shared_raw():
    """Factory fixture: ``shared_raw("reuters")`` -> Path, or a skip."""
    return raw_dir_or_skip


@pytest.fixture
def dirs(tmp_path):
    """Runner options that keep data, raw files and results inside ``tmp_path``."""
    return [
        "--data-dir",
        str(tmp_path / "data"),
        "--results-dir",
        str(tmp_path / "results"),
        "--raw-dir",
        str(tmp_path / "raw"),
    ]


@pytest.fixture(scope="module")
def one_torch_thread():
    """One intra-op thread for a module's torch training: on a shared 2-core machine two
    threads contend and run ~10x slower; results are identical either way on CPU."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
