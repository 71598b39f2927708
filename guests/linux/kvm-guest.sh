#!/usr/bin/env bash
# Builds the initramfs of the project's Linux guest as a KVM host: the guest's own initramfs plus
# kvmtool's lkvm (kvmtool.sh) and, for the nested guest, the same kernel Image and initramfs, in
# /kvm, with /bin/nested to start it. One kernel serves as host and nested guest (it is built with
# KVM). Cached in ${ISOMORPH_CACHE:-~/.cache/isomorph}/linux/initramfs-kvm.cpio.gz, stamped with
# what it holds; runs that start together take build-kernel.sh's lock.
#   ./isomorph boot --guest kvm          # then, in the guest: nested  (a nested Linux under KVM)
#   qemu-system-riscv64 -M virt -cpu rv64,h=true -m 256M -nographic -bios \
#     /usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin -kernel Image -initrd initramfs-kvm.cpio.gz
# Prints the paths of the kernel Image and of this initramfs on its last two lines.
# Exit status 3 (one line on stderr) when kvmtool's source cannot be had (see kvmtool.sh).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${ISOMORPH_CACHE:-$HOME/.cache/isomorph}/linux"
step() { echo "== $*" >&2; }

images="$("$here/build-kernel.sh" | tail -n 2)"
image="$(echo "$images" | head -1)"
initrd="$(echo "$images" | tail -1)"
set +e
lkvm="$("$here/kvmtool.sh" | tail -n 1)"
rc=$?
set -e
[ $rc -eq 0 ] || exit $rc

exec 9>"$cache/.build-kernel.lock"
flock 9
out="$cache/initramfs-kvm.cpio.gz"
stamp="$(cat "$image" "$initrd" "$lkvm" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16)"
if [ ! -f "$out" ] || [ "$(cat "$cache/initramfs-kvm.stamp" 2>/dev/null)" != "$stamp" ]; then
  step "packing the KVM host's initramfs"
  root="$(mktemp -d)"
  (cd "$root" && gzip -dc "$initrd" | cpio -id --quiet)
  mkdir -p "$root/kvm"
  cp "$lkvm" "$root/kvm/lkvm"
  cp "$image" "$root/kvm/Image"
  cp "$initrd" "$root/kvm/initramfs.cpio.gz"
  cat >"$root/bin/nested" <<'NESTED'
#!/bin/sh
# Boots the nested guest under KVM: the same kernel and initramfs, one vCPU, 64 MiB, the serial console.
# lkvm gives the guest four 8250 ports and reads each from standard input unless it is remapped to
# a pty: a key arriving while ttyS0 still holds the previous one would go to ttyS1-3, lost to the
# console. So ttyS1-3 get ptys (which need devpts).
mkdir -p /dev/pts
grep -q " /dev/pts " /proc/mounts || mount -t devpts devpts /dev/pts
exec /kvm/lkvm run --kernel /kvm/Image --initrd /kvm/initramfs.cpio.gz --mem 64 --cpus 1 --console serial \
  --tty 1 --tty 2 --tty 3 --params "console=ttyS0 quiet" --network mode=none "$@"
NESTED
  chmod 0755 "$root/bin/nested"
  (cd "$root" && find . | cpio -o -H newc --quiet | gzip -9) >"$out.tmp"
  mv "$out.tmp" "$out"
  echo "$stamp" >"$cache/initramfs-kvm.stamp"
  rm -rf "$root"
fi
echo "$image"
echo "$out"
