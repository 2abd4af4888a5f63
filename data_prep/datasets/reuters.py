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

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from data_prep.base import Built, DatasetSpec, Download, Found, PaperEntry, Release
from data_prep.canonical import ConversionError, Record
from data_prep.rawio import hash_inputs, read_tar_members
from data_prep.splits import carve_dev, fraction_count, hold_out

FILES = tuple(f"reut2-{i:03d}.sgm" for i in range(22))
ARCHIVE = "reuters21578.tar.gz"
ARCHIVE_URL = (
    "https://archive.ics.uci.edu/ml/machine-learning-databases/reuters21578-mld/" + ARCHIVE
)
#: sha256 of each SGML file of Distribution 1.0 (measured; the same bytes loose or as a
#: member of the archive, whose own hash is not known here).
SHA256 = {
    "reut2-000.sgm": "45da19a1441452aa599ce7b549e23519b8bc78ee75f893159a2ee498818262de",
    "reut2-001.sgm": "1528e7e82d110d88d0234eb9619eadb7f9fd805711971df05975b92277dfdf4d",
    "reut2-002.sgm": "99f18068d0518952987dedd78c622e5c2a584e357d264d3754696c815f3e6628",
    "reut2-003.sgm": "78a3a8d7e04bc9d42c4614d5d5c60a4293dbe3f708df6fb5a71d9ef31f4b3fa3",
    "reut2-004.sgm": "726342c19a65873330b412378cd6a3f0d512035f5223146ddd60930c62eb6ff0",
    "reut2-005.sgm": "d09de619b6dd2d047d5124681f6df90550abaf592020d1c1ce338ae9b91522e7",
    "reut2-006.sgm": "b5535c0d66b01f4976f84621a4a795afbc00d2c4bd0a1b7ae426df6630fb361d",
    "reut2-007.sgm": "aa706007ec84a03537a3921ca976d60e11b3f99e4b9e9b2d5c81dd384d2c2062",
    "reut2-008.sgm": "a3994583694a00b7c744097c1d7eabfcf90f2e6650cc21663e46828035a336cb",
    "reut2-009.sgm": "29995f606dd1a9bdf907eacc9d879846c716860d9d9141676979474aaea39c7d",
    "reut2-010.sgm": "996df6008089bd09fa5b28a4d2eb0ee5f7b9d4601cde566fed3926ac82960fa3",
    "reut2-011.sgm": "d3a2782015247d9c2bffb8926267827fdd449c70d619435ef01a25a1c56a53ca",
    "reut2-012.sgm": "da31035d483851f2aebce5b66d779e5e2c0ac9dcfe098596c6d544e81c5604ab",
    "reut2-013.sgm": "8f7700bc0455fac3fcc12377ced4807b7df8aba1f21ecad059b9cc2b1cf0b8be",
    "reut2-014.sgm": "ef936bd3e0f36cf722afa9a6957563549775af32e9e28b4f539c8737ceda83ab",
    "reut2-015.sgm": "6d3bcec73eff871b8a5403588af814c4e50a0de6bc25707480522ab836f74026",
    "reut2-016.sgm": "be2f03a185fff70131f3b4fdbd6229b7ee2be077eba9691eaa597c8cfbda8812",
    "reut2-017.sgm": "f370e610b4b1342e41a98e0c426a08541044bd1d7e539674f32372a6060b73b5",
    "reut2-018.sgm": "a5f971bf25448e915781962309e669359a35fbcaf3017a806eca0590897f209a",
    "reut2-019.sgm": "d3b07097fba2633d130b4914aceba671645985248943ce9e39c289315339dffb",
    "reut2-020.sgm": "f6ad1b724125c202566c63b35ea0b5ee23881f8b7ed47a32829d5af05d8e860d",
    "reut2-021.sgm": "3f5196d32869723c9042aa5756805b4e90360f1f45ea17f4594fa0e2b3630b18",
}
#: <REUTERS> documents per file: 1,000 each, 578 in the last; 21,578 in all.
DOCUMENTS = {name: 1000 for name in FILES[:-1]} | {FILES[-1]: 578}
RELEASE = Release(rows=DOCUMENTS, unit="documents", sha256=SHA256, archive=ARCHIVE)
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
            f"{ARCHIVE}. {DATASET.how_to_get}"
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
    archived = inputs == [raw_dir / ARCHIVE]
    docs: list[Doc] = []
    found: dict[str, Found] = {}
    for name in tqdm(FILES, desc="reuters", unit=" files", disable=None, leave=False):
        parsed = parse_sgml(data[name].decode("latin-1"), str(raw_dir / name))
        docs.extend(parsed)
        where = f"{raw_dir / ARCHIVE}!{name}" if archived else str(raw_dir / name)
        found[name] = Found(where, len(parsed), hashlib.sha256(data[name]).hexdigest())
    labels, records, stats = modapte(docs)
    if split == "standard":
        train, test = records["TRAIN"], records["TEST"]
    else:
        pooled = records["TRAIN"] + records["TEST"]
        train, test = hold_out(pooled, fraction_count(len(pooled), PAPER_TEST_FRACTION), seed)
    train, dev = carve_dev(train, seed)
    return Built(
        {"train": train, "dev": dev, "test": test},
        labels,
        hash_inputs(raw_dir, inputs),
        stats,
        found,
    )


DATASET = DatasetSpec(
    name="reuters",
    paper=PaperEntry(
        row=3,
        name="Reuters-21578",
        labels=90,
        train=8_630,
        test=2_158,
        language="en",
        note="90 categories following MAGNET",
    ),
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
    release=RELEASE,
)
