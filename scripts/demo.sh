#!/usr/bin/env bash
# The main job, on an embedded default: installs dependencies if missing,
# builds, generates a product catalog (1,015 leaf categories, 40,000
# products, 2,000 shopper queries), indexes it into Lucene++, trains a model
# from the index, then runs the queries through the plugin pipeline
# (categorize + rerank) and prints a report. Everything goes to
# ${XMR_DEMO_DIR:-build/demo}.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== building (Release; the first build takes 2-3 minutes on 2 cores) ..."
# Ninja's [done/total] lines show the build's progress.
bash scripts/build.sh
build=${XMR_BUILD_DIR:-build}
xmr=$build/index_tools/xmr
out=${XMR_DEMO_DIR:-build/demo}
mkdir -p "$out"

echo "== generating the catalog"
"$xmr" catalog --products-out "$out/products.jsonl" --queries-out "$out/queries.jsonl" \
  --products 40000 --queries 2000 --seed 1
echo "== indexing it into Lucene++ ($out/index)"
"$xmr" index --input "$out/products.jsonl" --index "$out/index" --overwrite \
  --text-field title --label-field categories --key-field id
echo "== training a model from the index (titles -> categories)"
"$xmr" train --input "$out/index" --format index --text-field title --label-field categories \
  --model "$out/products.xmr"
cp examples/product_search.json "$out/pipeline.json"
echo "== running the shopper queries through the plugin pipeline ($out/pipeline.json)"
"$build/examples/product_search_demo" --index "$out/index" --config "$out/pipeline.json" \
  --queries "$out/queries.jsonl" --plugin "$build/lib/xmr/libxmr_plugin.so"
echo
echo "Try your own query:  $xmr search --index $out/index --config $out/pipeline.json --query \"womens running shoes\" --show title --explain"
