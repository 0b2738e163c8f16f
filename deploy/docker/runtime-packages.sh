#!/usr/bin/env bash
# Prints, one per line, the Debian packages that provide the shared libraries the given binaries
# load. The image's build stage runs it so the runtime stage installs exactly those (no -dev
# packages, no compiler) and the list cannot drift from what the build links against.
#   deploy/docker/runtime-packages.sh BINARY...
set -euo pipefail
(($#)) || { echo "usage: runtime-packages.sh BINARY..." >&2; exit 2; }

owner() {
  # Debian 12 merged /lib into /usr/lib, but dpkg records whichever path the package shipped:
  # try the path as the loader found it, its target, and both spellings of each.
  local path candidates=()
  for path in "$1" "$(readlink -f "$1")"; do
    candidates+=("$path" "${path#/usr}" "/usr${path}")
  done
  for path in "${candidates[@]}"; do
    if out="$(dpkg-query -S "$path" 2>/dev/null)"; then
      # "libfoo1:amd64: /usr/lib/..." -> "libfoo1:amd64"
      echo "${out%%: *}"
      return 0
    fi
  done
  echo "runtime-packages.sh: no package owns $1" >&2
  return 1
}

libs="$(ldd "$@" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u)"
packages=()
for lib in $libs; do
  packages+=("$(owner "$lib")")
done
printf '%s\n' "${packages[@]}" | sort -u
