#!/usr/bin/env bash
# P@1/3/5, training time, model size and batch inference (1 thread) of 1 vs N
# trees on the shared sets' test splits: the README's "Ensembles" table.
#   scripts/ensemble_table.sh [TREES...]        (default: 1 3)
# TRAIN_OPTS="--disentangle 2" adds xmr train options to every model (split on
# spaces); SETS="cooking reuters" limits the sets.
# Needs a build (scripts/build.sh) and ../shared/datasets beside the checkout.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
xmr="$here/build/index_tools/xmr"
source "$here/scripts/shared_sets.sh"
need_build_and_sets ensemble_table.sh
trees=("$@")
[ ${#trees[@]} -gt 0 ] || trees=(1 3)
read -r -a train_opts <<< "${TRAIN_OPTS:-}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
printf '| set | trees | P@1 | P@3 | P@5 | train s (2 threads) | model MB | ms/query (batch, 1 thread) |\n|---|---|---|---|---|---|---|---|\n'
for set in "${selected_sets[@]}"; do
  set_files "$set" || continue
  for n in "${trees[@]}"; do
    model="$work/$set.$n.xmr"
    start=$(date +%s.%N)
    "$xmr" train --input "$train" --model "$model" "${norm[@]}" --trees "$n" --threads 2 -q "${train_opts[@]}"
    end=$(date +%s.%N)
    json=$("$xmr" eval --model "$model" --input "$test" "${norm[@]}" --threads 1 --json)
    python3 - "$set" "$n" "$start" "$end" "$(stat -c %s "$model")" "$json" <<'PY'
import json, sys
s, n, t0, t1, size, j = sys.argv[1:]
r = json.loads(j)
ms = 1000 * r["seconds"] / r["n"]
print(f"| {s} | {n} | {100 * r['P@1']:.2f} | {100 * r['P@3']:.2f} | {100 * r['P@5']:.2f} | {float(t1) - float(t0):.2f} | {int(size) / 1e6:.2f} | {ms:.4f} |")
PY
  done
done
