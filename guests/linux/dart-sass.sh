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
mkdir -p "$cache"
exec 9>"$cache/.fetch.lock"
flock 9

. "$(dirname "${BASH_SOURCE[0]}")/npm-package.sh"
fetch() {  # fetch ARCH: sass-embedded-linux-$arch@version into $dir/ARCH
  local arch="$1"
  npm_package dart-sass.sh "sass-embedded-linux-$arch" "$version" "sass-embedded-linux-$arch-$version.tgz" "$dir/$arch" dart-sass/src/dart
}

fetch riscv64
fetch x64
echo "$dir/riscv64/dart-sass"
echo "$dir/x64/dart-sass"
