"""Training throughput and peak memory of the transformer methods, side by side.

Not a test: it prints a Markdown table of ratios measured in one run, on the same
batches: ``bert`` against a plain Hugging Face AutoModelForSequenceClassification
(problem_type multi_label_classification) loop (target >= 0.95 of its samples/s), and
``lm`` / ``lm_mlm`` against ``bert`` run at the same total sequence length (the 3L
template tokens make LM-MTC's input longer; target: at most 10% beyond what that longer
sequence costs). Throughput: every configuration is built in one process and their
steps are interleaved round-robin, so that a shared machine's load hits them alike.
Peak memory: each configuration alone in a subprocess (CUDA: max allocated; CPU: peak
RSS of that process).

    python -m benchmarks.speed_transformers --backbone minilm --device cpu --steps 8
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

#: name -> (method or "hf", total sequence length from text length T and labels L)
CONFIGS = {
    "hf": ("hf", "T"),
    "bert": ("bert", "T"),
    "bert_long": ("bert", "T+3L"),
    "lm": ("lm", "T+3L"),
    "lm_mlm": ("lm_mlm", "T+3L"),
    "bert_mlm": ("bert_mlm", "T"),
}


def _batches(args, text_len: int, steps: int):
    """``steps`` fixed batches of random word-piece ids (the same for every config)."""
    import torch

    gen = torch.Generator().manual_seed(0)
    out = []
    for _ in range(steps):
        ids = torch.randint(1000, 20000, (args.batch_size, text_len), generator=gen)
        labels = (torch.rand((args.batch_size, args.num_labels), generator=gen) < 0.2).float()
        out.append((ids.tolist(), labels))
    return out


def _method_step(name: str, args, text_len: int):
    """(network, step function, batches) of one of the suite's methods."""
    import torch

    from lmmtc.registry import get_method
    from lmmtc.transformers.trainer import resolve_device

    method = get_method(name).cls(
        backbone=args.backbone, max_len=text_len + 2 + 3 * args.num_labels, device=args.device
    )
    method._device = resolve_device(args.device)
    method._build([f"label_{j}" for j in range(args.num_labels)], None, seed=0)
    method.network.to(method._device)
    method._gen = torch.Generator().manual_seed(1)
    batches = [
        (method._collate(ids, labels), len(ids))
        for ids, labels in _batches(args, text_len, args.steps + args.warmup)
    ]
    return method.network, method._step, batches


def _hf_step(args, text_len: int):
    """The plain Hugging Face baseline: AutoModelForSequenceClassification, same batches."""
    from transformers import AutoModelForSequenceClassification, BertConfig

    from lmmtc.transformers.backbone import TINY_RANDOM_CONFIG, load_backbone, quiet_transformers
    from lmmtc.transformers.template import collate
    from lmmtc.transformers.trainer import StepLosses, autocast, resolve_device

    device = resolve_device(args.device)
    backbone = load_backbone(args.backbone)
    tok = backbone.tokenizer
    kwargs = {"num_labels": args.num_labels, "problem_type": "multi_label_classification"}
    with quiet_transformers():
        if args.backbone == "tiny-random":
            config = BertConfig(vocab_size=len(tok), **TINY_RANDOM_CONFIG, **kwargs)
            model = AutoModelForSequenceClassification.from_config(config)
        else:
            model = AutoModelForSequenceClassification.from_pretrained(backbone.path, **kwargs)
    model.float().to(device)  # fp32 weights, as the suite's methods (backbone.py)

    def step(batch, epoch):
        with autocast(device, "auto"):
            out = model(
                input_ids=batch.input_ids.to(device),
                attention_mask=batch.attention_mask.to(device),
                labels=batch.labels.to(device),
            )
        return StepLosses(out.loss, out.loss.detach())

    batches = [
        (
            collate(
                ids,
                labels,
                cls_id=tok.cls_token_id,
                sep_id=tok.sep_token_id,
                pad_id=tok.pad_token_id,
                tokens=None,
            ),
            len(ids),
        )
        for ids, labels in _batches(args, text_len, args.steps + args.warmup)
    ]
    return model, step, batches


def build(name: str, args):
    """(model, step, batches, optimizer, scheduler) of one configuration."""
    from lmmtc.seeding import set_seed
    from lmmtc.transformers.trainer import linear_warmup_decay, make_optimizer

    set_seed(0)
    method, length = CONFIGS[name]
    extra = 3 * args.num_labels if length == "T+3L" and method == "bert" else 0
    text_len = args.seq_len - 2 + extra
    if method == "hf":
        model, step, batches = _hf_step(args, text_len)
    else:
        model, step, batches = _method_step(method, args, text_len)
    model.train()
    optimizer = make_optimizer(model, 5e-5, 0.01)
    scheduler = linear_warmup_decay(optimizer, 1, 10**6)
    return model, step, batches, optimizer, scheduler


def one_step(parts, i: int) -> float:
    """One optimiser step on batch ``i`` (the body of trainer.train_loop); its seconds."""
    import torch

    model, step, batches, optimizer, scheduler = parts
    start = time.perf_counter()
    losses = step(batches[i % len(batches)][0], 0.0)
    optimizer.zero_grad(set_to_none=True)
    losses.loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    scheduler.step()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start


def memory_worker(name: str, args) -> dict:
    """Peak memory of one configuration alone (run in a subprocess): CUDA max allocated,
    or the peak resident set size of the process on CPU."""
    import torch

    cuda = args.device != "cpu" and torch.cuda.is_available()
    parts = build(name, args)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    for i in range(2):
        one_step(parts, i)
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


def timing(names: list[str], args) -> dict[str, dict]:
    """Median step time of each configuration, steps interleaved round-robin so that every
    configuration sees the same machine load, step for step."""
    built = {name: build(name, args) for name in names}
    for parts in built.values():
        for i in range(args.warmup):
            one_step(parts, i)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(args.steps):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            times[name].append(one_step(built[name], args.warmup + r))
    results = {}
    for name in names:
        ordered = sorted(times[name])
        median = ordered[len(ordered) // 2]
        results[name] = {
            "seq_len": int(built[name][2][0][0].input_ids.shape[1]),
            "samples_per_s": args.batch_size / median,
            "step_s": median,
            "peak_mb": None,
        }
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="transformer training throughput, side by side")
    parser.add_argument("--backbone", default="minilm", help="tiny-random, minilm or a path")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--steps", type=int, default=8, help="timed steps per configuration")
    parser.add_argument("--warmup", type=int, default=1, help="untimed first steps")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seq-len", type=int, default=128, help="bert's length T (text + 2)")
    parser.add_argument("--num-labels", type=int, default=28)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated subset")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory runs")
    parser.add_argument("--no-timing", action="store_true", help="only the peak-memory runs")
    parser.add_argument("--memory-worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.memory_worker:
        print(json.dumps(memory_worker(args.memory_worker, args)))
        return
    names = args.configs.split(",")
    results = {name: {"peak_mb": None} for name in names} if args.no_timing else timing(names, args)
    if not args.no_memory:
        base = [a for a in (argv if argv is not None else sys.argv[1:]) if a != "--no-timing"]
        for name in names:
            cmd = [sys.executable, "-m", "benchmarks.speed_transformers", *base]
            proc = subprocess.run([*cmd, "--memory-worker", name], capture_output=True, text=True)
            if proc.returncode == 0:
                results[name]["peak_mb"] = json.loads(proc.stdout.strip().splitlines()[-1])[
                    "peak_mb"
                ]
    print(table(results, args))


def table(results: dict, args) -> str:
    """The Markdown table with the ratios the targets are stated in."""
    ref = {
        "hf": None,
        "bert": "hf",
        "bert_long": "bert",
        "lm": "bert_long",
        "lm_mlm": "bert_long",
        "bert_mlm": "bert",
    }
    lines = [
        f"backbone {args.backbone}, device {args.device}, batch {args.batch_size}, T = "
        f"{args.seq_len}, L = {args.num_labels} (3L = {3 * args.num_labels}), "
        f"median of {args.steps} steps after {args.warmup} warm-up, "
        f"configurations interleaved step by step; peak memory: each alone in a subprocess "
        f"({'CUDA max allocated' if args.device != 'cpu' else 'CPU peak RSS, incl. the process'})",
        "",
        "| config | seq len | samples/s | step s | peak MB | vs | throughput ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        other = results.get(ref[name] or "")
        timed = "samples_per_s" in r and other and "samples_per_s" in other
        ratio = f"{r['samples_per_s'] / other['samples_per_s']:.3f}" if timed else ""
        speed = (
            f"{r['seq_len']} | {r['samples_per_s']:.2f} | {r['step_s']:.3f}"
            if "samples_per_s" in r
            else " |  | "
        )
        lines.append(
            f"| {name} | {speed} | "
            f"{'' if r['peak_mb'] is None else format(r['peak_mb'], '.0f')} | "
            f"{ref[name] or ''} | {ratio} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
