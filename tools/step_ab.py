"""Two settings of one training step side by side (issue 20): torch's NaN filling of new
tensors on/off and the encoder's attention (sdpa/eager), interleaved step by step in one
process so that a shared machine's load hits every arm alike. Not a test.

    python -m tools.step_ab --config lm --seq-len 64 --json ab-lm.json
"""

from __future__ import annotations

import argparse
import json
import statistics

from benchmarks.running.provenance import git_state
from lmmtc.atomic import atomic_write

#: arm -> (attention implementation, fill_uninitialized_memory)
ARMS = {
    "sdpa, no fill": ("sdpa", False),
    "sdpa, fill": ("sdpa", True),
    "eager, no fill": ("eager", False),
}


def main(argv: list[str] | None = None) -> int:
    import torch
    import torch.utils.deterministic as deterministic

    from tools.speed_transformers import CONFIGS, Setup, build

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="bert", choices=sorted(CONFIGS))
    parser.add_argument("--seq-len", type=int, default=128, help="bert's length T (text + 2)")
    parser.add_argument("--precision", default="bf16", choices=("auto", "fp32", "bf16"))
    parser.add_argument("--rounds", type=int, default=4, help="blocks of 2 steps an arm")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    runner = build(args.config, Setup("minilm", "cpu", 16, args.seq_len, 28, 2, args.precision))
    runner.block(0, 1)  # warm-up
    encoder = runner.model.encoder
    times: dict[str, list[float]] = {arm: [] for arm in ARMS}
    for i in range(args.rounds):
        for arm, (attention, fill) in ARMS.items():
            encoder.set_attn_implementation(attention)
            deterministic.fill_uninitialized_memory = fill
            times[arm].append(runner.block(2 * i, 2) / 2)
    medians = {arm: statistics.median(t) for arm, t in times.items()}
    print(f"{args.config}, {runner.seq_len} tokens, {torch.get_num_threads()} threads:")
    for arm, median in medians.items():
        print(f"  {arm}: {median:.3f} s a step (median of {args.rounds})")
    if args.json:
        record = {"args": vars(args), "seq_len": runner.seq_len, "git": git_state()}
        record["arms"] = {a: {"steps_s": times[a], "median_s": medians[a]} for a in ARMS}
        with atomic_write(args.json) as handle:
            handle.write(json.dumps(record, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
