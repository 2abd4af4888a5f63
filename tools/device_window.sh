#!/usr/bin/env bash
# One GPU window, one command (issues 15 and 20): a 20-step preflight of the CUDA path,
# the gpu profile's prioritised cells in parallel lanes with --budget set to the time left,
# each cell packed into the output folder as it ends, then the speed script in what is left.
#
#   tools/device_window.sh [OUT_DIR] [RUNNER ARGS...]     # OUT_DIR, else $OUT
#
# Before the window, here: `python -m tools.device_pack --raw-dir ../shared/data/raw`
# writes .devcarry/ (git-ignored): all-MiniLM-L6-v2 in fp16 packed as byte planes and the
# converted GoEmotions, GAIC and Reuters, 42 MiB (step 3 unpacks the weights, 1-2 s); it
# refuses to pass 60 MiB with the tree. The device tool's call:
#   run(command="bash tools/device_window.sh", carry=[".devcarry"], timeout_s=600)
# Afterwards, here: `tar -xzf <files_at>/runs.tar.gz -C results/` and rebuild the report.
#
# Lanes: a MiniLM step at batch 16 is latency-bound on an H200 (31-37 ms alone; the
# committed H200 sweep ran 4 cells at once at 37-39 ms a step each), so LANES runners
# share the card, lane k taking the seeds s with (s - 1) % LANES = k - 1: with 3 lanes
# each runs GoEmotions bert, lm, lm_mlm of one seed, about 117 s a cell (the gpu
# profile's cost table, from the H200 sweep). Plan a window here without running anything
# (the gpu profile's table is the H200's; run files of gpu cells on this CPU would count):
#   PLAN=1 DEVICE=cpu LANES=3 bash tools/device_window.sh /tmp/plan
#
# Environment (the defaults are a GPU window's):
#   DEVICE=cuda      cuda, or cpu for the rehearsal (GPUs hidden): tests/test_device_window.py
#   TOTAL=540        seconds for this whole command (the device tool stops one at 600)
#   RESERVE=30       seconds kept after the runners for the last packing and the speed script
#   BUDGET=          each runner's --budget (default, and at most: what TOTAL leaves)
#   LANES=           runners sharing the device (default 3 on cuda, 1 on cpu); 1 when the
#                    RUNNER ARGS name --seeds
#   PREFLIGHT=20     steps of the preflight (0: none); it must end within PREFLIGHT_LIMIT=30 s
#   PLAN=0           1: print each lane's plan with its estimates (--dry-run), run nothing
#   SPEED=1          0: skip the speed script; else it runs last, capped to the time left,
#                    each row written as it ends, MiniLM eager first
#   SPEED_ARGS=      more arguments of tools.speed_transformers (split on spaces)
#   SPEED_CONFIGS=bert,hf,trainer   the MiniLM rows, in this order, before the BERT-base MFU
#                    rows: those of the targets (issue 20). The first window measured all
#                    eight (add bert_long,lm,lm_mlm,bert_mlm,bert_compile) in 126 s and
#                    never reached the MFU rows (results/sweeps/h200-window-1)
#   BACKBONE=minilm  the speed script's backbone; another one is also the runners' (--set)
#   CARRY=.devcarry  the folder tools.device_pack wrote (relative to the repository)
#   DATA_DIR=        converted data when nothing is carried (default: the runner's)
#   PYTHON=python3   the interpreter with the device's own torch (nothing is pip-installed)
#   KEEP_WORK=0      1: keep the scratch folder (data, full results) and print where
#   DONE_RUNS=results/runs/gpu   the run files of cells already done (skipped, and their
#                    timings estimate the rest); empty: none (the CPU rehearsal's tests)
#
# OUT_DIR gets flat files only:
#   window.txt   the card, torch, the preflight's line, each step's time and exit status,
#                each cell as it is packed
#   runner-K.log each lane's runner;  speed.json  speed.log
#   runs.tar.gz  the run files (and scores) written in this window, with their paths under
#                results/, rewritten whole as each cell ends (a stop keeps the cells done)
# Exit status: the runners' (0 every planned cell done, 75 cells left for the next window,
# 1 a cell failed, 2 bad options; the worst lane's), 3 when the machine, the carried
# files or the preflight are not usable.
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
SPEED_ARGS=${SPEED_ARGS:-}
SPEED_CONFIGS=${SPEED_CONFIGS:-bert,hf,trainer}
PREFLIGHT=${PREFLIGHT:-20}
PREFLIGHT_LIMIT=${PREFLIGHT_LIMIT:-30}
PLAN=${PLAN:-0}
if [ "$DEVICE" = cuda ]; then LANES=${LANES:-3}; else LANES=${LANES:-1}; fi
for arg in "$@"; do
    case "$arg" in --seeds | --seeds=*) LANES=1 ;; esac
done
BACKBONE=${BACKBONE:-minilm}
CARRY=${CARRY:-.devcarry}
DONE_RUNS=${DONE_RUNS-results/runs/gpu}
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

# 3. The carried backbone and data. The weights come as byte planes
# (model.safetensors.planes, tools/device_pack.py), unpacked into $WORK/minilm, their
# length and sha256 checked; a carry with a plain model.safetensors is used as it is.
if [ -f "$CARRY/minilm/model.safetensors" ] && [ -f "$CARRY/minilm/config.json" ]; then
    export LMMTC_MINILM_DIR="$CARRY/minilm"
elif [ -d "$CARRY/minilm" ]; then
    if ! LINE=$("$PYTHON" -m tools.device_pack --unpack-minilm "$CARRY/minilm" "$WORK/minilm" 2>&1); then
        log "not usable: $(echo "$LINE" | tail -n 1)"
        exit 3
    fi
    log "$LINE"
    export LMMTC_MINILM_DIR="$WORK/minilm"
fi
if ! MINILM=$("$PYTHON" -c "from lmmtc.transformers.backbone import minilm_path as p; print(p())" 2>&1); then
    log "not usable: $MINILM; run python -m tools.device_pack and carry $CARRY"
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
if [ -n "$DONE_RUNS" ] && [ -d "$DONE_RUNS" ]; then
    cp -rp "$DONE_RUNS" "$RESULTS/runs/gpu"
fi
touch "$WORK/MARK"

# 5. The preflight: 20 steps of bert on the suite's CUDA path (bf16, fused AdamW, pinned
# batches, non-blocking copies, buckets), so that a broken path costs 30 s, not the window.
SETTINGS=(--backbone "$BACKBONE" --device "$DEVICE" --seq-len 64 --num-labels 28)
if [ "$PLAN" != 1 ] && [ "$PREFLIGHT" -gt 0 ]; then
    timeout "$PREFLIGHT_LIMIT" "$PYTHON" -m tools.speed_transformers "${SETTINGS[@]}" \
        --preflight "$PREFLIGHT" >"$WORK/preflight.txt" 2>&1
    PRE_RC=$?
    LINE=$(grep '^preflight ' "$WORK/preflight.txt" | tail -n 1)
    if [ $PRE_RC = 124 ]; then
        LINE="preflight failed: $PREFLIGHT steps of bert did not end within $PREFLIGHT_LIMIT s"
    elif [ -z "$LINE" ]; then
        LINE="preflight failed (exit $PRE_RC): $(tail -n 1 "$WORK/preflight.txt")"
    fi
    log "$LINE"
    if [ $PRE_RC != 0 ]; then
        tail -n 20 "$WORK/preflight.txt" >>"$OUT_DIR/window.txt"
        log "not usable: the preflight failed (its output is above); no cells run"
        exit 3
    fi
fi

# 6. Each finished cell packed at once: runs.tar.gz rewritten whole (beside, then renamed)
# with every run file, scores file and data record newer than MARK.
pack() {
    (cd "$RESULTS" && find runs -type f -newer "$WORK/MARK" \( -name '*.json' -o -name '*.npz' \) |
        sort) >"$WORK/new.txt"
    if [ -s "$WORK/new.txt" ] && ! cmp -s "$WORK/new.txt" "$WORK/packed.txt" &&
        tar -czf "$OUT_DIR/.runs.tar.gz.part" -C "$RESULTS" -T "$WORK/new.txt" 2>/dev/null &&
        mv -f "$OUT_DIR/.runs.tar.gz.part" "$OUT_DIR/runs.tar.gz"; then
        comm -13 "$WORK/packed.txt" "$WORK/new.txt" | grep '/seed[0-9]*\.json$' |
            while read -r run; do log "packed $run"; done
        cp "$WORK/new.txt" "$WORK/packed.txt"
    else # nothing new, or a file renamed under tar: the next pass packs it
        rm -f "$OUT_DIR/.runs.tar.gz.part"
    fi
}
: >"$WORK/packed.txt"

# 7. The runners, LANES at once, within what is left (a plan counts the preflight's limit).
LEFT=$((TOTAL - ($(date +%s) - START) - RESERVE))
if [ "$PLAN" = 1 ] && [ "$PREFLIGHT" -gt 0 ]; then
    LEFT=$((LEFT - PREFLIGHT_LIMIT))
fi
BUDGET=${BUDGET:-$LEFT}
if [ "$BUDGET" -gt "$LEFT" ]; then
    BUDGET=$LEFT
fi
SET_ARGS=(--set progress=false) # no per-step bars in the log (not part of a cell's config)
if [ "$BACKBONE" != minilm ]; then
    SET_ARGS+=(--set "backbone=$BACKBONE")
fi
lane_seeds() { # the profile's seeds 1-3 that lane $1 of LANES takes
    local s out=()
    for s in 1 2 3; do
        if [ $(((s - 1) % LANES)) = $(($1 - 1)) ]; then out+=("$s"); fi
    done
    echo "${out[*]}"
}
RC=0
if [ "$BUDGET" -lt 10 ]; then
    log "no time left for cells ($BUDGET s)"
    RC=75
else
    PIDS=()
    for K in $(seq 1 "$LANES"); do
        LANE_ARGS=()
        if [ "$LANES" -gt 1 ]; then
            # shellcheck disable=SC2207 # seeds are plain integers
            LANE_ARGS=(--seeds $(lane_seeds "$K"))
        fi
        [ "$PLAN" = 1 ] && LANE_ARGS+=(--dry-run)
        log "runner $K: --profile gpu --priority --budget $BUDGET ${LANE_ARGS[*]} ${SET_ARGS[*]} $*"
        "$PYTHON" -m benchmarks.run --profile gpu --priority --budget "$BUDGET" \
            --results-dir "$RESULTS" --no-report "${DATA_ARGS[@]}" "${LANE_ARGS[@]}" \
            "${SET_ARGS[@]}" "$@" >"$OUT_DIR/runner-$K.log" 2>&1 &
        PIDS+=($!)
    done
    alive() {
        local pid
        for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && return 0; done
        return 1
    }
    while alive; do
        [ "$PLAN" = 1 ] || pack
        sleep 2
    done
    CODES=()
    for K in $(seq 1 "$LANES"); do
        wait "${PIDS[$((K - 1))]}"
        CODES+=($?)
        log "runner $K: exit ${CODES[-1]}"
    done
    # the worst lane's: a failed cell (1), bad options (2), another error, cells left (75)
    for CODE in 1 2 $(printf '%s\n' "${CODES[@]}" | grep -vxE '0|1|2|75') 75; do
        if printf '%s\n' "${CODES[@]}" | grep -qx "$CODE"; then
            RC=$CODE
            break
        fi
    done
    [ "$PLAN" = 1 ] || pack
fi
if [ "$PLAN" != 1 ]; then
    RUNS=$(grep -c '/seed[0-9]*\.json$' "$WORK/packed.txt")
    log "packed $RUNS run files ($(wc -l <"$WORK/packed.txt") files) into runs.tar.gz"
fi
if [ "$PLAN" = 1 ]; then
    for K in $(seq 1 "$LANES"); do
        echo "--- runner $K"
        cat "$OUT_DIR/runner-$K.log"
    done
    exit "$RC"
fi

# 8. The speed script last, in the time left, each row written as it ends.
LEFT=$((TOTAL - ($(date +%s) - START) - 5))
if [ "$SPEED" = 1 ] && [ "$LEFT" -ge 30 ]; then
    log "speed script (at most $LEFT s): ${SETTINGS[*]} --configs $SPEED_CONFIGS $SPEED_ARGS"
    # shellcheck disable=SC2086 # SPEED_ARGS is a list of flags
    timeout "$LEFT" "$PYTHON" -m tools.speed_transformers --backbone "$BACKBONE" \
        --device "$DEVICE" --no-memory --one-by-one --configs "$SPEED_CONFIGS" \
        --json "$OUT_DIR/speed.json" $SPEED_ARGS >"$OUT_DIR/speed.log" 2>&1
    SPEED_RC=$?
    log "speed script: exit $SPEED_RC$([ $SPEED_RC = 124 ] && echo ' (stopped at its limit)')"
elif [ "$SPEED" = 1 ]; then
    log "speed script: no time left ($LEFT s)"
fi
log "done in $(($(date +%s) - START)) s of $TOTAL"
exit "$RC"
