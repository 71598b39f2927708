#!/usr/bin/env bash
# Isomorph's test command: installs what the tests need from Debian's packages when it is missing,
# builds the guest programs, runs every test suite, and ends with one line "N passed, N failed[, N skipped]".
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# --- Debian packages: cross toolchains and the QEMU oracle -------------------------------------
need=()
command -v riscv64-unknown-elf-gcc >/dev/null || need+=(gcc-riscv64-unknown-elf binutils-riscv64-unknown-elf)
[ -f /usr/lib/picolibc/riscv64-unknown-elf/include/stdint.h ] || need+=(picolibc-riscv64-unknown-elf)
command -v qemu-system-riscv64 >/dev/null || need+=(qemu-system-misc)
[ -f /usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin ] || need+=(opensbi)   # the virt machine's default firmware
command -v riscv64-linux-gnu-gcc >/dev/null || need+=(gcc-riscv64-linux-gnu)
[ -f /usr/riscv64-linux-gnu/include/stdio.h ] || need+=(libc6-dev-riscv64-cross)
command -v qemu-riscv64 >/dev/null || need+=(qemu-user)
command -v etcd >/dev/null || need+=(etcd-server)   # decides migrations' hand-overs in --ownership etcd: (tests/Isomorph.Tests/Machines/MigrationOwnershipTests.cs)
command -v gdb-multiarch >/dev/null || need+=(gdb-multiarch)   # drives the gdb stub's tests (tests/Isomorph.Tests/Debugging)
[ -f /usr/src/linux-source-6.1.tar.xz ] || need+=(linux-source-6.1)   # the guest kernel; its syscalls.h checks --strace
command -v make >/dev/null || need+=(make)
command -v npm >/dev/null || need+=(npm)   # fetches esbuild's riscv64 and host builds (guests/linux/esbuild.sh)
command -v gcc >/dev/null || need+=(gcc)
[ -f "$(gcc -print-file-name=libc.a 2>/dev/null)" ] || need+=(libc6-dev)   # host builds of guest programs, the oracles for --root and SCM_RIGHTS
command -v python3 >/dev/null || need+=(python3)   # boot-time.py; a stale Unix socket in the serial tests
for tool in flex bison bc cpio autoconf automake m4 pkgconf; do command -v $tool >/dev/null || need+=($tool); done   # the guest kernel's and LTP's builds
command -v dpkg-source >/dev/null || need+=(dpkg-dev)   # apt-get source busybox
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing from Debian: ${need[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${need[@]}" >/dev/null \
    || { echo "could not install ${need[*]}"; echo "0 passed, 1 failed"; exit 1; }
fi

# --- Guest programs -------------------------------------------------------------------------------
echo "== building guest programs"
if ! { make -C guests -j"$(nproc)" all && make -C guests/linux/user -j"$(nproc)" all; } >/tmp/isomorph-guests.log 2>&1; then
  cat /tmp/isomorph-guests.log
  echo "0 passed, 1 failed"
  exit 1
fi

# --- Cached guests (~/.cache/isomorph or $ISOMORPH_CACHE) ----------------------------------------
# Built here, once, before any test starts: the Linux kernel and its BusyBox initramfs (the same
# BusyBox the process VM's tests run), esbuild and Dart Sass from npm. The scripts take a lock and stamp what
# they built, so a test or an `isomorph boot` that asks again only waits for them or reuses them.
echo "== building cached guests (the first run on a machine builds a kernel: several minutes)"
if ! guests/linux/build-kernel.sh >/tmp/isomorph-kernel.log 2>&1; then
  tail -40 /tmp/isomorph-kernel.log
  echo "guests/linux/build-kernel.sh failed: the tests that boot Linux or run BusyBox will fail"
fi
if ! guests/linux/esbuild.sh >/tmp/isomorph-esbuild.log 2>&1; then
  tail -5 /tmp/isomorph-esbuild.log
  echo "guests/linux/esbuild.sh failed: the esbuild tests will fail"
fi
if ! guests/linux/dart-sass.sh >/tmp/isomorph-dart-sass.log 2>&1; then
  tail -5 /tmp/isomorph-dart-sass.log
  echo "guests/linux/dart-sass.sh failed: the Dart Sass tests will fail"
fi

# MIT's xv6-riscv (an OS written for QEMU's virt board): status 3 when no source is at hand, and
# then its tests skip themselves, visibly.
guests/xv6/build.sh >/tmp/isomorph-xv6.log 2>&1 || {
  rc=$?
  [ $rc -eq 3 ] || { tail -20 /tmp/isomorph-xv6.log; echo "guests/xv6/build.sh failed: the xv6 tests will fail"; }
}

# The two hypervisors that run inside the virt machine on its H extension: Xvisor (native) and the
# Linux guest as a KVM host with kvmtool (dual-mode hosted). Neither source is in Debian: status 3
# when none is at hand, and then their tests skip themselves, visibly.
guests/xvisor/build.sh >/tmp/isomorph-xvisor.log 2>&1 || {
  rc=$?
  [ $rc -eq 3 ] || { tail -20 /tmp/isomorph-xvisor.log; echo "guests/xvisor/build.sh failed: the Xvisor test will fail"; }
}
guests/linux/kvm-guest.sh >/tmp/isomorph-kvm-guest.log 2>&1 || {
  rc=$?
  [ $rc -eq 3 ] || { tail -20 /tmp/isomorph-kvm-guest.log; echo "guests/linux/kvm-guest.sh failed: the KVM test will fail"; }
}

# The Linux Test Project's fast subset (its source is not in Debian: built only where one is at
# hand, see guests/linux/ltp.sh; elsewhere the LTP test is skipped, visibly).
if guests/linux/ltp.sh --check-source 2>/dev/null; then
  python3 bench/ltp/run.py --subset bench/ltp/ci-subset.txt --build-only >/tmp/isomorph-ltp.log 2>&1 \
    || { tail -20 /tmp/isomorph-ltp.log; echo "building LTP's subset failed: the LTP test will fail"; }
fi

# --- .NET test suites ------------------------------------------------------------------------------
# Everything under the default engine (the translator), then the suites that exercise the core and
# the process and system VMs again under the interpreter, the reference: the ISA, differential,
# soft-float, guest and hart suites, the process VM's (but for the long LTP, esbuild and Dart Sass
# runs and the ELF loader's, which no engine runs), and the virt machine's boot, SMP, device and
# state suites. The translator's own tests compare the two engines instruction for instruction.
interp_suites="(FullyQualifiedName~Isomorph.Tests.Isa|FullyQualifiedName~Isomorph.Tests.Differential|FullyQualifiedName~Isomorph.Tests.Guests|FullyQualifiedName~Isomorph.Tests.Float|FullyQualifiedName~Isomorph.Tests.Riscv|FullyQualifiedName~Isomorph.Tests.Linux.|FullyQualifiedName~Isomorph.Tests.Machines.LinuxBootTests|FullyQualifiedName~Isomorph.Tests.Machines.SmpTests|FullyQualifiedName~Isomorph.Tests.Machines.Virt|FullyQualifiedName~Isomorph.Tests.Machines.SnapshotStateTests|FullyQualifiedName~Isomorph.Tests.Machines.TrapStatisticsTests|FullyQualifiedName~Isomorph.Tests.Machines.HypervisorGuestTests)&FullyQualifiedName!~LtpTests&FullyQualifiedName!~EsbuildTests&FullyQualifiedName!~DartSassTests&FullyQualifiedName!~ElfLoaderFuzzTests&FullyQualifiedName!~CorruptElfTests"
passed=0; failed=0; skipped=0
failures="$(mktemp)"
# suite NAME [dotnet test arguments...]: runs the tests and adds their counts to the totals.
suite() {
  local name="$1"; shift
  local results status counters
  results="$(mktemp -d)"
  echo "== dotnet test: $name (seed for fresh differential streams: ${ISOMORPH_DIFF_SEED:-chosen by the run})"
  # Every signal at its default, as in a terminal: a run started in a shell's background (as CI's is)
  # inherits SIGINT and SIGQUIT ignored, and the guests would too, as exec passes ignored signals on.
  env --default-signal dotnet test tests/Isomorph.Tests/Isomorph.Tests.csproj -c Release --nologo "$@" \
    --logger "trx;LogFileName=results.trx" --logger "console;verbosity=normal" --results-directory "$results" 2>&1 \
    | grep -avE '^\s*$|warning (CS|NU|MSB)'
  status=${PIPESTATUS[0]}
  if [ -f "$results/results.trx" ]; then
    counters="$(grep -o '<Counters [^>]*>' "$results/results.trx" | head -1)"
    get() { echo "$counters" | grep -o "$1=\"[0-9]*\"" | grep -o '[0-9]*'; }
    local p f total executed notexec skip
    p=$(get passed); f=$(get failed); total=$(get total); executed=$(get executed)
    skip=$(( ${total:-0} - ${executed:-0} ))
    notexec=$(get notExecuted); [ -n "$notexec" ] && [ "$notexec" -gt "$skip" ] && skip=$notexec
    if [ "$status" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then
      f=1; echo "FAILED ($name): dotnet test ended with status $status but no test failed (did the test host crash?)" >>"$failures"
    fi
    passed=$(( passed + ${p:-0} )); failed=$(( failed + ${f:-0} )); skipped=$(( skipped + skip ))
    # The failed tests' names, kept for the end of the output (a log's tail is what a reader sees first).
    python3 - "$results/results.trx" "$name" >>"$failures" <<'PY'
import sys, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
for r in ET.parse(sys.argv[1]).getroot().iterfind(".//t:UnitTestResult", ns):
    if r.get("outcome") == "Failed":
        message = (r.findtext(".//t:Message", "", ns) or "").strip().splitlines()
        print(f"FAILED ({sys.argv[2]}): {r.get('testName')}" + (f": {message[0][:300]}" if message else ""))
PY
  else
    failed=$(( failed + 1 ))
    echo "FAILED ($name): dotnet test wrote no results (status $status)" >>"$failures"
  fi
  rm -rf "$results"
}
suite "every suite, default engine (jit)"
ISOMORPH_ENGINE=interp suite "the core, process-VM and system-VM suites again under the interpreter" --no-build --filter "$interp_suites"

cat "$failures"; rm -f "$failures"
if [ "${skipped:-0}" -gt 0 ]; then
  echo "${passed:-0} passed, ${failed:-0} failed, ${skipped} skipped"
else
  echo "${passed:-0} passed, ${failed:-0} failed"
fi
[ "${failed:-0}" -eq 0 ]
