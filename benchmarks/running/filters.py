"""Checks of ``--dataset``/``--method``/``--variant`` against what the run selects.

With experiments these flags keep only the matching cells; a value that no selected
experiment declares (a typo, a user's folder, a variant of another experiment) would
silently plan nothing for it, so it is an error that says what the experiments do
declare. Without experiments ``--variant`` has nothing to choose from (ad-hoc cells run
the default configuration), so any other value is an error too.
"""

from __future__ import annotations

from collections.abc import Sequence

from benchmarks.running.options import RunOptions
from benchmarks.running.plan import PlanError, Planned
from benchmarks.suite.experiments import Experiment, get_experiment

DEFAULT_VARIANT = "default"  # how --variant names the default configuration ("")


def _declared(experiments: Sequence[Experiment]) -> dict[str, tuple[list[str], str]]:
    """flag -> (the values the experiments declare, what to call them)."""
    datasets = [d for e in experiments for d in e.datasets]
    methods = [m for e in experiments for m in e.methods]
    variants = [v.name or DEFAULT_VARIANT for e in experiments if e.methods for v in e.variants]
    return {
        "--dataset": (list(dict.fromkeys(datasets)), "use"),
        "--method": (list(dict.fromkeys(methods)), "run"),
        "--variant": (list(dict.fromkeys(variants)), "have"),
    }


def check_filters(options: RunOptions, planned: Sequence[Planned]) -> None:
    """A :class:`PlanError` (exit 2, nothing run) when a filter value matches nothing."""
    if not options.experiments:
        odd = [v for v in options.variants if v != DEFAULT_VARIANT]
        if odd:
            raise PlanError(
                f"--variant {' '.join(odd)}: variants belong to experiments; without "
                f"--all/--experiment/--table/--figure a cell runs the method's default "
                f"configuration (use --set KEY=VALUE to change a parameter)"
            )
        return
    experiments = [get_experiment(name) for name in options.experiments]
    names = ", ".join(e.name for e in experiments)
    given = {"--dataset": options.datasets, "--method": options.methods}
    given["--variant"] = options.variants
    for flag, (declared, verb) in _declared(experiments).items():
        unknown = [value for value in given[flag] if value not in declared]
        if not unknown:
            continue
        hint = ""
        if flag != "--variant":
            hint = (
                "; to run on or with anything else leave out the experiments and give "
                "both --dataset and --method"
            )
        raise PlanError(
            f"{flag} {' '.join(unknown)}: not in the selected experiments ({names}), which "
            f"{verb} {', '.join(declared) or 'none'}{hint}"
        )
    if not planned and (options.methods or options.variants):
        chosen = " ".join(f"{flag} {' '.join(values)}" for flag, values in given.items() if values)
        raise PlanError(
            f"{chosen}: no cell of the selected experiments ({names}) matches all of these "
            f"together; `python -m benchmarks.run --all --dry-run` lists every cell"
        )
