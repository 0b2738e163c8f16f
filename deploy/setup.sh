#!/usr/bin/env bash
# Installs what is missing (Debian packages, npm tools), then configures and builds into build/.
# Idempotent and incremental: a second run installs nothing and rebuilds only what changed.
# Used by the README's two commands and by deploy/docker/Dockerfile.
#   deploy/setup.sh [--no-tests]      --no-tests: skip test/bench targets and npm tools
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
with_tests=ON
for arg in "$@"; do
  case "$arg" in
    --no-tests) with_tests=OFF ;;
    *) echo "setup.sh: unknown argument '$arg' (expected --no-tests)" >&2; exit 2 ;;
  esac
done

packages=(
  build-essential cmake ninja-build ccache pkg-config git ca-certificates
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  libssl-dev libcurl4-openssl-dev libevent-dev libsimdjson-dev nlohmann-json3-dev libcli11-dev
  libgoogle-perftools-dev
)
if [[ "$with_tests" == ON ]]; then
  packages+=(
    libgtest-dev libgmock-dev libbenchmark-dev clang libclang-rt-14-dev
    python3 python3-grpcio python3-protobuf python3-yaml openssl jq
  )
  # Node may come from another distribution (whose nodejs bundles npm and conflicts with Debian's
  # npm package): only install Debian's when the commands are missing.
  command -v node >/dev/null 2>&1 || packages+=(nodejs)
  command -v npm >/dev/null 2>&1 || packages+=(npm)
  # Any kubectl with kustomize will do; Debian's comes with kubernetes-client.
  command -v kubectl >/dev/null 2>&1 || packages+=(kubernetes-client)
fi

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ "$with_tests" == ON ]]; then
  # npm ci only when the lock file changed since the last install.
  stamp="$repo/tests/node_modules/.installed-lock"
  if ! cmp -s "$repo/tests/package-lock.json" "$stamp" 2>/dev/null; then
    (cd "$repo/tests" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$repo/tests/package-lock.json" "$stamp"
  fi
fi

if [[ "$with_tests" == ON ]] &&
  ! dpkg-query -W -f='${Status}' kubernetes-client 2>/dev/null | grep -q '^install ok installed$'; then
  # tests/deploy renders the overlays with the kubectl on PATH. When that is not Debian's own
  # (kubectl 1.20 with kustomize v2.0.3, what a fresh Debian 12 machine gets), Debian's is also
  # unpacked here, not installed, and tests/run.sh has the overlays rendered with both.
  legacy="$repo/build/debian-kubectl"
  if [[ ! -x "$legacy/usr/bin/kubectl" ]]; then
    download="$(mktemp -d)"
    (cd "$download" && { apt-get download kubernetes-client >/dev/null 2>&1 ||
      { apt-get update -qq && apt-get download kubernetes-client >/dev/null; }; })
    mkdir -p "$repo/build"
    rm -rf "$legacy.partial"
    dpkg-deb -x "$download"/kubernetes-client_*.deb "$legacy.partial"
    mv "$legacy.partial" "$legacy"
    rm -rf "$download"
  fi
fi

# ccache keyed relative to the checkout, so a fresh clone reuses an earlier clone's objects.
export CCACHE_BASEDIR="$repo"
export CCACHE_NOHASHDIR=1
cmake -S "$repo" -B "$repo/build" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
  -DPARTNER_BUILD_TESTS="$with_tests" -DPARTNER_BUILD_BENCH="$with_tests" >/dev/null
cmake --build "$repo/build"
