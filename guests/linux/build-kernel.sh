#!/usr/bin/env bash
# Builds the small riscv64 Linux guest for `./isomorph boot`: a kernel from Debian's linux-source-6.1
# (tinyconfig + linux-riscv64.fragment) and a static BusyBox initramfs. Both are cached outside the
# repository, in ${ISOMORPH_CACHE:-~/.cache/isomorph}/linux; a second run reuses them. Each image is
# stamped with a hash of what it was built from (the config fragment; init and BusyBox), so a fresh
# clone of the repository reuses a cache its files have not changed. Runs that start together take a
# lock: one builds, the others wait for it and reuse its images.
# Prints the paths of the kernel Image and the initramfs on its last two lines; the kernel's ELF with
# its symbols (vmlinux, for gdb) lies beside the Image.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${ISOMORPH_CACHE:-$HOME/.cache/isomorph}/linux"
jobs="${JOBS:-$(nproc)}"
cross=riscv64-linux-gnu-
mkdir -p "$cache"
exec 9>"$cache/.build-kernel.lock"
flock 9
image="$cache/Image"
initrd="$cache/initramfs.cpio.gz"
step() { echo "== $*" >&2; }

# --- Debian packages -------------------------------------------------------------------------------
need=()
[ -f /usr/src/linux-source-6.1.tar.xz ] || need+=(linux-source-6.1)
command -v ${cross}gcc >/dev/null || need+=(gcc-riscv64-linux-gnu)
for tool in flex bison bc cpio make; do command -v $tool >/dev/null || need+=($tool); done
command -v dpkg-source >/dev/null || need+=(dpkg-dev)
if [ ${#need[@]} -gt 0 ]; then
  step "installing from Debian: ${need[*]}"
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${need[@]}" >/dev/null
fi

# --- Kernel ----------------------------------------------------------------------------------------
fragment="$here/linux-riscv64.fragment"
stamp="$(sha256sum "$fragment" | cut -c1-16)"
if [ ! -f "$image" ] || [ "$(cat "$cache/Image.stamp" 2>/dev/null)" != "$stamp" ]; then
  src="$cache/linux-src"
  if [ ! -f "$src/Makefile" ]; then
    step "unpacking linux-source-6.1"
    rm -rf "$src" "$cache/linux-source-6.1"
    tar -C "$cache" -xf /usr/src/linux-source-6.1.tar.xz
    mv "$cache/linux-source-6.1" "$src"
  fi
  step "configuring the kernel (tinyconfig + $(basename "$fragment"))"
  kmake() { make -C "$src" ARCH=riscv CROSS_COMPILE=$cross "$@"; }
  kmake tinyconfig >/dev/null
  (cd "$src" && scripts/kconfig/merge_config.sh -m -O . .config "$fragment" >/dev/null)
  kmake olddefconfig >/dev/null
  step "building the kernel Image with $jobs jobs (a few minutes)"
  kmake -j"$jobs" Image >"$cache/kernel-build.log" 2>&1 || { tail -30 "$cache/kernel-build.log" >&2; exit 1; }
  cp "$src/arch/riscv/boot/Image" "$image.tmp" && mv "$image.tmp" "$image"
  echo "$stamp" >"$cache/Image.stamp"
fi

# The kernel's ELF, with its symbols, for gdb against boot --gdb: kept beside the Image it was made with.
if [ ! "$cache/vmlinux" -nt "$image" ] && [ -f "$cache/linux-src/vmlinux" ]; then
  cp "$cache/linux-src/vmlinux" "$cache/vmlinux.tmp" && mv "$cache/vmlinux.tmp" "$cache/vmlinux"
fi

# --- BusyBox ---------------------------------------------------------------------------------------
# The same cached static binary the process VM's tests run (busybox.sh prints its path last).
busybox="$("$here/busybox.sh" | tail -n 1)"

# --- initramfs -------------------------------------------------------------------------------------
initrd_stamp="$(cat "$here/init" "$busybox" | sha256sum | cut -c1-16)"
if [ ! -f "$initrd" ] || [ "$(cat "$cache/initramfs.stamp" 2>/dev/null)" != "$initrd_stamp" ]; then
  step "packing the initramfs"
  root="$(mktemp -d)"
  mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,etc,root,mnt}
  cp "$busybox" "$root/bin/busybox"
  install -m 0755 "$here/init" "$root/init"
  (cd "$root" && find . | cpio -o -H newc --quiet | gzip -9) >"$initrd.tmp"
  mv "$initrd.tmp" "$initrd"
  echo "$initrd_stamp" >"$cache/initramfs.stamp"
  rm -rf "$root"
fi

echo "$image"
echo "$initrd"
