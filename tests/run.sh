#!/usr/bin/env bash
# The test command: installs and builds (deploy/setup.sh), lints the API with buf, runs every
# ctest suite, then the unit and integration suites again under ASan + UBSan (build-asan/), then
# every libFuzzer target for a bounded time (build-fuzz/, clang).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$repo/deploy/setup.sh"

echo "== buf lint"
(cd "$repo" && tests/node_modules/.bin/buf lint)

echo "== ctest (build/)"
legacy_kubectl="$repo/build/debian-kubectl/usr/bin/kubectl"
if [[ -x "$legacy_kubectl" ]]; then export PARTNER_KUBECTL_LEGACY="$legacy_kubectl"; fi
ctest --test-dir "$repo/build" --no-tests=error --output-on-failure --timeout 600 -j2

echo "== ctest under ASan+UBSan (build-asan/)"
export CCACHE_BASEDIR="$repo" CCACHE_NOHASHDIR=1
cmake -S "$repo" -B "$repo/build-asan" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DPARTNER_SANITIZE=ON -DPARTNER_BUILD_BENCH=OFF >/dev/null
cmake --build "$repo/build-asan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  LSAN_OPTIONS="suppressions=$repo/tests/lsan.supp" \
  ctest --test-dir "$repo/build-asan" --no-tests=error --output-on-failure --timeout 900 -j2 -L 'unit|integration'

echo "== libFuzzer targets, bounded time each (build-fuzz/)"
cmake -S "$repo" -B "$repo/build-fuzz" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
  -DPARTNER_BUILD_FUZZ=ON -DPARTNER_BUILD_BENCH=OFF >/dev/null
cmake --build "$repo/build-fuzz" --target fuzzers
ctest --test-dir "$repo/build-fuzz" --no-tests=error --output-on-failure -j2 -L fuzz
