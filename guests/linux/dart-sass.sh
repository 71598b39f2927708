#!/usr/bin/env bash
# Fetches Dart Sass's riscv64 Linux build (npm package sass-embedded-linux-riscv64: the Dart VM,
# dynamically linked against glibc, and sass.snapshot) and the host's build of the same version
# (sass-embedded-linux-x64) with `npm pack`, and unpacks them into
# ${ISOMORPH_CACHE:-~/.cache/isomorph}/dart-sass/VERSION/{riscv64,x64}/. A second run reuses them.
# Usage: dart-sass.sh [VERSION]. Prints the riscv64 package's dart-sass directory, then the host's,
# on the last two lines (each holds src/dart and src/sass.snapshot). Runs that start together take
# a lock: one fetches, the others wait. Exit status 3 when npm cannot reach the registry.
set -euo pipefail
version="${1:-1.105.0}"
cache="${ISOMORPH_CACHE:-$HOME/.cache/isomorph}/dart-sass"
dir="$cache/$version"
step() { echo "== $*" >&2; }
mkdir -p "$cache"
exec 9>"$cache/.fetch.lock"
flock 9

fetch() {  # fetch ARCH: unpacks sass-embedded-linux-ARCH@version into $dir/ARCH
  local arch="$1" target="$dir/$1"
  [ -x "$target/dart-sass/src/dart" ] && return 0
  command -v npm >/dev/null || { echo "dart-sass.sh: npm is needed (Debian package npm)" >&2; exit 2; }
  local tmp
  tmp="$(mktemp -d "$cache/.fetch-XXXXXX")"
  step "npm pack sass-embedded-linux-$arch@$version"
  if ! (cd "$tmp" && npm pack --silent "sass-embedded-linux-$arch@$version" >pack.log 2>&1); then
    echo "dart-sass.sh: npm pack sass-embedded-linux-$arch@$version failed (is the npm registry reachable?):" >&2
    tail -5 "$tmp/pack.log" >&2
    rm -rf "$tmp"
    exit 3
  fi
  mkdir -p "$tmp/unpacked"
  tar -xzf "$tmp"/sass-embedded-linux-"$arch"-"$version".tgz -C "$tmp/unpacked"
  [ -x "$tmp/unpacked/package/dart-sass/src/dart" ] || { echo "dart-sass.sh: no dart-sass/src/dart in the $arch package" >&2; rm -rf "$tmp"; exit 2; }
  mkdir -p "$dir"
  rm -rf "$target"
  mv "$tmp/unpacked/package" "$target"   # atomic: a half-unpacked package is never at $target
  rm -rf "$tmp"
}

fetch riscv64
fetch x64
echo "$dir/riscv64/dart-sass"
echo "$dir/x64/dart-sass"
