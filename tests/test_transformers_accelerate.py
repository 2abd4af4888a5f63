"""Data-parallel training of one cell through ``accelerate launch`` (2 CPU processes over
gloo): one run file, written by the main process, that records 2 processes and agrees
with the same cell trained in one plain process."""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("accelerate")

from benchmarks.run import main  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]

#: bert (no masking draws) without dropout: two ranks, each with half of every batch of
#: 16, average to the one-process gradient, so the runs differ by float rounding only
#: (padding differs per half); AdamW amplifies it, hence tolerances, not equality.
ARGS = [
    "--dataset",
    "synthetic-small",
    "--method",
    "bert",
    "--profile",
    "smoke",
    "--no-report",
    "--fail-fast",
    "--set",
    "backbone=tiny-random",
    "--set",
    "tiny_config={hidden_size: 64, intermediate_size: 128, hidden_dropout_prob: 0, "
    "attention_probs_dropout_prob: 0}",
    "--set",
    "dropout=0",
    "--set",
    "max_len=64",
    "--set",
    "epochs=3",
    "--set",
    "batch_size=16",
    "--set",
    "lr=1e-3",
    "--set",
    "progress=false",
    "--set",
    "subset={train: 200, dev: 50, test: 100}",
]


def test_plain_process_gets_no_accelerator(monkeypatch):
    from lmmtc.transformers.trainer import make_accelerator

    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert make_accelerator("auto", "cpu", "auto") is None
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert make_accelerator("off", "cpu", "auto") is None  # 'off' never touches accelerate
    with pytest.raises(ValueError, match="distributed"):
        make_accelerator("on", "cpu", "auto")


def _dirs(root) -> list[str]:
    return [
        "--data-dir",
        str(root / "data"),
        "--results-dir",
        str(root / "results"),
        "--raw-dir",
        str(root / "raw"),
    ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run_files(root) -> list:
    return sorted(p for p in (root / "results").rglob("*.json") if p.name != "data.json")


@pytest.mark.slow  # two processes under accelerate launch: the README's test command leaves it out, CI runs it
def test_accelerate_launch_two_processes_one_run_file(tmp_path):
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
        "CUDA_VISIBLE_DEVICES": "",  # CPU processes over gloo, also on a GPU machine
        "PYTHONPATH": str(REPO_ROOT),
    }
    # `--cpu` alone runs one process (Accelerate launches several CPU processes only via
    # mpirun); `--multi_gpu` is torchrun, which on CPU-only torch gives MULTI_CPU.
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu"]
    launch += ["--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no"]
    launch += ["--dynamo_backend", "no", "--main_process_port", str(_free_port())]
    dist = tmp_path / "dist"
    done = subprocess.run(
        [*launch, "-m", "benchmarks.run", *ARGS, *_dirs(dist)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert done.stdout.count("1 cells run") == 1  # the other rank prints nothing
    files = _run_files(dist)
    assert len(files) == 1, files
    assert len(list((dist / "results").rglob("data.json"))) == 1
    record = json.loads(files[0].read_text())
    assert record["method_info"]["num_processes"] == 2
    assert record["dataset"]["sizes"] == {"train": 200, "dev": 50, "test": 100}

    single = tmp_path / "single"
    assert main([*ARGS, *_dirs(single)]) == 0
    (one,) = _run_files(single)
    plain = json.loads(one.read_text())
    assert plain["method_info"]["num_processes"] == 1

    info, plain_info = record["method_info"], plain["method_info"]
    assert info["steps"] == plain_info["steps"] == 39  # split batches: one process's steps
    assert len(info["dev_micro_f1_per_epoch"]) == 3
    for split in ("dev", "test"):
        got, want = record["metrics"][split], plain["metrics"][split]
        assert all(math.isfinite(v) for v in got.values()), got
        for name in ("micro_f1", "hamming_loss", "p_at_1"):
            assert got[name] == pytest.approx(want[name], abs=0.1), (split, name)
    first, plain_first = record["loss_curve"][0], plain["loss_curve"][0]
    assert first["step"] == plain_first["step"] == 10
    assert first["loss"] == pytest.approx(plain_first["loss"], abs=0.02)
