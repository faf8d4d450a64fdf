# Sourced by the scripts that measure on the shared data sets: where they are
# ($XMR_DATASETS, else ../shared/datasets beside the checkout), their names,
# and how to read one.
shared_data="${XMR_DATASETS:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/../shared/datasets}"
shared_sets=(bibtex delicious cooking flipkart reuters)
# The sets a script measures: those $SETS names ("cooking reuters"), else all.
read -r -a selected_sets <<< "${SETS:-${shared_sets[*]}}"

# set_files SET: sets `train`, `test` and `norm` (the flags an XC set needs:
# its rows are L2-normalised on reading); returns 1, with a line on stderr,
# when the set is absent.
set_files() {
  local dir="$shared_data/$1"
  if [ -f "$dir/train.jsonl" ]; then
    train="$dir/train.jsonl" test="$dir/test.jsonl" norm=()
  elif [ -f "$dir/train.txt" ]; then
    train="$dir/train.txt" test="$dir/test.txt" norm=(--normalize)
  else
    echo "$1: absent under $shared_data, skipped" >&2
    return 1
  fi
}

# need_build_and_sets SCRIPT: exits with a line naming SCRIPT unless $xmr (set
# by the caller) is built and the shared sets are there.
need_build_and_sets() {
  [ -x "$xmr" ] || { echo "$1: $xmr missing; run scripts/build.sh" >&2; exit 1; }
  [ -d "$shared_data" ] || { echo "$1: $shared_data missing (the shared datasets)" >&2; exit 1; }
}
