#!/bin/bash
# Training seconds of two xmr builds on the shared sets, side by side:
#   scripts/train_time_ab.sh XMR_A XMR_B [NEGATIVES=tfn] [THREADS=2] [RUNS=3]
# Prints, per set, the median over RUNS alternating runs (A, B, A, B, ...) of
# each build's own timer (label embedding + clustering + levels). The data
# sets come from $XMR_DATASETS (default ../shared/datasets beside the checkout).
set -euo pipefail
if [ $# -lt 2 ]; then echo "usage: $0 XMR_A XMR_B [NEGATIVES] [THREADS] [RUNS]" >&2; exit 2; fi
A=$1 B=$2 NEG=${3:-tfn} TH=${4:-2} RUNS=${5:-3}
source "$(cd "$(dirname "$0")" && pwd)/shared_sets.sh"
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
seconds() {  # BIN ARGS...: the "train N s" figure of xmr train's summary line
  local bin=$1; shift
  "$bin" train "$@" --model "$TMP/m.xmr" --negatives "$NEG" --threads "$TH" 2>&1 | tr '\r' '\n' |
    grep -o ' train [0-9.]*s' | tail -1 | grep -o '[0-9.]*'
}
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
printf '%-10s %10s %10s %8s\n' set A_s B_s B/A
for set in "${shared_sets[@]}"; do
  set_files "$set" || continue
  args=(--input "$train" "${norm[@]}")
  : > "$TMP/a"; : > "$TMP/b"
  for _ in $(seq "$RUNS"); do seconds "$A" "${args[@]}" >> "$TMP/a"; seconds "$B" "${args[@]}" >> "$TMP/b"; done
  a=$(median < "$TMP/a"); b=$(median < "$TMP/b")
  printf '%-10s %10s %10s %8.2f\n' "$set" "$a" "$b" "$(echo "$b / $a" | bc -l)"
done
