#!/usr/bin/env bash
# Distributed training on one machine: for each set, one process without MPI
# (`xmr train --negatives tfn`), then `mpirun -np N xmr train --distributed`
# for N in $RANKS (default "1 2 4", oversubscribed). Prints a markdown table:
# wall time, peak RSS of each rank, MiB each rank sent, P@1/P@3/P@5 on the
# test file, and whether the model file equals the single process's (cmp).
# Usage: scripts/distributed_bench.sh [SET ...]; SET is a shared set
# (bibtex delicious cooking flipkart reuters) or synthetic100k (generated:
# 100,000 rows, 200,000 features, 100,000 labels). THREADS (default 2) is the
# single process's threads; each of N ranks gets max(1, THREADS / N).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/shared_sets.sh
XMR=${XMR:-build/index_tools/xmr}
RANKS=${RANKS:-"1 2 4"}
THREADS=${THREADS:-2}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ $# -gt 0 ] || set -- bibtex delicious cooking synthetic100k

p_at() {  # MODEL TEST NORM...: "P@1 / P@3 / P@5" in percent
  local model=$1 test=$2; shift 2
  "$XMR" eval --model "$model" --input "$test" "$@" --json |
    python3 -c "import json,sys; d=json.load(sys.stdin); print('%.2f / %.2f / %.2f' % (100*d['P@1'], 100*d['P@3'], 100*d['P@5']))"
}

echo "| set | run | wall s | peak RSS MiB per rank | MiB sent per rank | P@1 / P@3 / P@5 | model = 1 process |"
echo "|---|---|---|---|---|---|---|"
for set in "$@"; do
  if [ "$set" = synthetic100k ]; then
    "$XMR" synth --train "$work/syn_train.txt" --test "$work/syn_test.txt" --rows 100000 --test-rows 2000 \
      --features 200000 --labels 100000 --seed 1 >/dev/null
    train="$work/syn_train.txt" test="$work/syn_test.txt" norm=(--normalize)
  else
    set_files "$set" || continue
  fi
  /usr/bin/time -f "%e %M" -o "$work/time" "$XMR" train --input "$train" "${norm[@]}" --negatives tfn \
    --threads "$THREADS" --model "$work/single.xmr" -q
  read -r wall rss_kib <"$work/time"
  echo "| $set | 1 process, $THREADS threads | $wall | $((rss_kib / 1024)) | – | $(p_at "$work/single.xmr" "$test" "${norm[@]}") | |"
  for n in $RANKS; do
    t=$((THREADS / n)); [ "$t" -ge 1 ] || t=1
    /usr/bin/time -f "%e" -o "$work/time" mpirun --oversubscribe --bind-to none -np "$n" "$XMR" train --input "$train" "${norm[@]}" \
      --threads "$t" --model "$work/d.xmr" --distributed 2>"$work/err" >/dev/null
    wall=$(cat "$work/time")
    rss=$(grep -o 'peak RSS [0-9.]*' "$work/err" | awk '{printf "%s%.0f", sep, $3; sep=", "}')
    sent=$(grep -o 'sent [0-9.]* MiB' "$work/err" | awk '{printf "%s%.1f", sep, $2; sep=", "}')
    same=$(cmp -s "$work/single.xmr" "$work/d.xmr" && echo yes || echo no)
    echo "| $set | $n ranks × $t thread(s) | $wall | $rss | $sent | $(p_at "$work/d.xmr" "$test" "${norm[@]}") | $same |"
  done
done
