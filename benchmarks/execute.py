"""Executing a plan: obtain each data set once, run the cells that are not done, write
their run files (and arrays beside them), and finish with the report and a status."""

from __future__ import annotations

import traceback
import warnings
from collections.abc import Sequence
from pathlib import Path

from tqdm.auto import tqdm

from benchmarks.harness import CellResult, data_record, run_cell
from benchmarks.options import RunOptions
from benchmarks.plan import Planned, cell_reason, dataset_key
from benchmarks.profiles import Profile
from benchmarks.records import (
    RecordError,
    data_record_path,
    read_data_record,
    write_record,
)
from benchmarks.scores import write_scores
from benchmarks.tasks import DatasetUnavailable, prepare_dataset
from benchmarks.tracking import log_run_safely
from data_prep.base import NonstandardReleaseWarning
from data_prep.canonical import ConversionError
from lmmtc.data import DataError, DataWarning, MultiLabelDataset
from lmmtc.distributed import is_main_process


class DataCache:
    """Loads each data set once per run; remembers unavailable ones with their reason."""

    def __init__(self, options: RunOptions, profile: Profile) -> None:
        self.options, self.profile = options, profile
        self.paths = {dataset_key(d): d for d in options.datasets}
        self.loaded: dict[str, MultiLabelDataset] = {}
        self.missing: dict[str, str] = {}

    def get(self, name: str) -> MultiLabelDataset | None:
        if name in self.loaded:
            return self.loaded[name]
        if name in self.missing:
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
        except (DatasetUnavailable, DataError, ConversionError) as err:
            self.missing[name] = str(err)
            tqdm.write(f"skipped data set {name}: {err}")
            return None
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
            except RecordError:
                pass
        write_record(path, data_record(dataset, profile.name))


def run_planned(
    planned: Sequence[Planned], options: RunOptions, profile: Profile, data: DataCache
) -> tuple[list[Path], list[str]]:
    """Run every planned cell that is not done; return run files written and failures."""
    overrides = options.overrides
    written: list[Path] = []
    failures: list[str] = []
    todo = []
    for item in planned:
        dataset = data.get(item.cell.dataset)
        if dataset is None:
            continue
        path = item.cell.path(options.results_dir)
        if not options.overwrite:
            reason = cell_reason(item, profile, overrides, path, dataset)
            if reason is None:
                continue
            if path.exists() and is_main_process():
                tqdm.write(f"rerun {item.cell.label()}: {reason}")
        todo.append((item, dataset, path))
    # Under ``accelerate launch`` every process runs the cells (fit/predict are collective);
    # only the main one writes run files and tracks.
    main = is_main_process()
    bar = tqdm(todo, desc=f"cells ({profile.name})", unit="cell", disable=not todo or not main)
    for item, dataset, path in bar:
        bar.set_postfix_str(item.cell.label())
        try:
            spec, resolved = item.resolve(profile, overrides)
            result = run_cell(item.cell, spec, dataset, resolved, saves=item.saves)
        except KeyboardInterrupt:
            raise
        except Exception as err:  # one bad cell must not lose the others
            failures.append(f"{item.cell.label()}: {type(err).__name__}: {err}")
            tqdm.write(f"FAILED {item.cell.label()}: {type(err).__name__}: {err}")
            if options.fail_fast:
                traceback.print_exc()
                break
            continue
        if not main:
            continue
        save_arrays(result, path)
        write_record(path, result.record)
        log_run_safely(result.record, options.track.backend, options.track_dir)
        written.append(path)
    return written, failures


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
    report, list the failed cells or jobs; exit code 1 when any failed."""
    if data.missing:
        print("missing data sets: " + ", ".join(sorted(data.missing)))
    if not options.no_report:
        from benchmarks.report import build_report

        print(f"report: {build_report(options.results_dir)}")
    if failures:
        print(f"{len(failures)} {what} failed:", *failures, sep="\n  ")
        return 1
    return 0
