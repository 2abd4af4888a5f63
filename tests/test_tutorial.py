"""docs/tutorial.md runs as written.

The page becomes one bash script, in document order, run in an empty folder:

- a fenced block whose first line is ``# file: PATH``, or that follows the line
  ``<!-- file: PATH -->``, is written to PATH (the marker comment stays in the file);
- a ``bash`` block is run as it is, unless it follows ``<!-- not-tested: reason -->``
  (it needs Slurm, GPUs or raw data) or ``<!-- requires: module -->`` with the module
  not installed;
- other blocks (output examples) are left alone.

One script, so that the tutorial's ``export`` lines reach later blocks as they would in
a reader's terminal. ``python`` is this interpreter; ``pip install`` goes to a folder of
the temporary directory (PIP_TARGET, on PYTHONPATH), never into the test environment.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmarks.running.plan import dataset_key

TUTORIAL = Path(__file__).resolve().parents[1] / "docs" / "tutorial.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.DOTALL | re.MULTILINE)
MARKER = re.compile(r"<!--\s*([\w-]+):\s*(.*?)\s*-->\s*\n\Z")
FILE_LINE = re.compile(r"^#\s*file:\s*(\S+)\n")


@dataclass
class Block:
    language: str
    body: str
    line: int
    marker: tuple[str, str] | None  # (kind, value) of an HTML comment just before


def blocks(text: str) -> list[Block]:
    found = []
    for match in FENCE.finditer(text):
        before = MARKER.search(text[: match.start()])
        found.append(
            Block(
                match.group(1),
                match.group(2),
                text.count("\n", 0, match.start()) + 1,
                (before.group(1), before.group(2)) if before else None,
            )
        )
    return found


def target(block: Block) -> str | None:
    """The path a block is written to, or None."""
    if block.marker and block.marker[0] == "file":
        return block.marker[1]
    match = FILE_LINE.match(block.body)
    return match.group(1) if match else None


def script(text: str) -> tuple[str, list[str]]:
    """The tutorial as one bash script, and the reasons of the blocks left out."""
    lines = ["set -eo pipefail"]
    skipped = []
    for block in blocks(text):
        path = target(block)
        if path:
            lines += [
                f"mkdir -p {shlex.quote(str(Path(path).parent))}",
                f"cat > {shlex.quote(path)} <<'TUTORIAL_EOF'\n{block.body}TUTORIAL_EOF",
            ]
        elif block.language == "bash":
            kind, value = block.marker or ("", "")
            if kind == "not-tested":
                skipped.append(f"line {block.line}: {value}")
                continue
            if kind == "requires" and importlib.util.find_spec(value) is None:
                skipped.append(f"line {block.line}: {value} is not installed")
                continue
            lines += [f"echo '### tutorial.md line {block.line}'", block.body]
    return "\n".join(lines) + "\n", skipped


def test_markers_are_understood():
    text = TUTORIAL.read_text(encoding="utf-8")
    found = blocks(text)
    kinds = {b.marker[0] for b in found if b.marker}
    assert kinds <= {"file", "not-tested", "requires"}, kinds
    written = [target(b) for b in found if target(b)]
    assert {"mypkg/mod.py", "pyproject.toml", "news.csv", "convert_news.py"} <= set(written)
    _, skipped = script(text)
    assert all(reason.split(": ", 1)[1] for reason in skipped)  # every skip says why


@pytest.mark.slow  # docs/tutorial.md end to end: the README's test command leaves it out, CI runs it
def test_tutorial_runs_as_written(tmp_path):
    code, skipped = script(TUTORIAL.read_text(encoding="utf-8"))
    venv_bin = Path(sys.executable).parent
    site = tmp_path / ".pip-target"
    env = {
        **os.environ,
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])),
        "PIP_TARGET": str(site),
        "PIP_NO_DEPS": "1",
        "PIP_NO_BUILD_ISOLATION": "false",  # pip's spelling of "do not isolate the build"
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "MPLBACKEND": "Agg",
    }
    for name in ("LMMTC_DATA_DIR", "LMMTC_RAW_DIR", "LMMTC_RESULTS_DIR"):
        env.pop(name, None)  # the tutorial sets its own
    (tmp_path / "tutorial.sh").write_text(code, encoding="utf-8")
    if sys.executable != str(venv_bin / "python"):
        (tmp_path / "bin").mkdir()
        (tmp_path / "bin" / "python").symlink_to(sys.executable)
        env["PATH"] = f"{tmp_path / 'bin'}{os.pathsep}{env['PATH']}"
    done = subprocess.run(
        ["bash", "tutorial.sh"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    print("not run:", *skipped, sep="\n  ")

    # what the tutorial says happens, happened, in the reader's folder
    results = tmp_path / "results"
    runs = results / "runs" / "smoke"
    assert (runs / "synthetic-small" / "mypkg.mod.TfidfLogReg" / "seed2.json").exists()
    news = dataset_key(str(tmp_path / "news"))  # the folder: its name and a path hash
    assert (runs / news / "tfidf_lr" / "seed1.json").exists()  # the entry point's name
    assert (runs / news / "br" / "seed1.json").exists()
    table = (results / "tables" / "smoke" / "compare_mypkg.mod.TfidfLogReg.md").read_text()
    record = json.loads((runs / news / "mypkg.mod.TfidfLogReg" / "seed1.json").read_text())
    f1 = 100 * record["metrics"]["test"]["micro_f1"]
    row = next(line for line in table.splitlines() if line.startswith(f"| {news} | mypkg.mod"))
    assert f"| {f1:.2f} (n=1) |" in row  # one seed: no spread to show
    assert "| reuters | LM+MLM | paper Table 2 |" in table
    # load_results in summarise.py: one row a method, its test micro-F1 from the run file
    tfidf = json.loads((runs / news / "tfidf_lr" / "seed1.json").read_text())
    printed = re.search(r"^tfidf_lr\s+([0-9.]+)", done.stdout, re.MULTILINE)
    assert printed and float(printed.group(1)) == round(tfidf["metrics"]["test"]["micro_f1"], 4)
    assert "jobs on slurm" in done.stdout and "'slurm_partition': 'gpu'" in done.stdout
    if not any("tensorboard" in reason for reason in skipped):
        assert list((results / "tracking" / "tensorboard" / "smoke").iterdir())


@pytest.mark.parametrize("name", ["not-tested", "requires"])
def test_script_leaves_marked_blocks_out(name):
    text = f"<!-- {name}: nosuchmodule_xyz -->\n```bash\nexit 1\n```\n```bash\necho ok\n```\n"
    code, skipped = script(text)
    assert "exit 1" not in code and "echo ok" in code and len(skipped) == 1
