#!/usr/bin/env bash
# Cross-builds the Linux Test Project's system-call tests for riscv64 Linux (dynamically linked
# against Debian's riscv64 glibc, so that both `isomorph run` and `qemu-riscv64 -L
# /usr/riscv64-linux-gnu` run the same binaries), cached outside the repository in
# ${ISOMORPH_CACHE:-~/.cache/isomorph}/ltp/VERSION. LTP is not packaged by Debian: its source comes
# from $LTP_SRC (a source directory or a git directory), else from the copy kept in the cache, else from a local mirror of
# github.com/linux-test-project/ltp, else from a clone of it. Runs that start together take a lock.
# Usage: ltp.sh --check-source: exits 0 when an LTP source is at hand (3 when not), building nothing.
#        ltp.sh [TEST|DIR...]: builds the tests in each named directory of testcases/kernel/syscalls, or
# the directory of each named test (a fast subset), or all of them when none is named; what was
# built once is not built again.
# Prints the directory holding the test binaries (testcases/bin) on its last line.
# Exit status 3 when no LTP source can be found (the message says so).
set -euo pipefail
cache="${ISOMORPH_CACHE:-$HOME/.cache/isomorph}/ltp"
jobs="${JOBS:-$(nproc)}"
step() { echo "== $*" >&2; }
sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
mkdir -p "$cache"

# --- Source ------------------------------------------------------------------------------------------
src="${LTP_SRC:-}"
if [ -z "$src" ]; then
  for candidate in "$cache/git" /work/.mirror/linux-test-project+ltp/repo; do
    [ -e "$candidate/HEAD" ] && { src="$candidate"; break; }
  done
fi
if [ "${1:-}" = "--check-source" ]; then
  if [ -z "$src" ] && ! timeout 20 git ls-remote https://github.com/linux-test-project/ltp HEAD >/dev/null 2>&1; then
    echo "no Linux Test Project source here: set LTP_SRC to a checkout of github.com/linux-test-project/ltp (the network cannot reach it)" >&2
    exit 3
  fi
  exit 0
fi
exec 9>"$cache/.build.lock"
flock 9
if [ -n "$src" ] && [ "$src" != "$cache/git" ] && [ ! -e "$cache/git" ] && [ -z "${LTP_SRC:-}" ]; then
  step "keeping a copy of the LTP mirror in $cache/git"   # later runs need no mirror
  git clone -q --bare "$src" "$cache/git.tmp" && mv "$cache/git.tmp" "$cache/git" && src="$cache/git"
fi
if [ -z "$src" ]; then
  step "cloning the Linux Test Project"
  if ! git clone -q --bare --depth 1 https://github.com/linux-test-project/ltp "$cache/git.tmp" 2>/dev/null; then
    rm -rf "$cache/git.tmp"
    echo "ltp.sh: no LTP source: set LTP_SRC to a checkout of github.com/linux-test-project/ltp (the network cannot reach it)" >&2
    exit 3
  fi
  mv "$cache/git.tmp" "$cache/git"
  src="$cache/git"
fi
if [ -e "$src/HEAD" ] && [ ! -e "$src/Makefile" ]; then   # a git directory: build its HEAD
  version="$(git --git-dir="$src" rev-parse --short=12 HEAD)"
else
  version="$(cd "$src" && (git rev-parse --short=12 HEAD 2>/dev/null || echo local))"
fi
dir="$cache/$version"
bin="$dir/testcases/bin"
syscalls="$dir/testcases/kernel/syscalls"
marker() { echo "$dir/.built-${1:-all}"; }
# A test's directory: NAME itself when it is one, else the directory holding NAME.c (futex_wait01 is
# in futex/), else the same for NAME without its last suffix (mmap21_01 runs mmap21, fstat02_64 is
# fstat02.c built for 64-bit offsets). Needs the source unpacked, so only after configuring.
resolve() {
  local name="$1" found
  while [ -n "$name" ]; do
    [ -d "$syscalls/$name" ] && { echo "$name"; return; }
    found="$(find "$syscalls" -name "$name.c" -print -quit)"
    [ -n "$found" ] && { basename "$(dirname "$found")"; return; }
    local shorter="$(echo "$name" | sed -E 's/(_64|_?[0-9]+[a-z]?)$//')"
    [ "$shorter" = "$name" ] && break
    name="$shorter"
  done
  echo "ltp.sh: no test or directory $1 in testcases/kernel/syscalls" >&2; exit 2
}
wanted=("$@")
if [ ${#wanted[@]} -eq 0 ] && [ -f "$(marker)" ]; then echo "$bin"; exit 0; fi
pending() {   # the wanted directories not built yet, in $todo
  todo=()
  [ -f "$(marker)" ] && return
  local d
  for w in "${wanted[@]}"; do d="$(resolve "$w")"; [ -f "$(marker "$d")" ] || [[ " ${todo[*]} " == *" $d "* ]] || todo+=("$d"); done
}
if [ ${#wanted[@]} -gt 0 ] && [ -f "$dir/.configured" ]; then
  pending
  [ ${#todo[@]} -eq 0 ] && { echo "$bin"; exit 0; }
fi

# --- Debian packages ---------------------------------------------------------------------------------
need=()
command -v riscv64-linux-gnu-gcc >/dev/null || need+=(gcc-riscv64-linux-gnu)
[ -f /usr/riscv64-linux-gnu/include/stdio.h ] || need+=(libc6-dev-riscv64-cross)
for tool in make autoconf automake m4 pkgconf bison flex; do command -v $tool >/dev/null || need+=($tool); done
if [ ${#need[@]} -gt 0 ]; then
  step "installing from Debian: ${need[*]}"
  $sudo apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${need[@]}" >/dev/null
fi

# --- Configure once ------------------------------------------------------------------------------------
log="$dir/build.log"
if [ ! -f "$dir/.configured" ]; then
  rm -rf "$dir"
  mkdir -p "$dir"
  if [ -e "$src/HEAD" ] && [ ! -e "$src/Makefile" ]; then
    git --git-dir="$src" archive HEAD | tar -x -C "$dir"
  else
    cp -a "$src/." "$dir/"
  fi
  step "configuring LTP $version for riscv64"
  (cd "$dir" && make autotools && ./configure --host=riscv64-linux-gnu CC=riscv64-linux-gnu-gcc AR=riscv64-linux-gnu-ar \
     RANLIB=riscv64-linux-gnu-ranlib STRIP=riscv64-linux-gnu-strip) >"$log" 2>&1 || { tail -30 "$log" >&2; exit 1; }
  make -C "$dir/lib" -j"$jobs" >>"$log" 2>&1 || { tail -30 "$log" >&2; exit 1; }
  touch "$dir/.configured"
fi
[ ${#wanted[@]} -gt 0 ] && pending

# --- Build ---------------------------------------------------------------------------------------------
# -k: a test that does not build against these headers is left out, the rest are built.
mkdir -p "$bin"
if [ ${#wanted[@]} -eq 0 ]; then
  step "building LTP's system-call tests with $jobs jobs (several minutes)"
  make -C "$syscalls" -k -j"$jobs" >>"$log" 2>&1 || true
  places=("$syscalls")
else
  places=()
  for d in "${todo[@]}"; do
    [ -d "$syscalls/$d" ] || { echo "ltp.sh: no directory testcases/kernel/syscalls/$d" >&2; exit 2; }
    places+=("$syscalls/$d")
  done
  step "building LTP's tests of ${todo[*]}"
  for place in "${places[@]}"; do make -C "$place" -k -j"$jobs" >>"$log" 2>&1 || true; done
fi
find "${places[@]}" -type f -perm -u+x ! -name '*.sh' ! -name '*.o' \
  -exec sh -c 'riscv64-linux-gnu-readelf -h "$1" 2>/dev/null | grep -q RISC-V && cp "$1" "$2/"' _ {} "$bin" \;
[ -n "$(ls "$bin")" ] || { echo "ltp.sh: no test was built (see $log)" >&2; exit 1; }
if [ ${#wanted[@]} -eq 0 ]; then touch "$(marker)"; else for d in "${todo[@]}"; do touch "$(marker "$d")"; done; fi
step "$(ls "$bin" | wc -l) LTP test programs built"
echo "$bin"
