#!/usr/bin/env bash
# Runs the built `xmr` binary on small files: happy paths, and bad inputs that
# must exit non-zero with a message naming the file (and line), leaving no
# partial output behind. Usage: XMR=path/to/xmr bash cli_test.sh
set -u
XMR=${XMR:?set XMR to the xmr binary}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0

ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }

# expect_fail NAME PATTERN CMD...: CMD must exit non-zero and print PATTERN on stderr.
expect_fail() {
  local name=$1 pattern=$2; shift 2
  local err
  if err=$("$@" 2>&1 >/dev/null); then bad "$name: exited 0"; return; fi
  if grep -q -- "$pattern" <<<"$err"; then ok; else bad "$name: stderr lacks '$pattern': $err"; fi
}

# A small learnable XC set: label l owns features 3l, 3l+1, 3l+2.
python3 - "$work" <<'PY'
import random, sys
random.seed(1)
for name, n in (("train", 400), ("test", 100)):
    with open(f"{sys.argv[1]}/{name}.txt", "w") as f:
        f.write(f"{n} 60 20\n")
        for _ in range(n):
            labs = sorted(set(random.randrange(20) for _ in range(random.randint(1, 2))))
            feats = sorted(set(3 * l + k for l in labs for k in range(3)) | {random.randrange(60)})
            f.write(",".join(map(str, labs)) + " " + " ".join(f"{x}:1" for x in feats) + "\n")
PY

# Happy paths.
if "$XMR" train --input "$work/train.txt" --format xc --normalize --model "$work/m.xmr" -B 4 --max-leaf-size 5 -q; then ok; else bad "train"; fi
out=$("$XMR" eval --model "$work/m.xmr" --input "$work/test.txt" --format xc --normalize --json)
if python3 -c "import json,sys; d=json.loads(sys.argv[1]); assert d['n']==100 and d['P@1']>0.9 and all(k in d for k in ('P@3','P@5','R@5','nDCG@5','seconds'))" "$out"; then ok; else bad "eval --json: $out"; fi
"$XMR" predict --model "$work/m.xmr" --input "$work/test.txt" --format xc --normalize --k 3 -o "$work/pred.jsonl"
if [ "$(wc -l <"$work/pred.jsonl")" -eq 100 ] && python3 -c "import json,sys; [json.loads(l) for l in open(sys.argv[1])]; r=json.loads(open(sys.argv[1]).readline()); assert len(r['labels'])==3==len(r['scores'])" "$work/pred.jsonl"; then ok; else bad "predict"; fi
if "$XMR" inspect --model "$work/m.xmr" | grep -q "labels       20"; then ok; else bad "inspect"; fi
if "$XMR" train --help | grep -q -- "--branching"; then ok; else bad "train --help"; fi

# Disentanglement: copies recorded, shown by inspect, every label listed once.
if "$XMR" train --input "$work/train.txt" --format xc --normalize --model "$work/d.xmr" -B 4 --max-leaf-size 5 -q \
    --disentangle 3 --disentangle-min-votes 1 --disentangle-growth 1 --disentangle-route true; then ok; else bad "train --disentangle"; fi
info=$("$XMR" inspect --model "$work/d.xmr")
if grep -q "leaves/label 1: [0-9]* labels, 2: " <<<"$info" && grep -q "disentangle_route_positives=true" <<<"$info"; then ok; else bad "inspect of a disentangled model: $info"; fi
"$XMR" predict --model "$work/d.xmr" --input "$work/test.txt" --format xc --normalize --k 10 --repeated-score mean -o "$work/dpred.jsonl"
if python3 -c "
import json,sys
for l in open(sys.argv[1]):
    r=json.loads(l); assert len(r['labels'])==len(set(r['labels']))==10, r
" "$work/dpred.jsonl"; then ok; else bad "disentangled predictions list a label twice"; fi
expect_fail "disentangle K out of range" "K (max copies) must be in 1..6, got 7" "$XMR" train --input "$work/train.txt" --format xc --model "$work/x.xmr" --disentangle 7

# Ensembles: three trees in one file, shown by inspect, served by eval and predict.
if "$XMR" train --input "$work/train.txt" --format xc --normalize --model "$work/e.xmr" -B 4 --max-leaf-size 5 -q \
    --trees 3; then ok; else bad "train --trees 3"; fi
info=$("$XMR" inspect --model "$work/e.xmr")
if grep -q "^trees        3 " <<<"$info" && grep -q "^tree 3$" <<<"$info" && grep -q " trees=3 " <<<"$info"; then ok; else bad "inspect of an ensemble: $info"; fi
if grep -q "^search       one pass over every tree's weights at \(every beam\|beams of [0-9]* or more\)" <<<"$info"; then ok; else bad "inspect of a small ensemble names its one-pass search: $info"; fi
out=$("$XMR" eval --model "$work/e.xmr" --input "$work/test.txt" --format xc --normalize --json)
if python3 -c "import json,sys; d=json.loads(sys.argv[1]); assert d['n']==100 and d['P@1']>0.9" "$out"; then ok; else bad "eval of an ensemble: $out"; fi
expect_fail "trees out of range" "trees must be in 1..32" "$XMR" train --input "$work/train.txt" --format xc --model "$work/x.xmr" --trees 33

# The deep matcher: an encoder in the model file, shown by inspect, served by eval and predict.
if "$XMR" train --input "$work/train.txt" --format xc --normalize --model "$work/deep.xmr" -B 4 --max-leaf-size 5 -q \
    --encoder deep --encoder-dim 8 --encoder-epochs 2; then ok; else bad "train --encoder deep"; fi
info=$("$XMR" inspect --model "$work/deep.xmr")
if grep -q "^encoder      deep matcher: 60 features -> 8 dimensions" <<<"$info" && grep -q " encoder={dim=8 " <<<"$info"; then ok; else bad "inspect of a deep matcher: $info"; fi
if "$XMR" inspect --model "$work/m.xmr" | grep -q "^encoder      none"; then ok; else bad "inspect of a plain model names no encoder"; fi
out=$("$XMR" eval --model "$work/deep.xmr" --input "$work/test.txt" --format xc --normalize --json)
if python3 -c "import json,sys; d=json.loads(sys.argv[1]); assert d['n']==100 and d['P@1']>0.9" "$out"; then ok; else bad "eval of a deep matcher: $out"; fi
expect_fail "encoder settings without the encoder" "--encoder-dim needs --encoder deep" "$XMR" train --input "$work/train.txt" --format xc --model "$work/x.xmr" --encoder-dim 8
expect_fail "unknown encoder" "unknown --encoder 'bert' (known: none, deep)" "$XMR" train --input "$work/train.txt" --format xc --model "$work/x.xmr" --encoder bert
expect_fail "encoder folds out of range" "deep matcher folds must be 0 or 2..10" "$XMR" train --input "$work/train.txt" --format xc --model "$work/x.xmr" --encoder deep --encoder-folds 1
expect_fail "deep matcher over MPI" "train --encoder deep on one machine" "$XMR" train --input "$work/train.txt" --format xc --model "$work/x.xmr" --encoder deep --distributed
# bench --encoder deep: the training-time ratio is the median of 3 alternating (deep, plain) pairs.
if "$XMR" bench -q --labels "" --dataset "$work" --train-threads 1 --queries 50 --encoder deep --encoder-dim 8 \
     --encoder-epochs 2 --json "$work/bench_deep.json" >/dev/null &&
   python3 -c "import json,sys; r=json.load(open(sys.argv[1]))[0]; q=sorted(r['encoder_train_ratios']); assert len(q)==3 and min(q)>0 and r['encoder_train_ratio_median']==q[1] and r['no_encoder']['P@1']>0" "$work/bench_deep.json"; then ok
else bad "bench --encoder deep"; fi

# The k-nearest-neighbour vote: the training rows in the model file, shown by inspect, served by eval.
if "$XMR" train --input "$work/train.txt" --format xc --normalize --model "$work/knn.xmr" -B 4 --max-leaf-size 5 -q \
    --knn 10 --knn-weight 0.4; then ok; else bad "train --knn 10"; fi
info=$("$XMR" inspect --model "$work/knn.xmr")
if grep -q "^knn vote     the 10 nearest of [0-9]* training rows" <<<"$info" && grep -q "0.6 x trees' + 0.4 x vote" <<<"$info"; then ok; else bad "inspect of a knn vote: $info"; fi
if "$XMR" inspect --model "$work/m.xmr" | grep -q "^knn vote     none"; then ok; else bad "inspect of a plain model names no knn vote"; fi
out=$("$XMR" eval --model "$work/knn.xmr" --input "$work/test.txt" --format xc --normalize --json)
if python3 -c "import json,sys; d=json.loads(sys.argv[1]); assert d['n']==100 and d['P@1']>0.9" "$out"; then ok; else bad "eval of a knn vote: $out"; fi
# bench --knn: the vote timed beside the same trees without it, in one process.
if "$XMR" bench -q --labels "" --dataset "$work" --train-threads 1 --queries 50 --knn 5 --json "$work/bench.json" >/dev/null &&
   python3 -c "import json,sys; r=json.load(open(sys.argv[1]))[0]; assert r['no_knn']['P@1'] > 0 and r['paired_latency_us_p50'] > 0" "$work/bench.json"; then ok
else bad "bench --knn"; fi
if "$XMR" train --input "$work/train.txt" --format xc --normalize --model "$work/knn_auto.xmr" -B 4 --max-leaf-size 5 \
    --knn 10 --knn-weight auto 2>&1 | tr '\r' '\n' | grep -q "knn weight .* (held-out P@1 .* rows)" &&
   "$XMR" inspect --model "$work/knn_auto.xmr" | grep -q "knn_weight=auto knn_auto={chosen="; then ok
else bad "train --knn-weight auto"; fi
expect_fail "knn weight neither number nor auto" "--knn-weight: 'abc' is neither a number nor auto" "$XMR" train --input "$work/train.txt" --format xc --model "$work/x.xmr" --knn 5 --knn-weight abc
expect_fail "knn out of range" "knn: k must be in 0..10000, got -2" "$XMR" train --input "$work/train.txt" --format xc --model "$work/x.xmr" --knn -2
expect_fail "knn weight out of range" "knn: weight must be in (0, 1] or auto" "$XMR" train --input "$work/train.txt" --format xc --model "$work/x.xmr" --knn 5 --knn-weight 1.5
expect_fail "knn weight without knn" "--knn-weight needs --knn K" "$XMR" train --input "$work/train.txt" --format xc --model "$work/x.xmr" --knn-weight 0.5
expect_fail "knn over MPI" "train it on one machine" "$XMR" train --input "$work/train.txt" --format xc --model "$work/x.xmr" --knn 5 --distributed

# Calibration: at training time (held-out share) or afterwards on held-out data; probabilities in eval and predict.
if "$XMR" train --input "$work/train.txt" --format xc --normalize --model "$work/c.xmr" -B 4 --max-leaf-size 5 -q \
    --calibrate 0.2; then ok; else bad "train --calibrate"; fi
info=$("$XMR" inspect --model "$work/c.xmr")
if grep -q "^calibration  isotonic" <<<"$info" && grep -q "rows held out, share 0.2" <<<"$info"; then ok; else bad "inspect of a calibrated model: $info"; fi
out=$("$XMR" eval --model "$work/c.xmr" --input "$work/test.txt" --format xc --normalize --json)
if python3 -c "import json,sys; d=json.loads(sys.argv[1]); assert d['calibrated'] is True and 0 <= d['ECE@1'] <= 1 and 0 <= d['ECE@5'] <= 1 and 0 <= d['Brier@1'] <= 1 and 0 <= d['ECE@1_floor'] <= d['ECE@1_floor_p95'] <= 1" "$out"; then ok; else bad "eval of a calibrated model: $out"; fi
out=$("$XMR" eval --model "$work/m.xmr" --input "$work/test.txt" --format xc --normalize --json)
if python3 -c "import json,sys; d=json.loads(sys.argv[1]); assert d['calibrated'] is False and 'ECE@1' in d" "$out"; then ok; else bad "eval of a plain model: $out"; fi
"$XMR" predict --model "$work/c.xmr" --input "$work/test.txt" --format xc --normalize --k 3 -o "$work/cpred.jsonl"
if python3 -c "
import json,sys
for l in open(sys.argv[1]):
    r=json.loads(l); p=r['probabilities']; assert len(p)==3 and all(0<=x<=1 for x in p) and p==sorted(p, reverse=True), r
" "$work/cpred.jsonl"; then ok; else bad "predict of a calibrated model"; fi
if "$XMR" train --input "$work/train.txt" --format xc --normalize --model "$work/cf.xmr" -B 4 --max-leaf-size 5 -q \
    --calibrate-folds 3 && "$XMR" inspect --model "$work/cf.xmr" | grep -q "3-fold cross-fitting"; then ok; else bad "train --calibrate-folds 3"; fi
expect_fail "both calibration options" "give --calibrate or --calibrate-folds, not both" "$XMR" train --input "$work/train.txt" --format xc --model "$work/x.xmr" --calibrate 0.1 --calibrate-folds 3
cp "$work/m.xmr" "$work/m_before.xmr"
if "$XMR" calibrate --model "$work/m.xmr" --input "$work/test.txt" --format xc --normalize --output "$work/mc.xmr" -q &&
   cmp -s "$work/m.xmr" "$work/m_before.xmr" && "$XMR" inspect --model "$work/mc.xmr" | grep -q "^calibration  isotonic"; then ok
else bad "xmr calibrate --output (and the input model untouched)"; fi
expect_fail "calibrate share out of range" "--calibrate must be a share in \[0, 0.5\]" "$XMR" train --input "$work/train.txt" --format xc --model "$work/x.xmr" --calibrate 0.9
head -n 3 "$work/test.txt" | sed '1s/^[0-9]*/2/' | sed '2,$s/^[0-9,]*//' >"$work/wrong_labels.txt"  # rows without labels
expect_fail "calibrate where no prediction is relevant" "so no probability can be learnt" "$XMR" calibrate --model "$work/m.xmr" --input "$work/wrong_labels.txt" --format xc --normalize -o "$work/x.xmr"
: >"$work/empty_heldout.txt"
expect_fail "calibrate on an empty file" "empty_heldout.txt" "$XMR" calibrate --model "$work/m.xmr" --input "$work/empty_heldout.txt" --format xc

# Bad inputs.
expect_fail "missing input" "nope.txt: cannot open" "$XMR" train --input "$work/nope.txt" --format xc --model "$work/x.xmr"
printf '2 5 3\n0 1:1\n0 1:1 x\n' >"$work/malformed.txt"
expect_fail "malformed line" "malformed.txt:3:" "$XMR" train --input "$work/malformed.txt" --format xc --model "$work/x.xmr"
printf '1 5 3\n7 1:1\n' >"$work/range.txt"
expect_fail "label out of range" "range.txt:2: label id 7 out of range" "$XMR" train --input "$work/range.txt" --format xc --model "$work/x.xmr"
printf '1 5 3\n0 9:1\n' >"$work/frange.txt"
expect_fail "feature out of range" "frange.txt:2: feature id 9 out of range" "$XMR" eval --model "$work/m.xmr" --input "$work/frange.txt" --format xc
[ ! -e "$work/x.xmr" ] && ok || bad "partial model left behind"
cp "$work/m.xmr" "$work/v.xmr"
printf '\x63' | dd of="$work/v.xmr" bs=1 seek=8 conv=notrunc status=none
expect_fail "wrong model version" "model format version 99 is not supported" "$XMR" inspect --model "$work/v.xmr"
head -c 1000 "$work/m.xmr" >"$work/t.xmr"
expect_fail "truncated model" "t.xmr: truncated" "$XMR" predict --model "$work/t.xmr" --input "$work/test.txt" --format xc
expect_fail "unknown format" "unknown --format 'csv' (known: xc, jsonl, index)" "$XMR" train --input "$work/train.txt" --format csv --model "$work/x.xmr"
expect_fail "unknown option" "unrecognised option\|unrecognized option" "$XMR" train --bogus
expect_fail "unknown command" "unknown command 'fly'" "$XMR" fly
"$XMR" predict --model "$work/t.xmr" --input "$work/test.txt" --format xc -o "$work/p2.jsonl" 2>/dev/null
[ ! -e "$work/p2.jsonl" ] && ok || bad "partial predictions left behind"

# Text: JSONL -> Lucene++ index -> model; JSONL eval and predict.
cat >"$work/docs.jsonl" <<'JSONL'
{"text": "Red wine glass, crystal", "labels": ["kitchen", "glassware"], "id": "d1"}
{"text": "Stainless steel wine opener", "labels": ["kitchen"], "id": "d2"}
{"text": "Running shoes for men", "labels": ["shoes", "sport"], "id": "d3"}
{"text": "Trail running shoe, waterproof", "labels": ["shoes"], "id": "d4"}
{"text": "Yoga mat, non-slip", "labels": ["sport"], "id": "d5"}
{"text": "Crystal champagne glasses set", "labels": ["glassware"], "id": "d6"}
JSONL
if "$XMR" index --input "$work/docs.jsonl" --index "$work/idx" --key-field id -q && [ -f "$work/idx/segments.gen" ]; then ok; else bad "index"; fi
if "$XMR" train --input "$work/idx" --format index --model "$work/t.xmr" --max-leaf-size 2 -q; then ok; else bad "train --format index"; fi
if "$XMR" train --input "$work/docs.jsonl" --format jsonl --model "$work/j.xmr" --max-leaf-size 2 --analyzer english -q; then ok; else bad "train --format jsonl"; fi
out=$("$XMR" eval --model "$work/t.xmr" --input "$work/docs.jsonl" --format jsonl --json)
if python3 -c "import json,sys; d=json.loads(sys.argv[1]); assert d['n']==6 and d['P@1']==1.0" "$out"; then ok; else bad "eval jsonl: $out"; fi
first=$("$XMR" predict --model "$work/t.xmr" --input "$work/docs.jsonl" --format jsonl --k 2 | head -n 3 | tail -n 1)
if python3 -c "import json,sys; r=json.loads(sys.argv[1]); assert r['labels'][0] in ('shoes','sport') and len(r['scores'])==2" "$first"; then ok; else bad "predict jsonl: $first"; fi
expect_fail "index exists" "idx: already exists" "$XMR" index --input "$work/docs.jsonl" --index "$work/idx"
printf '{"text": "ok", "labels": ["a"]}\n{"text": oops}\n' >"$work/bad.jsonl"
expect_fail "malformed jsonl (index)" "bad.jsonl:2: invalid JSON" "$XMR" index --input "$work/bad.jsonl" --index "$work/idx2"
[ ! -e "$work/idx2" ] && ok || bad "partial index left behind"
expect_fail "malformed jsonl (train)" "bad.jsonl:2: invalid JSON" "$XMR" train --input "$work/bad.jsonl" --format jsonl --model "$work/x.xmr"
expect_fail "unknown analyzer" "unknown analyzer 'klingon'" "$XMR" train --input "$work/docs.jsonl" --format jsonl --analyzer klingon --model "$work/x.xmr"
expect_fail "unknown analyzer (index)" "unknown analyzer 'klingon'" "$XMR" index --input "$work/docs.jsonl" --index "$work/idx3" --analyzer klingon
expect_fail "missing label field" "label field \"category\" is not stored" "$XMR" train --input "$work/idx" --format index --label-field category --model "$work/x.xmr"
expect_fail "xc model on text" "m.xmr: not a text model" "$XMR" eval --model "$work/m.xmr" --input "$work/docs.jsonl" --format jsonl
: >"$work/empty.jsonl"
expect_fail "empty jsonl" "empty.jsonl: no training texts" "$XMR" train --input "$work/empty.jsonl" --format jsonl --model "$work/x.xmr"
printf '0 5 3\n' >"$work/zero.txt"
expect_fail "no instances" "zero.txt: no training instances" "$XMR" train --input "$work/zero.txt" --format xc --model "$work/x.xmr"
expect_fail "directory as input" "not a regular file" "$XMR" train --input "$work" --format jsonl --model "$work/x.xmr"
expect_fail "index of a directory" "not a regular file" "$XMR" index --input "$work" --index "$work/idx4"
expect_fail "index of an empty file" "empty.jsonl: no documents" "$XMR" index --input "$work/empty.jsonl" --index "$work/idx4"
[ ! -e "$work/idx4" ] && ok || bad "partial index left behind (empty)"
[ ! -e "$work/x.xmr" ] && ok || bad "partial model left behind (text)"

# search: the plugin pipeline over the index (the plugin is found beside xmr)
cat >"$work/pipe.json" <<'JSON'
{"stages": [
  {"type": "categorize", "model": "t.xmr", "top_k": 2},
  {"type": "rerank", "model": "t.xmr", "label_field": "labels", "window_size": 10}
]}
JSON
out=$("$XMR" search --index "$work/idx" --config "$work/pipe.json" --query "trail running shoes" --k 3 --jsonl --explain --show id)
if python3 -c "
import json,sys
r=json.loads(sys.argv[1])
assert r['query']=='trail running shoes' and r['categories'][0]['label'] in ('shoes','sport'), r
assert 0 < len(r['hits']) <= 3 and 'explanation' in r['hits'][0] and r['hits'][0]['id'], r
assert set(r['micros']) >= {'parse','categorize','search','rerank'}, r
" "$out"; then ok; else bad "search: $out"; fi
printf 'trail running shoes\nchampagne glasses\n' >"$work/queries.txt"
n=$("$XMR" search --index "$work/idx" --config "$work/pipe.json" --queries "$work/queries.txt" --jsonl | wc -l)
[ "$n" -eq 2 ] && ok || bad "search --queries: $n lines"
"$XMR" search --index "$work/idx" --config "$work/pipe.json" --query "champagne" --k 1 | grep -q "categories:.*glassware" && ok || bad "search text output"
printf '{"stages": [{"type": "classify"}]}' >"$work/badstage.json"
expect_fail "unknown stage" "badstage.json: pipeline config: stages\[0\]: unknown stage type \"classify\"" "$XMR" search --index "$work/idx" --config "$work/badstage.json" --query x
printf '{"stages": [{"type": "rerank", "model": "t.xmr", "label_field": "category"}]}' >"$work/badfield.json"
expect_fail "wrong field" "field \"category\" is not an indexed field" "$XMR" search --index "$work/idx" --config "$work/badfield.json" --query x
printf '{"stages": [{"type": "categorize", "model": "gone.xmr"}]}' >"$work/nomodel.json"
expect_fail "missing model" "gone.xmr" "$XMR" search --index "$work/idx" --config "$work/nomodel.json" --query x
expect_fail "no index" "nowhere: not a directory" "$XMR" search --index "$work/nowhere" --config "$work/pipe.json" --query x
expect_fail "not an index" "no Lucene++ index here" "$XMR" search --index "$work" --config "$work/pipe.json" --query x
printf 'ok\n\377bad\n' >"$work/badq.txt"
expect_fail "invalid utf-8 query" "badq.txt:2: invalid UTF-8" "$XMR" search --index "$work/idx" --config "$work/pipe.json" --queries "$work/badq.txt"
: >"$work/noq.txt"
expect_fail "empty query file" "noq.txt: no queries" "$XMR" search --index "$work/idx" --config "$work/pipe.json" --queries "$work/noq.txt"
expect_fail "invalid utf-8 on the command line" "not valid UTF-8 (byte 4)" "$XMR" search --index "$work/idx" --config "$work/pipe.json" --query "$(printf 'bad \377 bytes')"
out=$("$XMR" search --index "$work/idx" --config "$work/pipe.json" --query "" --jsonl | wc -l)
[ "$out" -eq 1 ] && ok || bad "search with an empty query: $out lines"
expect_fail "bad plugin" "libnope.so: plugin not found" "$XMR" search --index "$work/idx" --config "$work/pipe.json" --plugin "$work/libnope.so" --query x

# Hardening: each class of hostile or mistaken input (README, "Bad input").
# Outputs: a symlinked model path stays a link to the rewritten target; a
# device is never replaced by a model; plain outputs go to devices and pipes.
cp "$work/m.xmr" "$work/real.xmr"
ln -s real.xmr "$work/link.xmr"
if "$XMR" train --input "$work/train.txt" --format xc --normalize --model "$work/link.xmr" -B 2 --max-leaf-size 5 -q &&
   [ -L "$work/link.xmr" ] && ! cmp -s "$work/m.xmr" "$work/real.xmr" && "$XMR" inspect --model "$work/link.xmr" >/dev/null; then ok
else bad "save through a symlink"; fi
ln -s missing/deeper.xmr "$work/dangling.xmr"
expect_fail "dangling symlink into a missing directory" "dangling.xmr: cannot create temporary file" "$XMR" train --input "$work/train.txt" --format xc --model "$work/dangling.xmr" -q
mkfifo "$work/fifo"
expect_fail "model onto a FIFO" "fifo: is a FIFO, not a regular file; refusing to replace it" "$XMR" train --input "$work/train.txt" --format xc --model "$work/fifo" -q
[ -p "$work/fifo" ] && ok || bad "the FIFO was replaced"
(cat "$work/fifo" >"$work/from_fifo.jsonl" &) ; sleep 0.2
if "$XMR" predict --model "$work/m.xmr" --input "$work/test.txt" --normalize --k 2 -o "$work/fifo" && sleep 0.2 &&
   [ "$(wc -l <"$work/from_fifo.jsonl")" -eq 100 ]; then ok; else bad "predict -o a FIFO"; fi
if "$XMR" predict --model "$work/m.xmr" --input "$work/test.txt" -o /dev/null; then ok; else bad "predict -o /dev/null"; fi
if [ -w /dev/full ]; then
  for cmd in "eval --model $work/m.xmr --input $work/test.txt" "predict --model $work/m.xmr --input $work/test.txt" \
             "inspect --model $work/m.xmr" "--version" "train --help"; do
    expect_fail "$cmd > /dev/full" "standard output: write failed" bash -c "\"$XMR\" $cmd >/dev/full"
  done
  expect_fail "predict -o /dev/full" "/dev/full: write failed: No space left on device" "$XMR" predict --model "$work/m.xmr" --input "$work/test.txt" -o /dev/full
fi
# Settings that would make a useless model.
expect_fail "char n-grams from 0" "--char-ngrams '0-3': n-gram sizes must satisfy 1 <= N <= M <= 16 (or none)" "$XMR" train --input "$work/docs.jsonl" --model "$work/x.xmr" --char-ngrams 0-3
expect_fail "reversed word n-grams" "--word-ngrams '3-1'" "$XMR" train --input "$work/docs.jsonl" --model "$work/x.xmr" --word-ngrams 3-1
expect_fail "char n-grams neither a range nor none" "--char-ngrams must be N, N-M or none, got 'many'" "$XMR" train --input "$work/docs.jsonl" --model "$work/x.xmr" --char-ngrams many
expect_fail "min-df removes every term" "the vectorizer kept no terms" "$XMR" train --input "$work/docs.jsonl" --model "$work/x.xmr" --min-df 50
expect_fail "min-df not a number" "--min-df 'often': expected a number > 0 (a count, or a fraction if < 1) or auto" "$XMR" train --input "$work/docs.jsonl" --model "$work/x.xmr" --min-df often
expect_fail "min-df 0" "--min-df '0': expected a number > 0" "$XMR" train --input "$work/docs.jsonl" --model "$work/x.xmr" --min-df 0
expect_fail "threshold removes every weight" "removed every ranker weight" "$XMR" train --input "$work/train.txt" --normalize --model "$work/x.xmr" --threshold 1000
[ ! -e "$work/x.xmr" ] && ok || bad "a useless model was written"
# Formats: inferred from the input; a text model refuses XC features.
if "$XMR" train --input "$work/docs.jsonl" --model "$work/inferred.xmr" --max-leaf-size 2 -q && "$XMR" eval --model "$work/inferred.xmr" --input "$work/docs.jsonl" >/dev/null &&
   "$XMR" train --input "$work/train.txt" --normalize --model "$work/inferred_xc.xmr" -q && "$XMR" train --input "$work/idx" --model "$work/inferred_idx.xmr" --max-leaf-size 2 -q; then ok
else bad "format inferred from the input"; fi
printf 'just words\n' >"$work/words.txt"
expect_fail "unknown format" "words.txt: cannot tell its format" "$XMR" train --input "$work/words.txt" --model "$work/x.xmr"
: >"$work/nothing"
expect_fail "empty file, no format to infer" "nothing: empty file (no line to read)" "$XMR" train --input "$work/nothing" --model "$work/x.xmr"
expect_fail "text model on xc" "t.xmr: a text model (it has its own vectorizer), but" "$XMR" eval --model "$work/t.xmr" --input "$work/test.txt" --format xc
sed 's/"text"/"title"/; s/"labels"/"tags"/' "$work/docs.jsonl" >"$work/renamed.jsonl"
if "$XMR" train --input "$work/renamed.jsonl" --text-field title --label-field tags --model "$work/renamed.xmr" --max-leaf-size 2 -q &&
   "$XMR" eval --model "$work/renamed.xmr" --input "$work/renamed.jsonl" --text-field title --label-field tags --json | grep -q '"n": 6'; then ok
else bad "jsonl with --text-field/--label-field"; fi
# JSON nested past the limit, and a NUL byte, are refused by place.
python3 -c "import sys; sys.stdout.write('{\"text\": \"a\", \"labels\": ' + '['*120000 + ']'*120000 + '}\n')" >"$work/deep.jsonl"
expect_fail "deep JSONL" "deep.jsonl:1: invalid JSON: nested deeper than 128 levels at byte 152" "$XMR" train --input "$work/deep.jsonl" --model "$work/x.xmr"
python3 -c "import sys; sys.stdout.write('{\"stages\": ' + '['*120000 + ']'*120000 + '}')" >"$work/deep.json"
expect_fail "deep config" "deep.json: pipeline config: malformed JSON: nested deeper than 128 levels" "$XMR" search --index "$work/idx" --config "$work/deep.json" --query x
printf '{"text": "a\000b", "labels": ["x"]}\n' >"$work/nul.jsonl"
expect_fail "NUL in JSONL" "nul.jsonl:1: invalid JSON: a NUL byte at byte 12" "$XMR" train --input "$work/nul.jsonl" --model "$work/x.xmr"
# Queries that could never match, and errors in a batch.
printf '{"query": {"default_field": "title"}, "stages": []}' >"$work/nofield.json"
expect_fail "default field not in the index" "default_field \"title\" is not an indexed field" "$XMR" search --index "$work/idx" --config "$work/nofield.json" --query x
expect_fail "another analyzer than the index's" "indexed with analyzer \"standard\", but --analyzer is \"english\"" "$XMR" search --index "$work/idx" --config "$work/pipe.json" --analyzer english --query x
printf '{"query": {"syntax": "lucene"}, "stages": []}' >"$work/lucene.json"
n=$("$XMR" search --index "$work/idx" --config "$work/lucene.json" --query 'labels:glassware' --jsonl | python3 -c "import json,sys; print(len(json.loads(sys.stdin.readline())['hits']))")
[ "$n" -eq 2 ] && ok || bad "label field queried as an exact value: $n hits"
printf 'shoes\nshoes AND (\nglasses\n' >"$work/mixed.txt"
err=$("$XMR" search --index "$work/idx" --config "$work/lucene.json" --queries "$work/mixed.txt" --jsonl -o "$work/mixed.jsonl" 2>&1); code=$?
if [ "$code" -ne 0 ] && grep -q "mixed.txt:2: parse: query syntax: " <<<"$err" && [ "$(grep -c . <<<"$err")" -eq 2 ] &&
   [ "$(wc -l <"$work/mixed.jsonl")" -eq 3 ] && sed -n 2p "$work/mixed.jsonl" | grep -q '"error"'; then ok
else bad "a bad query in a batch: exit $code, $err"; fi
expect_fail "--stop-on-error" "mixed.txt:2: parse" "$XMR" search --index "$work/idx" --config "$work/lucene.json" --queries "$work/mixed.txt" --stop-on-error
expect_fail "a non-library as plugin" "passwd: cannot load plugin: not a shared library (no ELF header)" "$XMR" search --index "$work/idx" --config "$work/pipe.json" --plugin /etc/passwd --query x
# A killed xmr index leaves NAME.tmp.<pid>/; the next index of that name removes it once stale.
mkdir -p "$work/idx5.tmp.999999" && touch -d '2 hours ago' "$work/idx5.tmp.999999"
if "$XMR" index --input "$work/docs.jsonl" --index "$work/idx5" -q && [ ! -e "$work/idx5.tmp.999999" ]; then ok; else bad "stale index temp dir"; fi

# predict --text
out=$("$XMR" predict --model "$work/t.xmr" --text "crystal glasses" --k 1)
if python3 -c "import json,sys; r=json.loads(sys.argv[1]); assert r['labels']==['glassware']" "$out"; then ok; else bad "predict --text: $out"; fi
expect_fail "predict without input" "give either --input FILE or --text TEXT" "$XMR" predict --model "$work/t.xmr"

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
