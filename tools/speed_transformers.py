"""Training throughput, step time, MFU and peak memory of the transformer methods, side by
side in one run (issue 15), on CPU or on a GPU.

Not a test: it prints Markdown tables of ratios measured in one process, on the same
batches (random word pieces, every row ``--seq-len`` tokens):

* ``bert`` (the suite's training path: packed rows, the loop's ``train_step``, fused AdamW
  on CUDA, losses read once per block) against a plain Hugging Face
  AutoModelForSequenceClassification loop (``hf``, multi-label BCE, batches pre-built:
  its batching costs nothing) and against the Hugging Face ``Trainer`` (``trainer``: its
  default collator and optimiser, bf16 on CUDA, fp32 on CPU, the same rows in the same
  order). Targets: CPU ``bert_vs_hf`` >= 0.98; H100/H200 ``bert_vs_trainer`` >= 1.2 and
  MiniLM's batch-16 step at most 12 ms.
* ``bert_compile`` (``compile: true``) against ``bert``: ``compile_vs_eager``.
* ``lm``/``lm_mlm`` against ``bert`` at LM-MTC's length (``bert_long``, text + 3L).
* BERT-base size (``random-base``: random weights, nothing downloaded) at 128 and 512
  tokens: achieved TFLOP/s and the model FLOPs utilisation, 6 x N x tokens + 12 x layers x
  hidden x T^2 x batch (attention scores and values, forward and backward) per step, N the
  parameters outside the embedding tables (lookups do no matmul), over the card's dense
  bf16 peak (:data:`PEAK_BF16_TFLOPS`; ``--peak-tflops`` overrides). On CPU: TFLOP/s only.

Timing: every configuration is built in one process; they run in blocks of ``--block``
steps, round-robin (the first configuration rotating), so that a shared machine's load
hits them alike; a block ends with one device synchronisation (within it the GPU may run
behind the CPU, as in training); the median block gives the step time. The ``trainer``
drives the rounds: a callback times its own blocks and runs the others' between them.
Peak memory: each configuration alone in a subprocess (CUDA max allocated, CPU peak RSS).

    python -m tools.speed_transformers --backbone minilm --device cpu
    python -m tools.speed_transformers --backbone minilm --device cuda --json speed.json
    python -m tools.speed_transformers --quick          # a couple of minutes on 2 cores
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

from benchmarks.running.provenance import git_state, package_versions
from lmmtc.atomic import atomic_write

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@dataclass(frozen=True)
class Config:
    kind: str  # a registered method, "hf" or "trainer"
    length: str  # "T" or "T+3L" (bert at LM-MTC's total length)
    compile: str | None = None  # torch.compile mode of the encoder; None: eager


CONFIGS = {
    "hf": Config("hf", "T"),
    "trainer": Config("trainer", "T"),
    "bert": Config("bert", "T"),
    "bert_compile": Config("bert", "T", "default"),
    "bert_long": Config("bert", "T+3L"),
    "lm": Config("lm", "T+3L"),
    "lm_mlm": Config("lm_mlm", "T+3L"),
    "bert_mlm": Config("bert_mlm", "T"),
    # CUDA graphs (torch.compile mode reduce-overhead): only with --cudagraphs, CUDA only
    "bert_cudagraphs": Config("bert", "T", "reduce-overhead"),
}
#: The comparisons of the table: config -> the config it is compared with.
REFERENCE = {
    "bert": "hf",
    "bert_compile": "bert",
    "bert_cudagraphs": "bert",
    "bert_long": "bert",
    "lm": "bert_long",
    "lm_mlm": "lm",
    "bert_mlm": "bert",
}
#: Ratio keys of the JSON: key -> (config, reference config).
RATIOS = {
    "bert_vs_hf": ("bert", "hf"),
    "bert_vs_trainer": ("bert", "trainer"),
    "compile_vs_eager": ("bert_compile", "bert"),
    "cudagraphs_vs_eager": ("bert_cudagraphs", "bert"),
    "lm_vs_bert_same_len": ("lm", "bert_long"),
    "lm_mlm_vs_lm": ("lm_mlm", "lm"),
    "lm_mlm_vs_bert_same_len": ("lm_mlm", "bert_long"),
    "bert_mlm_vs_bert": ("bert_mlm", "bert"),
}
#: Dense bf16 tensor-core peaks (TFLOP/s, no sparsity) by a piece of the CUDA device name;
#: the first match counts, so the specific names come first.
PEAK_BF16_TFLOPS = [
    ("GH200", 989.4),
    ("H200", 989.4),
    ("H100 PCIe", 756.0),
    ("H100 NVL", 835.0),
    ("H100", 989.4),  # SXM
    ("H800", 989.4),
    ("H20", 148.0),
    ("B200", 2250.0),
    ("A100", 312.0),
    ("A800", 312.0),
    ("L40S", 362.0),
    ("L4", 121.0),
    ("A10", 125.0),
]


@dataclass
class Setup:
    """The shape of one group of configurations."""

    backbone: str
    device: str
    batch_size: int
    seq_len: int  # bert's length T: text + [CLS] + [SEP]
    num_labels: int
    batches: int  # distinct batches, cycled
    precision: str = "auto"  # the methods' option: auto (bf16 on CUDA), fp32 or bf16


def _rows(setup: Setup, text_len: int):
    """The rows of ``setup.batches`` fixed batches: random word-piece ids and labels, the
    same for every configuration of a length."""
    import torch

    gen = torch.Generator().manual_seed(0)
    n = setup.batches * setup.batch_size
    ids = torch.randint(1000, 20000, (n, text_len), generator=gen)
    labels = (torch.rand((n, setup.num_labels), generator=gen) < 0.2).float()
    return ids.tolist(), labels


def _short(err: Exception) -> str:
    """One line naming an exception, for the table."""
    return f"{type(err).__name__}: {(str(err).splitlines() or [''])[0][:200]}"


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


@dataclass
class Runner:
    """A built configuration: ``block(i, k)`` runs k training steps from batch i and
    returns their seconds (ending with one device synchronisation)."""

    model: object
    device: object
    seq_len: int
    run_step: object  # (i) -> StepLosses
    flush: object = None  # () -> None: read the block's logged losses
    extra: dict = field(default_factory=dict)
    facts: dict = field(default_factory=dict)  # the training path it took (preflight)

    def block(self, first: int, k: int) -> float:
        start = time.perf_counter()
        for i in range(first, first + k):
            self.run_step(i)
        if self.flush is not None:
            self.flush()
        _sync(self.device)
        return time.perf_counter() - start


def _method_runner(config: Config, setup: Setup) -> Runner:
    """One of the suite's methods on its own training path (packed rows -> Batch ->
    ``trainer.train_step``, the optimiser of ``fit``, losses kept in a LossLog)."""
    import torch

    from lmmtc.registry import get_method
    from lmmtc.transformers.token_cache import TokenIds
    from lmmtc.transformers.trainer import (
        LoopConfig,
        LossLog,
        compile_module,
        compute_precision,
        linear_warmup_decay,
        make_optimizer,
        resolve_device,
        train_step,
    )

    n_lab = setup.num_labels
    template = 0 if config.kind.startswith("bert") else 3 * n_lab
    text_len = setup.seq_len - 2 + (3 * n_lab if config.length == "T+3L" and not template else 0)
    method = get_method(config.kind).cls(
        backbone=setup.backbone,
        max_len=text_len + 2 + template,
        device=setup.device,
        compile=config.compile is not None,
        progress=False,
        precision=setup.precision,
    )
    method._device = resolve_device(setup.device)
    method._build([f"label_{j}" for j in range(n_lab)], None, seed=0)
    network = method.network.to(method._device)
    if config.compile == "default":
        compile_module(network.encoder)  # what fit does with compile: true
    elif config.compile is not None:
        network.encoder.compile(mode=config.compile)
    method._gen = torch.Generator().manual_seed(1)
    rows, labels = _rows(setup, text_len)
    packed = method._pack(TokenIds.from_lists(rows), labels)
    bs = setup.batch_size
    order = [list(range(j * bs, (j + 1) * bs)) for j in range(setup.batches)]
    network.train()
    optimizer = make_optimizer(network, 5e-5, 0.01)  # fused on CUDA, as in fit
    scheduler = linear_warmup_decay(optimizer, 1, 10**6)
    params = [p for p in network.parameters() if p.requires_grad]
    loop = LoopConfig(max_grad_norm=1.0)
    log = LossLog(loop.log_every, len(order))

    def run_step(i: int):
        batch = method._batch(packed, order[i % len(order)])
        losses = train_step(method._step, batch, 0.0, optimizer, scheduler, params, loop)
        log.add(i + 1, 0, i % len(order), losses)
        return losses

    first = method._batch(packed, order[0])
    seq = int(first.input_ids.shape[1])
    runner = Runner(network, method._device, seq, run_step, log.flush)
    runner.extra["flops_per_step"] = _train_flops(network, bs, seq)
    runner.facts = {
        "precision": compute_precision(method._device, method.options.precision),
        "fused_adamw": bool(optimizer.defaults.get("fused")),
        "pinned": bool(first.input_ids.is_pinned()),
        "buckets": method._buckets(),
    }
    return runner


def _train_flops(network, batch: int, seq: int) -> float:
    """6 x N x tokens + attention (12 x layers x hidden x T^2 x batch), forward + backward;
    N: parameters outside the embedding tables."""
    config = network.encoder.config
    n = sum(p.numel() for name, p in network.named_parameters() if ".embeddings." not in name)
    n -= sum(p.numel() for name, p in network.named_parameters() if name.startswith("mlm."))
    attention = 12 * config.num_hidden_layers * config.hidden_size * seq * seq * batch
    return 6.0 * n * batch * seq + attention


def _hf_model(setup: Setup):
    """AutoModelForSequenceClassification (multi-label BCE) of the backbone, fp32 weights."""
    from transformers import AutoModelForSequenceClassification, BertConfig

    from lmmtc.transformers.backbone import RANDOM_CONFIGS, load_backbone, quiet_transformers

    backbone = load_backbone(setup.backbone)
    tok = backbone.tokenizer
    kwargs = {"num_labels": setup.num_labels, "problem_type": "multi_label_classification"}
    with quiet_transformers():
        if setup.backbone in RANDOM_CONFIGS:
            config = BertConfig(vocab_size=len(tok), **RANDOM_CONFIGS[setup.backbone], **kwargs)
            model = AutoModelForSequenceClassification.from_config(config)
        else:
            model = AutoModelForSequenceClassification.from_pretrained(backbone.path, **kwargs)
    return model.float(), tok  # fp32 weights, as the suite's methods (backbone.py)


def _hf_runner(setup: Setup) -> Runner:
    """A plain Hugging Face loop: the model's own loss, batches built beforehand, torch's
    default AdamW (foreach), the same clipping and schedule."""
    from lmmtc.transformers.template import collate
    from lmmtc.transformers.trainer import (
        LoopConfig,
        StepLosses,
        autocast,
        compute_precision,
        linear_warmup_decay,
        make_optimizer,
        resolve_device,
        train_step,
    )

    device = resolve_device(setup.device)
    model, tok = _hf_model(setup)
    model.to(device).train()
    rows, labels = _rows(setup, setup.seq_len - 2)
    bs = setup.batch_size
    batches = [
        collate(
            rows[j * bs : (j + 1) * bs],
            labels[j * bs : (j + 1) * bs],
            cls_id=tok.cls_token_id,
            sep_id=tok.sep_token_id,
            pad_id=tok.pad_token_id,
            tokens=None,
        )
        for j in range(setup.batches)
    ]

    def step(batch, epoch):
        with autocast(device, setup.precision):
            out = model(
                input_ids=batch.input_ids.to(device),
                attention_mask=batch.attention_mask.to(device),
                labels=batch.labels.to(device),
            )
        return StepLosses(out.loss, out.loss.detach())

    optimizer = make_optimizer(model, 5e-5, 0.01, fused=False)
    scheduler = linear_warmup_decay(optimizer, 1, 10**6)
    params = [p for p in model.parameters() if p.requires_grad]
    loop = LoopConfig(max_grad_norm=1.0)

    def run_step(i: int):
        return train_step(step, batches[i % len(batches)], 0.0, optimizer, scheduler, params, loop)

    facts = {"precision": compute_precision(device, setup.precision)}
    return Runner(model, device, setup.seq_len, run_step, facts=facts)


def build(name: str, setup: Setup) -> Runner:
    from lmmtc.seeding import set_seed

    set_seed(0)
    config = CONFIGS[name]
    if config.kind == "hf":
        return _hf_runner(setup)
    return _method_runner(config, setup)


def _trainer_rounds(setup: Setup, blocks: int, block: int, warmup_blocks: int, on_block) -> None:
    """Train the Hugging Face ``Trainer`` for (warmup_blocks + blocks) x block steps on
    the rows of ``hf`` in order; after each of its timed blocks ``on_block(r, seconds)``
    runs (the other configurations' blocks of round r)."""
    from torch.utils.data import SequentialSampler
    from transformers import PrinterCallback, Trainer, TrainerCallback, TrainingArguments

    from lmmtc.transformers.trainer import resolve_device

    device = resolve_device(setup.device)
    cuda = device.type == "cuda"
    model, tok = _hf_model(setup)
    rows, labels = _rows(setup, setup.seq_len - 2)
    data = [
        {
            "input_ids": [tok.cls_token_id, *row, tok.sep_token_id],
            "attention_mask": [1] * (len(row) + 2),
            "labels": label,
        }
        for row, label in zip(rows, labels.tolist())
    ]
    total = (warmup_blocks + blocks) * block
    data = (data * (total * setup.batch_size // len(data) + 1))[: total * setup.batch_size]

    class InOrder(Trainer):
        def _get_train_sampler(self, *args, **kwargs):
            return SequentialSampler(self.train_dataset)  # the same batches as the others

    class Driver(TrainerCallback):
        last = 0.0

        def on_train_begin(self, args, state, control, **kwargs):
            self.last = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step % block:
                return
            _sync(device)
            seconds = time.perf_counter() - self.last
            r = state.global_step // block - 1 - warmup_blocks
            if r >= 0:
                on_block(r, seconds)
            self.last = time.perf_counter()

    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(
            output_dir=out,
            per_device_train_batch_size=setup.batch_size,
            max_steps=total,
            learning_rate=5e-5,
            weight_decay=0.01,
            max_grad_norm=1.0,
            warmup_steps=0,
            bf16=cuda or setup.precision == "bf16",
            use_cpu=not cuda,
            logging_strategy="no",
            save_strategy="no",
            eval_strategy="no",
            report_to="none",
            disable_tqdm=True,
            dataloader_num_workers=0,
            seed=0,
        )
        trainer = InOrder(
            model=model, args=args, train_dataset=data, processing_class=tok, callbacks=[Driver()]
        )
        trainer.remove_callback(PrinterCallback)  # no train-metrics line amid the tables
        trainer.train()


def _trainer_precision(setup: Setup) -> str:
    from lmmtc.transformers.trainer import resolve_device

    cuda = resolve_device(setup.device).type == "cuda"
    return "bf16" if cuda or setup.precision == "bf16" else "fp32"


def timing(names: list[str], setup: Setup, steps: int, warmup: int, block: int) -> dict:
    """Median step time of each configuration: blocks of ``block`` steps, round-robin."""
    runners: dict[str, Runner] = {}
    failed: dict[str, str] = {}
    for name in names:
        if name == "trainer":
            continue
        try:
            runners[name] = build(name, setup)
            runners[name].block(0, warmup)  # compiles, allocator, caches: untimed
        except Exception as err:  # a compile mode the device lacks: report, go on
            failed[name] = _short(err)
            runners.pop(name, None)
    times: dict[str, list[float]] = {name: [] for name in names if name not in failed}
    rounds = max(1, steps // block)
    others = [name for name in names if name in runners]
    done = [0]  # rounds run

    def one_round(r: int) -> None:
        order = others[r % len(others) :] + others[: r % len(others)] if others else []
        for name in order:
            try:
                times[name].append(runners[name].block(warmup + r * block, block) / block)
            except Exception as err:  # drop this configuration, keep the others' numbers
                failed[name] = _short(err)
                others.remove(name)
                times.pop(name, None)
        done[0] += 1

    if "trainer" in names:

        def on_block(r: int, seconds: float) -> None:
            times["trainer"].append(seconds / block)
            one_round(r)

        try:
            _trainer_rounds(setup, rounds, block, max(1, -(-warmup // block)), on_block)
        except Exception as err:
            failed["trainer"] = _short(err)
            times.pop("trainer")
    for r in range(done[0], rounds):  # every round without a trainer (or after its failure)
        one_round(r)
    results = {}
    for name in names:
        if name in failed:
            results[name] = {"error": failed[name], "peak_mb": None}
            continue
        ordered = sorted(times[name])
        median = ordered[len(ordered) // 2]
        runner = runners.get(name)
        results[name] = {
            "seq_len": runner.seq_len if runner else setup.seq_len,
            # the Trainer: bf16=True on CUDA, fp32 on CPU (see _trainer_rounds)
            "precision": runner.facts.get("precision") if runner else _trainer_precision(setup),
            "samples_per_s": setup.batch_size / median,
            "step_ms": 1000 * median,
            "step_ms_blocks": [round(1000 * t, 3) for t in times[name]],  # in round order
            "peak_mb": None,
            **(
                {"flops_per_step": runner.extra["flops_per_step"]}
                if runner and runner.extra
                else {}
            ),
        }
    if "bert" in runners:
        results["bert"]["syncs_per_step"] = _syncs_per_step(
            runners["bert"], warmup + rounds * block
        )
    return results


def _syncs_per_step(runner: Runner, i: int) -> int | None:
    """Host-device synchronisations in one step of ``runner`` (CUDA's sync debug mode);
    None on CPU. The loss log is not flushed: that is once an epoch."""
    import warnings

    import torch

    if runner.device.type != "cuda":
        return None
    _sync(runner.device)
    try:
        torch.cuda.set_sync_debug_mode("warn")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            runner.run_step(i)
    except Exception:
        return None
    finally:
        torch.cuda.set_sync_debug_mode("default")
    return sum("synchroniz" in str(w.message) for w in caught)


def memory_worker(name: str, setup: Setup) -> dict:
    """Peak memory of one configuration alone (run in a subprocess): CUDA max allocated,
    or the peak resident set size of the process on CPU."""
    import torch

    runner = build(name, setup)
    cuda = runner.device.type == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    runner.block(0, 2)
    if cuda:
        return {"peak_mb": torch.cuda.max_memory_allocated() / 2**20}
    return {"peak_mb": _peak_rss_mb()}


def _peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM; ru_maxrss would carry the parent's peak
    over fork + exec on Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def device_info(device: str) -> tuple[str, str, float | None]:
    """(device type, name, dense bf16 peak TFLOP/s or None) of the device measured."""
    import torch

    from lmmtc.transformers.trainer import resolve_device

    dev = resolve_device(device)
    if dev.type != "cuda":
        return "cpu", f"CPU ({torch.get_num_threads()} torch threads)", None
    name = torch.cuda.get_device_name(dev)
    peak = next((tflops for key, tflops in PEAK_BF16_TFLOPS if key in name), None)
    return "cuda", name, peak


def mfu_rows(args, peak: float | None, peaks: dict[str, float] | None = None) -> dict:
    """``bert`` at BERT-base size (random-base) at 128 and 512 tokens, eager and (with
    --mfu-compile) compiled: TFLOP/s and MFU."""
    out = {}
    names = ["bert", "bert_compile"] if args.mfu_compile else ["bert"]
    for seq, batch in ((128, args.mfu_batch_128), (512, args.mfu_batch_512)):
        setup = Setup(
            "random-base", args.device, batch, seq, args.num_labels, args.batches, args.precision
        )
        res = timing(names, setup, args.mfu_steps, args.mfu_warmup, args.mfu_block)
        for name, r in res.items():
            if "error" in r:
                out[f"{name}_base_{seq}"] = {"batch_size": batch, **r}
                continue
            tflops = r["flops_per_step"] / (r["step_ms"] / 1000) / 1e12
            out[f"{name}_base_{seq}"] = {
                "batch_size": batch,
                "seq_len": r["seq_len"],
                "step_ms": r["step_ms"],
                "samples_per_s": r["samples_per_s"],
                "tflops": tflops,
                "precision": r.get("precision"),
                "mfu": _share(tflops, r.get("precision", "fp32"), peak, peaks or {}),
            }
    return out


def ratios(results: dict, mfu: dict, args) -> dict:
    """The JSON's flat keys: the ratios, MiniLM's batch-16 step, the MFU."""
    out = {}
    for key, (a, b) in RATIOS.items():
        ra, rb = results.get(a, {}), results.get(b, {})
        if "samples_per_s" in ra and "samples_per_s" in rb:
            out[key] = ra["samples_per_s"] / rb["samples_per_s"]
    if "samples_per_s" in results.get("bert", {}):
        out["bert_step_ms"] = results["bert"]["step_ms"]
        if args.backbone == "minilm" and args.batch_size == 16:
            out["minilm_step_ms_b16"] = results["bert"]["step_ms"]
            if "step_ms" in results.get("bert_compile", {}):
                out["minilm_step_ms_b16_compile"] = results["bert_compile"]["step_ms"]
    for seq in (128, 512):
        for name, suffix in (("bert", ""), ("bert_compile", "_compile")):
            row = mfu.get(f"{name}_base_{seq}", {})
            if "tflops" in row:
                out[f"tflops_base_{seq}{suffix}"] = row["tflops"]
                out[f"mfu_base_{seq}{suffix}"] = row["mfu"]
        eager, comp = mfu.get(f"bert_base_{seq}", {}), mfu.get(f"bert_compile_base_{seq}", {})
        if "step_ms" in eager and "step_ms" in comp:
            out[f"compile_vs_eager_base_{seq}"] = eager["step_ms"] / comp["step_ms"]
    return out


#: What the CUDA training path must take (issue 20's preflight): fact -> what it must be.
CUDA_PATH = {"precision": "bf16", "fused_adamw": True, "pinned": True}


def preflight(setup: Setup, steps: int) -> tuple[bool, str]:
    """``steps`` training steps of ``bert`` on the suite's own path, then one line: whether
    it ran, its losses were finite and (on CUDA) it took bf16 autocast, fused AdamW,
    pinned batches with non-blocking copies and bucket padding."""
    import math

    start = time.perf_counter()
    try:
        runner = build("bert", setup)
        first = runner.block(0, 1)
        rest = runner.block(1, steps - 1) if steps > 1 else first
        loss = float(runner.run_step(steps).loss.detach().float().cpu())
    except Exception as err:
        return False, f"preflight failed: bert on {setup.device}: {_short(err)}"
    facts = runner.facts
    where = f"{steps} steps of bert ({setup.backbone}, {runner.device.type}, T = {runner.seq_len})"
    if not math.isfinite(loss):
        return False, f"preflight failed: {where}: loss {loss}"
    if runner.device.type == "cuda":
        wrong = [
            f"{k} {facts.get(k)!r}, not {v!r}" for k, v in CUDA_PATH.items() if facts.get(k) != v
        ]
        if not facts.get("buckets"):
            wrong.append("no bucket padding")
        if wrong:
            return False, f"preflight failed: {where}: the CUDA path took {'; '.join(wrong)}"
    step_ms = 1000 * rest / max(1, steps - 1)
    path = ", ".join(f"{k} {v}" for k, v in facts.items() if k != "buckets")
    buckets = facts.get("buckets")
    path += f", buckets {buckets[0]}..{buckets[-1]}" if buckets else ", no buckets"
    return True, (
        f"preflight ok: {where} in {time.perf_counter() - start:.1f} s "
        f"({step_ms:.1f} ms a step after the first, loss {loss:.3f}); {path}"
    )


def matmul_peaks(device: str, n: int = 2048, reps: int = 5) -> dict[str, float]:
    """This machine's own fp32 and bf16 matmul rate (TFLOP/s, the best of ``reps`` n x n
    products after one warm-up): the peak a CPU step is measured against."""
    import torch

    from lmmtc.transformers.trainer import resolve_device

    dev = resolve_device(device)
    out = {}
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        a = torch.randn(n, n, device=dev).to(dtype)
        b = torch.randn(n, n, device=dev).to(dtype)
        torch.matmul(a, b)
        best = float("inf")
        for _ in range(reps):
            _sync(dev)
            start = time.perf_counter()
            torch.matmul(a, b)
            _sync(dev)
            best = min(best, time.perf_counter() - start)
        out[name] = 2 * n**3 / best / 1e12
    return out


def add_utilisation(results: dict, peaks: dict[str, float], card_peak: float | None) -> None:
    """Each timed configuration's achieved TFLOP/s and its share of the peak of the
    precision it computes in: the card's dense bf16 peak on CUDA, else the matmul rate
    measured in this run (``hf``/``trainer``: the FLOPs of ``bert``, the same model)."""
    bert_flops = results.get("bert", {}).get("flops_per_step")
    for name, r in results.items():
        flops = r.get("flops_per_step") or (bert_flops if name in ("hf", "trainer") else None)
        if "step_ms" not in r or not flops:
            continue
        precision = r.get("precision", "fp32")
        r["tflops"] = flops / (r["step_ms"] / 1000) / 1e12
        r["peak_tflops"] = _peak(precision, card_peak, peaks)
        r["mfu"] = _share(r["tflops"], precision, card_peak, peaks)


def _peak(precision: str, card_peak: float | None, peaks: dict[str, float]) -> float | None:
    """The peak a step in ``precision`` is measured against: the card's dense bf16 peak
    on CUDA, else the matmul rate measured in this run."""
    return card_peak if card_peak and precision == "bf16" else peaks.get(precision)


def _share(tflops: float, precision: str, card_peak: float | None, peaks: dict) -> float | None:
    """``tflops`` as a fraction of :func:`_peak` (None without one)."""
    peak = _peak(precision, card_peak, peaks)
    return tflops / peak if peak else None


#: The configuration whose step a method's cell is costed with.
CELL_CONFIGS = {"bert": "bert", "bert_mlm": "bert_mlm", "lm": "lm", "lm_mlm": "lm_mlm"}


def cell_costs(results: dict, dataset: str, measured_text_len: int, profile: str = "cpu") -> dict:
    """Training seconds of one ``profile`` cell of each method on ``dataset``: its steps
    (training rows after the profile's subset / batch size, x epochs) x the step measured
    here. Without the dev and test passes; the cell's texts are padded to the batch's
    longest (shorter than the measured length on CPU), so this is an upper bound there."""
    import math

    from benchmarks.running.estimate import capped_rows, epochs_of, train_rows
    from benchmarks.running.plan import Planned
    from benchmarks.store.records import Cell
    from benchmarks.suite.paths import DEFAULT_DATA
    from benchmarks.suite.profiles import get_profile

    out = {}
    for method, config in CELL_CONFIGS.items():
        r = results.get(config, {})
        if "step_ms" not in r:
            continue
        _, resolved = Planned(Cell(profile, dataset, method)).resolve(get_profile(profile))
        params = resolved.params
        rows = capped_rows(train_rows(dataset, DEFAULT_DATA), resolved.subset)
        steps = math.ceil(rows / int(params.get("batch_size", 16))) * epochs_of(params)
        text_len = params.get("text_len") or int(params.get("max_len") or 514) - 2
        out[method] = {
            "profile": profile,
            "dataset": dataset,
            "train_rows": rows,
            "epochs": epochs_of(params),
            "steps": steps,
            "cell_text_len": text_len,
            "measured_text_len": measured_text_len,
            "step_ms": r["step_ms"],
            "train_minutes": steps * r["step_ms"] / 1000 / 60,
        }
    return out


def costs_table(costs: dict) -> str:
    """The cell costs as Markdown."""
    lines = [
        "| method | cell | rows x epochs | steps | cell text len | measured text len | step ms "
        "| training min |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for method, c in costs.items():
        lines.append(
            f"| {method} | {c['profile']}/{c['dataset']} | {c['train_rows']} x {c['epochs']:g} "
            f"| {c['steps']:g} | {c['cell_text_len']} | {c['measured_text_len']} "
            f"| {c['step_ms']:.1f} | {c['train_minutes']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="transformer training throughput, side by side")
    parser.add_argument("--backbone", default="minilm", help="tiny-random, minilm or a path")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--steps", type=int, default=None, help="timed steps (CPU 8, CUDA 30)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed steps (CPU 1, CUDA 5)")
    parser.add_argument("--block", type=int, default=None, help="steps per sync (CPU 1, CUDA 5)")
    parser.add_argument("--batches", type=int, default=4, help="distinct batches, cycled")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seq-len", type=int, default=128, help="bert's length T (text + 2)")
    parser.add_argument("--num-labels", type=int, default=28)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--precision",
        default="auto",
        choices=("auto", "fp32", "bf16"),
        help="the methods' precision option (auto: what a cell gets), also hf's and the "
        "Trainer's (bf16=True)",
    )
    parser.add_argument("--configs", default=None, help="comma-separated subset of CONFIGS")
    parser.add_argument("--cudagraphs", action="store_true", help="also bert_cudagraphs (CUDA)")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory runs")
    parser.add_argument("--no-timing", action="store_true", help="only the peak-memory runs")
    parser.add_argument("--no-mfu", action="store_true", help="skip the BERT-base MFU rows")
    parser.add_argument("--mfu-batch-128", type=int, default=None, help="CPU 2, CUDA 128")
    parser.add_argument("--mfu-batch-512", type=int, default=None, help="CPU 2, CUDA 32")
    parser.add_argument("--mfu-steps", type=int, default=None, help="CPU 2, CUDA 10")
    parser.add_argument("--mfu-compile", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--peak-tflops", type=float, default=None, help="dense bf16 peak")
    parser.add_argument("--quick", action="store_true", help="3 steps, no memory, no CPU compile")
    parser.add_argument("--json", default=None, help="write every number here")
    parser.add_argument(
        "--one-by-one",
        action="store_true",
        help="time each configuration alone, in --configs order, writing the JSON after each "
        "(a GPU window's time limit keeps the rows done); default: interleaved",
    )
    parser.add_argument(
        "--preflight",
        type=int,
        default=None,
        metavar="STEPS",
        help="only run STEPS training steps of bert on the suite's path and print one line; "
        "exit 1 when it fails or (on CUDA) misses bf16, fused AdamW, pinned memory or buckets",
    )
    parser.add_argument(
        "--cell-dataset",
        default="goemotions",
        help="the data set whose cpu-profile cell of each method is costed (default goemotions)",
    )
    parser.add_argument("--memory-worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    code = git_state()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    kind, device_name, peak = device_info(args.device)
    cuda = kind == "cuda"
    peak = args.peak_tflops or peak
    _defaults(args, cuda)
    setup = Setup(
        args.backbone,
        args.device,
        args.batch_size,
        args.seq_len,
        args.num_labels,
        args.batches,
        args.precision,
    )
    if args.preflight is not None:
        ok, line = preflight(setup, max(1, args.preflight))
        print(line, flush=True)
        sys.exit(0 if ok else 1)
    if args.memory_worker:
        print(json.dumps(memory_worker(args.memory_worker, setup)))
        return
    names = args.configs.split(",")
    side, reps = (1024, 2) if args.quick else (2048, 5)  # --quick: a rough peak, 1/20 the work
    peaks = matmul_peaks(args.device, side, reps) if not args.no_timing else {}
    if peaks:
        print(
            f"matmul peak of this machine ({side}^3, best of {reps}): "
            f"fp32 {1000 * peaks['fp32']:.0f}, "
            f"bf16 {1000 * peaks['bf16']:.0f} GFLOP/s",
            flush=True,
        )
    results: dict = {name: {"peak_mb": None} for name in names}

    def write_json(mfu: dict, flat: dict) -> None:
        if not args.json:
            return
        record = {
            "device": kind,
            "device_name": device_name,
            "peak_bf16_tflops": peak,
            "matmul_tflops": peaks,  # measured in this run
            "torch": torch.__version__,
            "git": code,  # the commit whose code ran (read at start)
            "packages": package_versions(),
            "args": {k: v for k, v in vars(args).items() if k != "memory_worker"},
            **flat,
            "samples_per_s": {
                n: r["samples_per_s"] for n, r in results.items() if "samples_per_s" in r
            },
            "configs": results,
            "cell_costs": cell_costs(results, args.cell_dataset, args.seq_len - 2),
            "mfu": mfu,
        }
        with atomic_write(args.json) as handle:  # whole or absent, even when killed
            json.dump(record, handle, indent=1)

    if args.no_timing:
        pass
    elif args.one_by_one:  # each row written as it ends: a time limit keeps the rows done
        for name in names:
            results.update(timing([name], setup, args.steps, args.warmup, args.block))
            add_utilisation(results, peaks, peak)
            write_json({}, ratios(results, {}, args))
            row = results[name]
            shown = row.get("error") or f"{row['step_ms']:.1f} ms a step"
            print(f"{name}: {shown}", flush=True)
    else:
        results = timing(names, setup, args.steps, args.warmup, args.block)
    add_utilisation(results, peaks, peak)
    if not args.no_memory:
        base = _worker_args(argv if argv is not None else sys.argv[1:])
        for name in names:
            if name == "trainer" or CONFIGS[name].compile is not None:
                continue  # the Trainer's own loop; compile's memory is eager's plus caches
            cmd = [sys.executable, "-m", "tools.speed_transformers", *base]
            proc = subprocess.run([*cmd, "--memory-worker", name], capture_output=True, text=True)
            if proc.returncode == 0:
                last = proc.stdout.strip().splitlines()[-1]
                results[name]["peak_mb"] = json.loads(last)["peak_mb"]

    # The MiniLM rows first, written and printed: a run stopped during the MFU rows (by
    # device_window.sh's time limit) keeps them.
    write_json({}, ratios(results, {}, args))
    print(table(results, args, device_name))
    print()
    costs = cell_costs(results, args.cell_dataset, args.seq_len - 2)
    if costs:
        print(
            f"One cpu-profile {args.cell_dataset} cell of each method: its training steps x "
            f"the step measured above (no dev/test passes; the measured text length is the "
            f"cell's longest, dynamic padding makes most batches shorter)"
        )
        print()
        print(costs_table(costs))
        print()
    print(flush=True)
    mfu = {} if args.no_mfu or args.no_timing else mfu_rows(args, peak, peaks)
    flat = ratios(results, mfu, args)
    print(summary(flat, mfu, device_name, peak, args))
    write_json(mfu, flat)


def _worker_args(argv: list[str]) -> list[str]:
    """The command line for a memory worker: this one without --no-timing and --json."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--json":
            skip = True
        elif arg != "--no-timing" and not arg.startswith("--json="):
            out.append(arg)
    return out


def _defaults(args, cuda: bool) -> None:
    """Device-dependent defaults of the options left unset."""
    pick = lambda value, cpu, gpu: value if value is not None else (gpu if cuda else cpu)  # noqa: E731
    quick = args.quick
    args.steps = pick(args.steps, 3 if quick else 8, 10 if quick else 30)
    args.warmup = pick(args.warmup, 1, 5)
    args.block = pick(args.block, 1, 5)
    args.mfu_batch_128 = pick(args.mfu_batch_128, 2, 128)
    args.mfu_batch_512 = pick(args.mfu_batch_512, 2, 32)
    args.mfu_steps = pick(args.mfu_steps, 1 if quick else 2, 10)
    args.mfu_warmup = 1 if not cuda else 5
    args.mfu_block = 1 if not cuda else 5
    args.mfu_compile = pick(args.mfu_compile, False, True)
    args.no_memory = args.no_memory or quick
    if args.configs is None:
        names = [n for n in CONFIGS if n != "bert_cudagraphs"]
        if quick and not cuda:
            names.remove("bert_compile")  # a minute or two of compiling on 2 cores
        if args.cudagraphs and cuda:
            names.append("bert_cudagraphs")
        args.configs = ",".join(names)


def table(results: dict, args, device_name: str) -> str:
    """The Markdown table with the ratios the targets are stated in."""
    lines = [
        f"backbone {args.backbone}, {device_name}, batch {args.batch_size}, T = {args.seq_len}, "
        f"L = {args.num_labels} (3L = {3 * args.num_labels}), median of {args.steps} steps in "
        f"blocks of {args.block} after {args.warmup} warm-up, configurations interleaved "
        f"block by block; peak memory: each alone in a subprocess",
        "",
        "| config | seq len | samples/s | step ms | peak MB | vs | throughput ratio "
        "| precision | TFLOP/s | of peak |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        if "error" in r:
            lines.append(f"| {name} | failed: {r['error']} | | | | | | | | |")
            continue
        ref = REFERENCE.get(name)
        other = results.get(ref or "", {})
        timed = "samples_per_s" in r and "samples_per_s" in other
        ratio = f"{r['samples_per_s'] / other['samples_per_s']:.3f}" if timed else ""
        speed = (
            f"{r['seq_len']} | {r['samples_per_s']:.2f} | {r['step_ms']:.1f}"
            if "samples_per_s" in r
            else " |  | "
        )
        peak = "" if r["peak_mb"] is None else format(r["peak_mb"], ".0f")
        use = (
            f"{r.get('precision', '')} | {r['tflops']:.3f} | "
            + ("n/a" if r.get("mfu") is None else f"{100 * r['mfu']:.1f}%")
            if "tflops" in r
            else f"{r.get('precision', '')} | | "
        )
        lines.append(f"| {name} | {speed} | {peak} | {ref or ''} | {ratio} | {use} |")
    return "\n".join(lines)


def summary(flat: dict, mfu: dict, device_name: str, peak: float | None, args) -> str:
    """The ratios against their targets, and the BERT-base FLOP/s table."""
    lines = ["| measure | value |", "|---|---|"]
    for key, value in flat.items():
        shown = "n/a" if value is None else (f"{value:.3f}" if "ms" not in key else f"{value:.1f}")
        lines.append(f"| {key} | {shown} |")
    if mfu:
        lines += [
            "",
            f"BERT-base size (random-base), {device_name}, dense bf16 peak "
            f"{'n/a (MFU: of the matmul rate measured in this run)' if peak is None else f'{peak:.0f} TFLOP/s'}; "
            f"FLOPs = 6 x N x tokens + attention, N without the embedding tables",
            "",
            "| config | batch | seq len | step ms | samples/s | TFLOP/s | MFU |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, r in mfu.items():
            if "error" in r:
                lines.append(f"| {name} | {r['batch_size']} | failed: {r['error']} | | | | |")
                continue
            share = "n/a" if r["mfu"] is None else f"{100 * r['mfu']:.1f}%"
            lines.append(
                f"| {name} | {r['batch_size']} | {r['seq_len']} | {r['step_ms']:.1f} | "
                f"{r['samples_per_s']:.2f} | {r['tflops']:.3f} | {share} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
