"""Writers of small, format-faithful raw files for the converter tests.

Each ``write_<name>(folder)`` writes the files of one data set into ``folder`` in its
published format (including awkward cases) and returns ``folder``.
"""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from pathlib import Path

GOEMOTIONS_NAMES = ["admiration", "amusement", "anger", "neutral"]
GOEMOTIONS_ROWS = {
    "train": [
        ("I love this, thank you!", "0", "c1"),
        ('He said "no" \u2014 lol \U0001f602', "1,3", "c2"),
        ("WHY would you do that", "2", "c3"),
    ],
    "dev": [("Fine.", "3", "c4"), ("ok [NAME] that's funny", "1,0", "c5")],
    "test": [("meh", "3", "c6")],
}


def write_goemotions(folder: Path) -> Path:
    """train/dev/test.tsv (text, label ids, id) and emotions.txt without a final newline."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "emotions.txt").write_bytes("\n".join(GOEMOTIONS_NAMES).encode())
    for split, rows in GOEMOTIONS_ROWS.items():
        lines = "".join("\t".join(row) + "\n" for row in rows)
        (folder / f"{split}.tsv").write_bytes(lines.encode("utf-8"))
    return folder


# ---------------------------------------------------------------- Reuters-21578

REUTERS_HEAD = '<!DOCTYPE lewis SYSTEM "lewis.dtd">\n'


def reuters_doc(
    newid: int,
    split: str,
    topics: list[str],
    title: str | None,
    body: str | None,
    has_topics: str = "YES",
    text_type: str = "",
) -> str:
    """One <REUTERS> element as in reut2-*.sgm (entities are written by the caller)."""
    d = "".join(f"<D>{t}</D>" for t in topics)
    inner = ""
    if title is not None:
        inner += f"<TITLE>{title}</TITLE>\n"
    inner += "<DATELINE>    NEW YORK, March 2 - </DATELINE>"
    if body is not None:
        inner += f"<BODY>{body}</BODY>"
    elif title is None:
        inner = "&#2;\nU f0000 reute\nb f BC-UNPROC 03-02 0010\n&#30;Plain unprocessed text\n"
    return (
        f'<REUTERS TOPICS="{has_topics}" LEWISSPLIT="{split}" CGISPLIT="TRAINING-SET" '
        f'OLDID="{5000 + newid}" NEWID="{newid}">\n'
        f"<DATE> 2-MAR-1987 10:00:00.00</DATE>\n<TOPICS>{d}</TOPICS>\n"
        f"<PLACES><D>usa</D></PLACES>\n<PEOPLE></PEOPLE>\n<ORGS></ORGS>\n<EXCHANGES></EXCHANGES>\n"
        f"<COMPANIES></COMPANIES>\n<UNKNOWN> \n&#5;&#5;&#5;C T\n&#22;&#22;&#1;f0704&#31;reute\n"
        f"u f BC-X   03-02 0105</UNKNOWN>\n<TEXT{text_type}>&#2;\n{inner}</TEXT>\n</REUTERS>\n"
    )


def reuters_docs() -> list[str]:
    """The fixture documents: awkward cases first, then filler train/test documents."""
    docs = [
        reuters_doc(
            1,
            "TRAIN",
            ["cocoa"],
            "COCOA &amp; CO",
            "Prices &lt;up&gt; at M\xfcnchen.\n Reuter\n&#3;",
        ),
        reuters_doc(2, "TEST", ["cocoa", "grain"], "GRAIN", "Wheat body.\n Reuter\n&#3;"),
        reuters_doc(3, "TRAIN", ["grain", "rare"], "RARE", "Only train has rare.\n&#3;"),
        reuters_doc(4, "TEST", ["grain"], "BRIEF ONLY TITLE", None, text_type=' TYPE="BRIEF"'),
        reuters_doc(5, "TRAIN", [], "NO TOPICS", "Dropped.\n&#3;"),
        reuters_doc(6, "TRAIN", ["cocoa"], "TOPICS NO", "Not ModApte.", has_topics="NO"),
        reuters_doc(7, "NOT-USED", ["cocoa"], "UNUSED", "Not ModApte either."),
        reuters_doc(8, "TRAIN", ["rare"], "RARE ONLY", "Left without a kept category."),
        reuters_doc(9, "TEST", ["cocoa"], None, None, text_type=' TYPE="UNPROC"'),
    ]
    docs += [reuters_doc(i, "TRAIN", ["cocoa"], f"T{i}", f"train {i}") for i in range(10, 20)]
    docs += [reuters_doc(i, "TEST", ["grain"], f"T{i}", f"test {i}") for i in range(20, 25)]
    return docs


def write_reuters(folder: Path, archive: bool = False) -> Path:
    """reut2-000.sgm ... reut2-021.sgm (latin-1), or reuters21578.tar.gz holding them."""
    folder.mkdir(parents=True, exist_ok=True)
    docs = reuters_docs()
    files = {}
    for i in range(22):
        chunk = docs[i * 3 : i * 3 + 3]
        files[f"reut2-{i:03d}.sgm"] = (REUTERS_HEAD + "".join(chunk)).encode("latin-1")
    if not archive:
        for name, data in files.items():
            (folder / name).write_bytes(data)
        return folder
    with tarfile.open(folder / "reuters21578.tar.gz", "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 0
            tar.addfile(info, io.BytesIO(data))
    return folder


# ---------------------------------------------------------------- GAIC

GAIC_ROUND1 = "0|,|623 328 538 |,|2 \n1|,|48 328|,|\n2|,|623  656 293|,|15 16 \n"
GAIC_ROUND2 = "0|,|1 2|,|15 ,2 \n1|,|3 4|,|,\n2|,|5|,|0 1 ,11 \n3|,|7 8|,| ,0 \n"


def write_gaic(folder: Path) -> Path:
    """track1_round1_train_20210222.csv, round2/train.csv and an unlabelled test file."""
    (folder / "round2").mkdir(parents=True, exist_ok=True)
    (folder / "track1_round1_train_20210222.csv").write_text(GAIC_ROUND1)
    (folder / "round2" / "train.csv").write_text(GAIC_ROUND2)
    (folder / "track1_round1_testA_20210222.csv").write_text("0|,|1 2 3\n")
    return folder


# ---------------------------------------------------------------- AAPD

AAPD = {
    "train": [
        ("we study deep nets .", "cs.LG cs.AI"),
        ("a theorem on graphs", "math.CO"),
        ("quantum walks", "quant-ph cs.DS"),
        ("another abstract", "cs.LG"),
    ],
    "val": [("val one", "cs.AI"), ("val two", "math.CO cs.LG")],
    "test": [("test one", "quant-ph"), ("test two", "cs.DS")],
}


def write_aapd(folder: Path, zipped: bool = False) -> Path:
    """text_/label_{train,val,test}, or AAPD.zip holding them in a subfolder."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for split, rows in AAPD.items():
        files[f"text_{split}"] = "".join(t + "\n" for t, _ in rows)
        files[f"label_{split}"] = "".join(lab + "\n" for _, lab in rows)
    if zipped:
        with zipfile.ZipFile(folder / "AAPD.zip", "w") as archive:
            for name, text in files.items():
                archive.writestr(f"data/AAPD/{name}", text)
    else:
        for name, text in files.items():
            (folder / name).write_text(text)
    return folder


# ---------------------------------------------------------------- RMSC


def rmsc_album(name: str, tags: list[str], comments: list[str]) -> dict:
    """One album JSON object as in lancopku/RMSC."""
    return {
        "name": name,
        "url": f"https://music.douban.com/subject/{len(name)}/",
        "rates": ["5", "4"],
        "tags": tags,
        "all_short_comments": [
            {"name": "user", "rate": "5", "vote": "1", "comment": c} for c in comments
        ],
    }


RMSC_ALBUMS = {
    "专辑A.json": rmsc_album("专辑A", ["流行", "摇滚"], ["好听！！～", "Great album!!! 5/5 😀"]),
    "专辑B.json": rmsc_album("专辑B", ["民谣"], ["《安静》的歌，  很棒。"]),
    "empty_tags.json": rmsc_album("x", [], ["有评论"]),
    "no_comments.json": rmsc_album("y", ["流行"], []),
    **{f"album{i:02d}.json": rmsc_album(f"a{i}", ["流行"], [f"第{i}张"]) for i in range(8)},
}


def write_rmsc(folder: Path, zipped: bool = False) -> Path:
    """data.zip (one JSON per album under data/), or the extracted .json files."""
    folder.mkdir(parents=True, exist_ok=True)
    blobs = {n: json.dumps(a, ensure_ascii=False).encode("utf-8") for n, a in RMSC_ALBUMS.items()}
    if zipped:
        with zipfile.ZipFile(folder / "data.zip", "w") as archive:
            for name, data in blobs.items():
                archive.writestr(f"data/{name}", data)
    else:
        (folder / "data").mkdir(exist_ok=True)
        for name, data in blobs.items():
            (folder / "data" / name).write_bytes(data)
    return folder


# ---------------------------------------------------------------- Toxic

TOXIC_HEADER = [
    "id",
    "comment_text",
    "toxic",
    "severe_toxic",
    "obscene",
    "threat",
    "insult",
    "identity_hate",
]
TOXIC_ROWS = [
    [
        "0000997932d777bf",
        'Explanation\nWhy the edits, "hardcore" fan?',
        "0",
        "0",
        "0",
        "0",
        "0",
        "0",
    ],
    ["000103f0d9cfb60f", 'You are a "stupid",\r\nugly\n\n troll', "1", "0", "1", "0", "1", "0"],
    ["a2", "I will find you", "1", "0", "0", "1", "0", "0"],
    *[[f"p{i}", f"bad comment {i}", "1", "0", "0", "0", "0", "0"] for i in range(8)],
    ["last", 'hateful, "quoted"\nmulti-line', "1", "1", "0", "0", "0", "1"],
]


def write_toxic(folder: Path) -> Path:
    """Kaggle's train.csv: quoted header and comments (multi-line, doubled quotes), 0/1 flags."""
    folder.mkdir(parents=True, exist_ok=True)

    def quoted(value: str) -> str:
        return '"' + value.replace('"', '""') + '"'

    lines = [",".join(quoted(h) for h in TOXIC_HEADER)]
    lines += [f"{quoted(r[0])},{quoted(r[1])},{','.join(r[2:])}" for r in TOXIC_ROWS]
    content = "\n".join(lines) + "\n"
    (folder / "train.csv").write_bytes(content.encode("utf-8"))
    return folder


#: 22 style names, as many as the RMSC release has.
RMSC_STYLES = [f"风格{i:02d}" for i in range(22)]


def write_rmsc_release_sized(folder: Path, albums: int = 7172) -> Path:
    """data.zip with ``albums`` tiny albums (default: the release's 7,172) over 22 styles.

    Each album has one or two styles and a distinct one-comment text, so the release
    check passes and the paper split's sizes can be checked exactly.
    """
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(folder / "data.zip", "w", zipfile.ZIP_STORED) as archive:
        for i in range(albums):
            tags = sorted({RMSC_STYLES[i % 22], RMSC_STYLES[(i * 7) % 22]})
            album = rmsc_album(f"a{i}", tags, [f"第{i}张 好听"])
            archive.writestr(f"data/{i:05d}.json", json.dumps(album, ensure_ascii=False))
    return folder
