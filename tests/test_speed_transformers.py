"""tools/speed_transformers.py runs end to end on a tiny model and writes its JSON
(the numbers themselves are not checked: speed belongs to the script, not to tests)."""

from __future__ import annotations

import json
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest
import torch

from benchmarks.running.provenance import git_state
from lmmtc.transformers.trainer import compute_precision
from tools import speed_transformers

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_speed_script_writes_every_ratio(tmp_path, capsys):
    pytest.importorskip("accelerate")  # the Trainer needs it
    out = tmp_path / "speed.json"
    configs = "hf,trainer,bert,bert_long,lm,lm_mlm"
    small = ["--seq-len", "24", "--batch-size", "4", "--num-labels", "3", "--batches", "2"]
    speed_transformers.main(
        ["--backbone", "tiny-random", "--device", "cpu", "--quick", "--no-mfu"]
        + [*small, "--configs", configs, "--json", str(out)]
    )
    record = json.loads(out.read_text())
    for key in ("bert_vs_hf", "bert_vs_trainer", "lm_vs_bert_same_len", "lm_mlm_vs_lm"):
        assert record[key] > 0, key
    assert set(record["samples_per_s"]) == set(configs.split(","))
    assert record["configs"]["lm"]["seq_len"] == 24 + 9  # T + 3L
    assert record["device"] == "cpu" and record["bert_step_ms"] > 0
    assert record["git"] == git_state()  # the commit whose code ran, as in run files
    assert record["packages"]["torch"] == record["torch"]
    printed = capsys.readouterr().out
    assert "| bert | 24 |" in printed and "bert_vs_trainer" in printed


def test_flops_and_peaks():
    from lmmtc.transformers.backbone import random_backbone
    from lmmtc.transformers.model import LabelMaskNetwork

    encoder = random_backbone("random-base", device="meta").encoder
    network = LabelMaskNetwork(
        encoder, 28, readout="cls", label_head="per_label", mlm_head=None, dropout=0.1
    )
    flops = speed_transformers._train_flops(network, batch=2, seq=128)
    layers = 12 * (4 * (768 * 768 + 768) + 2 * 768 + 2 * 768 * 3072 + 3072 + 768 + 2 * 768)
    n = layers + 768 * 28 + 28  # encoder layers and the classifier; no embedding tables
    assert flops == 6 * n * 2 * 128 + 12 * 12 * 768 * 128 * 128 * 2
    table = dict(speed_transformers.PEAK_BF16_TFLOPS)
    match = lambda name: next(p for k, p in speed_transformers.PEAK_BF16_TFLOPS if k in name)  # noqa: E731
    assert match("NVIDIA H200") == match("NVIDIA H100 80GB HBM3") == table["H100"] == 989.4
    assert match("NVIDIA H100 PCIe") == 756.0 and match("NVIDIA A100-SXM4-80GB") == 312.0


def test_one_by_one_rows_with_the_share_of_the_measured_peak_and_cell_costs(tmp_path, capsys):
    out = tmp_path / "speed.json"
    small = ["--seq-len", "24", "--batch-size", "4", "--num-labels", "3", "--batches", "2"]
    speed_transformers.main(
        ["--backbone", "tiny-random", "--device", "cpu", "--quick", "--no-mfu", "--one-by-one"]
        + [*small, "--configs", "bert,lm", "--json", str(out)]
    )
    record = json.loads(out.read_text())
    peaks = record["matmul_tflops"]
    assert peaks["fp32"] > 0 and peaks["bf16"] > 0  # measured in the same run
    bert = record["configs"]["bert"]
    auto = compute_precision(torch.device("cpu"), "auto")  # bf16 on a CPU with native bf16
    assert bert["precision"] == auto and bert["peak_tflops"] == peaks[auto]
    assert bert["mfu"] == pytest.approx(
        bert["flops_per_step"] / (bert["step_ms"] / 1000) / 1e12 / peaks[auto]
    )
    # the cpu profile's GoEmotions cell: 2,000 rows / batch 16 x 5 epochs = 625 steps
    costs = record["cell_costs"]
    assert set(costs) == {"bert", "lm"}
    assert costs["lm"]["steps"] == 625 and costs["lm"]["cell_text_len"] == 62
    assert costs["bert"]["measured_text_len"] == 22
    assert costs["lm"]["train_minutes"] == pytest.approx(625 * costs["lm"]["step_ms"] / 60000)
    printed = capsys.readouterr().out
    assert printed.index("bert: ") < printed.index("lm: ")  # each row as it ends
    assert "| lm | cpu/goemotions | 2000 x 5 | 625 | 62 | 22 |" in printed


def test_preflight_is_one_line_and_fails_with_the_reason(capsys, monkeypatch):
    setup = speed_transformers.Setup("tiny-random", "cpu", 4, 24, 3, 2)
    ok, line = speed_transformers.preflight(setup, 3)
    assert ok and line.startswith("preflight ok: 3 steps of bert (tiny-random, cpu, T = 24)")
    auto = compute_precision(torch.device("cpu"), "auto")
    assert f"precision {auto}, fused_adamw True, pinned False" in line

    def broken(name, setup):
        raise RuntimeError("no kernel image is available\nsecond line")

    monkeypatch.setattr(speed_transformers, "build", broken)
    ok, line = speed_transformers.preflight(setup, 3)
    assert not ok
    assert line == "preflight failed: bert on cpu: RuntimeError: no kernel image is available"
    with pytest.raises(SystemExit) as stop:
        speed_transformers.main(
            ["--backbone", "tiny-random", "--device", "cpu", "--preflight", "3"]
        )
    assert stop.value.code == 1 and capsys.readouterr().out.startswith("preflight failed:")
