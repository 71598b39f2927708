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
step() { echo "== $*" >&2; }
mkdir -p "$cache"
exec 9>"$cache/.fetch.lock"
flock 9

fetch() {  # fetch ARCH: unpacks @esbuild/linux-ARCH@version into $dir/ARCH
  local arch="$1" target="$dir/$1"
  [ -x "$target/bin/esbuild" ] && return 0
  command -v npm >/dev/null || { echo "esbuild.sh: npm is needed (Debian package npm)" >&2; exit 2; }
  mkdir -p "$cache"
  local tmp
  tmp="$(mktemp -d "$cache/.fetch-XXXXXX")"
  step "npm pack @esbuild/linux-$arch@$version"
  if ! (cd "$tmp" && npm pack --silent "@esbuild/linux-$arch@$version" >pack.log 2>&1); then
    echo "esbuild.sh: npm pack @esbuild/linux-$arch@$version failed (is the npm registry reachable?):" >&2
    tail -5 "$tmp/pack.log" >&2
    rm -rf "$tmp"
    exit 3
  fi
  mkdir -p "$tmp/unpacked"
  tar -xzf "$tmp"/esbuild-linux-"$arch"-"$version".tgz -C "$tmp/unpacked"
  [ -x "$tmp/unpacked/package/bin/esbuild" ] || { echo "esbuild.sh: no bin/esbuild in the $arch package" >&2; rm -rf "$tmp"; exit 2; }
  mkdir -p "$dir"
  rm -rf "$target"
  mv "$tmp/unpacked/package" "$target"   # atomic: a half-unpacked package is never at $target
  rm -rf "$tmp"
}

fetch riscv64
fetch x64
echo "$dir/riscv64/bin/esbuild"
echo "$dir/x64/bin/esbuild"
