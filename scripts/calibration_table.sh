#!/usr/bin/env bash
# Calibration before/after on the shared sets' test splits: the README's
# "Calibrated probabilities" table. For each set, a plain model and one with
# --calibrate SHARE (default 0.1), both evaluated by `xmr eval --json`.
#   scripts/calibration_table.sh [SHARE | folds:K]   (folds:K: --calibrate-folds K)
# Needs a build (scripts/build.sh) and ../shared/datasets beside the checkout.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
xmr="$here/build/index_tools/xmr"
source "$here/scripts/shared_sets.sh"
share="${1:-0.1}"
if [[ "$share" == folds:* ]]; then calibrate=(--calibrate-folds "${share#folds:}"); else calibrate=(--calibrate "$share"); fi
need_build_and_sets calibration_table.sh
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
printf '| set | P@1 / P@5 plain | P@1 / P@5 calibrated | ECE@1 raw → calibrated (sampling floor, its 95th percentile) | ECE@5 raw → calibrated | Brier@1 raw → calibrated | train s plain → calibrated |\n|---|---|---|---|---|---|---|\n'
for set in "${shared_sets[@]}"; do
  set_files "$set" || continue
  t0=$(date +%s.%N)
  "$xmr" train --input "$train" --model "$work/plain.xmr" "${norm[@]}" --threads 2 -q
  t1=$(date +%s.%N)
  "$xmr" train --input "$train" --model "$work/cal.xmr" "${norm[@]}" --threads 2 -q "${calibrate[@]}"
  t2=$(date +%s.%N)
  plain=$("$xmr" eval --model "$work/plain.xmr" --input "$test" "${norm[@]}" --json)
  cal=$("$xmr" eval --model "$work/cal.xmr" --input "$test" "${norm[@]}" --json)
  python3 - "$set" "$plain" "$cal" "$t0" "$t1" "$t2" <<'PY'
import json, sys
s, a, b, t0, t1, t2 = sys.argv[1:]
a, b = json.loads(a), json.loads(b)
assert not a["calibrated"] and b["calibrated"]
f = lambda r, k: f"{100 * r[k]:.2f}"
print(f"| {s} | {f(a, 'P@1')} / {f(a, 'P@5')} | {f(b, 'P@1')} / {f(b, 'P@5')} | {a['ECE@1']:.4f} → {b['ECE@1']:.4f} ({b['ECE@1_floor']:.4f}, 95%: {b['ECE@1_floor_p95']:.4f}) | "
      f"{a['ECE@5']:.4f} → {b['ECE@5']:.4f} | {a['Brier@1']:.4f} → {b['Brier@1']:.4f} | "
      f"{float(t1) - float(t0):.1f} → {float(t2) - float(t1):.1f} |")
PY
done
