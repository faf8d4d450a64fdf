#!/usr/bin/env bash
# The main job on an embedded default: installs dependencies if missing,
# builds, generates a seeded synthetic data set, trains a model, evaluates it
# and shows a few predictions. Everything goes to ${XMR_DEMO_DIR:-build/demo}.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh >/dev/null
xmr=${XMR_BUILD_DIR:-build}/index_tools/xmr
out=${XMR_DEMO_DIR:-build/demo}
mkdir -p "$out"

echo "== generating a synthetic catalogue: 20,000 rows, 50,000 features, 5,000 Zipf-distributed labels"
"$xmr" synth --train "$out/train.txt" --test "$out/test.txt" --rows 20000 --test-rows 2000 \
  --features 50000 --labels 5000 --seed 7
echo "== training (PIFA, B=16, leaf 100, L2-SVM)"
"$xmr" train --input "$out/train.txt" --format xc --normalize --model "$out/model.xmr"
echo "== the model"
"$xmr" inspect --model "$out/model.xmr" | head -n 9
echo "== evaluation on 2,000 held-out rows (beam 10)"
"$xmr" eval --model "$out/model.xmr" --input "$out/test.txt" --format xc --normalize --k 5
echo "== first three predictions"
"$xmr" predict --model "$out/model.xmr" --input "$out/test.txt" --format xc --normalize --k 3 | head -n 3
