#!/usr/bin/env bash
# `mpirun -np N xmr train --distributed` against the single-process model, on
# small generated files (XC and JSONL): 2 and 3 ranks must write the same
# model file byte for byte as `xmr train --negatives tfn`; a rank that fails
# must make the job exit non-zero, name the rank, and leave no model file.
# Usage: distributed_test.sh path/to/xmr. Exits 77 (skipped) when mpirun is
# missing or xmr was built without MPI.
set -u
XMR=${1:?usage: distributed_test.sh path/to/xmr}
command -v mpirun >/dev/null || { echo "SKIP: mpirun not found (apt install openmpi-bin)"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if "$XMR" train --input /dev/null --format xc --model "$work/x" --distributed 2>&1 | grep -q "built without MPI"; then
  echo "SKIP: this xmr was built without MPI"
  exit 77
fi
# Open MPI refuses root unless told; CI runs as root.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Under ASan (scripts/sanitize.sh): Open MPI's dlopen'ed components leak at
# exit, in frames LSan cannot name once unloaded, so leaks are not checked
# here; core_tests checks the distributed trainer's own code for them.
[ -n "${ASAN_OPTIONS:-}" ] && export ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0"
# Oversubscribe: more ranks than cores is fine for a test; one thread each.
mpi() { local n=$1; shift; timeout 300 mpirun --oversubscribe --bind-to none -np "$n" "$@"; }
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }

"$XMR" synth --train "$work/train.txt" --rows 3000 --features 2000 --labels 700 --seed 4 >/dev/null
python3 - "$work" <<'PY'
import random, sys
random.seed(2)
words = [f"w{i}" for i in range(300)]
with open(f"{sys.argv[1]}/train.jsonl", "w") as f:
    for _ in range(1500):
        labs = sorted(set(f"cat{random.randrange(60)}" for _ in range(random.randint(1, 2))))
        text = " ".join(random.choice(words) for _ in range(6)) + " " + " ".join(l.replace("cat", "w") for l in labs)
        f.write('{"text": "%s", "labels": [%s]}\n' % (text, ", ".join('"%s"' % l for l in labs)))
# Documents of 40 words: --min-df auto keeps word n-grams of 2+ texts, counted over every rank.
with open(f"{sys.argv[1]}/long.jsonl", "w") as f:
    for _ in range(600):
        labs = sorted(set(f"cat{random.randrange(30)}" for _ in range(random.randint(1, 2))))
        text = " ".join(random.choice(words) + ("" if random.random() < 0.9 else str(random.randrange(10**6))) for _ in range(40))
        f.write('{"text": "%s", "labels": [%s]}\n' % (text, ", ".join('"%s"' % l for l in labs)))
PY

# Same model as one process, byte for byte (XC: a 3-level tree, split in the middle).
"$XMR" train --input "$work/train.txt" --model "$work/single.xmr" --normalize -B 4 --max-leaf-size 20 --threads 1 -q
"$XMR" train --input "$work/train.jsonl" --model "$work/single_text.xmr" --negatives tfn --max-leaf-size 10 -q --threads 1
for n in 2 3; do
  if mpi "$n" "$XMR" train --input "$work/train.txt" --model "$work/d$n.xmr" --normalize -B 4 --max-leaf-size 20 \
      --threads 1 --distributed -q && cmp -s "$work/single.xmr" "$work/d$n.xmr"; then ok; else bad "xc, $n ranks: not the single-process model"; fi
  if mpi "$n" "$XMR" train --input "$work/train.jsonl" --model "$work/t$n.xmr" --max-leaf-size 10 --threads 1 \
      --distributed -q && cmp -s "$work/single_text.xmr" "$work/t$n.xmr"; then ok; else bad "jsonl, $n ranks: not the single-process model"; fi
done
"$XMR" train --input "$work/long.jsonl" --model "$work/single_long.xmr" --negatives tfn --max-leaf-size 10 -q --threads 1
if "$XMR" inspect --model "$work/single_long.xmr" | grep -Eq "standard +word +1-2 +2 "; then ok; else bad "long texts: word min_df not 2"; fi
if mpi 2 "$XMR" train --input "$work/long.jsonl" --model "$work/l2.xmr" --max-leaf-size 10 --threads 1 --distributed -q &&
   cmp -s "$work/single_long.xmr" "$work/l2.xmr"; then ok; else bad "long jsonl, 2 ranks: not the single-process model"; fi
# From a Lucene++ index: each rank reads its range of document ids.
"$XMR" index --input "$work/train.jsonl" --index "$work/index" -q
"$XMR" train --input "$work/index" --format index --model "$work/single_index.xmr" --negatives tfn --max-leaf-size 10 \
  --threads 1 -q
if mpi 3 "$XMR" train --input "$work/index" --format index --model "$work/i3.xmr" --max-leaf-size 10 --threads 1 \
    --distributed -q && cmp -s "$work/single_index.xmr" "$work/i3.xmr"; then ok; else bad "index, 3 ranks: not the single-process model"; fi
# The per-rank report names every rank.
err=$(mpi 2 "$XMR" train --input "$work/train.txt" --model "$work/r.xmr" --normalize --threads 1 --distributed 2>&1 >/dev/null)
if grep -q "rank 1: shard" <<<"$err" && grep -q "peak RSS" <<<"$err"; then ok; else bad "per-rank report: $err"; fi

# A bad line in the second half: rank 1 fails, the job exits non-zero, nothing is written.
head -n 2000 "$work/train.txt" >"$work/bad.txt"
echo "0,1 5:1 oops" >>"$work/bad.txt"
tail -n +2002 "$work/train.txt" >>"$work/bad.txt"
if err=$(mpi 2 "$XMR" train --input "$work/bad.txt" --model "$work/bad.xmr" --normalize --threads 1 --distributed 2>&1); then
  bad "bad shard: exited 0"
elif grep -q "rank 1 of 2: error: .*bad.txt" <<<"$err" && [ ! -e "$work/bad.xmr" ]; then ok
else bad "bad shard: $err"; fi
# A missing file fails on every rank, the same way.
if err=$(mpi 2 "$XMR" train --input "$work/none.txt" --format xc --model "$work/none.xmr" --distributed 2>&1); then
  bad "missing input: exited 0"
elif grep -q "none.txt: cannot open" <<<"$err" && [ ! -e "$work/none.xmr" ]; then ok; else bad "missing input: $err"; fi
# Settings it cannot split are refused before MPI starts.
if err=$("$XMR" train --input "$work/train.jsonl" --model "$work/m.xmr" --negatives tfn+man --distributed 2>&1); then
  bad "tfn+man: exited 0"
elif grep -q "supports --negatives tfn only" <<<"$err"; then ok; else bad "tfn+man: $err"; fi
# An existing model at the output path survives a failed run.
echo keep >"$work/keep.xmr"
mpi 2 "$XMR" train --input "$work/bad.txt" --model "$work/keep.xmr" --normalize --threads 1 --distributed >/dev/null 2>&1
if [ "$(cat "$work/keep.xmr")" = keep ]; then ok; else bad "failed run clobbered the existing model"; fi

echo "distributed_test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
