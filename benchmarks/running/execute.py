"""Executing a plan: obtain each data set once, run the cells that are not done, write
their run files (and arrays beside them), and finish with the report and a status.

One bad data set or cell never stops the others: each failure is one line naming the
data set or cell (``--debug`` adds the traceback) and makes the exit status 1. A data
set named with ``--dataset`` that cannot be had is a failure; one that an experiment
lists and whose files are simply absent is skipped with how to get it (a profile's
``--all`` runs what is available). Cells are claimed with lock files
(:mod:`benchmarks.store.locks`), so runners sharing a results folder split the work.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import signal
import sys
import traceback
import warnings
from collections.abc import Sequence
from pathlib import Path

from tqdm.auto import tqdm

from benchmarks.running.harness import CellResult, data_record, run_cell
from benchmarks.running.options import RunOptions
from benchmarks.running.plan import Planned, cell_reason, dataset_key
from benchmarks.running.tasks import DatasetUnavailable, prepare_dataset
from benchmarks.running.tracking import log_run_safely
from benchmarks.store.locks import CellLock
from benchmarks.store.records import (
    NewerSchemaError,
    RecordError,
    data_record_path,
    read_data_record,
    read_record,
    write_record,
)
from benchmarks.store.scores import write_scores
from benchmarks.suite.profiles import Profile
from data_prep.base import NonstandardReleaseWarning
from data_prep.canonical import ConversionError
from lmmtc.data import DataError, DataWarning, MultiLabelDataset
from lmmtc.deadline import DeadlineReached
from lmmtc.distributed import is_main_process, launched_distributed

_INTERRUPTED = {"by_user": False}


def _on_sigint(signum: int, frame: object) -> None:
    """SIGINT: remember that the user asked to stop, then stop as Python does."""
    _INTERRUPTED["by_user"] = True
    raise KeyboardInterrupt


def watch_interrupts() -> None:
    """Tell a user's Ctrl-C from a KeyboardInterrupt a method raises itself (the first
    ends the run, the second fails its cell only). Main thread only."""
    _INTERRUPTED["by_user"] = False
    with contextlib.suppress(ValueError):  # not the main thread: leave it
        signal.signal(signal.SIGINT, _on_sigint)


def user_interrupted() -> bool:
    """Whether SIGINT arrived since :func:`watch_interrupts`."""
    return _INTERRUPTED["by_user"] or signal.getsignal(signal.SIGINT) is not _on_sigint


#: The one line a Ctrl-C prints (exit status 130).
INTERRUPTED = "interrupted; rerun the same command to resume"


def one_line(err: BaseException) -> str:
    """``Type: message`` on one line (the first line of a long message)."""
    lines = str(err).strip().splitlines() or [""]
    more = " [...]" if len(lines) > 1 else ""
    return f"{type(err).__name__}: {lines[0]}{more}".rstrip(": ")


class DataCache:
    """Loads each data set once per run; remembers unavailable ones with their reason."""

    def __init__(self, options: RunOptions, profile: Profile) -> None:
        self.options, self.profile = options, profile
        self.paths = {dataset_key(d): d for d in options.datasets}
        self.loaded: dict[str, MultiLabelDataset] = {}
        self.missing: dict[str, str] = {}  # absent, not asked for by name: skipped
        self.failed: dict[str, str] = {}  # broken, or asked for and absent: exit 1
        #: cells not run: their run file exists but cannot be read, so it is kept (exit 1)
        self.kept: dict[str, str] = {}

    def fail(self, name: str, reason: str) -> None:
        """Record (and print) that data set ``name`` could not be used."""
        reason = reason.removeprefix(f"{name}: ")
        self.failed[name] = reason
        tqdm.write(f"FAILED data set {name}: {reason}")
        if self.options.debug:
            traceback.print_exc()

    def get(self, name: str) -> MultiLabelDataset | None:
        if name in self.loaded:
            return self.loaded[name]
        if name in self.missing or name in self.failed:
            return None
        try:
            with warnings.catch_warnings():  # printed below, once, as one line each
                warnings.simplefilter("ignore", DataWarning)
                warnings.simplefilter("ignore", NonstandardReleaseWarning)
                dataset = prepare_dataset(
                    self.paths.get(name, name),
                    data_dir=self.options.data_dir,
                    raw_dir=self.options.raw_dir,
                    synthetic_fallback=self.profile.synthetic_fallback,
                    allow_nonstandard=self.options.allow_nonstandard,
                )
        except DatasetUnavailable as err:
            if name in self.paths:  # named with --dataset: asked for, so a failure
                self.fail(name, str(err))
                return None
            self.missing[name] = str(err).removeprefix(f"{name}: ")
            tqdm.write(f"skipped data set {name}: {self.missing[name]}")
            return None
        except (DataError, ConversionError) as err:
            self.fail(name, str(err))
            return None
        except Exception as err:  # noqa: BLE001 - one data set never stops the others
            self.fail(name, one_line(err))
            return None
        if self.paths.get(name, name) != name:
            tqdm.write(f"data set {name}: the folder {dataset.path.resolve()}")
        for note in dataset.warnings:
            tqdm.write(f"warning: {note}")
        self.loaded[name] = dataset
        return dataset


def write_data_records(
    names: Sequence[str], data: DataCache, options: RunOptions, profile: Profile
) -> None:
    """One data.json per data set: Table 1's statistics and the label correlations that
    Figures 1 and 3 plot, so that the report, too, reads files only."""
    for name in names:
        dataset = data.get(name)
        if dataset is None:
            continue
        path = data_record_path(options.results_dir, profile.name, name)
        if path.exists() and not options.overwrite:
            try:
                if read_data_record(path).dataset.hashes == dataset.hashes:
                    continue
            except NewerSchemaError as err:  # a newer suite's file: kept
                tqdm.write(f"warning: {err}")
                continue
            except RecordError:  # damaged: rebuilt from the data
                pass
        try:
            write_record(path, data_record(dataset, profile.name))
        except OSError as err:
            data.fail(name, f"cannot write {path}: {err.strerror or err}; {WRITABLE}")


#: What to do when a results file cannot be written.
WRITABLE = "make the results folder writable and give it free space (or --results-dir)"


def run_planned(
    planned: Sequence[Planned], options: RunOptions, profile: Profile, data: DataCache
) -> tuple[list[Path], list[str]]:
    """Run every planned cell that is not done; return run files written and failures."""
    written: list[Path] = []
    failures: list[str] = []
    todo = [
        (item, dataset, path, _file_state(path))
        for item, dataset, path in cells_to_run(planned, options, data, announce=True)
    ]
    # Under ``accelerate launch`` every process runs the cells (fit/predict are collective);
    # only the main one writes run files and tracks, and the processes do not lock.
    main = is_main_process()
    locking = main and not launched_distributed()
    bar = tqdm(todo, desc=f"cells ({profile.name})", unit="cell", disable=not todo or not main)
    for item, dataset, path, planned_state in bar:
        label = item.cell.label()
        bar.set_postfix_str(label)
        lock = CellLock(path, config_digest(item, profile, options)) if locking else None
        try:
            holder = lock.acquire() if lock is not None else None
        except OSError as err:
            reason = f"cannot create {lock.path}: {err.strerror or err}; {WRITABLE}"
            failures.append(_failed(label, reason, options))
            continue
        if holder is not None:
            if lock.same_work():  # its run file will be the one asked for
                tqdm.write(
                    f"skipped {label}: another runner on this host runs it with the same "
                    f"config ({holder})"
                )
                continue
            why = "on another host" if lock.holder and lock.holder.host != lock.mine.host else ""
            why = why or "with another config"
            reason = (
                f"not run: another runner holds {lock.path} ({holder}), {why}; rerun this "
                f"command when it has finished (delete that file if that runner is gone)"
            )
            failures.append(_failed(label, reason, options))
            continue
        try:
            if _file_state(path) != planned_state:
                tqdm.write(f"skipped {label}: another runner wrote its run file meanwhile")
                continue
            done, failure = _run_and_write(item, dataset, path, options, profile, main)
        finally:
            if lock is not None:
                lock.release()
        if done is not None:
            written.append(done)
        if failure is not None:
            failures.append(failure)
            if options.fail_fast:
                break
    return written, failures


def cells_to_run(
    planned: Sequence[Planned], options: RunOptions, data: DataCache, *, announce: bool = False
) -> list[tuple[Planned, MultiLabelDataset, Path]]:
    """The planned cells whose data set is available and whose run file is not done (same
    data, same config; see ``plan.cell_reason``), with their data set and run-file path;
    ``announce`` prints why a cell with a run file is rerun."""
    todo = []
    for item in planned:
        dataset = data.get(item.cell.dataset)
        if dataset is None:
            continue
        path = item.cell.path(options.results_dir)
        if not options.overwrite:
            kept = unreadable_run_file(path)
            if kept is not None:
                label = item.cell.label()
                if label not in data.kept and is_main_process():
                    tqdm.write(f"FAILED {label}: not run, its run file is kept: {kept}")
                data.kept[label] = f"not run, its run file is kept: {kept}"
                continue
            reason = cell_reason(item, data.profile, options.overrides, path, dataset)
            if reason is None:
                continue
            if announce and path.exists() and is_main_process():
                tqdm.write(f"rerun {item.cell.label()}: {reason}")
        todo.append((item, dataset, path))
    return todo


def unreadable_run_file(path: Path) -> str | None:
    """Why the run file at ``path`` cannot be read, when it exists, is not empty and
    cannot be (a newer suite's, damaged or edited); None otherwise. Such a file is never
    replaced without --overwrite: it may hold a result this suite cannot see."""
    try:
        if path.stat().st_size == 0:
            return None  # nothing to lose: rerun
    except OSError:
        return None
    try:
        read_record(path)
    except RecordError as err:
        return str(err)
    return None


def config_digest(item: Planned, profile: Profile, options: RunOptions) -> str:
    """A short digest of what a cell computes (its parameters and row caps), written into
    its lock so that a second runner can tell the same work from other work."""
    try:
        config = item.resolve(profile, options.overrides)[1]
    except Exception:  # noqa: BLE001 - reported when the cell runs
        return ""
    text = json.dumps([config.params, config.subset], sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _file_state(path: Path) -> tuple[int, int, int] | None:
    """(inode, mtime, size) of a run file, None when absent: a change between planning
    and claiming the cell means another runner ran it."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_mtime_ns, stat.st_size


def _failed(label: str, reason: str, options: RunOptions) -> str:
    """Print a cell's failure (with the traceback under --debug or --fail-fast)."""
    tqdm.write(f"FAILED {label}: {reason}")
    if options.debug or options.fail_fast:
        traceback.print_exc()
    return f"{label}: {reason}"


def _run_and_write(
    item: Planned,
    dataset: MultiLabelDataset,
    path: Path,
    options: RunOptions,
    profile: Profile,
    main: bool,
) -> tuple[Path | None, str | None]:
    """Run one cell and write its run file: (the file written, a failure line)."""
    label = item.cell.label()
    try:
        spec, resolved = item.resolve(profile, options.overrides)
        result = run_cell(item.cell, spec, dataset, resolved, saves=item.saves)
    except DeadlineReached:  # --budget's stop: benchmarks.running.budget handles it
        raise
    except KeyboardInterrupt as err:
        if user_interrupted():  # the user's Ctrl-C ends the run
            raise
        return None, _failed(label, one_line(err), options)  # the method's own raise
    except BaseException as err:  # noqa: BLE001 - a method never takes the runner down
        return None, _failed(label, one_line(err), options)
    if not main:
        return None, None
    try:
        save_arrays(result, path)
        write_record(path, result.record)
    except (OSError, TypeError, ValueError) as err:
        why = err.strerror if isinstance(err, OSError) and err.strerror else one_line(err)
        failure = _failed(label, f"cannot write {path}: {why}; {WRITABLE}", options)
        test = result.record.metrics.get("test", {})
        shown = " ".join(f"{name}={value:.4f}" for name, value in test.items())
        tqdm.write(f"  unsaved test metrics of {label}: {shown}")
        return None, failure
    log_run_safely(result.record, options.track.backend, options.track_dir)
    return path, None


def save_arrays(result: CellResult, path: Path) -> None:
    """Write a cell's scores and extra arrays (attention maps) into ``seed<S>.scores.npz``
    beside its run file, atomically and before the run file, and name it in the record."""
    if not result.scores:
        return
    stored = write_scores(path, result.scores, result.arrays)
    result.record.scores = stored
    result.record.artefacts = {name: stored.file for name in result.arrays}


def finish(options: RunOptions, data: DataCache, failures: Sequence[str], what: str) -> int:
    """The end of a run (in-process or launched): name missing data sets, rebuild the
    report of the run's profile, list what failed; exit code 1 when any data set, cell,
    job or the report failed."""
    failures = [*failures, *(f"{label}: {why}" for label, why in sorted(data.kept.items()))]
    status = 1 if failures or data.failed else 0
    if data.missing:
        print("missing data sets: " + ", ".join(sorted(data.missing)))
    if not options.no_report:
        from benchmarks.analysis.report import build_report, warnings_as_lines

        try:
            with warnings_as_lines():
                reports = build_report(options.results_dir, [options.profile])
            print("report: " + ", ".join(str(path) for path in reports))
        except Exception as err:  # noqa: BLE001 - the run files are written; say so
            print(
                f"error: report not written under {options.results_dir}: {one_line(err)}",
                file=sys.stderr,
            )
            if options.debug:
                traceback.print_exc()
            status = 1
    if data.failed:
        lines = [f"{name}: {reason}" for name, reason in sorted(data.failed.items())]
        print(f"{len(lines)} data sets failed:", *lines, sep="\n  ")
    if failures:
        print(f"{len(failures)} {what} failed:", *failures, sep="\n  ")
    return status
