#!/usr/bin/env bash
# Model files of format versions 1 and 2 (wide levels), written by an older
# build, still load and predict what that build predicted: the same labels, the
# same scores to 1e-6 (tests/data/legacy_models/README.md).
#   legacy_model_test.sh XMR
set -euo pipefail
xmr="$1"
data="$(cd "$(dirname "$0")/../data/legacy_models" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for model in v1 v2_ensemble; do
  "$xmr" predict --model "$data/$model.xmr" --input "$data/queries.txt" --normalize --k 5 --threads 1 -o "$work/$model.jsonl"
  python3 - "$data/$model.predictions.jsonl" "$work/$model.jsonl" "$model" <<'PY'
import json, sys
want, got, name = sys.argv[1:]
want = [json.loads(l) for l in open(want)]
got = [json.loads(l) for l in open(got)]
assert len(want) == len(got) == 100, f"{name}: {len(got)} rows, expected {len(want)}"
for i, (w, g) in enumerate(zip(want, got)):
    assert w["labels"] == g["labels"], f"{name}: row {i + 1}: labels {g['labels']}, expected {w['labels']}"
    for a, b in zip(w["scores"], g["scores"]):
        assert abs(a - b) <= 1e-6 * max(1.0, abs(a)), f"{name}: row {i + 1}: score {b}, expected {a}"
print(f"{name}: 100 rows, same labels and scores")
PY
done
