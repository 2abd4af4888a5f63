"""Planning a run: which cells the options ask for, and which of them are not done yet.

A cell is done when its run file exists, was made from the same data files (same
sha256) and with the same parameters and row caps; anything else is a reason to (re)run
it, which :func:`stale_reason` spells out for the user.

A variant cell whose config resolves to what its method's default cell computes (Figure
5's ``lm_mlm+lambda0.05``: the default reading trains at lambda 0.05) is an *alias* of
that cell (:func:`fold_aliases`): it is not planned, run or counted; the default cell is
planned in its place and ``--dry-run`` lists it as ``same as`` that cell.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.running.options import RunOptions
from benchmarks.running.tasks import names_a_folder
from benchmarks.store.records import Cell, RecordError, read_record
from benchmarks.suite import config as config_mod
from benchmarks.suite.experiments import Experiment, get_experiment
from benchmarks.suite.profiles import Profile
from lmmtc.data import MultiLabelDataset
from lmmtc.registry import MethodSpec, get_method


class PlanError(ValueError):
    """The options do not say what to run."""


@dataclass
class Planned:
    """A cell with everything needed to run it."""

    cell: Cell
    variant_params: dict[str, Any] = field(default_factory=dict)
    saves: tuple[str, ...] = ()  # extra outputs its experiments need (attention maps)
    aliases: tuple[Cell, ...] = ()  # variant cells that compute this cell (not run)

    def merge(self, other: Planned) -> None:
        """Take on the saves and aliases of ``other``, a planning of the same cell."""
        self.saves = tuple(dict.fromkeys(self.saves + other.saves))
        self.aliases = tuple(dict.fromkeys(self.aliases + other.aliases))

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


def selected_experiments(options: RunOptions) -> list[Experiment]:
    return [get_experiment(name) for name in options.experiments]


def dataset_key(name_or_path: str) -> str:
    """The name a data set's cells and data.json are filed under: a named data set's
    name; for a folder (see :func:`benchmarks.running.tasks.names_a_folder`) its name plus a
    short hash of its absolute path (``mydata-1a2b3c4d``), stable for the same folder, so
    that a user's folder called ``reuters`` never replaces the suite's ``reuters`` cells
    and ``--dataset .`` stays inside ``runs/<profile>/``."""
    if not names_a_folder(name_or_path):
        return name_or_path
    folder = Path(name_or_path).resolve()
    digest = hashlib.sha256(str(folder).encode("utf-8")).hexdigest()[:8]
    base = re.sub(r"[^A-Za-z0-9_.\-]", "_", folder.name).lstrip(".") or "folder"
    return f"{base}-{digest}"


def plan_cells(options: RunOptions, profile: Profile) -> list[Planned]:
    """The cells to consider, deduplicated, in a stable order."""
    seeds = tuple(options.seeds or profile.seeds)
    experiments = selected_experiments(options)
    planned: dict[Cell, Planned] = {}
    if experiments:
        for experiment in experiments:
            for cell in experiment.cells(profile.name, seeds):
                if options.datasets and cell.dataset not in options.datasets:
                    continue
                if options.methods and cell.method not in options.methods:
                    continue
                if options.variants and (cell.variant or "default") not in options.variants:
                    continue
                item = Planned(cell, experiment.variant_params(cell.variant), experiment.saves)
                planned.setdefault(cell, item).merge(item)
    else:
        if not options.datasets or not options.methods:
            raise PlanError(
                "give --all, --experiment/--table/--figure, or both --dataset and "
                "--method (see --help)"
            )
        for dataset in options.datasets:
            for method in options.methods:
                for seed in seeds:
                    cell = Cell(profile.name, dataset_key(dataset), method, "", seed)
                    planned[cell] = Planned(cell)
    folded = fold_aliases(list(planned.values()), profile, options.overrides)
    return profile_families(folded, profile, explicit=not experiments)


def default_cell(item: Planned, profile: Profile, overrides: dict[str, Any]) -> Cell | None:
    """The method's default cell (same profile, data set and seed) when ``item`` is a
    variant cell that computes the same (:func:`benchmarks.suite.config.same_as_default`
    on the resolved configs); else None."""
    cell = item.cell
    if not cell.variant or not config_mod.same_as_default(
        cell.method,
        cell.dataset,
        profile.name,
        item.variant_params,
        profile_subset=profile.subset,
        overrides=overrides,
    ):
        return None
    return Cell(cell.profile, cell.dataset, cell.method, "", cell.seed)


def fold_aliases(
    planned: Sequence[Planned], profile: Profile, overrides: dict[str, Any]
) -> list[Planned]:
    """``planned`` with each alias (:func:`default_cell`) replaced by its default cell,
    planned once at the first place of either, which lists it in ``aliases``."""
    folded: dict[Cell, Planned] = {}
    for item in planned:
        base = default_cell(item, profile, overrides)
        if base is None:
            folded.setdefault(item.cell, item).merge(item)
            continue
        alias = Planned(base, saves=item.saves, aliases=(item.cell, *item.aliases))
        folded.setdefault(base, Planned(base)).merge(alias)
    return list(folded.values())


def profile_families(planned: list[Planned], profile: Profile, explicit: bool) -> list[Planned]:
    """The cells of the method families ``profile`` runs (all when it names none). Asking
    for another family's method by --method is an error; an experiment's cells of one are
    left out with a note (the gpu profile's window is for transformer cells)."""
    if not profile.families:
        return planned
    dropped = {  # a dict: a set with the plan's order
        item.cell: None
        for item in planned
        if get_method(item.cell.method).family not in profile.families
    }
    if not dropped:
        return planned
    methods = ", ".join(dict.fromkeys(cell.method for cell in dropped))
    only = "/".join(profile.families)
    if explicit:
        raise PlanError(
            f"profile {profile.name!r} runs {only} methods only, not {methods}: use --profile "
            f"cpu for them"
        )
    print(f"profile {profile.name}: {len(dropped)} cells of {methods} left out ({only} only)")
    return [item for item in planned if item.cell not in dropped]


def planned_datasets(options: RunOptions, planned: Sequence[Planned]) -> list[str]:
    """Every data set the run touches, including those of data-only experiments."""
    names = [item.cell.dataset for item in planned]
    for experiment in selected_experiments(options):
        names += [d for d in experiment.datasets if not options.datasets or d in options.datasets]
    return list(dict.fromkeys(names))


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
        record = read_record(path)
    except RecordError as err:
        return f"unreadable run file ({err})"
    if dataset is not None and record.dataset.hashes != dataset.hashes:
        return "the data files changed"
    if config is None:
        return None
    changed = config_mod.changes(record.config.params, record.config.subset, config)
    return f"its config changed ({'; '.join(changed)})" if changed else None


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


def print_dry_run(planned: Sequence[Planned], options: RunOptions, profile: Profile) -> None:
    """The planned cells with their state (to run, rerun and why, done) and rough cost."""
    from benchmarks.running.estimate import estimate_seconds

    total = 0.0
    rows = []
    for item in planned:
        path = item.cell.path(options.results_dir)
        state, why = "to run", ""
        if path.exists() and not options.overwrite:
            # data hashes are checked when the run loads the data; config changes here
            reason = cell_reason(item, profile, options.overrides, path, None)
            state, why = ("done", "") if reason is None else ("rerun", reason)
        try:
            seconds = estimate_seconds(item, profile, options.data_dir) if state != "done" else 0.0
        except Exception:  # noqa: BLE001 - a config that does not resolve: no estimate
            seconds = 0.0
        total += seconds
        rows.append((item.cell.label(), state, seconds, why))
    for item, (label, state, seconds, why) in zip(planned, rows):
        cost = f"~{seconds / 60:.1f} min" if seconds else ""
        print(f"  {label:<60} {state:<7} {cost:<10} {why}".rstrip())
        print_aliases(item)
    to_run = sum(state != "done" for _, state, _, _ in rows)
    aliases = sum(len(item.aliases) for item in planned)
    same = f" ({aliases} more the same as one of them, not run)" if aliases else ""
    print(
        f"{len(rows)} cells{same}, {to_run} to run, estimated {total / 60:.1f} min on this device"
    )


def print_aliases(item: Planned) -> None:
    """--dry-run's line for each alias of ``item``: the cell that computes it."""
    for alias in item.aliases:
        print(f"  {alias.label():<60} same as {item.cell.label()}")
