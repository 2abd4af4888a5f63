"""Typed run records: every committed run file loads, old versions migrate, a newer or
broken file is a one-line error naming it, and load_results gives one row a run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from factories import make_run_record

from benchmarks.store.records import (
    SCHEMA_VERSION,
    Cell,
    RecordError,
    RecordWarning,
    RunRecord,
    iter_records,
    load_results,
    read_data_record,
    read_record,
    run_file_paths,
    write_record,
)

COMMITTED = Path(__file__).resolve().parents[1] / "results"


def committed_run_files() -> list[Path]:
    return [*run_file_paths(COMMITTED), *sorted(COMMITTED.glob("sweeps/**/seed*.json"))]


def test_every_committed_run_file_loads_unchanged():
    paths = committed_run_files()
    assert len(paths) >= 16 + 30  # the cpu runs and the H200 sweep
    for path in paths:
        raw = json.loads(path.read_text(encoding="utf-8"))
        record = read_record(path)
        assert record.cell == Cell(**raw["cell"])
        assert record.metrics == raw["metrics"]
        assert record.config.params == raw["config"]["params"]
        assert record.dataset.hashes == raw["dataset"]["hashes"]
        assert record.timing.fit_seconds == raw["timing"]["fit_seconds"]
        assert record.schema_version == SCHEMA_VERSION and record.path == path
    for path in sorted(COMMITTED.glob("runs/*/*/data.json")):
        data = read_data_record(path)
        assert len(data.label_names) == len(data.pearson_train) == data.dataset.num_labels


def test_version_1_migrates_and_a_record_round_trips(tmp_path):
    texts = (path.read_text(encoding="utf-8") for path in committed_run_files())
    v1 = next(data for data in map(json.loads, texts) if data["schema_version"] == 1)
    assert v1["schema_version"] == 1 and "scores" not in v1
    record = RunRecord.from_json(v1)
    assert record.scores is None and record.dataset.nonstandard is None
    assert record.artefacts == v1.get("artefacts", {})
    path = tmp_path / "seed1.json"
    write_record(path, record)
    written = json.loads(path.read_text(encoding="utf-8"))
    assert written["schema_version"] == SCHEMA_VERSION
    assert written["scores"] is None and written["dataset"]["nonstandard"] is None
    again = read_record(path)
    again.path = record.path = None
    assert again == record


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty file"),
        ('{"schema_version": 2, "cell": ', ":1: not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"schema_version": 99}', "schema_version 99 is newer than this suite reads"),
        ('{"schema_version": "two"}', "schema_version 'two' is not a version"),
        ('{"cell": {}}', "schema_version None is not a version"),
    ],
)
def test_unreadable_run_files_name_the_file(tmp_path, content, message):
    path = tmp_path / "seed1.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(RecordError, match=message) as caught:
        read_record(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_a_missing_key_is_named(tmp_path):
    record = make_run_record(Cell("smoke", "d", "m"), test={"micro_f1": 0.5}).to_json()
    del record["timing"]["fit_seconds"]
    path = tmp_path / "seed1.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    with pytest.raises(RecordError, match=r"key 'timing.fit_seconds' missing"):
        read_record(path)


def test_one_bad_file_never_hides_the_others(tmp_path):
    good = Cell("smoke", "d", "m", "", 1)
    write_record(good.path(tmp_path), make_run_record(good, test={"micro_f1": 0.5}))
    bad = Cell("smoke", "d", "m", "", 2).path(tmp_path)
    bad.write_text('{"schema_version": 2', encoding="utf-8")
    with pytest.warns(RecordWarning, match=f"skipped run file: {bad}"):
        records = list(iter_records(tmp_path))
    assert [r.cell for r in records] == [good]
    with pytest.raises(RecordError):
        list(iter_records(tmp_path, on_error="raise"))


def test_load_results_has_one_row_a_run_with_cells_params_metrics_timing_stamp(tmp_path):
    for seed, f1 in ((1, 0.5), (2, 0.75)):
        cell = Cell("smoke", "d", "br", "", seed)
        record = make_run_record(
            cell, test={"micro_f1": f1, "hamming_loss": 0.1}, dev={"micro_f1": 0.4}
        )
        record.config.params = {"C": 1.0, "ngram_grid": [[1, 1]]}
        write_record(cell.path(tmp_path), record)
    frame = load_results(tmp_path)
    assert len(frame) == 2
    assert list(frame["seed"]) == [1, 2] and set(frame["method"]) == {"br"}
    assert list(frame["test.micro_f1"]) == [0.5, 0.75]
    assert frame["test.micro_f1"].mean() == pytest.approx(0.625)
    assert list(frame["dev.micro_f1"]) == [0.4, 0.4]
    assert list(frame["param.C"]) == [1.0, 1.0]
    assert frame["param.ngram_grid"][0] == "[[1, 1]]"
    assert list(frame["timing.fit_seconds"]) == [1.0, 1.0]
    assert list(frame["data.stamp"]) == ["synthetic", "synthetic"]
    assert frame["path"][0].endswith("seed1.json")


def test_load_results_reads_the_committed_cpu_runs():
    frame = load_results(COMMITTED, profile="cpu")
    br = frame[(frame["dataset"] == "reuters") & (frame["method"] == "br")]
    raw = json.loads(Cell("cpu", "reuters", "br", "", 1).path(COMMITTED).read_text())
    assert float(br["test.micro_f1"].iloc[0]) == raw["metrics"]["test"]["micro_f1"]
    assert set(frame["profile"]) == {"cpu"}
