"""Running cells within a time budget (``--budget SECONDS``), in a profile's priority order.

GPU time comes in short windows, so the runner must use one well and stop cleanly: the
planned cells are ordered by the profile's priority list (:attr:`Profile.priority`, first
matching entry first; cells no entry names come last, in plan order); each cell's cost is
estimated (:func:`estimate_cell`: from earlier run files of the same method, data set and
device class, else the profile's cost table); a cell runs only when its estimate, times
:data:`MARGIN`, fits in what is left; its run file is written as it ends. A cell that
overruns anyway is stopped at the deadline by :mod:`lmmtc.deadline` (the training and
evaluation loops check it once a step) and leaves no run file. The cells left are listed
at the end, and the runner exits with :data:`EXIT_CELLS_LEFT` when some are left and none
failed, so that a caller can tell "do the next window" from "done" and "broken".

``--priority`` plans the priority list itself (:func:`priority_plan`): the gpu profile's
GoEmotions ``bert``/``lm``/``lm_mlm`` seeds 1-3, then Figure 5 (seed 1), Table 4, the
ablation (seed 1), then Reuters.
"""

from __future__ import annotations

import contextlib
import re
import statistics
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from benchmarks.running.estimate import capped_rows, epochs_of, table_seconds, train_rows
from benchmarks.running.execute import DataCache, cells_to_run, run_planned
from benchmarks.running.options import RunOptions
from benchmarks.running.plan import (
    PlanError,
    Planned,
    cell_reason,
    dataset_key,
    plan_cells,
    print_aliases,
)
from benchmarks.store.records import Cell, RecordError, RunRecord, iter_records, read_record
from benchmarks.suite.experiments import get_experiment
from benchmarks.suite.profiles import Priority, Profile
from lmmtc.deadline import DeadlineReached, time_limit

#: Exit status when the budget left cells to run and none failed (sysexits' EX_TEMPFAIL:
#: "try again later"); 0 means every planned cell ran or was done, 1 that one failed.
EXIT_CELLS_LEFT = 75
#: A cell starts only when its estimate times this fits in the time left.
MARGIN = 1.15


def check_budget_options(options: RunOptions) -> None:
    """--budget runs cells one after the other in this process: not with a launcher, not
    under a distributed launch (the ranks would stop at different steps)."""
    if options.budget is None:
        return
    if options.launch.launcher:
        raise PlanError("--budget runs the cells in this process: leave out --launcher")
    from lmmtc.distributed import launched_distributed

    if launched_distributed():
        raise PlanError("--budget does not work under a distributed launch: run one process")


# --- order ---------------------------------------------------------------------------------


def _narrow(declared: Sequence, asked: Sequence) -> list | None:
    """The values of an entry's filter that the command line keeps (None: no filter)."""
    if not asked:
        return list(declared) or None
    return [value for value in declared or asked if value in asked]


def priority_plan(options: RunOptions, profile: Profile) -> list[Planned]:
    """``--priority``: the cells of the profile's priority list, in its order (a cell named
    by two entries keeps the first place), narrowed by --dataset/--method/--variant/--seeds."""
    if not profile.priority:
        raise PlanError(f"profile {profile.name!r} declares no priority list; leave out --priority")
    keys = [dataset_key(d) for d in options.datasets]
    planned: dict[Cell, Planned] = {}
    for entry in profile.priority:
        experiment = get_experiment(entry.experiment)
        narrowed = [
            _narrow(entry.datasets or experiment.datasets, keys),
            _narrow(entry.methods, options.methods),
            _narrow(entry.variants, options.variants),
            _narrow(entry.seeds, options.seeds or ()),
        ]
        if any(values == [] for values in narrowed):
            continue  # the command line leaves nothing of this entry
        datasets, methods, variants, seeds = narrowed
        sub = replace(
            options,
            experiments=[experiment.name],
            datasets=datasets or [],
            methods=methods or [],
            variants=variants or [],
            seeds=seeds,
        )
        for item in plan_cells(sub, profile):
            planned.setdefault(item.cell, item).merge(item)
    return list(planned.values())


def matches(entry: Priority, cell: Cell) -> bool:
    """Whether ``cell`` is one of the cells priority ``entry`` names."""
    experiment = get_experiment(entry.experiment)
    variants = entry.variants or tuple(v.name or "default" for v in experiment.variants)
    return (
        cell.dataset in (entry.datasets or experiment.datasets)
        and cell.method in (entry.methods or experiment.methods)
        and (cell.variant or "default") in variants
        and (not entry.seeds or cell.seed in entry.seeds)
    )


def order_by_priority(planned: Sequence[Planned], profile: Profile) -> list[Planned]:
    """``planned`` sorted by the first priority entry naming each cell; the others last, in
    their order."""

    def rank(item: Planned) -> int:
        for i, entry in enumerate(profile.priority):
            if matches(entry, item.cell):
                return i
        return len(profile.priority)

    return sorted(planned, key=rank)


# --- cost ----------------------------------------------------------------------------------


def device_class(description: str) -> str:
    """A run file's device without the core count: ``cuda: NVIDIA H200``, ``cpu: <model>``."""
    return re.sub(r" \(\d+ logical cores\)$", "", description)


def planned_device_class(params: dict) -> str:
    """The device class a cell with these parameters would run on here (``device: auto``:
    CUDA when torch sees it; methods without a ``device`` run on the CPU)."""
    from benchmarks.running.provenance import device_description

    device = str(params.get("device") or "cpu")
    if device == "auto":
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    return device_class(device_description(device))


@dataclass(frozen=True)
class Estimate:
    seconds: float
    source: str  # where the number comes from, for the log


def _work(rows: int, params: dict) -> float:
    """Training rows x epochs: what a cell's time is scaled by."""
    return max(1, rows) * epochs_of(params)


def _seconds(record: RunRecord) -> float:
    """A run's time in the runner: fit (with its dev passes) and the test pass, plus the
    dev pass after fit, which the record does not time (scaled from the test pass)."""
    sizes, timing = record.dataset.sizes, record.timing
    dev_pass = timing.test_predict_seconds * sizes.get("dev", 0) / max(1, sizes.get("test", 1))
    return timing.fit_seconds + timing.test_predict_seconds + dev_pass


@dataclass
class History:
    """The run files under a results folder (every profile), for estimates by method, data
    set and device class; cells run now are added as they end."""

    records: list[RunRecord] = field(default_factory=list)

    @classmethod
    def load(cls, results_dir: Path) -> History:
        with warnings.catch_warnings():  # an unreadable file is reported where it matters
            warnings.simplefilter("ignore")
            return cls(list(iter_records(results_dir)))

    def add(self, path: Path) -> None:
        with contextlib.suppress(RecordError):  # the runner just wrote it
            self.records.append(read_record(path))

    def estimate(self, cell: Cell, rows: int, params: dict, device: str) -> Estimate | None:
        """The median of the matching runs' times scaled to this cell's rows x epochs: runs
        of the same variant where there are any, else of every variant of the method."""
        same = [
            r
            for r in self.records
            if r.cell.dataset == cell.dataset
            and r.cell.method == cell.method
            and device_class(r.environment.device) == device
        ]
        exact = [r for r in same if r.cell.variant == cell.variant]
        runs = exact or same
        if not runs:
            return None
        work = _work(rows, params)
        scaled = [
            _seconds(r) * work / _work(r.dataset.sizes.get("train", 1), r.config.params)
            for r in runs
        ]
        which = "" if exact else " (other variants)"
        return Estimate(statistics.median(scaled), f"{len(runs)} earlier runs on {device}{which}")


def estimate_cell(
    item: Planned, profile: Profile, overrides: dict, rows: int, history: History
) -> Estimate:
    """Seconds ``item`` should take here: from ``history`` when it holds runs of the same
    method, data set and device class, else the profile's cost table."""
    spec, resolved = item.resolve(profile, overrides)
    rows = capped_rows(rows, resolved.subset)
    found = history.estimate(
        item.cell, rows, resolved.params, planned_device_class(resolved.params)
    )
    if found is not None:
        return found
    epochs = epochs_of(resolved.params)
    seconds = table_seconds(spec.family, rows, epochs, profile, item.cell.dataset)
    return Estimate(seconds, f"the {profile.name} profile's cost table")


# --- running -------------------------------------------------------------------------------


@dataclass
class BudgetOutcome:
    """What a budgeted run did: run files written, failures, and the cells left with why
    and their estimated seconds."""

    written: list[Path] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    left: list[tuple[Planned, float, str]] = field(default_factory=list)

    def exit_code(self, code: int) -> int:
        """``code`` from the end of the run, or :data:`EXIT_CELLS_LEFT` when it is 0 and
        cells are left."""
        return EXIT_CELLS_LEFT if code == 0 and self.left else code


def run_within_budget(
    planned: Sequence[Planned],
    options: RunOptions,
    profile: Profile,
    data: DataCache,
    started: float,
) -> BudgetOutcome:
    """Run the cells of ``planned`` that are not done, in priority order, while they fit in
    ``options.budget`` seconds counted from ``started`` (``time.monotonic()``)."""
    assert options.budget is not None
    deadline = started + options.budget
    history = History.load(options.results_dir)
    outcome = BudgetOutcome()
    spent = False
    # cells whose data is missing (named by finish()) or that are done drop out here
    for item, dataset, _ in cells_to_run(order_by_priority(planned, profile), options, data):
        try:
            estimate = estimate_cell(item, profile, options.overrides, len(dataset.train), history)
        except Exception:  # noqa: BLE001 - a config that does not resolve: run_planned says why
            estimate = Estimate(0.0, "no estimate: its config does not resolve")
        left = deadline - time.monotonic()
        label = item.cell.label()
        if spent or estimate.seconds * MARGIN > left:
            why = "the budget is spent" if spent else f"needs ~{estimate.seconds:.0f} s"
            if not spent and estimate.seconds * MARGIN > options.budget:
                why += ", more than the whole budget"
            outcome.left.append((item, estimate.seconds, f"{why} ({estimate.source})"))
            continue
        print(f"budget: {label}: ~{estimate.seconds:.0f} s ({estimate.source}), {left:.0f} s left")
        try:
            with time_limit(deadline):
                written, failures = run_planned([item], options, profile, data)
        except DeadlineReached:
            print(f"budget: {label} cut off at the deadline; no run file written")
            outcome.left.append((item, estimate.seconds, "cut off at the deadline"))
            spent = True
            continue
        outcome.written += written
        outcome.failures += failures
        for written_path in written:
            history.add(written_path)
        if failures and options.fail_fast:
            break
    print_left(outcome, options.budget, time.monotonic() - started)
    return outcome


def print_left(outcome: BudgetOutcome, budget: float, used: float) -> None:
    """The cells left for the next window, with why and their estimate."""
    if not outcome.left:
        print(f"budget: nothing left ({used:.0f} of {budget:.0f} s used)")
        return
    total = sum(seconds for _, seconds, _ in outcome.left)
    print(
        f"left for the next window: {len(outcome.left)} cells, ~{total / 60:.1f} min "
        f"estimated ({used:.0f} of {budget:.0f} s used); rerun the same command to go on"
    )
    for item, seconds, why in outcome.left:
        print(f"  {item.cell.label():<60} ~{seconds:.0f} s  {why}")


def print_budget_dry_run(planned: Sequence[Planned], options: RunOptions, profile: Profile) -> None:
    """--dry-run with --budget: the cells in the order they would run, each one's estimate,
    and which fit in the budget (data not loaded: rows from meta.json or Table 1)."""
    assert options.budget is not None
    history = History.load(options.results_dir)
    used = 0.0
    for item in order_by_priority(planned, profile):
        path = item.cell.path(options.results_dir)
        done = path.exists() and not options.overwrite
        if done and cell_reason(item, profile, options.overrides, path, None) is None:
            print(f"  {item.cell.label():<60} done")
            print_aliases(item)
            continue
        rows = train_rows(item.cell.dataset, options.data_dir)
        try:
            estimate = estimate_cell(item, profile, options.overrides, rows, history)
        except Exception as err:  # noqa: BLE001 - reported, as the run would
            print(f"  {item.cell.label():<60} config does not resolve: {err}")
            print_aliases(item)
            continue
        fits = used + estimate.seconds * MARGIN <= options.budget
        used += estimate.seconds if fits else 0.0
        state = "runs" if fits else "left"
        print(f"  {item.cell.label():<60} {state:<5} ~{estimate.seconds:.0f} s ({estimate.source})")
        print_aliases(item)
    print(f"budget {options.budget:.0f} s: ~{used:.0f} s of cells fit (estimates)")
