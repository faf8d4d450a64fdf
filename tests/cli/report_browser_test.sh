#!/usr/bin/env bash
# `xmr eval --report` opened in a real browser (Debian's chromium, headless):
# the page renders (a screenshot of it, its DOM with both figures and every
# section) without a script error, and is self-contained (no script, no
# external resource). Exit 77 (skipped) when chromium is not installed.
#   report_browser_test.sh XMR_BINARY
set -uo pipefail
XMR=$1
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "SKIP: chromium is not installed (scripts/install_deps.sh installs it)"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
ok() { :; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

"$XMR" synth --train "$work/train.txt" --test "$work/test.txt" --rows 1500 --test-rows 300 --features 800 --labels 60 --seed 3 >/dev/null
"$XMR" train --input "$work/train.txt" --format xc --normalize --model "$work/m.xmr" -B 4 --max-leaf-size 8 -q --calibrate 0.2
# A label name the page must escape comes through the model's names only for text
# models; the report of this XC model shows ids.
if "$XMR" eval --model "$work/m.xmr" --input "$work/test.txt" --format xc --normalize --report "$work/report.html" >/dev/null; then ok
else bad "eval --report"; fi
html="$work/report.html"
if grep -qi "<script" "$html"; then bad "the report has a script"; fi
if grep -o 'https\?://[^" ]*' "$html" | grep -v '^http://www.w3.org/2000/svg$' | grep -q .; then bad "the report links outside itself"; fi

# The browser: DOM after rendering, and a screenshot, with the console on stderr.
timeout 120 "$browser" --headless --no-sandbox --disable-gpu --enable-logging=stderr --v=0 --dump-dom "file://$html" \
  >"$work/dom.html" 2>"$work/dom.err" || bad "chromium --dump-dom exited $?"
timeout 120 "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1100,2400 \
  --screenshot="$work/shot.png" "file://$html" >/dev/null 2>"$work/shot.err" || bad "chromium --screenshot exited $?"
if grep -iE "Uncaught|SyntaxError|ReferenceError|TypeError|CONSOLE\(.*error" "$work/dom.err" "$work/shot.err"; then
  bad "script or console errors while rendering"
fi
svgs=$(grep -o "<svg" "$work/dom.html" | wc -l)
[ "$svgs" -eq 2 ] || bad "expected 2 figures in the rendered page, found $svgs"
for section in 'id="ranking"' 'id="calibration"' 'id="frequency"' 'id="worst"' '<circle' 'calibrated</td>'; do
  grep -q "$section" "$work/dom.html" || bad "rendered page lacks $section"
done
size=$(stat -c %s "$work/shot.png" 2>/dev/null || echo 0)
[ "$size" -gt 20000 ] || bad "screenshot is $size bytes"
python3 - "$work/shot.png" <<'PY' || bad "screenshot is not a PNG of the page's size"
import struct, sys
b = open(sys.argv[1], "rb").read()
assert b[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack(">II", b[16:24])
assert (w, h) == (1100, 2400), (w, h)
PY
if [ "$fails" -eq 0 ]; then echo "report_browser_test: ok"; exit 0; fi
echo "report_browser_test: $fails failure(s)"
exit 1
