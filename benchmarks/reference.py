"""The paper's reference values (Tables 1-4), kept as data inside the project.

The CSVs in ``benchmarks/reference/`` are transcriptions of the paper's tables:
percent values as printed (0-100), Hamming loss as a fraction, illegible cells empty
with the reason in ``note``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"

#: Paper model names -> registered method names.
PAPER_MODELS = {
    "Bert": "bert",
    "Bert+MLM": "bert_mlm",
    "LM": "lm",
    "LM+MLM": "lm_mlm",
    "BR": "br",
    "CC": "cc",
    "CNN": "cnn",
    "CNN-RNN": "cnn_rnn",
}
#: Paper data set names -> suite names.
PAPER_DATASETS = {
    "GAIC": "gaic",
    "AAPD": "aapd",
    "Reuters-21578": "reuters",
    "RMSC": "rmsc",
    "Emotion": "goemotions",
    "Toxic": "toxic",
}
#: Paper metric columns -> suite metric names.
PAPER_METRIC_COLUMNS = {
    "accuracy": "subset_accuracy",
    "micro_f1": "micro_f1",
    "micro_jaccard": "micro_jaccard",
    "hamming_loss": "hamming_loss",
}


@cache
def load_reference(file_name: str) -> pd.DataFrame:
    """One of the paper's tables, with ``dataset`` (and ``method``) in the suite's names."""
    frame = pd.read_csv(REFERENCE_DIR / file_name)
    if "dataset" in frame:
        frame["dataset"] = frame["dataset"].map(PAPER_DATASETS).fillna(frame["dataset"])
    if "model" in frame:
        frame["method"] = frame["model"].map(PAPER_MODELS)
    frame["note"] = frame["note"].fillna("") if "note" in frame else ""
    return frame


def paper_value(file_name: str, metric: str, **keys: str) -> tuple[float | None, str]:
    """The paper's value of ``metric`` in the row matching ``keys`` (suite names), in the
    suite's units (fractions), and the row's note; ``None`` where the paper has no value."""
    frame = load_reference(file_name)
    column = {v: k for k, v in PAPER_METRIC_COLUMNS.items()}.get(metric, metric)
    mask = pd.Series(True, index=frame.index)
    for key, value in keys.items():
        mask &= frame[key] == value
    rows = frame[mask]
    if rows.empty or column not in rows or pd.isna(rows.iloc[0][column]):
        return None, (rows.iloc[0]["note"] if not rows.empty else "")
    value = float(rows.iloc[0][column])
    return (value if metric == "hamming_loss" else value / 100.0), rows.iloc[0]["note"]
