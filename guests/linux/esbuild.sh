#!/usr/bin/env bash
# Fetches esbuild's riscv64 Linux build (npm package @esbuild/linux-riscv64, a static Go program)
# and the host's build of the same version (@esbuild/linux-x64) with `npm pack`, and unpacks them
# into ${ISOMORPH_CACHE:-~/.cache/isomorph}/esbuild/VERSION/{riscv64,x64}/. A second run reuses them.
# Usage: esbuild.sh [VERSION]. Prints the riscv64 binary's path, then the host binary's, on the
# last two lines. Runs that start together take a lock: one fetches, the others wait. Exit status 3 when npm cannot reach the registry (the message says so).
set -euo pipefail
version="${1:-0.28.2}"
cache="${ISOMORPH_CACHE:-$HOME/.cache/isomorph}/esbuild"
dir="$cache/$version"
mkdir -p "$cache"
exec 9>"$cache/.fetch.lock"
flock 9

. "$(dirname "${BASH_SOURCE[0]}")/npm-package.sh"
fetch() {  # fetch ARCH: @esbuild/linux-$arch@version into $dir/ARCH
  local arch="$1"
  npm_package esbuild.sh "@esbuild/linux-$arch" "$version" "esbuild-linux-$arch-$version.tgz" "$dir/$arch" bin/esbuild
}

fetch riscv64
fetch x64
echo "$dir/riscv64/bin/esbuild"
echo "$dir/x64/bin/esbuild"
