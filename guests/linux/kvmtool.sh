#!/usr/bin/env bash
# Builds kvmtool's `lkvm` (the user-mode half of a KVM virtual machine: it opens /dev/kvm, makes the
# guest's memory, devices and device tree, and runs its vCPUs) for riscv64 Linux, statically, with
# Debian's riscv64-linux-gnu cross toolchain, into ${ISOMORPH_CACHE:-~/.cache/isomorph}/kvmtool/lkvm.
# Inside the project's Linux guest, built with KVM, `lkvm run` boots a nested Linux guest whose
# harts run in VS mode of Isomorph's (or QEMU's) hypervisor extension. kvmtool needs libfdt: the
# copy the kernel's own tree carries (scripts/dtc/libfdt, in build-kernel.sh's cache) is built first.
#
# kvmtool is not packaged by Debian. The source is a git repository (bare or not): $KVMTOOL_REPO,
# else the copy kept in the cache (repo.git), else a local mirror of github.com/kvmtool/kvmtool,
# else a clone of it. Its HEAD is built (KVMTOOL_COMMIT names another commit). What was built is
# stamped with the commit, this script and the toolchain, so a second run builds nothing; runs that
# start together take a lock.
# Usage: kvmtool.sh --check-source: exits 0 when a source is at hand (3 when not), building nothing.
#        kvmtool.sh: builds if needed; prints the path of lkvm on its last line.
# Exit status 3, with one line on stderr, when no kvmtool source can be found.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${ISOMORPH_CACHE:-$HOME/.cache/isomorph}/kvmtool"
linux="${ISOMORPH_CACHE:-$HOME/.cache/isomorph}/linux/linux-src"
mirror=/work/.mirror/kvmtool+kvmtool/repo
upstream=https://github.com/kvmtool/kvmtool
cross=riscv64-linux-gnu-
step() { echo "== $*" >&2; }
mkdir -p "$cache"

name=kvmtool
var=KVMTOOL
. "$here/../lib/git-source.sh"
git_source "$@"

command -v ${cross}gcc >/dev/null || { echo "no ${cross}gcc: apt-get install gcc-riscv64-linux-gnu" >&2; exit 1; }
[ -d "$linux/scripts/dtc/libfdt" ] || { echo "no kernel tree at $linux (libfdt comes from it): run guests/linux/build-kernel.sh first" >&2; exit 1; }

commit="$(git -C "$src" rev-parse "${commit_ish}^{commit}")"
stamp="$( { echo "$commit"; cat "${BASH_SOURCE[0]}"; ${cross}gcc --version | head -1; } | sha256sum | cut -c1-16)"
if [ -x "$cache/lkvm" ] && [ "$(cat "$cache/stamp" 2>/dev/null)" = "$stamp" ]; then
  echo "$cache/lkvm"
  exit 0
fi

step "building kvmtool ${commit:0:12} (static, riscv64) into $cache"
rm -rf "$cache/src" "$cache/libfdt" "$cache/lkvm" "$cache/stamp"
mkdir -p "$cache/src" "$cache/libfdt"
git -C "$src" archive "$commit" | tar -x -C "$cache/src"
# libfdt from the kernel's tree: its sources and headers, compiled into libfdt.a.
cp "$linux"/scripts/dtc/libfdt/*.[ch] "$cache/libfdt/"
(
  cd "$cache/libfdt"
  for c in fdt*.c; do ${cross}gcc -O2 -fPIC -I. -c "$c"; done
  ${cross}ar rcs libfdt.a fdt*.o
) >"$cache/build.log" 2>&1 || { tail -20 "$cache/build.log" >&2; exit 1; }
if ! nice make -C "$cache/src" ARCH=riscv CROSS_COMPILE=$cross LIBFDT_DIR="$cache/libfdt" -j"$(nproc)" lkvm-static >>"$cache/build.log" 2>&1; then
  tail -30 "$cache/build.log" >&2
  echo "kvmtool did not build (the whole log: $cache/build.log)" >&2
  exit 1
fi
cp "$cache/src/lkvm-static" "$cache/lkvm.tmp" && mv "$cache/lkvm.tmp" "$cache/lkvm"
echo "$stamp" >"$cache/stamp"
echo "$cache/lkvm"
