#!/usr/bin/env bash
# Builds the Lua 5.4 interpreter from Debian's source package (lua5.4) twice, at -O2: statically for
# riscv64 Linux and for the host, for bench/jit/workloads.sh. The binaries are cached outside the
# repository, at ${ISOMORPH_CACHE:-~/.cache/isomorph}/bench/lua/{riscv64,x64}/lua; a second run
# reuses them. Runs that start together take a lock: one builds, the others wait for it.
# Prints the riscv64 binary's path, then the host binary's, on the last two lines.
set -euo pipefail
dir="${ISOMORPH_CACHE:-$HOME/.cache/isomorph}/bench/lua"
. "$(dirname "${BASH_SOURCE[0]}")/debian-source.sh"
lock_cache "$dir"

if [ ! -x "$dir/riscv64/lua" ] || [ ! -x "$dir/x64/lua" ]; then
  need_tools
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  debian_source lua5.4 "$work"
  # The interpreter is every file of src/ but the bytecode compiler's luac.c, compiled at once as
  # upstream's `make posix` would: POSIX's popen and mkstemp, no readline, no dlopen. Debian's
  # luaconf.h names the multiarch triplet (for its module path) in a header its rules write.
  mapfile -t files < <(ls "$work"/src/src/*.c | grep -v '/luac\.c$')
  for target in "riscv64 riscv64-linux-gnu riscv64-linux-gnu-gcc -static" "x64 x86_64-linux-gnu gcc"; do
    set -- $target
    step "building lua ($1)"
    mkdir -p "$work/$1"
    echo "#define DEB_HOST_MULTIARCH \"$2\"" >"$work/$1/lua5.4-deb-multiarch.h"
    "$3" -O2 "${@:4}" -DLUA_USE_POSIX -I"$work/$1" -o "$work/lua-$1" "${files[@]}" -lm
    install_binary "$work/lua-$1" "$dir/$1/lua"
  done
fi
echo "$dir/riscv64/lua"
echo "$dir/x64/lua"
