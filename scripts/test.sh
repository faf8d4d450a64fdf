#!/usr/bin/env bash
# The whole test suite: installs dependencies if missing, builds, runs CTest
# (unit tests, accuracy checks on ../shared/datasets when present, CLI tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh "$@"
cd "${XMR_BUILD_DIR:-build}"
ctest --output-on-failure --parallel "$(nproc)"
