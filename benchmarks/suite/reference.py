"""Published reference values, kept as data inside the project: the paper's Tables 1-4,
and the GAIC numbers of the authors' public code (:data:`AUTHORS_CODE_GAIC`).

The CSVs in ``benchmarks/suite/reference/`` are transcriptions of published tables: percent
values (0-100), Hamming loss as a fraction, illegible cells empty with the reason in
``note``. A :class:`Reference` is how an experiment declares which CSV holds its
published values, who published them (``label``, ``source``) and how the CSV's rows map
to the suite's (data set, method, variant).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd

from data_prep.registry import DATASETS
from lmmtc.metrics import METRICS

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"

#: Model names of the published tables -> registered method names (unregistered ones keep
#: their name): the paper's, then the authors' code's (its README's "Baseline" is BERT's
#: [CLS] with a linear layer, "+mlm" the same text MLM auxiliary as the paper's "+MLM").
MODEL_NAMES = {
    "Bert": "bert",
    "Bert+MLM": "bert_mlm",
    "LM": "lm",
    "LM+MLM": "lm_mlm",
    "BR": "br",
    "CC": "cc",
    "CNN": "cnn",
    "CNN-RNN": "cnn_rnn",
    "Baseline": "bert",
    "Baseline+mlm": "bert_mlm",
    "LM-MLC": "lm",
    "LM-MLC+mlm": "lm_mlm",
}
#: Paper data set names -> suite names (from the data set declarations).
PAPER_DATASETS = {spec.paper.name: name for name, spec in DATASETS.items() if spec.paper}
#: Paper metric columns -> suite metric names.
PAPER_METRIC_COLUMNS = {m.paper_name: m.name for m in METRICS.values() if m.paper_name}


@dataclass(frozen=True)
class PaperValue:
    """The paper's value of one metric in one row: a fraction, or None where the row has
    no value (``has_row``: the paper has the row at all); its note explains gaps."""

    value: float | None = None
    note: str = ""
    has_row: bool = False


@dataclass(frozen=True)
class Reference:
    """Where an experiment's published values are, and how the CSV's rows name cells.

    ``label``: how tables name its values (``paper``, ``authors' code``); ``source``:
    where the numbers were transcribed from; ``datasets``: only these data sets' rows
    (empty: all of the CSV's); ``method``: the method of every row when the CSV has no ``model`` column (Table 4 is
    all LM+MLM); ``variant_column`` and ``variants``: the CSV column that names a row's
    variant and its values' variant names (Table 4: template ``diff`` is the default
    variant ``""``, ``same`` the variant ``same``).
    """

    file: str
    method: str | None = None
    variant_column: str | None = None
    variants: tuple[tuple[str, str], ...] = ()
    label: str = "paper"
    source: str = ""
    datasets: tuple[str, ...] = ()

    def frame(self) -> pd.DataFrame:
        """The CSV with ``dataset``, ``method`` and ``variant`` in the suite's names and the
        metric columns under the suite's metric names."""
        return _normalised(self)

    def _match(self, dataset: str, method: str | None, variant: str) -> pd.DataFrame:
        frame = self.frame()
        mask = frame["dataset"] == dataset
        if method is not None:
            mask &= (frame["method"] == method) & (frame["variant"] == variant)
        return frame[mask]

    def row(self, dataset: str, method: str | None = None, variant: str = "") -> pd.Series | None:
        """The reference's row of a data set (and method and variant), or None."""
        rows = self._match(dataset, method, variant)
        return None if rows.empty else rows.iloc[0]

    def rows(self, dataset: str) -> list[tuple[str, str]]:
        """(method, variant) of the reference's rows of ``dataset``, in its order."""
        rows = self._match(dataset, None, "")
        return list(dict.fromkeys(zip(rows["method"], rows["variant"])))

    def value(self, dataset: str, method: str, variant: str, metric: str) -> PaperValue:
        """The published value of ``metric`` in the row of (dataset, method, variant)."""
        row = self.row(dataset, method, variant)
        if row is None:
            return PaperValue()
        if metric not in row or pd.isna(row[metric]):
            return PaperValue(None, row["note"], True)
        return PaperValue(METRICS[metric].from_display(float(row[metric])), row["note"], True)


@dataclass(frozen=True)
class Table1Reference(Reference):
    """Table 1's values, read from each data set's declaration (:class:`PaperEntry`)."""

    file: str = "data_prep/datasets (PaperEntry)"

    def frame(self) -> pd.DataFrame:
        return _table1_frame()


@cache
def _table1_frame() -> pd.DataFrame:
    rows = [
        {
            "dataset": name,
            "model": "",
            "method": "",
            "variant": "",
            "labels": spec.paper.labels,
            "train": spec.paper.train,
            "test": spec.paper.test,
            "language": spec.paper.language,
            "note": spec.paper.note,
        }
        for name, spec in DATASETS.items()
        if spec.paper is not None
    ]
    return pd.DataFrame(rows)


@cache
def _normalised(reference: Reference) -> pd.DataFrame:
    frame = load_reference(reference.file)
    if reference.datasets:
        frame = frame[frame["dataset"].isin(reference.datasets)]
    frame = frame.copy()
    if reference.method is not None:
        frame["method"] = reference.method
    if reference.variant_column is not None:
        mapping = dict(reference.variants)
        frame["variant"] = frame[reference.variant_column].map(mapping).fillna("")
    else:
        frame["variant"] = ""
    return frame.rename(columns=PAPER_METRIC_COLUMNS)


@cache
def load_reference(file_name: str) -> pd.DataFrame:
    """One published table, with ``dataset`` (and ``method``) in the suite's names."""
    frame = pd.read_csv(REFERENCE_DIR / file_name)
    if "dataset" in frame:
        frame["dataset"] = frame["dataset"].map(PAPER_DATASETS).fillna(frame["dataset"])
    if "model" in frame:
        frame["method"] = frame["model"].map(MODEL_NAMES).fillna(frame["model"])
    frame["note"] = frame["note"].fillna("") if "note" in frame else ""
    return frame


#: The GAIC test numbers of the authors' public code, beside the paper's Table 2 GAIC row.
AUTHORS_CODE_GAIC = Reference(
    "authors_code_gaic.csv",
    label="authors' code",
    source=(
        "the README of github.com/DunZhang/LM-MLC (README.md at commit e55889a, section "
        "实验结果, the GAIC competition (全球人工智能技术创新大赛 track 1) test table; its "
        "Evaluate.py: sklearn accuracy_score, f1_score and jaccard_score with "
        "average='micro', 1 - hamming_loss); printed as fractions (x 100 here) and as "
        "1 - Hamming loss (Hamming loss here)"
    ),
)
