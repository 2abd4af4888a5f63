"""The runner: ``python -m benchmarks.run``.

Expands experiments (or an ad-hoc --dataset x --method grid) into cells, obtains each
data set (converted, generated or converted on demand from raw files), runs the cells
whose run file is missing or stale, and prints a summary table. Finished cells are
never redone unless --overwrite: a killed run resumes where it stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from benchmarks import config as config_mod
from benchmarks.experiments import (
    EXPERIMENTS,
    FIGURES,
    TABLES,
    Experiment,
    get_experiment,
)
from benchmarks.harness import data_record, run_cell
from benchmarks.profiles import PROFILES, Profile, get_profile
from benchmarks.runfiles import Cell, git_state, read_run, write_json_atomic
from benchmarks.summary import summary_table
from benchmarks.tasks import PAPER_TASKS, DatasetUnavailable, prepare_dataset
from benchmarks.tracking import add_tracking_arguments, check_backend, log_from_args
from data_prep.synthetic import PRESETS
from lmmtc.data import DataError, MultiLabelDataset
from lmmtc.distributed import is_main_process, main_process_first
from lmmtc.registry import MethodSpec, UnknownMethodError, get_method, list_methods

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_RAW = os.environ.get("LMMTC_RAW_DIR", str(REPO_ROOT / "data" / "raw"))
DEFAULT_DATA = os.environ.get("LMMTC_DATA_DIR", str(REPO_ROOT / "data" / "converted"))
DEFAULT_RESULTS = os.environ.get("LMMTC_RESULTS_DIR", str(REPO_ROOT / "results"))


@dataclass
class Planned:
    """A cell with everything needed to run it."""

    cell: Cell
    variant_params: dict[str, Any] = field(default_factory=dict)
    artefacts: tuple[str, ...] = ()

    def resolve(
        self, profile: Profile, overrides: dict[str, Any] | None = None
    ) -> tuple[MethodSpec, config_mod.ResolvedConfig]:
        """The method and its merged config for this cell under ``profile``."""
        spec = get_method(self.cell.method)
        resolved = config_mod.resolve(
            spec.name,
            self.cell.dataset,
            profile.name,
            profile_subset=profile.subset,
            variant_params=self.variant_params,
            overrides=overrides,
        )
        return spec, resolved


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description=(
            "Run lmmtc-bench cells: each (data set, method, variant, seed) is fitted, "
            "evaluated at the 0.5 threshold and written to one run file. Cells whose run "
            "file exists (from the same data and config) are skipped, so an interrupted run "
            "resumes; a changed config or --set reruns the cells it touches."
        ),
        epilog=(
            "examples:\n"
            "  python -m benchmarks.run --all --profile smoke\n"
            "  python -m benchmarks.run --dataset synthetic-small --method prior br --seeds 1 2\n"
            "  python -m benchmarks.run --table 3 --profile cpu --raw-dir ../shared/data/raw\n"
            "  python -m benchmarks.run --dataset my/folder --method mypkg.mod:MyMethod\n"
            "  python -m benchmarks.run --list"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    what = parser.add_argument_group("what to run")
    what.add_argument("--all", action="store_true", help="every experiment (Tables 1-4, figures)")
    what.add_argument("--experiment", nargs="+", default=[], metavar="NAME", help="by name")
    what.add_argument("--table", nargs="+", type=int, default=[], choices=sorted(TABLES))
    what.add_argument("--figure", nargs="+", type=int, default=[], choices=sorted(FIGURES))
    what.add_argument(
        "--dataset",
        nargs="+",
        default=[],
        metavar="D",
        help="data set names or folders; with experiments: keep only these",
    )
    what.add_argument(
        "--method",
        nargs="+",
        default=[],
        metavar="M",
        help="registered names or package.module:Class; with experiments: keep only these",
    )
    what.add_argument(
        "--variant",
        nargs="+",
        default=[],
        metavar="V",
        help="with experiments: keep only these variants ('default': the default configuration)",
    )
    what.add_argument("--seeds", nargs="+", type=int, help="default: the profile's seeds")
    what.add_argument("--profile", default="smoke", choices=sorted(PROFILES))
    what.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a method parameter for every cell (value parsed as YAML)",
    )
    where = parser.add_argument_group("where")
    where.add_argument("--data-dir", type=Path, default=Path(DEFAULT_DATA), help="converted data")
    where.add_argument(
        "--raw-dir",
        type=Path,
        default=Path(DEFAULT_RAW),
        help="raw files, one folder per data set (e.g. ../shared/data/raw)",
    )
    where.add_argument("--results-dir", type=Path, default=Path(DEFAULT_RESULTS))
    how = parser.add_argument_group("how")
    how.add_argument("--overwrite", action="store_true", help="redo cells that have a run file")
    how.add_argument("--dry-run", action="store_true", help="list the planned cells; run nothing")
    how.add_argument("--list", action="store_true", help="list data sets, methods, experiments")
    how.add_argument("--fail-fast", action="store_true", help="stop at the first failing cell")
    how.add_argument("--no-report", action="store_true", help="do not rebuild the report")
    from benchmarks.launch import add_launcher_arguments  # not at the top: launch imports run

    add_launcher_arguments(parser)
    add_tracking_arguments(parser)
    return parser


def selected_experiments(args: argparse.Namespace) -> list[Experiment]:
    names = list(args.experiment)
    names += [TABLES[n] for n in args.table] + [FIGURES[n] for n in args.figure]
    if args.all:
        names += list(EXPERIMENTS)
    return [get_experiment(name) for name in dict.fromkeys(names)]


def planned_datasets(args: argparse.Namespace, planned: Sequence[Planned]) -> list[str]:
    """Every data set the run touches, including those of data-only experiments."""
    names = [item.cell.dataset for item in planned]
    for experiment in selected_experiments(args):
        names += [d for d in experiment.datasets if not args.dataset or d in args.dataset]
    return list(dict.fromkeys(names))


def write_data_records(names: Sequence[str], data: DataCache, args, profile: Profile) -> None:
    """One data.json per data set: Table 1's statistics and the label correlations that
    Figures 1 and 3 plot, so that the report, too, reads files only."""
    for name in names:
        dataset = data.get(name)
        if dataset is None:
            continue
        path = args.results_dir / "runs" / profile.name / name / "data.json"
        if path.exists() and not args.overwrite:
            try:
                if read_run(path).get("dataset", {}).get("hashes") == dataset.hashes:
                    continue
            except (ValueError, OSError):
                pass
        write_json_atomic(path, data_record(dataset, profile.name))


def plan_cells(args: argparse.Namespace, profile: Profile) -> list[Planned]:
    """The cells to consider, deduplicated, in a stable order."""
    seeds = tuple(args.seeds or profile.seeds)
    experiments = selected_experiments(args)
    planned: dict[Cell, Planned] = {}
    if experiments:
        for experiment in experiments:
            for cell in experiment.cells(profile.name, seeds):
                if args.dataset and cell.dataset not in args.dataset:
                    continue
                if args.method and cell.method not in args.method:
                    continue
                if args.variant and (cell.variant or "default") not in args.variant:
                    continue
                entry = planned.setdefault(
                    cell, Planned(cell, experiment.variant_params(cell.variant))
                )
                entry.artefacts = tuple(dict.fromkeys(entry.artefacts + experiment.artefacts))
    else:
        if not args.dataset or not args.method:
            raise SystemExit(
                "error: give --all, --experiment/--table/--figure, or both --dataset and "
                "--method (see --help)"
            )
        for dataset in args.dataset:
            for method in args.method:
                for seed in seeds:
                    cell = Cell(profile.name, dataset_key(dataset), method, "", seed)
                    planned[cell] = Planned(cell)
    return list(planned.values())


def dataset_key(name_or_path: str) -> str:
    """The name a data set's cells are filed under (a folder's name for paths)."""
    path = Path(name_or_path)
    return path.name if path.is_dir() else name_or_path


class DataCache:
    """Loads each data set once per run; remembers unavailable ones with their reason."""

    def __init__(self, args: argparse.Namespace, profile: Profile) -> None:
        self.args, self.profile = args, profile
        self.paths = {dataset_key(d): d for d in args.dataset}
        self.loaded: dict[str, MultiLabelDataset] = {}
        self.missing: dict[str, str] = {}

    def get(self, name: str) -> MultiLabelDataset | None:
        if name in self.loaded:
            return self.loaded[name]
        if name in self.missing:
            return None
        try:
            dataset = prepare_dataset(
                self.paths.get(name, name),
                data_dir=self.args.data_dir,
                raw_dir=self.args.raw_dir,
                synthetic_fallback=self.profile.synthetic_fallback,
            )
        except (DatasetUnavailable, DataError) as err:
            self.missing[name] = str(err)
            tqdm.write(f"skipped data set {name}: {err}")
            return None
        self.loaded[name] = dataset
        return dataset


def set_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The ``--set key=value`` pairs as a dict (values parsed as YAML)."""
    return dict(config_mod.parse_override(text) for text in args.overrides)


def stale_reason(
    path: Path,
    dataset: MultiLabelDataset | None,
    config: config_mod.ResolvedConfig | None = None,
) -> str | None:
    """Why a cell must (re)run, or None when its run file is done: it exists, was made from
    the same data files (unchecked when ``dataset`` is None) and, when ``config`` is given,
    with the same parameters and subsets (so an edited YAML or a new --set reruns the
    cells it changes)."""
    if not path.exists():
        return "no run file"
    try:
        record = read_run(path)
    except (ValueError, OSError) as err:
        return f"unreadable run file ({err})"
    if dataset is not None and record.get("dataset", {}).get("hashes") != dataset.hashes:
        return "the data files changed"
    if config is None:
        return None
    stored = record.get("config", {})
    changed = config_changes(stored.get("params", {}), config.params)
    changed += config_changes(stored.get("subset", {}), config.subset, prefix="subset.")
    return f"its config changed ({'; '.join(changed)})" if changed else None


#: Parameters that change how a cell is shown or scheduled, not what it computes: a
#: different value does not make a run file stale.
RESULT_NEUTRAL_PARAMS = frozenset({"progress", "num_threads", "eval_batch_size"})


def config_changes(old: dict, new: dict, prefix: str = "") -> list[str]:
    """``key: old -> new`` for each key whose JSON value differs (``<unset>`` where a side
    lacks the key), leaving out :data:`RESULT_NEUTRAL_PARAMS`."""

    def plain(value: Any) -> Any:
        return json.loads(json.dumps(value, sort_keys=True, default=str))

    old, new = plain(old), plain(new)
    unset = "<unset>"
    return [
        f"{prefix}{key}: {old.get(key, unset)!r} -> {new.get(key, unset)!r}"
        for key in sorted(set(old) | set(new))
        if key not in RESULT_NEUTRAL_PARAMS and old.get(key, unset) != new.get(key, unset)
    ]


def cell_reason(
    item: Planned,
    profile: Profile,
    overrides: dict[str, Any],
    path: Path,
    dataset: MultiLabelDataset | None,
) -> str | None:
    """:func:`stale_reason` under the cell's current config; a config that does not
    resolve is a reason to run (so that the run reports the error), never 'done'."""
    try:
        config = item.resolve(profile, overrides)[1]
    except Exception as err:  # noqa: BLE001 - any resolution error, reported by the run
        return f"its config does not resolve ({type(err).__name__}: {err})"
    return stale_reason(path, dataset, config)


def run_planned(
    planned: Sequence[Planned], args: argparse.Namespace, profile: Profile, data: DataCache
) -> tuple[list[Path], list[str]]:
    """Run every planned cell that is not done; return run files written and failures."""
    overrides = set_overrides(args)
    written: list[Path] = []
    failures: list[str] = []
    todo = []
    for item in planned:
        dataset = data.get(item.cell.dataset)
        if dataset is None:
            continue
        path = item.cell.path(args.results_dir)
        if not args.overwrite:
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
            record = run_cell(item.cell, spec, dataset, resolved, artefacts=item.artefacts)
        except KeyboardInterrupt:
            raise
        except Exception as err:  # one bad cell must not lose the others
            failures.append(f"{item.cell.label()}: {type(err).__name__}: {err}")
            tqdm.write(f"FAILED {item.cell.label()}: {type(err).__name__}: {err}")
            if args.fail_fast:
                traceback.print_exc()
                break
            continue
        if not main:
            continue
        save_artefacts(record, path)
        write_json_atomic(path, record)
        log_from_args(record, args)
        written.append(path)
    return written, failures


def save_artefacts(record: dict[str, Any], path: Path) -> None:
    """Move large arrays (attention maps) out of the record into an .npz beside it."""
    import numpy as np

    arrays = record.pop("_arrays", None)
    if not arrays:
        return
    target = path.with_suffix(".npz")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp.npz")
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, target)
    record["artefacts"] = {name: target.name for name in arrays}


def print_listing(args: argparse.Namespace) -> None:
    print("Data sets (paper):")
    for task in PAPER_TASKS.values():
        converted = (args.data_dir / task.name / "train.jsonl").exists()
        raw = (args.raw_dir / task.name).is_dir()
        state = "converted" if converted else "raw files found" if raw else "not available"
        print(f"  {task.name:<12} {task.paper_name:<14} {task.num_labels:>3} labels  [{state}]")
    print("Data sets (synthetic):")
    for name, preset in PRESETS.items():
        print(f"  {name:<22} {preset.num_labels} labels, {preset.n_train} train")
    print("Methods:")
    for spec in list_methods():
        print(f"  {spec.name:<12} [{spec.family}] {spec.description}")
    print("Experiments:")
    for experiment in EXPERIMENTS.values():
        print(f"  {experiment.name:<10} {experiment.title}")
    print("Profiles:")
    for profile in PROFILES.values():
        print(f"  {profile.name:<6} {profile.description}")


def print_dry_run(planned: Sequence[Planned], args: argparse.Namespace, profile: Profile) -> None:
    from benchmarks.estimate import estimate_seconds

    overrides = set_overrides(args)
    total = 0.0
    rows = []
    for item in planned:
        path = item.cell.path(args.results_dir)
        state, why = "to run", ""
        if path.exists() and not args.overwrite:
            # data hashes are checked when the run loads the data; config changes here
            reason = cell_reason(item, profile, overrides, path, None)
            state, why = ("done", "") if reason is None else ("rerun", reason)
        try:
            seconds = estimate_seconds(item, profile, args) if state != "done" else 0.0
        except Exception:  # noqa: BLE001 - a config that does not resolve: no estimate
            seconds = 0.0
        total += seconds
        rows.append((item.cell.label(), state, seconds, why))
    for label, state, seconds, why in rows:
        cost = f"~{seconds / 60:.1f} min" if seconds else ""
        print(f"  {label:<60} {state:<7} {cost:<10} {why}".rstrip())
    to_run = sum(state != "done" for _, state, _, _ in rows)
    print(f"{len(rows)} cells, {to_run} to run, estimated {total / 60:.1f} min on this device")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    git_state()  # stamp run files with the checkout as it was when this code was imported
    try:
        profile = get_profile(args.profile)
        if args.list:
            print_listing(args)
            return 0
        planned = plan_cells(args, profile)
        for method in dict.fromkeys(item.cell.method for item in planned):
            get_method(method)  # fail before any work on a misspelt method
        set_overrides(args)  # fail before any work on a malformed --set
        if args.track:
            check_backend(args.track)  # TrackingUnavailable is a ValueError
    except (UnknownMethodError, ValueError, TypeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.dry_run and args.launcher:
        from benchmarks.launch import print_jobs

        print_jobs(planned, args)
        return 0
    if args.dry_run:
        print_dry_run(planned, args, profile)
        return 0
    if args.launcher:
        from benchmarks.launch import launch

        return launch(planned, args)
    data = DataCache(args, profile)
    names = planned_datasets(args, planned)
    with main_process_first():  # converted/generated once, by the main process
        for name in names:
            data.get(name)
    if not is_main_process():  # a non-main rank of ``accelerate launch``: no files
        run_planned(planned, args, profile, data)
        return 0
    write_data_records(names, data, args, profile)
    written, failures = run_planned(planned, args, profile, data)
    print(summary_table(args.results_dir, [item.cell for item in planned]))
    print(f"{len(written)} cells run, {len(planned) - len(written)} skipped or missing data")
    return finish(args, data, failures, "cells")


def finish(args: argparse.Namespace, data: DataCache, failures: Sequence[str], what: str) -> int:
    """The end of a run (in-process or launched): name missing data sets, rebuild the
    report, list the failed cells or jobs; exit code 1 when any failed."""
    if data.missing:
        print("missing data sets: " + ", ".join(sorted(data.missing)))
    if not args.no_report:
        from benchmarks.report import build_report

        print(f"report: {build_report(args.results_dir)}")
    if failures:
        print(f"{len(failures)} {what} failed:", *failures, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
