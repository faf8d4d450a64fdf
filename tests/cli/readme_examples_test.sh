#!/usr/bin/env bash
# Runs the README's worked `xmr` session (the bash block between the
# readme-examples markers) as written, in a scratch directory, with the
# built xmr first on the PATH. Fails if any command fails.
set -euo pipefail
readme=${README:?README=path/to/README.md}
xmr_dir=$(cd "$(dirname "${XMR:?XMR=path/to/xmr}")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
script=$(awk '/<!-- readme-examples:start -->/{on=1; next} /<!-- readme-examples:end -->/{on=0} on && !/^```/' "$readme")
[ -n "$script" ] || { echo "no readme-examples block in $readme"; exit 1; }
cd "$work"
PATH="$xmr_dir:$PATH" bash -euo pipefail -c "$script" >"$work/out.txt" 2>&1 || { cat "$work/out.txt"; exit 1; }
# Spot checks that the commands did what the README says.
grep -q "categories:" "$work/out.txt"
[ "$(wc -l <"$work/results.jsonl")" -eq 20 ]
[ "$(wc -l <"$work/predictions.jsonl")" -eq 300 ]
python3 -c 'import json,sys; d=json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); assert d["P@1"] > 0.5, d' "$work/out.txt"
echo "README examples: all commands ran"
