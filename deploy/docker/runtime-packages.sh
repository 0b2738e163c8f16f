#!/usr/bin/env bash
# Prints, one per line, the Debian packages that provide the shared libraries the given binaries
# load. The image's build stage runs it so the runtime stage installs exactly those (no -dev
# packages, no compiler) and the list cannot drift from what the build links against.
#   deploy/docker/runtime-packages.sh BINARY...
set -euo pipefail
(($#)) || { echo "usage: runtime-packages.sh BINARY..." >&2; exit 2; }

libs="$(ldd "$@" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $2 ~ /^\(/ { print $1 }' | sort -u)"

# Debian 12 merged /lib into /usr/lib, but dpkg records whichever path the package shipped: ask
# about each library as the loader found it, its target, and both spellings of each, in one
# dpkg-query call (one call per path takes a minute).
declare -A spellings_of
candidates=()
for lib in $libs; do
  for path in "$lib" "$(readlink -f "$lib")"; do
    for spelling in "$path" "${path#/usr}" "/usr${path}"; do
      spellings_of[$lib]+="$spelling "
      candidates+=("$spelling")
    done
  done
done
# "libfoo1:amd64: /usr/lib/x86_64-linux-gnu/libfoo.so.1" for each path a package owns.
declare -A owner_of
while IFS= read -r line; do
  owner_of[${line#*: }]="${line%%: *}"
done < <(dpkg-query -S "${candidates[@]}" 2>/dev/null || true)

packages=()
for lib in $libs; do
  found=""
  for spelling in ${spellings_of[$lib]}; do
    found="${owner_of[$spelling]:-}"
    [[ -n "$found" ]] && break
  done
  if [[ -z "$found" ]]; then
    echo "runtime-packages.sh: no package owns $lib" >&2
    exit 1
  fi
  packages+=("$found")
done
printf '%s\n' "${packages[@]}" | sort -u
