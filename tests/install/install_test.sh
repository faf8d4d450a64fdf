#!/usr/bin/env bash
# Installs xmr into a temporary prefix as a user would, then builds and runs an
# application outside the tree (examples/minimal_host) against that prefix
# only: with find_package(xmr), with pkg-config, and against the contents of
# the Debian packages from `cpack -G DEB`. A broken install fails here.
# Usage: BUILD=build-dir SOURCE=source-dir bash install_test.sh
set -u
BUILD=$(cd "${BUILD:?set BUILD to the build directory}" && pwd)
SOURCE=$(cd "${SOURCE:?set SOURCE to the source directory}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }
check() { local name=$1; shift; if "$@" >"$work/check.log" 2>&1; then ok; else bad "$name"; cat "$work/check.log"; fi; }
# The host must not see the build tree: no xmr tool on the PATH, no plugin path.
unset XMR_PLUGIN_PATH

prefix=$work/prefix
check "cmake --install" cmake --install "$BUILD" --prefix "$prefix"
libdir=$(cd "$prefix" && ls -d lib*/libxmr_pipeline.so | head -n 1 | xargs dirname)
for f in bin/xmr "$libdir"/libxmr_pipeline.so "$libdir"/xmr/libxmr_plugin.so include/xmr/pipeline.h include/xmr/stage.h \
         include/xmr/plugin_loader.h include/xmr/abi.h include/xmr/error.h include/xmr/utf8.h include/xmr/version.h \
         "$libdir"/cmake/xmr/xmrConfig.cmake "$libdir"/cmake/xmr/xmrConfigVersion.cmake "$libdir"/pkgconfig/xmr.pc; do
  if [ -e "$prefix/$f" ]; then ok; else bad "not installed: $f"; fi
done
soname=$(objdump -p "$prefix/$libdir/libxmr_pipeline.so" | awk '/SONAME/ {print $2}')
if [[ $soname == libxmr_pipeline.so.[0-9]*.[0-9]* ]] && [ -e "$prefix/$libdir/$soname" ]; then ok; else bad "SONAME '$soname'"; fi
if grep -rlF -e "$BUILD" -e "$SOURCE" "$prefix/include" "$prefix/$libdir/cmake" "$prefix/$libdir/pkgconfig"; then
  bad "installed files name the build or source tree (above)"
else ok; fi

# The installed command works from the prefix alone and finds its plugin there.
xmr=$prefix/bin/xmr
version=$("$xmr" --version)
if grep -q "^xmr [0-9]" <<<"$version" && grep -q "^plugin ABI [0-9]" <<<"$version" &&
   grep -q "^build abi=" <<<"$version" && grep -qF "$prefix/$libdir/xmr" <<<"$version"; then ok
else bad "xmr --version: $version"; fi
cd "$work"
check "catalog" "$xmr" catalog --products-out products.jsonl --queries-out queries.jsonl --products 1500 --queries 20 --seed 3
check "index" "$xmr" index --input products.jsonl --index index --text-field title --label-field categories --key-field id -q
check "train" "$xmr" train --input index --format index --text-field title --label-field categories --model products.xmr -q
# No "plugins" key: the pipeline loads libxmr_plugin.so from the install by itself.
cat > pipeline.json <<'JSON'
{"query": {"default_field": "title"},
 "stages": [{"type": "categorize", "model": "products.xmr", "top_k": 2},
            {"type": "rerank", "model": "products.xmr", "label_field": "categories", "window_size": 20}]}
JSON
check "xmr search from the prefix" "$xmr" search --index index --config pipeline.json --query "running shoes" --k 3

# An ASan build installs instrumented libraries; the host is built plainly, so
# it runs with the sanitizer runtimes preloaded (ASan refuses to start else).
host_env=()
if grep -q '^XMR_ASAN:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null; then
  host_env=(env "LD_PRELOAD=$(c++ -print-file-name=libasan.so) $(c++ -print-file-name=libubsan.so)")
fi

# run_host NAME BINARY: categorize and rerank two queries; every query gets
# categories and reranked hits, and the plugin came from the expected place.
run_host() {
  local name=$1 bin=$2 plugin_dir=$3 out
  if ! out=$("${host_env[@]}" "$bin" index pipeline.json "womens running shoes" "usb c charger" 2>&1); then bad "$name: $out"; return; fi
  if [ "$(grep -c '^  category ' <<<"$out")" -ge 2 ] && [ "$(grep -c ' reranked ' <<<"$out")" -ge 2 ] &&
     grep -q "from $plugin_dir/libxmr_plugin.so" <<<"$out"; then ok; else bad "$name: $out"; fi
}

# find_package(xmr) with only CMAKE_PREFIX_PATH.
host_src=$SOURCE/examples/minimal_host
check "host configure (find_package)" cmake -S "$host_src" -B host-cmake -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release
check "host build (find_package)" cmake --build host-cmake
run_host "host (find_package)" host-cmake/minimal_host "$(realpath "$prefix/$libdir/xmr")"
# The same through pkg-config.
pcflags=$(PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig pkg-config --cflags --libs xmr)
check "host build (pkg-config)" c++ -std=c++17 "$host_src/main.cc" -o host-pc $pcflags -Wl,-rpath,"$prefix/$libdir"
run_host "host (pkg-config)" ./host-pc "$(realpath "$prefix/$libdir/xmr")"
# A version the package does not claim to satisfy is refused.
mkdir -p needs-9 && cat > needs-9/CMakeLists.txt <<'CM'
cmake_minimum_required(VERSION 3.18)
project(needs9 LANGUAGES CXX)
find_package(xmr 9.0 CONFIG REQUIRED)
CM
if cmake -S needs-9 -B needs-9/build -DCMAKE_PREFIX_PATH="$prefix" >/dev/null 2>&1; then bad "find_package(xmr 9.0) accepted"; else ok; fi

# The Debian packages: declared dependencies, then their contents unpacked
# into an empty root (not installed system-wide) and used the same way.
if command -v dpkg-shlibdeps >/dev/null; then
  check "cpack -G DEB" cpack -G DEB --config "$BUILD/CPackConfig.cmake" -B "$work/deb"
  runtime_deb=$(ls "$work"/deb/xmr_*.deb 2>/dev/null | head -n 1)
  dev_deb=$(ls "$work"/deb/xmr-dev_*.deb 2>/dev/null | head -n 1)
  if [ -n "$runtime_deb" ] && [ -n "$dev_deb" ]; then
    runtime_depends=$(dpkg-deb --field "$runtime_deb" Depends)
    dev_depends=$(dpkg-deb --field "$dev_deb" Depends)
    if grep -q "liblucene++0v5" <<<"$runtime_depends" && grep -q "libboost-filesystem1.74.0" <<<"$runtime_depends"; then ok
    else bad "xmr.deb Depends: $runtime_depends"; fi
    if grep -q "liblucene++-dev" <<<"$dev_depends" && grep -q "xmr (= " <<<"$dev_depends"; then ok
    else bad "xmr-dev.deb Depends: $dev_depends"; fi
    root=$work/debroot
    dpkg-deb -x "$runtime_deb" "$root" && dpkg-deb -x "$dev_deb" "$root"
    contents=$(dpkg-deb --contents "$runtime_deb")
    if grep -q "/usr/bin/xmr$" <<<"$contents"; then ok; else bad "xmr.deb has no /usr/bin/xmr"; fi
    check "host configure (.deb contents)" cmake -S "$host_src" -B host-deb -DCMAKE_PREFIX_PATH="$root/usr"
    check "host build (.deb contents)" cmake --build host-deb
    debplugin=$(dirname "$(find "$root" -name libxmr_plugin.so | head -n 1)")
    run_host "host (.deb contents)" host-deb/minimal_host "$(realpath "$debplugin")"
  else
    bad "cpack wrote no xmr and xmr-dev packages: $(ls "$work/deb" 2>&1)"
  fi
else
  echo "install_test: dpkg-shlibdeps not found (package dpkg-dev): Debian package checks skipped"
fi

echo "install: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
