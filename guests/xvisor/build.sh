#!/usr/bin/env bash
# Builds Xvisor (github.com/xvisor/xvisor: a bare-metal hypervisor that runs its guests in VS mode,
# so it needs the H extension) for RISC-V 64 (generic-64b-defconfig) with Debian's
# riscv64-linux-gnu- cross compiler, its "basic firmware" guest (tests/riscv/virt64/basic) and the
# ext2 disk image Xvisor boots from as an initrd, into ${ISOMORPH_CACHE:-~/.cache/isomorph}/xvisor:
# `vmm.bin` (Xvisor, an S-mode kernel for OpenSBI) and `disk.img`. The disk holds Xvisor's own
# two-guest script as /boot.xscript (creates guest0 and guest1, each a virt64 guest with 2 vCPUs and
# 256 MiB running the basic firmware, which prints its banner and waits at `basic# `) and
# /autoexec.xscript, the same two guests made to run a list of basic-firmware commands at boot
# (hi, a WFI woken by the guest's timer interrupt, a copy from its flash to its RAM and a hex dump
# of it, the timer's state; the list is `cmdlist` beside this script; Xvisor keeps the last 1 KiB
# of a guest's console for `vserial dump`, so the list's output is kept short).
#
# Xvisor's boot command (its kernel argument vmm.bootcmd) drives a whole run with no input:
#   bootcmd='vmm.bootcmd="vfs mount initrd /;vfs run /boot.xscript;guest kick guest0;guest kick guest1;sleep secs 1;vserial dump guest0/uart0;vserial dump guest1/uart0;shutdown"'
# QEMU (the oracle; 1 GiB: two guests of 256 MiB each and Xvisor; without h=true Xvisor traps forever):
#   qemu-system-riscv64 -M virt -cpu rv64,h=true -m 1G -nographic -monitor none -serial stdio \
#     -bios /usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin \
#     -kernel vmm.bin -initrd disk.img -append "$bootcmd"
# Isomorph:
#   isomorph boot --kernel vmm.bin --initrd disk.img --memory 1G --append "$bootcmd"
# Both print each guest's console ("[guest0/uart0] RISC-V Virt64 Basic Firmware", ...) and power
# off. With /autoexec.xscript instead of /boot.xscript (and `sleep secs 2`) the guests also run the
# commands of cmdlist ("[guest1/uart0] autoexec(wfi_test 100)", "Resumed from WFI instruction", ...).
#
# The source is a git repository (bare or not): $XVISOR_REPO, else the copy kept in the cache
# (repo.git), else a local mirror of github.com/xvisor/xvisor (/work/.mirror), else a clone of it.
# Its HEAD is built (XVISOR_COMMIT names another commit). Missing Debian packages are installed
# with apt-get. What was built is stamped with the commit, this script, cmdlist and the tools'
# versions, so a second run builds nothing; runs that start together take a lock and build once.
# Usage: build.sh --check-source: exits 0 when a source is at hand (3 when not), building nothing.
#        build.sh: builds if needed (about half a minute on 2 cores); prints the paths of vmm.bin
#        and disk.img on its last two lines.
# Exit status 3, with one line on stderr, when no Xvisor source can be found or a Debian package
# it needs cannot be installed; 1 when the build fails.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${ISOMORPH_CACHE:-$HOME/.cache/isomorph}/xvisor"
mirror=/work/.mirror/xvisor+xvisor/repo
upstream=https://github.com/xvisor/xvisor
cross="${CROSS_COMPILE:-riscv64-linux-gnu-}"
jobs="${JOBS:-$(nproc)}"
step() { echo "== $*" >&2; }
mkdir -p "$cache"

name=Xvisor
var=XVISOR
. "$here/../lib/git-source.sh"
git_source "$@"

# --- Debian packages -------------------------------------------------------------------------------
# The cross compiler; dtc (Xvisor's own DTBs, the guest's DTB, fdtput); genext2fs (the disk image);
# a host gcc with ncurses (Xvisor's openconf) and python3 (its d2c.py).
need=()
command -v "${cross}gcc" >/dev/null || need+=(gcc-riscv64-linux-gnu)
command -v dtc >/dev/null && command -v fdtput >/dev/null || need+=(device-tree-compiler)
command -v genext2fs >/dev/null || need+=(genext2fs)
command -v gcc >/dev/null || need+=(gcc)
command -v make >/dev/null || need+=(make)
command -v python3 >/dev/null || need+=(python3)
[ -e /usr/include/ncurses.h ] || need+=(libncurses-dev)
if [ ${#need[@]} -gt 0 ]; then
  step "installing from Debian: ${need[*]}"
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  if ! { $sudo apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${need[@]}" >/dev/null; }; then
    echo "cannot build Xvisor: apt-get could not install ${need[*]}" >&2
    exit 3
  fi
fi

commit="$(git -C "$src" rev-parse "${commit_ish}^{commit}")"
stamp="$( { echo "$commit"; cat "${BASH_SOURCE[0]}" "$here/cmdlist"; "${cross}gcc" --version | head -1;
            dtc --version; genext2fs --version 2>&1 | head -1; } | sha256sum | cut -c1-16)"
if [ -f "$cache/vmm.bin" ] && [ -f "$cache/disk.img" ] && [ "$(cat "$cache/stamp" 2>/dev/null)" = "$stamp" ]; then
  echo "$cache/vmm.bin"
  echo "$cache/disk.img"
  exit 0
fi

step "building Xvisor ${commit:0:12} with ${cross}gcc into $cache"
rm -rf "$cache/src" "$cache/vmm.bin" "$cache/disk.img" "$cache/stamp"
mkdir -p "$cache/src"
git -C "$src" archive "$commit" | tar -x -C "$cache/src"
s="$cache/src"
log="$cache/build.log"
xmake() { nice make -C "$s" ARCH=riscv CROSS_COMPILE="$cross" "$@" >>"$log" 2>&1; }
: >"$log"
if ! { xmake generic-64b-defconfig && xmake -j"$jobs" && xmake -C "$s/tests/riscv/virt64/basic" -j"$jobs"; }; then
  tail -30 "$log" >&2
  echo "Xvisor did not build (the whole log: $log)" >&2
  exit 1
fi

# --- The disk image (the layout of Xvisor's docs/riscv/riscv64-qemu.txt, with two guests) ----------
step "making the disk image"
d="$s/build/disk"
v="$d/images/riscv/virt64"
rm -rf "$d"
mkdir -p "$d/tmp" "$d/system" "$v/autoexec"
cp "$s/docs/banner/roman.txt" "$d/system/banner.txt"
cp "$s/docs/logo/xvisor_logo_name.ppm" "$d/system/logo.ppm"
dtc -q -I dts -O dtb -o "$d/images/riscv/virt64-guest.dtb" "$s/tests/riscv/virt64/virt64-guest.dts"
cp "$s/build/tests/riscv/virt64/basic/firmware.bin" "$v/firmware.bin"
cp "$s/tests/riscv/virt64/basic/nor_flash.list" "$v/nor_flash.list"
cp "$s/tests/riscv/virt64/xscript/two_guest_virt64.xscript" "$d/boot.xscript"
# The autoexec variant: the guest's vminfo device says boot_delay 0, so the basic firmware runs the
# command list it finds in its NOR flash at 0xFF000 (where the list file puts cmdlist).
cp "$d/images/riscv/virt64-guest.dtb" "$d/images/riscv/virt64-guest-autoexec.dtb"
fdtput -t u "$d/images/riscv/virt64-guest-autoexec.dtb" /aspace/vminfo boot_delay 0
cp "$v/firmware.bin" "$v/autoexec/firmware.bin"
cp "$here/cmdlist" "$v/autoexec/cmdlist"
printf '0x00000000 ./firmware.bin\n0x000FF000 ./cmdlist\n' >"$v/autoexec/nor_flash.list"
sed -e 's|/images/riscv/virt64-guest.dtb|/images/riscv/virt64-guest-autoexec.dtb|' \
    -e 's|/images/riscv/virt64/nor_flash.list|/images/riscv/virt64/autoexec/nor_flash.list|' \
    "$d/boot.xscript" >"$d/autoexec.xscript"
grep -q virt64-guest-autoexec.dtb "$d/autoexec.xscript" && grep -q autoexec/nor_flash.list "$d/autoexec.xscript" ||
  { echo "Xvisor's two_guest_virt64.xscript no longer names the files this script rewrites" >&2; exit 1; }
genext2fs -B 1024 -b 32768 -d "$d" "$s/build/disk.img" >>"$log" 2>&1

cp "$s/build/vmm.bin" "$cache/vmm.bin"
cp "$s/build/disk.img" "$cache/disk.img"
echo "$stamp" >"$cache/stamp"
echo "$cache/vmm.bin"
echo "$cache/disk.img"
