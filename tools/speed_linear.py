"""Speed of the suite's ``br`` against LibMultiLabel's linear one-vs-rest, side by side.

Both train on the same TF-IDF matrix (the suite's vectoriser, fitted once on train) with
the same liblinear solver (L2-regularised squared-hinge SVM, dual, ``-s 1``) and C; the
script prints a Markdown table of fit+predict wall time, peak memory growth during the
fit and predict, test micro-F1 (threshold: decision value 0) and the ratios ours/theirs.

    python -m tools.speed_linear --data-dir DATA_DIR --datasets reuters goemotions

LibMultiLabel is an optional extra (``pip install 'lmmtc-bench[libmultilabel]'``). Known
pitfalls handled here: its labels must be float (uint8 makes ``2*y-1`` wrap to 255, so
every label looks positive); it fits no bias unless ``-B 1`` is given (rows "theirs, no
bias" show what that costs); its ``train_thresholding`` fails on SciPy 1.17 (not used).
Both sides get the same stopping tolerance (``--tol``, liblinear's ``-e``; default 0.1,
liblinear's own default for ``-s 1``). Peak memory is the growth of resident memory during
fit + predict, each side measured in its own forked child from the same starting state.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from baselines.features import make_vectorizer
from baselines.linear import BinaryRelevanceMethod
from lmmtc.data import load_dataset
from lmmtc.metrics import micro_f1

INSTALL_HINT = (
    "LibMultiLabel is not installed: this benchmark compares against it. Install it with\n"
    "  pip install 'lmmtc-bench[libmultilabel]'   (or: pip install libmultilabel)\n"
    "(it compiles LIBLINEAR, about 2 minutes)."
)


@dataclass
class Measurement:
    """One side of the comparison on one data set."""

    who: str
    seconds: float
    peak_mib: float
    micro_f1: float


class PeakMemory:
    """Peak resident memory above the level at entry, sampled every 5 ms by a thread
    (tracemalloc would miss liblinear's C allocations)."""

    def __enter__(self) -> PeakMemory:
        import psutil  # comes with libmultilabel

        gc.collect()
        self._process = psutil.Process()
        self.base = self.peak = self._process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)

    @property
    def mib(self) -> float:
        return (self.peak - self.base) / 2**20


def _measure_here(who: str, run: Callable[[], np.ndarray], y_test: np.ndarray, conn) -> None:
    with PeakMemory() as memory:
        start = time.perf_counter()
        decision = run()  # (n_test, L)
        seconds = time.perf_counter() - start
    conn.send(Measurement(who, seconds, memory.mib, micro_f1(y_test, decision > 0)))
    conn.close()


def measure(who: str, run: Callable[[], np.ndarray], y_test: np.ndarray) -> Measurement:
    """Time ``run`` (fit + predict, returning test decision values) and score it, in a
    forked child: each side starts from the same memory state (no allocator reuse of what
    the previous side freed), and the child's threads die with it."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_measure_here, args=(who, run, y_test, sender))
    child.start()
    result = receiver.recv()
    child.join()
    return result


def ours(X, Y, X_test, C: float, tol: float, n_jobs: int) -> Callable[[], np.ndarray]:
    method = BinaryRelevanceMethod(C_grid=[C], tol=tol, n_jobs=n_jobs)

    def run() -> np.ndarray:
        W, b = method.fit_model(X, Y, C, seed=0)
        return np.asarray(X_test @ W) + b

    return run


def theirs(X, Y, X_test, C: float, tol: float, bias: bool) -> Callable[[], np.ndarray]:
    from libmultilabel import linear

    # float labels: LibMultiLabel computes 2*y-1, which wraps to 255 on uint8
    Y_float = sp.csr_matrix(Y.astype(np.float64))
    options = f"-s 1 -c {C} -e {tol}" + (" -B 1" if bias else "")

    def run() -> np.ndarray:
        model = linear.train_1vsrest(Y_float, X, options=options, verbose=False)
        return np.asarray(linear.predict_values(model, X_test))

    return run


def benchmark(data_dir: str, name: str, C: float, tol: float, n_jobs: int) -> list[Measurement]:
    data = load_dataset(name, data_dir)
    analyzer = "whitespace" if name == "gaic" else "char" if name == "rmsc" else "word"
    vectorizer = make_vectorizer(analyzer, (1, 1) if analyzer == "word" else (1, 2))
    X = vectorizer.fit_transform(data.train.texts)  # (n, F) CSR, shared by both sides
    X_test = vectorizer.transform(data.test.texts)
    Y, y_test = data.train.labels, data.test.labels
    import psutil  # comes with libmultilabel

    threads = psutil.cpu_count(logical=False) or 1  # what LibMultiLabel uses
    runs = [
        ("ours (br, 1 thread)", ours(X, Y, X_test, C, tol, 1)),
        (f"ours (br, {n_jobs or threads} threads)", ours(X, Y, X_test, C, tol, n_jobs or threads)),
        (f"LibMultiLabel -B 1 ({threads} threads)", theirs(X, Y, X_test, C, tol, True)),
        (f"LibMultiLabel no bias ({threads} threads)", theirs(X, Y, X_test, C, tol, False)),
    ]
    print(f"{name}: train {X.shape[0]} x {X.shape[1]} features, {Y.shape[1]} labels, tol {tol}")
    # warm both sides in the parent on a slice: the forked children inherit loaded modules
    # and do not pay LibMultiLabel's lazy imports (about 1 s and 70 MiB) in the measurement
    ours(X[:200], Y[:200], X_test[:10], C, tol, 1)()
    theirs(X[:200], Y[:200], X_test[:10], C, tol, True)()
    return [measure(who, run, y_test) for who, run in runs]


def table(results: dict[str, list[Measurement]]) -> str:
    """Markdown table; ratios against LibMultiLabel with a bias (the same model as ours)."""
    lines = [
        "| data set | who | fit+predict s | peak MiB | micro-F1 | time ratio ours/theirs "
        "| memory ratio |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, rows in results.items():
        reference = next(r for r in rows if r.who.startswith("LibMultiLabel -B 1"))
        for r in rows:
            ratio = f"{r.seconds / reference.seconds:.2f}" if r.who.startswith("ours") else ""
            memory = (
                f"{r.peak_mib / max(reference.peak_mib, 1e-9):.2f}"
                if r.who.startswith("ours")
                else ""
            )
            lines.append(
                f"| {name} | {r.who} | {r.seconds:.2f} | {r.peak_mib:.0f} | {r.micro_f1:.4f} "
                f"| {ratio} | {memory} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True, help="folder of converted data sets")
    parser.add_argument("--datasets", nargs="+", default=["reuters", "goemotions"])
    parser.add_argument("--C", type=float, default=1.0)
    parser.add_argument(
        "--tol", type=float, default=0.1, help="stopping tolerance of both (liblinear -e)"
    )
    parser.add_argument("--n-jobs", type=int, default=0, help="our threads (0: as theirs)")
    args = parser.parse_args(argv)
    try:
        import libmultilabel.linear  # noqa: F401
    except ImportError:
        print(INSTALL_HINT)
        return 2
    results = {
        name: benchmark(args.data_dir, name, args.C, args.tol, args.n_jobs)
        for name in args.datasets
    }
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
