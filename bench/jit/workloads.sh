#!/usr/bin/env bash
# Real programs under the process VM, in one run: isomorph run with each engine, Debian's
# qemu-riscv64 on the same riscv64 binaries, and the host's build of the same program where there
# is one. Not a test: prints a markdown table of wall times (best of RUNS) and ratios, and draws
# them as a chart (bench/chart, times relative to qemu's) into PNG.
# usage: bench/jit/workloads.sh [RUNS] [PNG]   (default 3 and bench/workloads.png; the cached
# guests come from tests/run.sh's scripts and guests/bench/{lua,sqlite}.sh)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
runs=${1:-3}
png="$(realpath -m "${2:-$root/bench/workloads.png}")"
cd "$root"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
cache="${ISOMORPH_CACHE:-$HOME/.cache/isomorph}"

./isomorph --help >/dev/null   # build the CLI before timing
make -s -C guests/linux/user all >/dev/null
gcc -O2 -o "$out/hello-native" guests/linux/user/hello.c
iso="dotnet $root/artifacts/cli/isomorph.dll run"
busybox="$cache/linux/busybox"
[ -x "$busybox" ] || guests/linux/build-kernel.sh >/dev/null
mapfile -t esbuild < <(guests/linux/esbuild.sh | tail -2)
mapfile -t lua < <(guests/bench/lua.sh | tail -2)          # Lua 5.4 and SQLite's shell, each
mapfile -t sqlite < <(guests/bench/sqlite.sh | tail -2)    # built for riscv64 and for the host

# Inputs: 32 MiB of text that compresses about as well as source code does, and a TypeScript
# project of 300 modules that import each other in a chain.
python3 - "$out" <<'EOF'
import os, random, sys
out = sys.argv[1]
random.seed(7)
words = [''.join(random.choice('abcdefghijklmnopqrstuvwxyz') for _ in range(random.randint(2, 9))) for _ in range(4000)]
with open(os.path.join(out, "data.txt"), "w") as f:
    size = 0
    while size < 32 << 20:
        line = ' '.join(random.choice(words) for _ in range(12)) + '\n'
        f.write(line); size += len(line)
project = os.path.join(out, "ts")
os.makedirs(project)
for i in range(300):
    with open(os.path.join(project, f"m{i}.ts"), "w") as f:
        if i > 0:
            f.write(f'import {{ step{i-1} }} from "./m{i-1}";\n')
        f.write(f"export interface Shape{i} {{ kind: 'k{i}'; size: number; tags: string[] }}\n")
        f.write(f"export enum Color{i} {{ Red = {i}, Green, Blue }}\n")
        f.write(f"export class Box{i}<T> {{ constructor(private readonly items: T[]) {{}} map<U>(f: (t: T) => U): Box{i}<U> {{ return new Box{i}(this.items.map(f)); }} get size(): number {{ return this.items.length; }} }}\n")
        prev = f"step{i-1}(x + {i})" if i > 0 else "x"
        f.write(f"export function step{i}(x: number): number {{ const b = new Box{i}([x, x * 2, Color{i}.Blue]); return b.map(v => v + 1).size + {prev}; }}\n")
with open(os.path.join(project, "main.ts"), "w") as f:
    f.write('import { step299 } from "./m299";\nconsole.log(step299(1));\n')
EOF

# best NAME COMMAND...: the best wall time of $runs runs, in seconds ("" when a run failed).
best() {
  local b="" t start
  for _ in $(seq "$runs"); do
    start=$(date +%s.%N)
    if ! timeout "${BENCH_TIMEOUT:-600}" "$@" >"$out/last.log" 2>&1; then echo ""; return; fi
    t=$(echo "$(date +%s.%N) - $start" | bc -l)
    if [ -z "$b" ] || [ "$(echo "$t < $b" | bc -l)" = 1 ]; then b=$t; fi
  done
  echo "$b"
}
fmt() { [ -n "$1" ] && printf '%.2f s' "$1" || printf 'failed'; }
ratio() { [ -n "$1" ] && [ -n "$2" ] && printf '%.2fx' "$(echo "$1 / $2" | bc -l)" || printf -- '-'; }

# row NAME NATIVE-COMMAND -- GUEST-COMMAND...: one table row (the guest command runs under each
# runner), and the chart's four rows of times.csv (workload,engine,seconds; empty seconds: failed).
echo "workload,engine,seconds" >"$out/times.csv"
row() {
  local name="$1" native="$2"; shift 3
  local ti tj tq tn=""
  ti=$(best $iso --engine interp "$@")
  tj=$(best $iso --engine jit "$@")
  tq=$(best qemu-riscv64 "$@")
  [ -n "$native" ] && tn=$(best bash -c "$native")
  printf '"%s",interp,%s\n"%s",jit,%s\n"%s",qemu,%s\n' "$name" "$ti" "$name" "$tj" "$name" "$tq" >>"$out/times.csv"
  [ -n "$native" ] && printf '"%s",native,%s\n' "$name" "$tn" >>"$out/times.csv"
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$name" "$(fmt "$ti")" "$(fmt "$tj")" "$(fmt "$tq")" \
    "$([ -n "$native" ] && fmt "$tn" || echo -)" "$(ratio "$tq" "$tj")" "$([ -n "$native" ] && ratio "$tn" "$tj" || echo -)"
}

cd "$out"
echo "Process VM workloads (best of $runs; jit vs qemu and vs native: time ratios, above 1 means the jit is faster)"
echo
echo "| workload | isomorph interp | isomorph jit | qemu-riscv64 | native | jit vs qemu | jit vs native |"
echo "|---|---|---|---|---|---|---|"
row "static hello (start-up)" "$out/hello-native" -- "$root/guests/build/linux-user/hello-static"
row "BusyBox gzip -c, 32 MiB text" "" -- "$busybox" gzip -c data.txt
row "BusyBox sha256sum, 32 MiB" "" -- "$busybox" sha256sum data.txt
row "esbuild --bundle --minify, 300 modules" "cd ts && ${esbuild[1]} main.ts --bundle --minify --outfile=../out-native.js --log-level=warning" -- \
  "${esbuild[0]}" ts/main.ts --bundle --minify --outfile=out.js --log-level=warning
# Lua 5.4 on scripts written for this benchmark (bench/jit/lua/), then SQLite's shell on an
# in-memory database. lua_row SCRIPT WHAT: one row for bench/jit/lua/SCRIPT.
lua_row() { row "Lua $1 ($2)" "${lua[1]} $root/bench/jit/lua/$1" -- "${lua[0]}" "$root/bench/jit/lua/$1"; }
lua_row fib.lua "recursive calls"
lua_row trees.lua "binary trees, GC"
lua_row nbody.lua "n-body, floating point"
lua_row spectral.lua "spectral norm"
lua_row strings.lua "strings, table.sort"
sql="$root/bench/jit/sqlite/bench.sql"
row "SQLite bench.sql, 200k rows in memory" "${sqlite[1]} :memory: '.read $sql'" -- "${sqlite[0]}" :memory: ".read $sql"

echo
cd "$root"
dotnet run --project bench/chart -c Release -v q -- "$out/times.csv" "$png"
