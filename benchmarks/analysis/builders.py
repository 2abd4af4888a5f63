"""The table and figure builders by name: an experiment names its builders as strings
(``table="comparison"``), resolved here, so that the suite's declarations import nothing
of the analysis that reads them.

A builder takes the experiment and the run index (and a figure builder the folder it
draws into); adding one is a function in :mod:`~benchmarks.analysis.tables` or
:mod:`~benchmarks.analysis.figures` and a line here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.analysis import figures, tables
from benchmarks.suite.experiments import Experiment
from lmmtc.suggest import did_you_mean

TableBuilder = Callable[[Experiment, tables.RunIndex], tables.Table]
FigureBuilder = Callable[[Experiment, tables.RunIndex, Path], dict[str, list[Path]]]

TABLE_BUILDERS: dict[str, TableBuilder] = {
    "data": tables.data_table,
    "comparison": tables.comparison_table,
    "variants": tables.variant_table,
    "readings": tables.readings_table,
    "references": tables.references_table,
}
FIGURE_BUILDERS: dict[str, FigureBuilder] = {
    "figure1": figures.figure1,
    "figure3": figures.figure3,
    "figure4": figures.figure4,
    "figure5": figures.figure5,
}


def _resolve(kind: str, name: str, builders: dict[str, Any], experiment: Experiment) -> Any:
    try:
        return builders[name]
    except KeyError:
        raise KeyError(
            f"experiment {experiment.name!r} names the {kind} builder {name!r}, which "
            f"benchmarks/analysis/builders.py does not hold.{did_you_mean(name, builders)}"
        ) from None


def table_builder(experiment: Experiment) -> TableBuilder | None:
    """The function that builds ``experiment``'s table, or None when it has none."""
    if experiment.table is None:
        return None
    return _resolve("table", experiment.table, TABLE_BUILDERS, experiment)


def figure_builder(experiment: Experiment) -> FigureBuilder | None:
    """The function that draws ``experiment``'s figure, or None when it has none."""
    if experiment.figure is None:
        return None
    return _resolve("figure", experiment.figure, FIGURE_BUILDERS, experiment)
