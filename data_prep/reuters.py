"""Reuters-21578 (Distribution 1.0), ModApte split, the 90 categories with train and test docs.

The 22 SGML files ``reut2-000.sgm`` ... ``reut2-021.sgm`` are read from the raw folder or
from ``reuters21578.tar.gz`` inside it. They are not valid XML, so documents are cut out
with regular expressions; text is latin-1, entities (``&lt;``, ``&amp;``, ``&#3;``) are
decoded and control characters removed.

ModApte: documents with ``TOPICS="YES"`` and ``LEWISSPLIT`` TRAIN or TEST; documents
without any topic are dropped (standard ModApte practice). The label set is the
categories with at least one train and one test document (90); documents left without
any of them are dropped. Text is TITLE + "\\n" + BODY, or, when there is no BODY
(TYPE="BRIEF" or "UNPROC"), the TEXT element's content without tags, one stripped
non-empty line per line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from data_prep.base import Built, Converter, Download
from data_prep.canonical import ConversionError, Record
from data_prep.rawio import hash_inputs, read_tar_members
from data_prep.splits import carve_dev, fraction_count, hold_out

FILES = tuple(f"reut2-{i:03d}.sgm" for i in range(22))
ARCHIVE = "reuters21578.tar.gz"
ARCHIVE_URL = (
    "https://archive.ics.uci.edu/ml/machine-learning-databases/reuters21578-mld/" + ARCHIVE
)
#: Table 1 of the paper: 8,630 train + 2,158 test of the 10,788 ModApte documents.
PAPER_TEST_FRACTION = 2158 / 10788

_DOC = re.compile(r"<REUTERS\b([^>]*)>(.*?)</REUTERS>", re.S)
_ATTR = re.compile(r'(\w+)="([^"]*)"')
_ENTITY = re.compile(r"&(lt|gt|amp|quot|apos|#\d+);")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_TAG = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class Doc:
    """One parsed Reuters document."""

    newid: str
    lewissplit: str
    has_topics: bool
    topics: tuple[str, ...]
    text: str


def clean(fragment: str) -> str:
    """Decode SGML entities, drop control characters (keep newline and tab), strip."""

    def entity(match: re.Match[str]) -> str:
        name = match.group(1)
        return chr(int(name[1:])) if name.startswith("#") else _NAMED[name]

    return _CONTROL.sub("", _ENTITY.sub(entity, fragment)).strip()


def _element(body: str, tag: str) -> str | None:
    match = re.search(rf"<{tag}\b[^>]*>(.*?)</{tag}>", body, re.S)
    return None if match is None else match.group(1)


def parse_sgml(content: str, source: str) -> list[Doc]:
    """All documents of one SGML file; an unclosed <REUTERS> (truncated file) is an error."""
    opened = content.count("<REUTERS")
    docs = []
    for match in _DOC.finditer(content):
        attrs = dict(_ATTR.findall(match.group(1)))
        body = match.group(2)
        if "NEWID" not in attrs:
            line = content.count("\n", 0, match.start()) + 1
            raise ConversionError(f"{source}:{line}: <REUTERS> without NEWID attribute")
        topics = tuple(
            clean(t) for t in re.findall(r"<D>(.*?)</D>", _element(body, "TOPICS") or "")
        )
        text_el = _element(body, "TEXT") or ""
        title, main = _element(text_el, "TITLE"), _element(text_el, "BODY")
        if main is not None:
            text = "\n".join(part for part in (clean(title or ""), clean(main)) if part)
        else:
            lines = (line.strip() for line in clean(_TAG.sub(" ", text_el)).split("\n"))
            text = "\n".join(line for line in lines if line)
        docs.append(
            Doc(
                attrs["NEWID"],
                attrs.get("LEWISSPLIT", ""),
                attrs.get("TOPICS") == "YES",
                topics,
                text,
            )
        )
    if len(docs) != opened:
        last = content.rfind("<REUTERS")
        line = content.count("\n", 0, last) + 1
        raise ConversionError(
            f"{source}:{line}: <REUTERS> element not closed by </REUTERS> ({len(docs)} of "
            f"{opened} documents complete); the file looks truncated"
        )
    return docs


def read_raw(raw_dir: Path) -> tuple[dict[str, bytes], list[Path]]:
    """The bytes of the 22 SGML files (from the folder or the archive) and the inputs used."""
    loose = [raw_dir / name for name in FILES if (raw_dir / name).is_file()]
    archive = raw_dir / ARCHIVE
    if len(loose) < len(FILES) and archive.is_file():
        data = read_tar_members(archive, set(FILES))
        missing = [name for name in FILES if name not in data]
        if missing:
            raise ConversionError(
                f"{archive}: members {missing} missing; expected {FILES[0]} ... {FILES[-1]}"
            )
        return data, [archive]
    missing = [name for name in FILES if not (raw_dir / name).is_file()]
    if missing:
        raise ConversionError(
            f"{raw_dir}: files {missing} missing; expected {FILES[0]} ... {FILES[-1]} or "
            f"{ARCHIVE}. {CONVERTER.how_to_get}"
        )
    return {p.name: p.read_bytes() for p in loose}, loose


def modapte(docs: list[Doc]) -> tuple[list[str], dict[str, list[Record]], dict[str, int]]:
    """The ModApte-90 label names, train/test records and counts of what was dropped."""
    chosen = [d for d in docs if d.has_topics and d.lewissplit in ("TRAIN", "TEST")]
    with_topics = [d for d in chosen if d.topics]
    in_split = {
        part: {t for d in with_topics if d.lewissplit == part for t in d.topics}
        for part in ("TRAIN", "TEST")
    }
    labels = sorted(in_split["TRAIN"] & in_split["TEST"])
    keep = set(labels)
    records: dict[str, list[Record]] = {"TRAIN": [], "TEST": []}
    for doc in with_topics:
        kept = tuple(t for t in sorted(set(doc.topics)) if t in keep)
        if kept:
            records[doc.lewissplit].append(Record(doc.newid, doc.text, kept))
    stats = {
        "documents_in_files": len(docs),
        "modapte_documents": len(chosen),
        "dropped_no_topics": len(chosen) - len(with_topics),
        "dropped_no_kept_category": len(with_topics) - sum(map(len, records.values())),
        "modapte_train": len(records["TRAIN"]),
        "modapte_test": len(records["TEST"]),
        "categories_with_topics": len(in_split["TRAIN"] | in_split["TEST"]),
    }
    return labels, records, stats


def build(raw_dir: Path, split: str, seed: int | None) -> Built:
    """Parse the SGML files and make the paper or the standard ModApte split."""
    assert seed is not None
    data, inputs = read_raw(raw_dir)
    docs: list[Doc] = []
    for name in tqdm(FILES, desc="reuters", unit=" files", disable=None, leave=False):
        docs.extend(parse_sgml(data[name].decode("latin-1"), str(raw_dir / name)))
    labels, records, stats = modapte(docs)
    if split == "standard":
        train, test = records["TRAIN"], records["TEST"]
    else:
        pooled = records["TRAIN"] + records["TEST"]
        train, test = hold_out(pooled, fraction_count(len(pooled), PAPER_TEST_FRACTION), seed)
    train, dev = carve_dev(train, seed)
    return Built(
        {"train": train, "dev": dev, "test": test}, labels, hash_inputs(raw_dir, inputs), stats
    )


CONVERTER = Converter(
    name="reuters",
    description="Reuters-21578 newswire, ModApte split, the 90 categories with train and test docs.",
    source="Reuters-21578, Distribution 1.0 (Lewis), UCI KDD archive; research use only",
    url="https://archive.ics.uci.edu/dataset/137/reuters+21578+text+categorization+collection",
    language="en",
    how_to_get=(
        f"Run with --download, or fetch {ARCHIVE_URL} and put it (or the reut2-000.sgm ... "
        "reut2-021.sgm files it holds) into the raw folder reuters/."
    ),
    split_rules={
        "paper": (
            "ModApte-90 documents (TOPICS=YES, LEWISSPLIT TRAIN/TEST, >=1 of the 90 categories) "
            "pooled and re-split with the seed: test = round(2158/10788 of them) (paper: 8,630 / 2,158; "
            "this distribution has 10,789 such documents, giving 8,631 / 2,158"
            "), dev = 10% of the train part (seeded)"
        ),
        "standard": "ModApte train / test (LEWISSPLIT), dev = 10% of ModApte train (seeded)",
    },
    default_split="paper",
    default_seed=0,
    version="1",
    build=build,
    downloads=(Download(ARCHIVE_URL, ARCHIVE, None),),
)
