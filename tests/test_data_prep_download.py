"""Downloads against a local HTTP server on 127.0.0.1: full fetch, resume, checksum errors."""

from __future__ import annotations

import dataclasses
import hashlib
import http.server
import threading
from pathlib import Path

import pytest
from fixtures_raw import write_goemotions

from data_prep import ConversionError, convert
from data_prep.base import Download
from data_prep.cli import main
from data_prep.download import BASE_URL_ENV, download, fetch
from data_prep.goemotions import CONVERTER as GOEMOTIONS

#: fixtures are not the public release: converted with allow_nonstandard=True, which warns
pytestmark = pytest.mark.filterwarnings("ignore::data_prep.base.NonstandardReleaseWarning")


class RangeHandler(http.server.BaseHTTPRequestHandler):
    """Serves files from ``root``, honouring ``Range: bytes=N-``; records each Range header."""

    root: Path
    ranges: list

    def do_GET(self):  # noqa: N802 (http.server's naming)
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
