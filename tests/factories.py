"""Complete, typed run records for tests that need a record without running a cell."""

from __future__ import annotations

from typing import Any

from benchmarks.store.records import (
    Cell,
    DataStamp,
    Environment,
    MethodStamp,
    RunConfig,
    RunRecord,
    Timing,
)


def make_run_record(
    cell: Cell,
    *,
    test: dict[str, float] | None = None,
    dev: dict[str, float] | None = None,
    params: dict[str, Any] | None = None,
    loss_curve: list[dict[str, Any]] | None = None,
    synthetic: bool = True,
    hashes: dict[str, str] | None = None,
) -> RunRecord:
    """A run record of ``cell`` with the given metrics and placeholder provenance."""
    return RunRecord(
        cell=cell,
        method=MethodStamp(cell.method, "trivial", f"tests.{cell.method}"),
        config=RunConfig(params=params or {}, subset={}, sources=[], threshold=0.5),
        dataset=DataStamp(
            name=cell.dataset,
            path=f"/data/{cell.dataset}",
            synthetic=synthetic,
            stand_in_for=None,
            source=None,
            converter=None,
            converter_version=None,
            split_rule=None,
            hashes=hashes or {"train.jsonl": "0" * 64},
            num_labels=2,
            dev_carved_from_train=False,
            sizes={"train": 10, "dev": 2, "test": 2},
            full_sizes={"train": 10, "dev": 2, "test": 2},
            subset=False,
        ),
        metrics={"dev": dev or {}, "test": test or {}},
        loss_curve=loss_curve,
        method_info={},
        timing=Timing(1.0, 0.1, 1.1, 10.0, 20.0, 100.0, None),
        environment=Environment("cpu: test", "3.11", "linux", {}, {"commit": None, "dirty": None}),
        created="2026-01-01T00:00:00+0000",
    )
