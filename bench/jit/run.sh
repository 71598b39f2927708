#!/usr/bin/env bash
# The translator against the interpreter, QEMU and native code, in one run (not a test).
# usage: bench/jit/run.sh [--no-boot]   (results are markdown table rows; see docs/translator.md)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
iterations=${KERNEL_ITERATIONS:-10000}
make -s -C guests build/bench/intloop.elf >/dev/null
gcc -O2 -o "$out/kernels-native" bench/jit/kernels.c
riscv64-linux-gnu-gcc -O2 -static -o "$out/kernels-rv" bench/jit/kernels.c
gcc -O2 -o "$out/float-native" bench/jit/float.c -lm
riscv64-linux-gnu-gcc -O2 -static -o "$out/float-rv" bench/jit/float.c -lm
gcc -O2 -o "$out/loop-native" bench/intloop/loop-x86_64.S
gcc -O2 -march=native -o "$out/bitmanip-native" bench/jit/bitmanip.c # (the host's popcnt and tzcnt, as the guest has cpop and ctz)
riscv64-linux-gnu-gcc -O2 -static -march=rv64gc_zba_zbb_zbs -o "$out/bitmanip-rv" bench/jit/bitmanip.c
./isomorph --help >/dev/null
iso="dotnet artifacts/cli/isomorph.dll"

seconds() { # COMMAND...: wall seconds of one run
  local start end
  start=$(date +%s.%N)
  timeout "${BENCH_TIMEOUT:-600}" "$@" >"$out/last.log" 2>&1 || { echo "failed: $*" >&2; cat "$out/last.log" >&2; echo 0; return; }
  end=$(date +%s.%N); echo "$end - $start" | bc -l
}
row() { if [ "$2" = 0 ]; then printf "| %s | (failed or timed out) | - |\n" "$1"; else printf "| %s | %.2f s | %s |\n" "$1" "$2" "$3"; fi; }

# kernels TITLE NAME ITERATIONS: a table of NAME-rv under each engine and qemu-riscv64, and NAME-native.
kernels() {
  local title="$1" name="$2" n="$3"
  echo "$title"
  echo "| engine | time | vs interp |"
  echo "|---|---|---|"
  t_interp=$(seconds $iso run --engine interp "$out/$name-rv" "$n"); cp "$out/last.log" "$out/interp.log"
  t_jit=$(seconds $iso run --engine jit "$out/$name-rv" "$n"); cmp -s "$out/last.log" "$out/interp.log" || echo "jit output differs!"
  t_qemu=$(seconds qemu-riscv64 "$out/$name-rv" "$n")
  t_native=$(seconds "$out/$name-native" "$n")
  for e in interp jit qemu native; do v=t_$e; row "$e" "${!v}" "$(echo "$t_interp / ${!v}" | bc -l | xargs printf '%.2fx')"; done
  echo
}
kernels "CoreMark-like kernels (bench/jit/kernels.c, $iterations iterations, -O2; riscv64 static under the process VM)" kernels "$iterations"
float_iterations=${FLOAT_ITERATIONS:-2000}
kernels "Floating-point kernels (bench/jit/float.c, $float_iterations iterations, -O2; riscv64 static under the process VM)" float "$float_iterations"
bitmanip_iterations=${BITMANIP_ITERATIONS:-50000}
kernels "Bit-manipulation kernel (bench/jit/bitmanip.c, $bitmanip_iterations iterations, -O2 -march=rv64gc_zba_zbb_zbs; riscv64 static under the process VM)" bitmanip "$bitmanip_iterations"
echo "Integer loop (guests/bench/intloop.S, 1.6 G instructions, isomorph bare)"
echo "| engine | time | guest MIPS |"
echo "|---|---|---|"
for e in interp jit; do t=$(seconds $iso bare --engine $e guests/build/bench/intloop.elf); row "isomorph $e" "$t" "$(echo "1600 / $t" | bc -l | xargs printf '%.0f')"; done
t=$(BENCH_TIMEOUT=60 seconds qemu-system-riscv64 -M spike -nographic -bios none -monitor none -serial stdio -kernel guests/build/bench/intloop.elf); row "qemu-system-riscv64 -M spike" "$t" "$([ "$t" = 0 ] || echo "1600 / $t" | bc -l | xargs printf '%.0f')"
t=$(seconds "$out/loop-native"); row "native x86-64 loop" "$t" "$(echo "1600 / $t" | bc -l | xargs printf '%.0f')"

if [ "${1:-}" != "--no-boot" ]; then
  echo
  echo "Linux boot to the BusyBox prompt (cached images; 1 hart)"
  echo "| engine | prompt | total | |"
  echo "|---|---|---|---|"
  python3 bench/jit/boot.py
fi
