#!/usr/bin/env bash
# Builds BusyBox for riscv64 Linux, statically linked, from Debian's source package: defconfig with
# CONFIG_STATIC=y and without tc (which does not build against recent kernel headers). The binary is
# cached outside the repository, at ${ISOMORPH_CACHE:-~/.cache/isomorph}/linux/busybox, the same file
# build-kernel.sh puts into the system VM's initramfs; a second run reuses it.
# Runs that start together take a lock: one builds, the others wait for it.
# Prints the binary's path on its last line.
set -euo pipefail
cache="${ISOMORPH_CACHE:-$HOME/.cache/isomorph}/linux"
jobs="${JOBS:-$(nproc)}"
cross=riscv64-linux-gnu-
busybox="$cache/busybox"
step() { echo "== $*" >&2; }
sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
mkdir -p "$cache"
exec 8>"$cache/.busybox.lock"
flock 8

if [ ! -f "$busybox" ]; then
  mkdir -p "$cache"
  need=()
  command -v ${cross}gcc >/dev/null || need+=(gcc-riscv64-linux-gnu)
  [ -f /usr/riscv64-linux-gnu/include/stdio.h ] || need+=(libc6-dev-riscv64-cross)
  command -v make >/dev/null || need+=(make)
  command -v dpkg-source >/dev/null || need+=(dpkg-dev)
  if [ ${#need[@]} -gt 0 ]; then
    step "installing from Debian: ${need[*]}"
    $sudo apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${need[@]}" >/dev/null
  fi
  bb="$cache/busybox-src"
  if [ ! -f "$bb/Makefile" ]; then
    step "fetching Debian's busybox source"
    if ! grep -rqs 'deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/; then
      # The deb stanza again, for sources.
      sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources | $sudo tee /etc/apt/sources.list.d/isomorph-src.sources >/dev/null
      $sudo apt-get update -q >/dev/null
    fi
    rm -rf "$cache/busybox-fetch" && mkdir -p "$cache/busybox-fetch"
    (cd "$cache/busybox-fetch" && apt-get source -q busybox >/dev/null 2>&1)
    mv "$(find "$cache/busybox-fetch" -mindepth 1 -maxdepth 1 -type d | head -1)" "$bb"
    rm -rf "$cache/busybox-fetch"
  fi
  step "building BusyBox (static, riscv64)"
  bmake() { make -C "$bb" ARCH=riscv CROSS_COMPILE=$cross "$@"; }
  bmake defconfig >/dev/null
  sed -i -e 's/^# CONFIG_STATIC is not set/CONFIG_STATIC=y/' -e 's/^CONFIG_TC=y/# CONFIG_TC is not set/' "$bb/.config"
  yes "" | bmake oldconfig >/dev/null 2>&1 || true
  bmake -j"$jobs" busybox >"$cache/busybox-build.log" 2>&1 || { tail -30 "$cache/busybox-build.log" >&2; exit 1; }
  cp "$bb/busybox" "$busybox.tmp" && mv "$busybox.tmp" "$busybox"
fi
echo "$busybox"
