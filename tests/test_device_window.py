"""tools/device_window.sh rehearsed on the CPU (issue 15), so that a GPU window is
never spent debugging it: the same script, DEVICE=cpu, a tiny random backbone, a
60-second budget for the runner, and the carried folder made by
``tools.device_pack`` (a tiny random BERT with MiniLM's tokenizer in MiniLM's place, in
fp16 as byte planes; synthetic stand-ins under the names GoEmotions and Reuters). It must
write the speed JSON and the run files into the output folder, run the cells in priority
order and stop at the budget with the rest listed for the next window (exit 75). The
packing itself: tests/test_device_pack.py."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from benchmarks.store.records import read_record
from data_prep.synthetic import SyntheticConfig, write_synthetic
from tools import device_pack

REPO_ROOT = Path(__file__).resolve().parents[1]
SCRIPT = REPO_ROOT / "tools" / "device_window.sh"

#: end to end (8 interpreters): the README's test command leaves it out, CI runs it
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory):
    """The rehearsal's output folder and completed process."""
    for tool in ("bash", "tar", "timeout"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not found")
    root = tmp_path_factory.mktemp("window")
    data = root / "data"
    small = SyntheticConfig(
        name="goemotions", num_labels=28, num_clusters=7, n_train=48, n_dev=16, n_test=16
    )
    write_synthetic(data / "goemotions", small)
    # 4,000 rows x Reuters' 5 epochs: ~54 s in the gpu profile's cost table, x 1.15 more
    # than the 60 s budget: the budget always leaves cells for the next window
    big = SyntheticConfig(name="reuters", num_labels=10, n_train=4000, n_dev=16, n_test=16)
    write_synthetic(data / "reuters", big)
    carry = root / "carry"
    argv = ["--out", str(carry), "--datasets", str(data / "goemotions"), str(data / "reuters")]
    from lmmtc.transformers.backbone import MINILM_DIR_ENV, tiny_random_backbone

    # a tiny random BERT with MiniLM's tokenizer stands in for the weights: the window
    # unpacks and uses them as it would MiniLM's (packing those takes 20 s, and
    # tests/test_device_pack.py checks the real format); this checkout's size is not
    # under test here
    tiny = tiny_random_backbone()
    tiny.encoder.save_pretrained(root / "model")
    tiny.tokenizer.save_pretrained(root / "model")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(MINILM_DIR_ENV, str(root / "model"))
        patch.setattr(device_pack, "tree_bytes", lambda root=None: 0)
        assert device_pack.main(argv) == 0
    out = root / "out"
    env = {
        **os.environ,
        "DEVICE": "cpu",
        "BACKBONE": "tiny-random",
        "TOTAL": "600",  # the whole command's limit; the runner gets BUDGET
        "PREFLIGHT_LIMIT": "300",  # importing torch alone can take 30 s on a loaded CPU
        "BUDGET": "60",
        "CARRY": str(carry),
        "DONE_RUNS": "",  # not the committed gpu cells: this rehearsal runs its own
        "PYTHON": sys.executable,
        "SPEED_ARGS": "--quick --no-mfu --threads 1 --seq-len 24 --batch-size 4 "
        "--num-labels 3 --batches 2 --configs hf,trainer,bert,lm",
    }
    env.pop("OUT", None)
    # two methods, not the gpu profile's 10 of GoEmotions: 6 cells of about 2 s to pack
    # one by one before the budget stops the runner (all 29 spent a minute of CPU)
    runner_args = ["--set", "num_threads=1", "--method", "bert", "lm"]
    proc = subprocess.run(
        ["bash", str(SCRIPT), str(out), *runner_args],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    return out, proc


def test_rehearsal_stops_at_the_budget_with_cells_left(rehearsal):
    out, proc = rehearsal
    assert proc.returncode == 75, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert sorted(p.name for p in out.iterdir()) == [
        "runner-1.log",
        "runs.tar.gz",
        "speed.json",
        "speed.log",
        "window.txt",
    ]
    window = (out / "window.txt").read_text()
    assert "CUDA available: False; card: none" in window
    assert re.search(
        r"\] all-MiniLM-L6-v2 unpacked to /.+/lmmtc-window\.\w+/minilm "
        r"\(\d+\.\d MiB of fp16 weights, sha256 checked\) in \d+\.\d s\n",
        window,
    ), window
    assert "preflight ok: 20 steps of bert (tiny-random, cpu, T = 64)" in window
    assert "runner 1: --profile gpu --priority --budget 60 " in window
    assert "runner 1: exit 75" in window
    # each cell packed as it ends, while the runner goes on; the speed script after them
    assert window.index("packed runs/gpu/goemotions/bert/seed1.json") < window.index(
        "runner 1: exit"
    )
    assert window.index("runner 1: exit 75") < window.index("speed script (at most")
    packed = [line.split("packed ")[1] for line in window.splitlines() if "] packed runs/" in line]
    assert packed == [
        f"runs/gpu/goemotions/{m}/seed{s}.json" for m in ("bert", "lm") for s in (1, 2, 3)
    ]
    runner = (out / "runner-1.log").read_text()
    assert "left for the next window:" in runner
    for seed in (1, 2, 3):  # never fit: left with their estimate, never started
        assert f"gpu/reuters/bert/seed{seed}" in runner
    line = next(x for x in runner.splitlines() if x.strip().startswith("gpu/reuters/bert/seed1"))
    # left with its estimate: it does not fit, or a cell before it spent the budget
    assert line.endswith(
        (
            "~54 s  needs ~54 s, more than the whole budget (the gpu profile's cost table)",
            "is spent (the gpu profile's cost table)",
        )
    )


def test_rehearsal_writes_the_speed_json(rehearsal):
    out, _ = rehearsal
    speed = json.loads((out / "speed.json").read_text())
    assert speed["device"] == "cpu" and speed["bert_vs_hf"] > 0 and speed["bert_vs_trainer"] > 0
    assert set(speed["samples_per_s"]) == {"hf", "trainer", "bert", "lm"}


def test_rehearsal_packs_whole_run_files_in_priority_order(rehearsal, tmp_path):
    out, _ = rehearsal
    with tarfile.open(out / "runs.tar.gz") as archive:
        names = archive.getnames()
        archive.extractall(tmp_path)  # noqa: S202 - the test's own archive
    runs = sorted(tmp_path.glob("runs/gpu/*/*/seed*.json"))
    assert runs, names
    records = [read_record(path) for path in runs]  # every one whole and readable
    assert {r.cell.dataset for r in records} == {"goemotions"}
    assert "runs/gpu/goemotions/bert/seed1.json" in names  # the first of the priority list
    for record in records:
        assert record.config.params["backbone"] == "tiny-random"
        # the tokenizer of the carried MiniLM, unpacked from its byte planes into the
        # window's scratch folder (step 3), not the carried folder itself
        path = record.method_info["backbone_path"]
        assert re.fullmatch(r"tiny-random \(tokenizer /.+/lmmtc-window\.\w+/minilm\)", path)
    assert not [n for n in names if n.endswith(".tmp")]


def test_a_failed_preflight_stops_the_window_before_any_cell(tmp_path):
    """A training path that breaks costs the preflight's seconds, not the window: exit 3
    with the one-line reason, no runner started."""
    out = tmp_path / "out"
    env = {
        **os.environ,
        "DEVICE": "cpu",
        "BACKBONE": "no-such-backbone",  # what the preflight trains: it cannot load
        "CARRY": str(tmp_path / "nothing"),  # the installed MiniLM
        "PYTHON": sys.executable,
        "PREFLIGHT_LIMIT": "300",
    }
    env.pop("OUT", None)
    proc = subprocess.run(
        ["bash", str(SCRIPT), str(out)], env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 3, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert sorted(p.name for p in out.iterdir()) == ["window.txt"]
    lines = (out / "window.txt").read_text().splitlines()
    failed = [line for line in lines if "] preflight failed: bert on cpu: " in line]
    assert len(failed) == 1 and "no-such-backbone" in failed[0], lines
    assert lines[-1].endswith(
        "not usable: the preflight failed (its output is above); no cells run"
    )
