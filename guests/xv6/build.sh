#!/usr/bin/env bash
# Builds MIT's xv6-riscv (the teaching OS written for QEMU's virt board: M-mode entry at 0x8000_0000,
# the PLIC, a virtio-mmio disk) with Debian's riscv64 cross toolchain into
# ${ISOMORPH_CACHE:-~/.cache/isomorph}/xv6: the kernel ELF `kernel` and the file system image
# `fs.img`. QEMU runs it as `qemu-system-riscv64 -M virt -bios none -kernel kernel -m 128M
# -drive file=fs.img,if=none,format=raw,id=x0 -device virtio-blk-device,drive=x0,bus=virtio-mmio-bus.0`;
# Isomorph as `isomorph boot --firmware none --kernel kernel --memory 128M --disk fs.img` (the disk
# is written to: give each run its own copy of fs.img).
#
# The source is a git repository (bare or not): $XV6_REPO, else the copy kept in the cache
# (repo.git), else a local mirror of github.com/mit-pdos/xv6-riscv, else a clone of it. Its HEAD is
# built (XV6_COMMIT names another commit). What was built is stamped with the commit, this script
# and the toolchain, so a second run builds nothing; runs that start together take a lock.
# Usage: build.sh --check-source: exits 0 when a source is at hand (3 when not), building nothing.
#        build.sh: builds if needed; prints the cache directory on its last line.
# Exit status 3, with one line on stderr, when no xv6 source can be found.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${ISOMORPH_CACHE:-$HOME/.cache/isomorph}/xv6"
mirror=/work/.mirror/mit-pdos+xv6-riscv/repo
upstream=https://github.com/mit-pdos/xv6-riscv
step() { echo "== $*" >&2; }
mkdir -p "$cache"

name=xv6
var=XV6
. "$here/../lib/git-source.sh"
git_source "$@"

# --- Toolchain: Debian's bare-metal one, else its Linux one (xv6 uses no libc) --------------------
prefix="${TOOLPREFIX:-}"
if [ -z "$prefix" ]; then
  for p in riscv64-unknown-elf- riscv64-linux-gnu-; do
    command -v "${p}gcc" >/dev/null && { prefix="$p"; break; }
  done
fi
if [ -z "$prefix" ] || ! command -v "${prefix}gcc" >/dev/null; then
  echo "no riscv64 cross compiler: apt-get install gcc-riscv64-unknown-elf (or gcc-riscv64-linux-gnu), or set TOOLPREFIX" >&2
  exit 1
fi
command -v gcc >/dev/null || { echo "no host gcc (xv6's mkfs is built for the host): apt-get install gcc" >&2; exit 1; }

commit="$(git -C "$src" rev-parse "${commit_ish}^{commit}")"
stamp="$( { echo "$commit"; cat "${BASH_SOURCE[0]}"; "${prefix}gcc" --version | head -1; } | sha256sum | cut -c1-16)"
if [ -f "$cache/kernel" ] && [ -f "$cache/fs.img" ] && [ "$(cat "$cache/stamp" 2>/dev/null)" = "$stamp" ]; then
  echo "$cache"
  exit 0
fi

step "building xv6 ${commit:0:12} with ${prefix}gcc into $cache"
rm -rf "$cache/src" "$cache/kernel" "$cache/fs.img" "$cache/stamp"
mkdir -p "$cache/src"
git -C "$src" archive "$commit" | tar -x -C "$cache/src"
if ! nice make -C "$cache/src" TOOLPREFIX="$prefix" -j"$(nproc)" kernel/kernel fs.img >"$cache/build.log" 2>&1; then
  tail -30 "$cache/build.log" >&2
  echo "xv6 did not build (the whole log: $cache/build.log)" >&2
  exit 1
fi
cp "$cache/src/kernel/kernel" "$cache/kernel"
cp "$cache/src/fs.img" "$cache/fs.img"
echo "$stamp" >"$cache/stamp"
echo "$cache"
