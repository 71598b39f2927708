#!/usr/bin/env bash
# Builds SQLite's command-line shell, sqlite3, from Debian's source package (sqlite3) twice, at -O2:
# statically for riscv64 Linux and for the host, for bench/jit/workloads.sh. The source's own
# makefile generates the amalgamation (sqlite3.c, with Tcl) and the shell's shell.c; each compiler
# then builds the two files, single-threaded, without extension loading or readline (the linker's
# warning about getpwuid in a static program is expected: the shell looks for ~/.sqliterc with it,
# and falls back on $HOME when glibc's shared libraries are not there to answer). The binaries
# are cached outside the repository, at ${ISOMORPH_CACHE:-~/.cache/isomorph}/bench/sqlite/
# {riscv64,x64}/sqlite3; a second run reuses them. Runs that start together take a lock: one
# builds, the others wait for it. Prints the riscv64 binary's path, then the host binary's, on the
# last two lines.
set -euo pipefail
dir="${ISOMORPH_CACHE:-$HOME/.cache/isomorph}/bench/sqlite"
. "$(dirname "${BASH_SOURCE[0]}")/debian-source.sh"
lock_cache "$dir"

if [ ! -x "$dir/riscv64/sqlite3" ] || [ ! -x "$dir/x64/sqlite3" ]; then
  need_tools make=make tclsh=tcl
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  debian_source sqlite3 "$work"
  step "generating the amalgamation"
  mkdir "$work/gen"
  (cd "$work/gen" && ../src/configure --disable-tcl && make sqlite3.c shell.c) >"$work/gen.log" 2>&1 ||
    { tail -30 "$work/gen.log" >&2; exit 1; }
  for target in "riscv64 riscv64-linux-gnu-gcc -static" "x64 gcc"; do
    set -- $target
    step "building sqlite3 ($1)"
    "$2" -O2 "${@:3}" -DSQLITE_THREADSAFE=0 -DSQLITE_OMIT_LOAD_EXTENSION -I"$work/gen" \
      -o "$work/sqlite3-$1" "$work/gen/shell.c" "$work/gen/sqlite3.c" -lm
    install_binary "$work/sqlite3-$1" "$dir/$1/sqlite3"
  done
fi
echo "$dir/riscv64/sqlite3"
echo "$dir/x64/sqlite3"
