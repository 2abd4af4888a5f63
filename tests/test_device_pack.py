"""tools.device_pack (issues 15 and 20): the fp16 copy of MiniLM, its byte planes (a
lossless packing that makes the carried folder fit the device tool's 64 MiB as the
committed results grow), their unpacking on the GPU machine, and the size checks."""

from __future__ import annotations

import hashlib
import lzma
import random
import re
from pathlib import Path

import pytest

from tools import device_pack


def _assert_fp16_held_in_fp32(loaded, source) -> None:
    """Every weight of ``loaded`` is ``source``'s rounded to fp16, held in fp32."""
    import torch

    for (name, want), got in zip(source.state_dict().items(), loaded.state_dict().values()):
        assert got.dtype == torch.float32, name
        assert torch.equal(got, want.half().float()), name


def _tiny_model(folder: Path) -> Path:
    """A model folder (safetensors fp32 weights, config, tokenizer) of a tiny random BERT."""
    from lmmtc.transformers.backbone import tiny_random_backbone

    tiny = tiny_random_backbone()
    tiny.encoder.save_pretrained(folder)
    tiny.tokenizer.save_pretrained(folder)
    return folder


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.mark.parametrize("length", [0, 1, 2, 7, 10_000, 10_001])
def test_planes_round_trip_any_length_byte_identical(tmp_path, length):
    data = random.Random(length).randbytes(length)
    (tmp_path / "file").write_bytes(data)
    packed = device_pack.pack_planes(tmp_path / "file", tmp_path / "file.planes")
    raw = packed.read_bytes()
    assert raw.startswith(device_pack.PLANES_MAGIC)
    assert f'"length": {length}, "sha256": "{hashlib.sha256(data).hexdigest()}"'.encode() in raw
    assert raw.endswith(data[0::2])  # the even-offset bytes, as they are
    out = device_pack.unpack_planes(packed, tmp_path / "out")
    assert out.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "file.planes", "out"]


def test_planes_of_fp16_weights_round_trip_and_beat_plain_xz(tmp_path):
    """A real (tiny) fp16 safetensors file: unpacked byte for byte, and packed smaller
    than the file and than xz of the whole file (the high bytes compress apart)."""
    fp16 = device_pack.write_fp16_model(_tiny_model(tmp_path / "model"), tmp_path / "fp16")
    plain = (fp16 / "model.safetensors").read_bytes()
    packed = device_pack.pack_planes(fp16 / "model.safetensors", tmp_path / "w.planes")
    size = packed.stat().st_size
    assert size < 0.9 * len(plain), (size, len(plain))  # 0.85 measured
    assert size < len(lzma.compress(plain)), size  # 7.20 MB against 7.64
    assert size >= device_pack.packed_bytes_at_least(tmp_path / "model") - sum(
        (fp16 / name).stat().st_size for name in device_pack.MODEL_FILES if (fp16 / name).exists()
    )  # the bound the size check refuses on before packing
    unpacked = device_pack.unpack_planes(packed, tmp_path / "model.safetensors")
    assert unpacked.read_bytes() == plain


def _damage(raw: bytes, how: str) -> bytes:
    """``raw`` (a planes file) truncated, with one byte flipped in a part, or renamed."""
    body = raw.index(b"\n", len(device_pack.PLANES_MAGIC)) + 1
    flip = {"xz stream": body + 100, "even bytes": len(raw) - 5, "magic": 0}
    if how == "truncated":
        return raw[:-1]
    if how == "header":
        return raw.replace(b'"odd_xz_bytes": ', b'"odd_xz_bytes": 1', 1)
    at = flip[how]
    return raw[:at] + bytes([raw[at] ^ 0x40]) + raw[at + 1 :]


@pytest.mark.parametrize(
    ("how", "says"),
    [
        ("truncated", r"bytes after the header where it says \d+ \+ 5001: truncated or corrupted"),
        ("header", r"bytes after the header where it says 1\d+ \+ 5001: truncated or corrupted"),
        ("xz stream", r"its xz stream is corrupted \("),
        ("even bytes", r"the unpacked bytes' sha256 is not the header's"),
        ("magic", r"not a byte-planes file \(no b'lmmtc-byte-planes 1\\n' first\)"),
    ],
)
def test_a_damaged_planes_file_is_refused_in_one_line_leaving_no_file(tmp_path, how, says):
    data = random.Random(3).randbytes(10_001)
    data = bytes(b & 0x0F if i % 2 else b for i, b in enumerate(data))  # odd bytes compress
    (tmp_path / "file").write_bytes(data)
    packed = device_pack.pack_planes(tmp_path / "file", tmp_path / "file.planes")
    packed.write_bytes(_damage(packed.read_bytes(), how))
    with pytest.raises(device_pack.PlanesError) as err:
        device_pack.unpack_planes(packed, tmp_path / "out")
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{packed}: ")
    assert message.endswith("; pack it again with python -m tools.device_pack")
    assert re.search(says, message), message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "file.planes"]


def test_unpack_minilm_cli_refuses_a_broken_carry_in_one_line(tmp_path, capsys):
    """What the window runs: exit 1, one ``error:`` line naming the file, DEST not made."""
    carried = device_pack.write_carried_minilm(_tiny_model(tmp_path / "model"), tmp_path / "c")
    planes = carried / device_pack.PLANES_FILE
    planes.write_bytes(planes.read_bytes()[:-10])
    capsys.readouterr()
    assert device_pack.main(["--unpack-minilm", str(carried), str(tmp_path / "dest")]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1, err
    assert err.startswith(f"error: {planes}: ") and "truncated or corrupted" in err
    planes.unlink()
    assert device_pack.main(["--unpack-minilm", str(carried), str(tmp_path / "dest")]) == 1
    assert capsys.readouterr().err == (
        f"error: {planes}: missing; run python -m tools.device_pack and carry it\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c", "model"]


def test_fp16_copy_loads_as_minilm_with_fp32_weights(tmp_path, monkeypatch):
    """device_pack's fp16 folder, named by LMMTC_MINILM_DIR, is what backbone 'minilm'
    loads: the same weights rounded to fp16, held in fp32."""
    import torch
    from safetensors.torch import load_file

    from lmmtc.transformers.backbone import (
        MINILM_DIR_ENV,
        BackboneError,
        load_backbone,
        minilm_path,
        tiny_random_backbone,
    )

    source = tmp_path / "model"
    tiny = tiny_random_backbone()
    tiny.encoder.save_pretrained(source)
    tiny.tokenizer.save_pretrained(source)
    target = device_pack.write_fp16_model(source, tmp_path / "carry" / "minilm")
    assert {t.dtype for t in load_file(str(target / "model.safetensors")).values()} == {
        torch.float16
    }
    assert (target / "config.json").exists() and (target / "tokenizer.json").exists()
    monkeypatch.setenv(MINILM_DIR_ENV, str(target))
    assert minilm_path() == str(target)
    loaded = load_backbone("minilm")
    assert loaded.path == str(target)
    _assert_fp16_held_in_fp32(loaded.encoder, tiny.encoder)
    monkeypatch.setenv(MINILM_DIR_ENV, str(tmp_path / "nothing"))
    with pytest.raises(BackboneError, match=r"LMMTC_MINILM_DIR=.*nothing: no config.json there"):
        minilm_path()


def test_carried_minilm_unpacks_to_the_fp16_copy_and_loads_in_fp32(tmp_path, monkeypatch, capsys):
    """The carried folder (byte planes) unpacked by the window's command is the fp16 copy
    byte for byte, and backbone 'minilm' loads it as the fp16 weights held in fp32."""

    from lmmtc.transformers.backbone import MINILM_DIR_ENV, load_backbone, tiny_random_backbone

    source = tmp_path / "model"
    tiny = tiny_random_backbone()
    tiny.encoder.save_pretrained(source)
    tiny.tokenizer.save_pretrained(source)
    carried = device_pack.write_carried_minilm(source, tmp_path / "carry" / "minilm")
    files = [name for name in device_pack.MODEL_FILES if (source / name).is_file()]
    assert {"config.json", "tokenizer.json"} <= set(files)
    assert sorted(p.name for p in carried.iterdir()) == sorted([device_pack.PLANES_FILE, *files])
    assert sorted(p.name for p in carried.parent.iterdir()) == ["minilm"]  # no scratch left
    dest = tmp_path / "window" / "minilm"
    capsys.readouterr()
    assert device_pack.main(["--unpack-minilm", str(carried), str(dest)]) == 0
    line = capsys.readouterr().out
    size = (dest / "model.safetensors").stat().st_size / 2**20
    assert line.startswith(
        f"all-MiniLM-L6-v2 unpacked to {dest} ({size:.1f} MiB of fp16 weights, sha256 checked) in "
    ), line
    fp16 = device_pack.write_fp16_model(source, tmp_path / "fp16")
    assert _sha256(dest / "model.safetensors") == _sha256(fp16 / "model.safetensors")
    for name in files:
        assert (dest / name).read_bytes() == (source / name).read_bytes(), name
    monkeypatch.setenv(MINILM_DIR_ENV, str(dest))
    loaded = load_backbone("minilm")
    assert loaded.path == str(dest)
    _assert_fp16_held_in_fp32(loaded.encoder, tiny.encoder)


def test_fp16_size_is_estimated_from_the_safetensors_header(tmp_path):
    source = _tiny_model(tmp_path / "model")
    written = device_pack.folder_bytes(device_pack.write_fp16_model(source, tmp_path / "fp16"))
    estimate = device_pack.fp16_bytes(source)
    assert abs(estimate - written) < 0.01 * written, (estimate, written)
    assert estimate < 0.6 * device_pack.folder_bytes(source / "model.safetensors") + 2**20
    packed = device_pack.folder_bytes(device_pack.write_carried_minilm(source, tmp_path / "c"))
    at_least = device_pack.packed_bytes_at_least(source)
    assert written / 2 < at_least < packed < 0.9 * written, (at_least, packed, written)


def test_pack_refuses_an_oversized_carry(tmp_path, monkeypatch, capsys):
    """The tree plus what would be carried past 60 MiB: exit 1, the sum spelled out; before
    packing on the least the packed weights can take (nothing written), after packing on
    their real size."""
    from lmmtc.transformers.backbone import MINILM_DIR_ENV

    source = _tiny_model(tmp_path / "model")
    monkeypatch.setenv(MINILM_DIR_ENV, str(source))
    at_least = device_pack.packed_bytes_at_least(source)
    tree = int(60 * 2**20) - at_least + 1  # one byte over with the least the weights take
    monkeypatch.setattr(device_pack, "tree_bytes", lambda root=None: tree)
    out = tmp_path / "carry"
    capsys.readouterr()  # the model writer's progress bar
    assert device_pack.main(["--out", str(out), "--datasets"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(
        f"error: the working tree {tree / 2**20:.1f} MiB + MiniLM packed (at least) "
        f"{at_least / 2**20:.1f} MiB = 60.0 MiB > 60 MiB (the device tool carries 64 at most)"
    ), err
    assert not out.exists()
    tree = int(60 * 2**20) - at_least  # the bound fits; the packed weights take more
    monkeypatch.setattr(device_pack, "tree_bytes", lambda root=None: tree)
    assert device_pack.main(["--out", str(out), "--datasets"]) == 1
    packed = device_pack.folder_bytes(out / "minilm")
    assert packed > at_least
    assert capsys.readouterr().err.startswith(
        f"error: the working tree {tree / 2**20:.1f} MiB + minilm/ {packed / 2**20:.1f} MiB = "
        f"{(tree + packed) / 2**20:.1f} MiB > 60 MiB"
    )
    monkeypatch.setattr(device_pack, "tree_bytes", lambda root=None: 61 * 2**20)
    argv = ["--out", str(out), "--no-minilm", "--datasets", "no-such-set"]
    assert device_pack.main(argv) == 1  # the tree alone: before any data set is looked at
    assert "error: the working tree 61.0 MiB = 61.0 MiB > 60 MiB" in capsys.readouterr().err
    monkeypatch.setattr(device_pack, "tree_bytes", lambda root=None: 2**20)
    assert device_pack.main(["--out", str(out), "--datasets"]) == 0  # fits: written
    assert (out / "minilm" / device_pack.PLANES_FILE).is_file()
    assert not (out / "minilm" / "model.safetensors").exists()
    printed = capsys.readouterr().out
    assert f"{out / 'minilm'}: all-MiniLM-L6-v2 in fp16 (" in printed
    assert "(at most 60; the device tool's limit 64)" in printed
