#!/usr/bin/env bash
# Benchmarks, side by side in one run: Isomorph against QEMU (and native where it applies).
# Not a test: it reports figures and ratios. Usage: bench/run.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

command -v riscv64-unknown-elf-gcc >/dev/null && command -v qemu-system-riscv64 >/dev/null || {
  echo "bench: needs riscv64-unknown-elf-gcc and qemu-system-riscv64 (run tests/run.sh once to install them)" >&2; exit 2; }
make -s -C guests build/bench/intloop.elf >/dev/null
riscv64-unknown-elf-gcc -nostdlib -nostartfiles -Ttext=0x80000000 -o "$out/loop-virt.elf" bench/intloop/loop-virt.S
gcc -O2 -o "$out/loop-native" bench/intloop/loop-x86_64.S
./isomorph --help >/dev/null  # build the CLI before timing

# seconds NAME COMMAND...: wall time of one run, in seconds (empty when it failed or timed out).
seconds() {
  local start end
  start=$(date +%s.%N)
  if timeout "${BENCH_TIMEOUT:-120}" "$@" >"$out/last.log" 2>&1; then
    end=$(date +%s.%N); echo "$end - $start" | bc -l
  else
    echo ""
  fi
}

loop_instructions=1600000000
echo "Integer loop: 200M iterations x 8 instructions = 1.6G guest instructions (bench/intloop, guests/bench/intloop.S)"
iso=$(seconds dotnet artifacts/cli/isomorph.dll bare guests/build/bench/intloop.elf)
grep -q "checksum=0x8321558a0" "$out/last.log" || { echo "bench: isomorph gave a wrong checksum"; cat "$out/last.log"; exit 1; }
qvirt=$(seconds qemu-system-riscv64 -M virt -nographic -bios none -monitor none -kernel "$out/loop-virt.elf")
BENCH_TIMEOUT=${BENCH_SPIKE_TIMEOUT:-60} qspike=$(seconds qemu-system-riscv64 -M spike -nographic -bios none -monitor none -serial stdio -kernel guests/build/bench/intloop.elf)
native=$(seconds "$out/loop-native")

row() { # name seconds
  if [ -z "$2" ]; then printf "%-44s %10s %12s %14s\n" "$1" "(timeout)" "-" "-"; return; fi
  local mips ratio
  mips=$(echo "$loop_instructions / $2 / 1000000" | bc -l)
  ratio=$(echo "$iso / $2" | bc -l)
  printf "%-44s %9.2fs %11.0f %13.2fx\n" "$1" "$2" "$mips" "$ratio"
}
printf "%-44s %10s %12s %14s\n" "engine" "time" "guest MIPS" "speed vs isomorph"
row "isomorph bare (interpreter)" "$iso"
row "qemu-system-riscv64 -M virt (TCG, chained)" "$qvirt"
row "qemu-system-riscv64 -M spike (TCG)" "$qspike"
row "native x86-64 (same loop, one run)" "$native"

echo
echo "Linux boot to the BusyBox prompt and poweroff (guests/linux/boot-time.py: the same OpenSBI, kernel and initramfs)"
python3 guests/linux/boot-time.py --cpus 1
echo "8 harts on one host thread, against QEMU's round robin (-accel tcg,thread=single):"
python3 guests/linux/boot-time.py --cpus 8 --host-threads 1 --qemu-single
echo "8 harts on $(nproc) host threads, against QEMU's thread per hart (MTTCG):"
python3 guests/linux/boot-time.py --cpus 8 --host-threads "$(nproc)"
