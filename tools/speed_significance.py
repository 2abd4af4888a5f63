"""Speed of the suite's paired bootstrap against ``scipy.stats.bootstrap(paired=True)``.

Both resample the same per-document counts of two runs (A against B on one data set's
test documents, 10,000 resamples) and give a 95% percentile interval of A − B for each
of the paper's four metrics; the suite's one call also gives the p-values and, in a
second timing, every registered metric. Prints a Markdown table of CPU seconds (best of
``--repeat``) and the intervals side by side (they differ by Monte Carlo error only:
the two draw different resamples).

    python -m tools.speed_significance --results-dir results --profile cpu \\
        --dataset goemotions --method cc --against br

Pin one core for the "one core" figure: ``OMP_NUM_THREADS=1 taskset -c 0 python -m ...``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from benchmarks.analysis.significance import BOOTSTRAP_SEED, CONFIDENCE, RESAMPLES, compare_runs
from benchmarks.analysis.tables import RunIndex
from benchmarks.compare import split_method_dir
from benchmarks.suite.paths import DEFAULT_RESULTS
from lmmtc.metrics import METRICS, PAPER_METRICS


def best_of(repeat: int, work: Callable[[], object]) -> tuple[float, object]:
    """The smallest CPU time of ``repeat`` calls of ``work`` and its last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.process_time()
        result = work()
        times.append(time.process_time() - start)
    return min(times), result


def scipy_intervals(index: RunIndex, runs_a, runs_b, metrics: Sequence[str]) -> dict:
    """``scipy.stats.bootstrap(paired=True)`` over the same per-document counts: one
    call per metric, each resampling documents for both methods together."""
    from scipy.stats import bootstrap

    a, b = index.scores(runs_a[0])["test"], index.scores(runs_b[0])["test"]
    num_labels = a.labels.shape[1]
    out = {}
    for name in metrics:
        metric = METRICS[name]
        counts_a = metric.document_counts(a.labels, a.scores).T.astype(float)  # (k, n)
        counts_b = metric.document_counts(b.labels, b.scores).T.astype(float)
        n = counts_a.shape[1]

        def statistic(x: np.ndarray, y: np.ndarray, axis: int = -1, metric=metric, n=n):
            # x, y: (k, [resamples,] n) counts; their sums over documents give the metric
            sums_a, sums_b = np.moveaxis(x.sum(axis), 0, -1), np.moveaxis(y.sum(axis), 0, -1)
            from_sums = metric.counts.from_sums
            return from_sums(sums_a, n, num_labels) - from_sums(sums_b, n, num_labels)

        result = bootstrap(
            (counts_a, counts_b),
            statistic,
            n_resamples=RESAMPLES,
            paired=True,
            vectorized=True,
            axis=-1,
            confidence_level=CONFIDENCE,
            method="percentile",
            rng=np.random.default_rng(BOOTSTRAP_SEED),
            batch=500,
        )
        out[name] = (float(result.confidence_interval.low), float(result.confidence_interval.high))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.speed_significance",
        description="Time the suite's paired bootstrap against scipy.stats.bootstrap(paired=True)",
    )
    parser.add_argument("--results-dir", type=Path, default=Path(DEFAULT_RESULTS))
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--dataset", default="goemotions")
    parser.add_argument("--method", default="cc")
    parser.add_argument("--against", default="br")
    parser.add_argument("--repeat", type=int, default=3, help="timings per variant (best kept)")
    args = parser.parse_args(argv)
    index = RunIndex(args.results_dir, args.profile)
    runs = [index.runs(args.dataset, *split_method_dir(m)) for m in (args.method, args.against)]
    if not all(runs):
        print(
            f"error: no run files for {args.method} and {args.against} on {args.dataset} "
            f"under {args.results_dir}/runs/{args.profile}",
            file=sys.stderr,
        )
        return 1
    runs = [group[:1] for group in runs]  # one seed each: scipy's call below takes one

    def ours(metrics):
        return lambda: compare_runs(*runs, metrics, load=index.scores)

    ours_paper_s, paper = best_of(args.repeat, ours(PAPER_METRICS))
    ours_all_s, every = best_of(args.repeat, ours(list(METRICS)))
    scipy_s, theirs = best_of(
        args.repeat, lambda: scipy_intervals(index, runs[0], runs[1], PAPER_METRICS)
    )
    n = paper.documents
    print(
        f"{args.method} against {args.against} on {args.dataset} ({n} test documents), "
        f"{RESAMPLES:,} resamples, CPU seconds (best of {args.repeat})\n"
    )
    print("| variant | metrics | CPU s |")
    print("|---|---|---|")
    print(f"| suite, grouped multinomial | paper's four (+ p-values) | {ours_paper_s:.3f} |")
    print(f"| suite, grouped multinomial | all {len(every.results)} | {ours_all_s:.3f} |")
    print(f"| scipy.stats.bootstrap(paired=True) | paper's four (no p-values) | {scipy_s:.3f} |")
    print("\n| metric | suite interval | scipy interval |")
    print("|---|---|---|")
    for name in PAPER_METRICS:
        spec, ours_ci = METRICS[name], paper.results[name]
        low, high = theirs[name]
        show = lambda x, spec=spec: spec.format_diff(spec.display(x))  # noqa: E731
        print(
            f"| {spec.label} | [{show(ours_ci.low)}, {show(ours_ci.high)}] | "
            f"[{show(low)}, {show(high)}] |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
