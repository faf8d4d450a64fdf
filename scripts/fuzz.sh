#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan), makes seed corpora from
# real files, and runs each target for SECONDS (default 60), two at a time.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]      targets: xc jsonl vectorizer model config query
#
# Seeds: the repository's hand-made ones (tests/fuzz/seeds), heads of the
# shared data sets when ../shared/datasets is present, and model files and a
# vectorizer section trained here from those. Corpora grow in
# $XMR_FUZZ_DIR/corpus (default build-fuzz/); crashes land in
# $XMR_FUZZ_DIR/crashes/<target>/. Exits non-zero if any target crashed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(xc jsonl vectorizer model config query)
build=${XMR_FUZZ_DIR:-$root/build-fuzz}
data=$root/../shared/datasets

bash scripts/install_deps.sh
if ! command -v clang++ >/dev/null; then
  echo "fuzz: clang++ not found (scripts/install_deps.sh installs it)" >&2
  exit 1
fi
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DXMR_FUZZ=ON -DXMR_ASAN=ON -DXMR_BUILD_TESTS=OFF -DXMR_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$build" --target xmr $(printf 'fuzz_%s ' "${targets[@]}")

export ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:suppressions=$root/tests/sanitizers/ubsan.supp
seeds=$build/seeds
rm -rf "$seeds"
mkdir -p "$seeds"
for t in xc jsonl config query; do cp -r tests/fuzz/seeds/$t "$seeds/$t"; done
cp examples/product_search.json "$seeds/config/"
mkdir -p "$seeds/model" "$seeds/vectorizer" "$build/work"
xmr=$build/index_tools/xmr
if [ -d "$data" ]; then
  for set in bibtex delicious; do head -c 20000 "$data/$set/train.txt" > "$seeds/xc/$set.txt"; done
  for set in cooking flipkart reuters; do head -n 40 "$data/$set/train.jsonl" > "$seeds/jsonl/$set.jsonl"; done
  head -n 60 "$data/flipkart/test.jsonl" | python3 -c '
import json, sys
for i, line in enumerate(sys.stdin):
    open(sys.argv[1] + "/flipkart%02d.txt" % i, "w").write(json.loads(line)["text"])' "$seeds/query"
  head -n 300 "$data/bibtex/train.txt" | sed '1s/^[0-9]*/299/' > "$build/work/bibtex300.txt"
  "$xmr" train -q --input "$build/work/bibtex300.txt" --model "$seeds/model/bibtex.xmr" --max-leaf-size 8
  "$xmr" train -q --input "$build/work/bibtex300.txt" --model "$seeds/model/bibtex_dis.xmr" --max-leaf-size 8 \
    --disentangle 3 --disentangle-min-votes 1
  head -n 150 "$data/flipkart/train.jsonl" > "$build/work/flipkart150.jsonl"
else
  echo "fuzz: ../shared/datasets absent; seeding from the repository's hand-made files only"
  cp tests/fuzz/seeds/jsonl/tiny.jsonl "$build/work/flipkart150.jsonl"
fi
"$xmr" train -q --input "$build/work/flipkart150.jsonl" --format jsonl --model "$seeds/model/text.xmr" \
  --max-leaf-size 4 --char-ngrams none
"$xmr" train -q --input "$build/work/flipkart150.jsonl" --format jsonl --model "$seeds/model/text_3trees.xmr" \
  --max-leaf-size 4 --char-ngrams none --word-ngrams 1-1 --trees 3
"$xmr" train -q --input "$build/work/flipkart150.jsonl" --format jsonl --model "$seeds/model/text_deep.xmr" \
  --max-leaf-size 4 --char-ngrams none --word-ngrams 1-1 --encoder deep --encoder-dim 4 --encoder-epochs 1 \
  --encoder-folds 0 --encoder-layers 1
"$xmr" train -q --input "$build/work/flipkart150.jsonl" --format jsonl --model "$seeds/model/text_knn.xmr" \
  --max-leaf-size 4 --char-ngrams none --word-ngrams 1-1 --knn 5
"$xmr" calibrate -q --model "$seeds/model/text.xmr" --input "$build/work/flipkart150.jsonl" --format jsonl \
  --output "$seeds/model/text_calibrated.xmr"
# The vectorizer target's input: config JSON, NUL, vocabulary section bytes.
python3 - "$seeds/model/text.xmr" "$seeds/vectorizer/text.bin" <<'EOF'
import json, struct, sys
b = open(sys.argv[1], "rb").read()
meta_off, meta_size, table_off, table_count = struct.unpack_from("<QQQQ", b, 24)
meta = json.loads(b[meta_off:meta_off + meta_size])
for i in range(table_count):
    name, off, size, _ = struct.unpack_from("<40sQQQ", b, table_off + 64 * i)
    if name.rstrip(b"\0") == b"user/vectorizer":
        cfg = json.dumps(meta["user"]["vectorizer"]).encode()
        open(sys.argv[2], "wb").write(cfg + b"\0" + b[off:off + size])
EOF

run_target() {
  local t=$1 extra=()
  local corpus=$build/corpus/$t crashes=$build/crashes/$t
  mkdir -p "$corpus" "$crashes"
  [ "$t" = query ] && extra=(-max_len=1048576)
  [ "$t" = model ] && extra=(-max_len=200000)
  "$build/tests/fuzz/fuzz_$t" "$corpus" "$seeds/$t" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 \
    -print_final_stats=1 -artifact_prefix="$crashes/" "${extra[@]}" > "$build/fuzz_$t.log" 2>&1
}

status=0
pids=()
names=()
for t in "${targets[@]}"; do
  run_target "$t" &
  pids+=($!)
  names+=("$t")
  if [ ${#pids[@]} -eq 2 ]; then
    for i in 0 1; do wait "${pids[$i]}" || { echo "fuzz_${names[$i]}: FAILED (see $build/fuzz_${names[$i]}.log)"; status=1; }; done
    pids=()
    names=()
  fi
done
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || { echo "fuzz_${names[$i]}: FAILED (see $build/fuzz_${names[$i]}.log)"; status=1; }
done
for t in "${targets[@]}"; do
  runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$build/fuzz_$t.log" | awk '{print $2}' | tail -1)
  found=$(ls "$build/crashes/$t" | wc -l)
  echo "fuzz_$t: ${runs:-?} executions in ${seconds}s, corpus $(ls "$build/corpus/$t" | wc -l) files, $found crash files"
  [ "$found" -eq 0 ] || status=1
done
exit $status
