#!/usr/bin/env bash
# One GPU window, one command (issue 15): the transformer speed script, then the gpu
# profile's prioritised cells with --budget set to the time left; every output in one
# folder.
#
#   benchmarks/device_window.sh [OUT_DIR] [RUNNER ARGS...]     # OUT_DIR, else $OUT
#
# Before the window, here: `python -m benchmarks.device_pack --raw-dir ../shared/data/raw`
# writes .devcarry/ (git-ignored): all-MiniLM-L6-v2 in fp16 and the converted GoEmotions
# and Reuters, about 48 MiB with the 2-3 MiB tree under the tool's 64. The device tool's call:
#   run(command="bash benchmarks/device_window.sh", carry=[".devcarry"], timeout_s=600)
# Afterwards, here: `tar -xzf <files_at>/runs.tar.gz -C results/` and rebuild the report.
#
# Environment (the defaults are a GPU window's):
#   DEVICE=cuda      cuda, or cpu for the rehearsal (GPUs hidden): tests/test_device_window.py
#   TOTAL=540        seconds for this whole command (the device tool stops one at 600)
#   RESERVE=30       seconds kept after the runner for packing the output
#   BUDGET=          the runner's --budget (default, and at most: what TOTAL leaves)
#   SPEED=1          0: skip the speed script (a later window of the same code)
#   SPEED_LIMIT=300  seconds the speed script may take; its JSON is written as it goes
#   SPEED_ARGS=--cudagraphs   more arguments of benchmarks.speed_transformers (split on spaces)
#   BACKBONE=minilm  the speed script's backbone; another one is also the runner's (--set)
#   CARRY=.devcarry  the folder benchmarks.device_pack wrote (relative to the repository)
#   DATA_DIR=        converted data when nothing is carried (default: the runner's)
#   PYTHON=python3   the interpreter with the device's own torch (nothing is pip-installed)
#   KEEP_WORK=0      1: keep the scratch folder (data, full results) and print where
#
# OUT_DIR gets flat files only (the device tool brings back 8 files, two folders down):
#   window.txt   the card, torch, each step's time and exit status, the budget
#   speed.json   speed.log   runner.log
#   runs.tar.gz  the run files written in this window, with their paths under results/
# Exit status: the runner's (0 every planned cell done, 75 cells left for the next window,
# 1 a cell failed, 2 bad options), 3 when the machine or the carried files are not usable.
set -uo pipefail

START=$(date +%s)
OUT_DIR=${1:-${OUT:-}}
if [ -z "$OUT_DIR" ]; then
    echo "device_window.sh: give the output folder as the first argument or set OUT" >&2
    exit 2
fi
shift $(($# > 0 ? 1 : 0))
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)
cd "$(dirname "$0")/.." || exit 3
REPO=$(pwd)

DEVICE=${DEVICE:-cuda}
TOTAL=${TOTAL:-540}
RESERVE=${RESERVE:-30}
SPEED=${SPEED:-1}
SPEED_LIMIT=${SPEED_LIMIT:-300}
SPEED_ARGS=${SPEED_ARGS---cudagraphs}
BACKBONE=${BACKBONE:-minilm}
CARRY=${CARRY:-.devcarry}
PYTHON=${PYTHON:-python3}
case "$CARRY" in /*) ;; *) CARRY="$REPO/$CARRY" ;; esac

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1
export TOKENIZERS_PARALLELISM=false
if [ "$DEVICE" = cpu ]; then
    export CUDA_VISIBLE_DEVICES=""
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lmmtc-window.XXXXXX")
if [ "${KEEP_WORK:-0}" = 1 ]; then
    echo "scratch folder kept: $WORK"
else
    trap 'rm -rf "$WORK"' EXIT
fi

: >"$OUT_DIR/window.txt"
log() { echo "[window +$(($(date +%s) - START)) s] $*" | tee -a "$OUT_DIR/window.txt"; }

# 1. The interpreter and the card.
if ! "$PYTHON" - "$DEVICE" >>"$OUT_DIR/window.txt" 2>&1 <<'EOF'; then
import sys

import torch

cuda = torch.cuda.is_available()
name = torch.cuda.get_device_name(0) if cuda else "none"
print(f"torch {torch.__version__}; CUDA available: {cuda}; card: {name}")
if sys.argv[1] == "cuda" and not cuda:
    sys.exit("DEVICE=cuda, but this torch sees no GPU (DEVICE=cpu rehearses on the CPU)")
EOF
    log "not usable: $(tail -n 1 "$OUT_DIR/window.txt")"
    exit 3
fi
log "$(tail -n 1 "$OUT_DIR/window.txt")"

# 2. The suite, from this tree: its methods register through entry points, which need
# installed metadata. Rather than pip-install on a machine without network, put a minimal
# dist-info (name, version, the entry points of pyproject.toml) first on PYTHONPATH.
SITE="$WORK/site"
if ! "$PYTHON" - "$SITE" >>"$OUT_DIR/window.txt" 2>&1 <<'EOF'; then
import sys
import tomllib
from pathlib import Path

project = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))["project"]
info = Path(sys.argv[1]) / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
info.mkdir(parents=True)
meta = f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n"
(info / "METADATA").write_text(meta, encoding="utf-8")
lines = []
for group, points in project.get("entry-points", {}).items():
    lines += [f"[{group}]", *(f"{name} = {value}" for name, value in points.items()), ""]
(info / "entry_points.txt").write_text("\n".join(lines), encoding="utf-8")
EOF
    log "not usable: cannot write the suite's metadata (see above)"
    exit 3
fi
export PYTHONPATH="$SITE:$REPO${PYTHONPATH:+:$PYTHONPATH}"

# 3. The carried backbone and data.
if [ -f "$CARRY/minilm/config.json" ]; then
    export LMMTC_MINILM_DIR="$CARRY/minilm"
fi
if ! MINILM=$("$PYTHON" -c "from lmmtc.transformers.backbone import minilm_path as p; print(p())" 2>&1); then
    log "not usable: $MINILM; run python -m benchmarks.device_pack and carry $CARRY"
    exit 3
fi
log "all-MiniLM-L6-v2 (and the tokenizer of the random backbones): $MINILM"
DATA_ARGS=()
if [ -f "$CARRY/data.tar.xz" ]; then
    if ! "$PYTHON" -m tarfile -e "$CARRY/data.tar.xz" "$WORK/data" >>"$OUT_DIR/window.txt" 2>&1; then
        log "not usable: cannot unpack $CARRY/data.tar.xz"
        exit 3
    fi
    DATA_ARGS=(--data-dir "$WORK/data")
    log "data: $(ls "$WORK/data" | tr '\n' ' ')(unpacked from $CARRY/data.tar.xz)"
elif [ -n "${DATA_DIR:-}" ]; then
    DATA_ARGS=(--data-dir "$DATA_DIR")
fi

# 4. The results folder: the committed gpu run files, so that done cells are skipped and
# their timings give the estimates; the window's new files are those newer than MARK.
RESULTS="$WORK/results"
mkdir -p "$RESULTS/runs"
if [ -d results/runs/gpu ]; then
    cp -rp results/runs/gpu "$RESULTS/runs/"
fi
touch "$WORK/MARK"

# 5. The speed script (its JSON is rewritten as it goes, so a stop keeps what it has).
if [ "$SPEED" = 1 ]; then
    log "speed script (at most $SPEED_LIMIT s): --backbone $BACKBONE --device $DEVICE $SPEED_ARGS"
    # shellcheck disable=SC2086 # SPEED_ARGS is a list of flags
    timeout "$SPEED_LIMIT" "$PYTHON" -m benchmarks.speed_transformers --backbone "$BACKBONE" \
        --device "$DEVICE" --no-memory --json "$OUT_DIR/speed.json" $SPEED_ARGS \
        >"$OUT_DIR/speed.log" 2>&1
    SPEED_RC=$?
    log "speed script: exit $SPEED_RC$([ $SPEED_RC = 124 ] && echo ' (stopped at its limit)')"
fi

# 6. The runner on the priority list, within what is left.
LEFT=$((TOTAL - ($(date +%s) - START) - RESERVE))
BUDGET=${BUDGET:-$LEFT}
if [ "$BUDGET" -gt "$LEFT" ]; then
    BUDGET=$LEFT
fi
SET_ARGS=(--set progress=false) # no per-step bars in the log (not part of a cell's config)
if [ "$BACKBONE" != minilm ]; then
    SET_ARGS+=(--set "backbone=$BACKBONE")
fi
if [ "$BUDGET" -lt 10 ]; then
    log "no time left for cells ($BUDGET s)"
    RC=75
else
    log "runner: --profile gpu --priority --budget $BUDGET ${SET_ARGS[*]} $*"
    "$PYTHON" -m benchmarks.run --profile gpu --priority --budget "$BUDGET" \
        --results-dir "$RESULTS" --no-report "${DATA_ARGS[@]}" "${SET_ARGS[@]}" "$@" \
        2>&1 | tee "$OUT_DIR/runner.log"
    RC=${PIPESTATUS[0]}
    log "runner: exit $RC"
fi

# 7. The window's run files, packed with their paths under results/.
(cd "$RESULTS" && find runs -type f -newer "$WORK/MARK" \( -name '*.json' -o -name '*.npz' \) |
    sort) >"$WORK/new.txt"
RUNS=$(grep -c '/seed[0-9]*\.json$' "$WORK/new.txt")
if [ -s "$WORK/new.txt" ]; then
    tar -czf "$OUT_DIR/runs.tar.gz" -C "$RESULTS" -T "$WORK/new.txt"
fi
log "packed $RUNS run files ($(wc -l <"$WORK/new.txt") files) into runs.tar.gz; done in $(($(date +%s) - START)) s of $TOTAL"
exit "$RC"
