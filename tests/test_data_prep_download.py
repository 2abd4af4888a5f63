"""Downloads against a local HTTP server on 127.0.0.1: full fetch, resume, checksum errors,
the Reuters archive's member check (fresh and cached), and refused redirects."""

from __future__ import annotations

import dataclasses
import hashlib
import http.server
import io
import tarfile
import threading
import urllib.request
from email.message import Message
from pathlib import Path

import pytest
from fixtures_raw import write_goemotions, write_reuters

from data_prep import ConversionError, convert
from data_prep.base import Download, Release
from data_prep.cli import main
from data_prep.datasets.goemotions import DATASET as GOEMOTIONS
from data_prep.datasets.reuters import ARCHIVE, FILES
from data_prep.datasets.reuters import DATASET as REUTERS
from data_prep.download import (
    BASE_URL_ENV,
    SameHostRedirectHandler,
    download,
    fetch,
    redirect_refusal,
)

#: fixtures are not the public release: converted with allow_nonstandard=True, which warns
pytestmark = pytest.mark.filterwarnings("ignore::data_prep.base.NonstandardReleaseWarning")

#: fixtures are not the public release: converted with allow_nonstandard=True, which warns
pytestmark = pytest.mark.filterwarnings("ignore::data_prep.base.NonstandardReleaseWarning")


class RangeHandler(http.server.BaseHTTPRequestHandler):
    """Serves files from ``root``, honouring ``Range: bytes=N-``; records each Range header."""

    root: Path
    ranges: list
    redirects: dict = {}  # request path -> Location header (a 302 answer)

    def do_GET(self):  # noqa: N802 (http.server's naming)
        if self.path in self.redirects:
            self.send_response(302)
            self.send_header("Location", self.redirects[self.path])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path = self.root / self.path.lstrip("/")
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        wanted = self.headers.get("Range")
        self.ranges.append(wanted)
        if wanted:
            start = int(wanted.removeprefix("bytes=").rstrip("-"))
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            data = data[start:]
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """(base URL, served folder, list of Range headers seen) of a server on 127.0.0.1."""
    served = write_goemotions(tmp_path / "served")
    handler = type("Handler", (RangeHandler,), {"root": served, "ranges": []})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", served, handler.ranges
    httpd.shutdown()
    httpd.server_close()


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fixture_converter(served: Path):
    """GoEmotions with the fixture files' hashes instead of the real ones."""
    downloads = tuple(
        Download(d.url, d.filename, sha(served / d.filename)) for d in GOEMOTIONS.downloads
    )
    return dataclasses.replace(GOEMOTIONS, downloads=downloads)


def test_full_download_then_convert(server, tmp_path):
    base, served, ranges = server
    raw = tmp_path / "raw"
    hashes = download(fixture_converter(served), raw, base_url=base, progress=False)
    assert hashes == {name: sha(served / name) for name in hashes}
    assert sorted(p.name for p in raw.iterdir()) == sorted(hashes)  # no .part left
    assert ranges == [None] * 4
    out = convert("goemotions", raw, tmp_path / "data", allow_nonstandard=True)
    assert (out / "train.jsonl").exists()
    # a second call is served from the cache: no request
    download(fixture_converter(served), raw, base_url=base, progress=False)
    assert len(ranges) == 4


def test_resume_from_partial_file(server, tmp_path):
    base, served, ranges = server
    content = (served / "train.tsv").read_bytes()
    dest = tmp_path / "raw" / "train.tsv"
    dest.parent.mkdir()
    (dest.parent / "train.tsv.part").write_bytes(content[:20])
    digest = fetch(f"{base}/train.tsv", dest, sha(served / "train.tsv"), progress=False)
    assert ranges == ["bytes=20-"]
    assert dest.read_bytes() == content and digest == sha(dest)
    assert not (dest.parent / "train.tsv.part").exists()


def test_unknown_hash_is_computed(server, tmp_path):
    base, served, _ = server
    digest = fetch(f"{base}/dev.tsv", tmp_path / "dev.tsv", None, progress=False)
    assert digest == sha(served / "dev.tsv")


def test_checksum_mismatch_removes_file(server, tmp_path):
    base, _, _ = server
    dest = tmp_path / "raw" / "test.tsv"
    with pytest.raises(ConversionError, match=r"test\.tsv: sha256 [0-9a-f]{64} differs from the"):
        fetch(f"{base}/test.tsv", dest, "0" * 64, progress=False)
    assert not dest.exists() and not dest.with_name("test.tsv.part").exists()


def test_http_error(server, tmp_path):
    base, _, _ = server
    with pytest.raises(ConversionError, match=r"nothing\.tsv: HTTP 404"):
        fetch(f"{base}/nothing.tsv", tmp_path / "x", None, progress=False)


def test_cli_download_mismatch_with_real_hashes(server, tmp_path, monkeypatch, capsys):
    """The fixture files are not the published ones: the CLI must refuse them cleanly."""
    base, _, _ = server
    monkeypatch.setenv(BASE_URL_ENV, base)
    code = main(["goemotions", "--raw-dir", str(tmp_path / "raw"), "--out", str(tmp_path / "d")])
    assert code == 1  # nothing downloaded yet: files missing
    assert "folder missing" in capsys.readouterr().err
    code = main(
        ["goemotions", "--raw-dir", str(tmp_path / "raw"), "--out", str(tmp_path / "d"),
         "--download"]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "differs from the expected" in err
    assert not any((tmp_path / "raw").iterdir())
    assert not (tmp_path / "d" / "goemotions").exists()


@pytest.mark.parametrize("name", ["toxic", "gaic", "aapd", "rmsc"])
def test_cli_download_not_available(name, tmp_path, capsys):
    code = main([name, "--raw-dir", str(tmp_path / name), "--out", str(tmp_path), "--download"])
    err = capsys.readouterr().err
    assert code == 1
    assert f"{name} cannot be downloaded automatically" in err and "raw folder" in err


# ---------------------------------------------------------------- Reuters: the members' sha256


def reuters_members(folder: Path) -> dict[str, bytes]:
    """The fixture's 22 SGML files."""
    loose = write_reuters(folder)
    return {name: (loose / name).read_bytes() for name in FILES}


def write_archive(path: Path, members: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def fixture_reuters(members: dict[str, bytes]):
    """Reuters whose release is the fixture's members (the archive's own hash stays unknown)."""
    release = Release(
        rows=dict.fromkeys(members, 3),
        unit="documents",
        sha256={name: hashlib.sha256(data).hexdigest() for name, data in members.items()},
        archive=ARCHIVE,
    )
    return dataclasses.replace(REUTERS, release=release)


def test_reuters_archive_members_verified(server, tmp_path):
    base, served, _ = server
    members = reuters_members(tmp_path / "members")
    write_archive(served / ARCHIVE, members)
    raw = tmp_path / "raw"
    hashes = download(fixture_reuters(members), raw, base_url=base, progress=False)
    assert hashes == {ARCHIVE: sha(served / ARCHIVE)}
    # the real release's member hashes refuse the fixture archive, and remove it
    with pytest.raises(ConversionError) as caught:
        download(REUTERS, tmp_path / "raw2", base_url=base, progress=False)
    assert str(caught.value).startswith(
        f"{base}/{ARCHIVE}: member reut2-000.sgm has sha256 "
    ) and str(caught.value).endswith(
        "(22 of 22 members differ); the bad file was removed, download it again (or check the URL)"
    )
    assert not any((tmp_path / "raw2").iterdir())


@pytest.mark.parametrize(
    ("cached", "problem"),
    [
        (b"<html>Service unavailable</html>", "not a complete tar archive"),
        ("truncated", "not a complete tar archive"),
        ("edited", "member reut2-004.sgm has sha256"),
        ("missing", "1 of the 22 release files missing (reut2-021.sgm, ...)"),
    ],
)
def test_bad_cached_archive_is_removed_and_fetched_again(cached, problem, server, tmp_path, capsys):
    base, served, _ = server
    members = reuters_members(tmp_path / "members")
    good = write_archive(served / ARCHIVE, members).read_bytes()
    dest = tmp_path / "raw" / ARCHIVE
    if cached == "truncated":
        dest.parent.mkdir(parents=True)
        dest.write_bytes(good[: len(good) // 2])
    elif cached == "edited":
        write_archive(dest, {**members, "reut2-004.sgm": members["reut2-004.sgm"] + b" "})
    elif cached == "missing":
        write_archive(dest, {k: v for k, v in members.items() if k != "reut2-021.sgm"})
    else:
        dest.parent.mkdir(parents=True)
        dest.write_bytes(cached)
    download(fixture_reuters(members), tmp_path / "raw", base_url=base, progress=False)
    assert dest.read_bytes() == good
    err = capsys.readouterr().err
    assert err.startswith(f"{dest}: cached file is bad ({problem}")
    assert err.endswith("); removed, fetching again\n") and err.count("\n") == 1


def test_good_cached_archive_is_kept(server, tmp_path):
    base, served, ranges = server
    members = reuters_members(tmp_path / "members")
    write_archive(served / ARCHIVE, members)
    dest = write_archive(tmp_path / "raw" / ARCHIVE, members)
    download(fixture_reuters(members), tmp_path / "raw", base_url=base, progress=False)
    assert ranges == [] and dest.is_file()


# ---------------------------------------------------------------- redirects


@pytest.mark.parametrize(
    ("old", "new", "refusal"),
    [
        ("https://a.org/x", "http://a.org/x", "redirected from https to http (http://a.org/x)"),
        ("https://a.org:8443/x", "http://a.org:8443/x", "from https to http"),
        ("http://127.0.0.1:8000/x", "http://localhost:8000/x", "redirected to another host"),
        ("http://127.0.0.1:8000/x", "http://127.0.0.2:8000/x", "another host"),
        ("http://127.0.0.1:8000/x", "http://127.0.0.1:8001/x", "another host"),
        ("https://a.org/x", "https://b.org/x", "another host (https://b.org/x)"),
        ("https://a.org/x", "https://a.org.evil.com/x", "another host"),
        ("https://a.org/x", "https://a.org:444/x", "another host"),
        ("http://a.org:8080/x", "https://a.org/x", "another host"),
        ("https://a.org/x", "ftp://a.org/x", "redirected to ftp://a.org/x, which is not http(s)"),
        ("https://a.org/x", "file:///etc/passwd", "not http(s)"),
        ("https://a.org/x", "https://a.org:99999/x", "whose port is not valid"),
        ("https://a.org/x", "https://a.org/y?z=1", None),
        ("https://a.org/x", "https://A.ORG:443/y", None),
        ("http://a.org/x", "https://a.org/x", None),  # upgrade on the default ports
        ("http://127.0.0.1:8000/x", "http://127.0.0.1:8000/y", None),
    ],
)
def test_redirect_decision(old, new, refusal):
    got = redirect_refusal(old, new)
    assert got == refusal if refusal is None else refusal in got


def test_handler_refuses_https_to_http():
    """No https server here: the handler's decision is called as urllib would call it."""
    handler = SameHostRedirectHandler()
    request = urllib.request.Request("https://archive.example.org/r.tar.gz")
    with pytest.raises(ConversionError) as caught:
        handler.redirect_request(
            request, None, 302, "Found", Message(), "http://archive.example.org/r.tar.gz"
        )
    assert str(caught.value) == (
        "https://archive.example.org/r.tar.gz: redirected from https to http "
        "(http://archive.example.org/r.tar.gz); refused, downloads follow redirects only on "
        "the same host and never from https to http: fetch the file yourself and put it into "
        "the raw folder"
    )
    same = handler.redirect_request(
        request, None, 302, "Found", Message(), "https://archive.example.org/new/r.tar.gz"
    )
    assert same.full_url == "https://archive.example.org/new/r.tar.gz"


@pytest.fixture
def two_servers(tmp_path):
    """(base A, base B, A's redirect table): two local servers serving the same files."""
    served = write_goemotions(tmp_path / "served")
    bases, servers, tables = [], [], []
    for _ in range(2):
        table: dict[str, str] = {}
        attrs = {"root": served, "ranges": [], "redirects": table}
        httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), type("Handler", (RangeHandler,), attrs)
        )
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        bases.append(f"http://127.0.0.1:{httpd.server_address[1]}")
        servers.append(httpd)
        tables.append(table)
    yield bases[0], bases[1], tables[0]
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize(
    ("target", "followed"),
    [
        ("{a}/dev.tsv", True),
        ("/dev.tsv", True),  # relative: same host and port
        ("{b}/dev.tsv", False),  # another port
        ("{a_localhost}/dev.tsv", False),  # localhost is another host name than 127.0.0.1
        ("http://127.0.0.2:{a_port}/dev.tsv", False),
    ],
)
def test_local_redirects(target, followed, two_servers, tmp_path):
    base_a, base_b, redirects = two_servers
    port = base_a.rsplit(":", 1)[1]
    location = target.format(
        a=base_a, b=base_b, a_localhost=f"http://localhost:{port}", a_port=port
    )
    redirects["/moved/dev.tsv"] = location
    dest = tmp_path / "raw" / "dev.tsv"
    if followed:
        fetch(f"{base_a}/moved/dev.tsv", dest, None, progress=False)
        assert dest.read_bytes() == (tmp_path / "served" / "dev.tsv").read_bytes()
        return
    with pytest.raises(ConversionError) as caught:
        fetch(f"{base_a}/moved/dev.tsv", dest, None, progress=False)
    assert str(caught.value).startswith(
        f"{base_a}/moved/dev.tsv: redirected to another host ({location}); refused"
    )
    assert not dest.parent.exists() or not any(dest.parent.iterdir())
