#!/usr/bin/env bash
# Builds and runs tests under sanitizers, each in its own build directory.
#
#   scripts/sanitize.sh asan   the whole test suite under ASan + UBSan (build-asan/)
#   scripts/sanitize.sh tsan   the concurrency tests under TSan (build-tsan/):
#                              the model-swap test on flipkart (8 query threads,
#                              32 swaps) and the plugin pipeline tests
#
# Suppressions (tests/sanitizers/*.supp) cover only code that is not ours.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
kind=${1:-asan}
bash scripts/install_deps.sh
case "$kind" in
  asan)
    build=${XMR_ASAN_BUILD_DIR:-$root/build-asan}
    cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXMR_ASAN=ON -DXMR_BUILD_BENCHMARKS=OFF >/dev/null
    cmake --build "$build"
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
    export LSAN_OPTIONS=suppressions=$root/tests/sanitizers/lsan.supp:print_suppressions=0
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:suppressions=$root/tests/sanitizers/ubsan.supp
    ctest --test-dir "$build" --output-on-failure -j2 --timeout 1500
    ;;
  tsan)
    build=${XMR_TSAN_BUILD_DIR:-$root/build-tsan}
    cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXMR_TSAN=ON -DXMR_BUILD_BENCHMARKS=OFF >/dev/null
    cmake --build "$build" --target plugin_tests plugin_flipkart_tests
    export TSAN_OPTIONS="suppressions=$root/tests/sanitizers/tsan.supp halt_on_error=1 second_deadlock_stack=1"
    # libgomp is not instrumented, so TSan cannot see OpenMP's barriers: the
    # fixtures train on one thread, and the threads under test are std::threads.
    export OMP_NUM_THREADS=1
    "$build/tests/plugin_flipkart_tests" --gtest_filter='*Concurrent*'
    "$build/tests/plugin_tests"
    ;;
  *)
    echo "usage: scripts/sanitize.sh asan|tsan" >&2
    exit 2
    ;;
esac
