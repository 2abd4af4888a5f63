"""Where one training step's time goes (issue 20): the suite's own training path of a
method (``tools.speed_transformers``' runners), a few steps under ``torch.profiler``, each
aten operator's self time put in one of a few groups (matmuls, attention, dropout, ...).

Not a test: it prints one Markdown table (group, ms a step, share of the step) and, with
``--json``, writes the same numbers with the run's provenance. The step's wall time minus
the operators' self time is "outside operators" (Python, the autograd engine's own
bookkeeping). Shares come from one process, so they hold on a shared machine better than
the absolute milliseconds do.

    python -m tools.step_breakdown --config bert --precision bf16
    python -m tools.step_breakdown --config lm --seq-len 64 --json breakdown.json
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Iterable

from benchmarks.running.provenance import git_state
from lmmtc.atomic import atomic_write

os.environ.setdefault("HF_HUB_OFFLINE", "1")

#: (group, operator-name fragments), first match wins: the order matters (attention's
#: fused kernels before the plain matmuls, the optimiser before the elementwise ops).
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("optimiser", ("adam", "clip_grad", "_foreach")),
    ("loss", ("binary_cross_entropy", "cross_entropy", "nll_loss", "log_softmax")),
    ("attention", ("scaled_dot_product", "softmax")),
    ("matmul", ("addmm", "mm", "bmm", "matmul", "linear", "mkldnn")),
    ("dropout", ("dropout", "bernoulli")),
    ("layer norm", ("layer_norm",)),
    ("activation", ("gelu", "tanh")),
    ("embedding", ("embedding",)),
    ("copies and casts", ("_to_copy", "aten::to", "copy_", "clone")),
)
OTHER = "other operators"
OUTSIDE = "outside operators"


def group_of(op_name: str) -> str:
    """The group of an aten operator name (``aten::addmm`` -> ``matmul``)."""
    name = op_name.lower()
    for group, fragments in GROUPS:
        if any(fragment in name for fragment in fragments):
            return group
    return OTHER


def breakdown(self_us: Iterable[tuple[str, float]], wall_us: float, steps: int) -> list[dict]:
    """Rows (group, ms a step, share of the wall time), largest first, from each
    operator's (name, self time in us) over ``steps`` steps lasting ``wall_us`` in all;
    the rest of the wall time is :data:`OUTSIDE`."""
    totals: dict[str, float] = {}
    for name, us in self_us:
        group = group_of(name)
        totals[group] = totals.get(group, 0.0) + us
    totals[OUTSIDE] = max(0.0, wall_us - sum(totals.values()))
    rows = [
        {"group": g, "ms_per_step": us / steps / 1000, "share": us / wall_us if wall_us else 0.0}
        for g, us in totals.items()
    ]
    return sorted(rows, key=lambda r: -r["ms_per_step"])


def profile_steps(runner, steps: int) -> tuple[list[tuple[str, float]], float]:
    """Run ``steps`` training steps of a built runner under the profiler: each operator's
    (name, self CPU time in us) and the steps' wall time in us."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        start = time.perf_counter()
        runner.block(1, steps)
        wall_us = (time.perf_counter() - start) * 1e6
    ops = [(e.key, float(e.self_cpu_time_total)) for e in prof.key_averages()]
    return ops, wall_us


def main(argv: list[str] | None = None) -> int:
    from tools.speed_transformers import CONFIGS, Setup, build

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="bert", choices=sorted(CONFIGS))
    parser.add_argument("--backbone", default="minilm", help="tiny-random, minilm or a path")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16"))
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seq-len", type=int, default=128, help="bert's length T (text + 2)")
    parser.add_argument("--num-labels", type=int, default=28)
    parser.add_argument("--steps", type=int, default=4, help="profiled steps (after 1 warm-up)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", default=None, help="write the rows here")
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error("--steps must be at least 1")

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    setup = Setup(
        args.backbone, args.device, args.batch_size, args.seq_len, args.num_labels, 2,
        args.precision,
    )  # fmt: skip
    runner = build(args.config, setup)
    runner.block(0, 1)  # warm-up: allocator, caches
    ops, wall_us = profile_steps(runner, args.steps)
    rows = breakdown(ops, wall_us, args.steps)
    print(
        f"{args.config}, {args.backbone}, batch {args.batch_size}, {runner.seq_len} tokens, "
        f"{runner.facts.get('precision')}, {torch.get_num_threads()} threads, "
        f"{args.steps} steps: {wall_us / args.steps / 1000:.0f} ms a step\n"
    )
    print("| group | ms a step | share |\n|---|---:|---:|")
    for row in rows:
        print(f"| {row['group']} | {row['ms_per_step']:.1f} | {row['share']:.1%} |")
    if args.json:
        record = {
            "args": vars(args),
            "seq_len": runner.seq_len,
            "precision": runner.facts.get("precision"),
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "git": git_state(),
            "step_ms": wall_us / args.steps / 1000,
            "rows": rows,
            "top_ops": sorted(ops, key=lambda o: -o[1])[:25],
        }
        with atomic_write(args.json) as handle:
            handle.write(json.dumps(record, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
