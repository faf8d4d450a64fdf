#!/usr/bin/env bash
# Installs xmr's build dependencies from Debian's packages. Idempotent: packages
# already present are skipped, and apt is not touched when nothing is missing.
set -euo pipefail

packages=(
  build-essential dpkg-dev cmake ninja-build pkg-config
  liblucene++-dev
  # liblucene++-dev forgets these two; its headers need them.
  libboost-dev libboost-filesystem-dev
  libboost-program-options-dev libboost-iostreams-dev libboost-system-dev
  libeigen3-dev rapidjson-dev libxxhash-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # fuzzing (scripts/fuzz.sh): clang with libFuzzer, and the OpenMP runtime clang links
  clang libclang-rt-14-dev libomp-14-dev
  # the browser test of `xmr eval --report` (tests/cli/report_browser_test.sh)
  chromium
  # distributed training (`mpirun -np N xmr train --distributed`, CMake option XMR_MPI)
  openmpi-bin libopenmpi-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install_deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install_deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
