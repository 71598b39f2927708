#!/usr/bin/env python3
"""The Linux Test Project's system-call tests under `isomorph run` and under Debian's `qemu-riscv64`,
side by side in one run, on the same riscv64 binaries (cross-built by guests/linux/ltp.sh).

Usage: bench/ltp/run.py [--subset FILE] [--build-only] [--timeout SECONDS] [--jobs N] [--tsv FILE] [--report FILE]
                        [--merge TSV]

Every test named by LTP's runtest/syscalls file runs under both emulators (unless --subset names a
file listing the tests to run, one per line), each run in an empty directory of its own, with the
same environment. A run is classified from the test's exit status as LTP defines it (tst_res.h:
TFAIL 1, TBROK 2, TWARN 4, TCONF 32, all or-ed together) and from its "Summary:" lines:

  pass     exit status 0
  skip     TCONF alone: the test does not apply here (no such feature, needs a device, ...)
  fail     TFAIL set
  broken   TBROK or TWARN set, or an exit status LTP never gives
  timeout  still running after --timeout seconds (killed)
  crash    killed by a signal, or, for Isomorph, a .NET exception or crash of the host process

Tests that change the host itself (its clock, its mounts, swap, modules, the reboot command) are
never run: both emulators hand such system calls to the host kernel.

Writes one line per test to --tsv and a Markdown report (totals, then counts by system call) to
--report. With --merge TSV (an earlier run's lines), the tests run now replace theirs there and
the TSV and report cover both: a few tests rerun after a change update the whole report. Exit status 0 when no test crashed or hung Isomorph's host process, 1 otherwise.
"""
import argparse
import concurrent.futures
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Tests Isomorph does not pass, and why, for the report (checked by hand; a test that starts passing drops out).
KNOWN = {
    "futex_cmp_requeue01": "its last case forks 1000 waiting processes at once; every guest process of a run lives in the one"
                           " host process with an address space of its own, 2^38 bytes at least (Sv39's user space), and the host's"
                           " 2^47 holds about 500 of them: the fork past that fails with ENOMEM. qemu-user runs each as a host process.",
    "fork13": "forks a million processes one after another (pid recycling): longer than the 60 s a run gets, under both emulators.",
    "fork14": "maps 16 TiB of address space a gigabyte at a time, forking as it goes: longer than the 60 s a run gets, under both emulators.",
}
SYSROOT = "/usr/riscv64-linux-gnu"

# System calls whose tests change the host (both emulators pass them to the host kernel as root).
HOST_CHANGING = re.compile(
    r"^(reboot|leapsec|swapon|swapoff|mount|umount|umount2|fsmount|fsopen|fspick|fsconfig|move_mount|open_tree|"
    r"mount_setattr|pivot_root|settimeofday|stime|clock_settime|clock_adjtime|adjtimex|sethostname|"
    r"setdomainname|init_module|finit_module|delete_module|acct|quotactl|syslog|ioperm|iopl|vhangup|"
    r"kexec_load|kexec_file_load|bpf|perf_event_open|fanotify|sysctl|ustat|cacheflush|"
    r"setrlimit|prlimit|sched_setscheduler|sched_setparam|sched_setattr|mlockall|munlockall|"
    r"memfd_secret|add_key|keyctl|request_key|userfaultfd|ioctl_loop|ioctl_ns|ioctl_sg|"
    r"setns|unshare|clone3?_newns)")


def runtest_entries(ltp_dir):
    """(name, argv) for each line of runtest/syscalls."""
    entries = []
    with open(os.path.join(ltp_dir, "runtest", "syscalls")) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split()
            if len(parts) < 2:
                continue
            entries.append((parts[0], parts[1:]))
    return entries


def syscall_of(name):
    """The system call a test is named after: 'openat201' -> 'openat2', 'clock_gettime01' -> 'clock_gettime'."""
    return re.sub(r"_?\d+[a-z]?$", "", name) or name


def classify(status, output, isomorph):
    if status == "timeout":
        return "timeout"
    if isomorph and ("Unhandled exception" in output or "   at Isomorph." in output):
        return "crash"
    if status < 0 or status >= 128:
        return "crash"
    if status == 0:
        return "pass"
    if status == 32:
        return "skip"
    if status & 1:
        return "fail"
    return "broken"


def run_one(argv, env, cwd, timeout):
    try:
        p = subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout, start_new_session=True)
        return p.returncode, p.stdout.decode("utf-8", "replace")
    except subprocess.TimeoutExpired as e:
        return "timeout", (e.stdout or b"").decode("utf-8", "replace")


def kill_strays(tmp):
    """Kills whatever a timed-out test left running in its directory's session (best effort)."""
    # start_new_session puts each run in its own process group; subprocess kills only the leader.
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{pid}/cwd").startswith(tmp):
                os.kill(int(pid), signal.SIGKILL)
        except OSError:
            pass


DEVICE_LOCK = threading.Lock()
DEVICE_FIELDS = (".needs_device", ".mount_device", ".all_filesystems", ".format_device", ".needs_rofs")


def device_tests(ltp_dir):
    """Tests that take a loop device (their tst_test asks for one): LTP finds a free one and then
    binds it without retrying, so two such tests at once may pick the same device; they run one
    at a time."""
    found = set()
    for top, _, files in os.walk(os.path.join(ltp_dir, "testcases", "kernel", "syscalls")):
        for name in files:
            if not name.endswith(".c"):
                continue
            try:
                with open(os.path.join(top, name), errors="replace") as f:
                    text = f.read()
                if any(field in text for field in DEVICE_FIELDS):
                    found.add(name[:-2])
            except OSError:
                pass
    return found


def wait_for_loop_devices(limit=10.0):
    """Waits (a few seconds at most) until no loop device is bound: the kernel releases one that a
    test detached asynchronously, after the test has ended, and the next test must not find it busy."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if not glob.glob("/sys/block/loop*/loop/backing_file"):
            return
        time.sleep(0.1)


def run_test(name, argv, bin_dir, ltp_dir, isomorph_dll, timeout, needs_device=False):
    if needs_device:
        with DEVICE_LOCK:
            return run_test(name, argv, bin_dir, ltp_dir, isomorph_dll, timeout)
    results = {}
    for emulator in ("isomorph", "qemu"):
        tmp = tempfile.mkdtemp(prefix=f"ltp-{emulator}-{name}-")
        env = dict(os.environ)
        env.update({"LTPROOT": ltp_dir, "TMPDIR": tmp, "PATH": f"{bin_dir}:/usr/bin:/bin",
                    "LTP_TIMEOUT_MUL": "4", "LTP_COLORIZE_OUTPUT": "0"})
        program = os.path.join(bin_dir, argv[0])
        if DEVICE_LOCK.locked():
            wait_for_loop_devices()
        if emulator == "isomorph":
            command = ["dotnet", isomorph_dll, "run", program, *argv[1:]]
        else:
            command = ["qemu-riscv64", "-L", SYSROOT, program, *argv[1:]]
        started = time.monotonic()
        status, output = run_one(command, env, tmp, timeout)
        seconds = time.monotonic() - started
        if status == "timeout":
            kill_strays(tmp)
        shutil.rmtree(tmp, ignore_errors=True)
        results[emulator] = (classify(status, output, emulator == "isomorph"), status, seconds, output)
    return name, results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subset", help="a file naming the tests to run, one per line (# comments)")
    parser.add_argument("--timeout", type=float, default=60, help="seconds per test and emulator (default 60)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--tsv", default=os.path.join(ROOT, "bench", "ltp", "results.tsv"))
    parser.add_argument("--report", default=os.path.join(ROOT, "docs", "conformance", "ltp.md"))
    parser.add_argument("--build-only", action="store_true", help="build the tests (guests/linux/ltp.sh) and run none")
    parser.add_argument("--logs", help="a directory to write each run's output to")
    parser.add_argument("--merge", help="an earlier run's TSV: its tests not run now are kept in the TSV and the report")
    args = parser.parse_args()

    wanted = None
    if args.subset:
        with open(args.subset) as f:
            wanted = {w for w in (l.split("#")[0].strip() for l in f) if w}
    # A subset builds only the directories its tests are in (ltp.sh finds them).
    dirs = sorted(wanted) if wanted else []
    build = subprocess.run([os.path.join(ROOT, "guests", "linux", "ltp.sh"), *dirs], stdout=subprocess.PIPE)
    if build.returncode != 0:
        print(f"ltp: guests/linux/ltp.sh failed (status {build.returncode})", file=sys.stderr)
        return build.returncode if build.returncode == 3 else 2
    bin_dir = build.stdout.decode().strip().splitlines()[-1]
    if args.build_only:
        return 0
    ltp_dir = os.path.dirname(os.path.dirname(bin_dir))
    isomorph_dll = os.path.join(ROOT, "artifacts", "cli", "isomorph.dll")
    subprocess.run([os.path.join(ROOT, "isomorph"), "--help"], stdout=subprocess.DEVNULL, check=True)

    entries = runtest_entries(ltp_dir)
    if wanted:
        entries = [e for e in entries if e[0] in wanted]
        missing = wanted - {e[0] for e in entries}
        if missing:
            print(f"ltp: not in runtest/syscalls: {' '.join(sorted(missing))}", file=sys.stderr)
            return 2
    built = set(os.listdir(bin_dir))
    runnable = [(n, a) for n, a in entries if a[0] in built and not HOST_CHANGING.match(syscall_of(n))]
    not_built = [n for n, a in entries if a[0] not in built]

    rows = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        devices = device_tests(ltp_dir)
        futures = [pool.submit(run_test, n, a, bin_dir, ltp_dir, isomorph_dll, args.timeout, a[0] in devices) for n, a in runnable]
        for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
            name, results = future.result()
            rows.append((name, results))
            iso, qemu = results["isomorph"][0], results["qemu"][0]
            marker = "" if iso == qemu else ("  <-- worse" if qemu == "pass" else "  (differs)")
            print(f"[{done}/{len(runnable)}] {name}: isomorph {iso}, qemu {qemu}{marker}", flush=True)
            if args.logs:
                os.makedirs(args.logs, exist_ok=True)
                for emulator in ("isomorph", "qemu"):
                    with open(os.path.join(args.logs, f"{name}.{emulator}.log"), "w") as log:
                        log.write(results[emulator][3])
    listed = len(entries)
    if args.merge:
        ran = {name for name, _ in rows}
        rows += [row for row in read_rows(args.merge) if row[0] not in ran]
        listed, not_built = len(rows), []
    rows.sort()

    os.makedirs(os.path.dirname(os.path.abspath(args.tsv)), exist_ok=True)
    write_atomically(args.tsv, "".join(
        f"{name}\t{syscall_of(name)}\t{r['isomorph'][0]}\t{r['isomorph'][1]}\t{r['qemu'][0]}\t{r['qemu'][1]}\n"
        for name, r in rows))
    report = make_report(rows, listed, not_built, args)
    os.makedirs(os.path.dirname(os.path.abspath(args.report)), exist_ok=True)
    write_atomically(args.report, report)

    kinds = ("pass", "fail", "broken", "skip", "timeout", "crash")
    for emulator in ("isomorph", "qemu"):
        counts = {k: sum(1 for _, r in rows if r[emulator][0] == k) for k in kinds}
        print(f"{emulator}: " + ", ".join(f"{counts[k]} {k}" for k in kinds))
    worse = [n for n, r in rows if r["qemu"][0] == "pass" and r["isomorph"][0] != "pass"]
    print(f"passing under qemu-riscv64 but not under isomorph: {len(worse)}" + (f" ({' '.join(worse)})" if worse else ""))
    host_failures = [n for n, r in rows if r["isomorph"][0] in ("crash", "timeout")]
    print(f"crashed or hung under isomorph: {len(host_failures)}" + (f" ({' '.join(host_failures)})" if host_failures else ""))
    return 1 if host_failures else 0


def read_rows(tsv):
    """An earlier run's lines, as rows (without times or output)."""
    rows = []
    with open(tsv) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 6:
                continue
            status = lambda s: s if s == "timeout" else int(s)
            rows.append((parts[0], {"isomorph": (parts[2], status(parts[3]), 0.0, ""), "qemu": (parts[4], status(parts[5]), 0.0, "")}))
    return rows


def make_report(rows, listed, not_built, args):
    kinds = ("pass", "fail", "broken", "skip", "timeout", "crash")
    lines = ["# Linux Test Project: system-call tests, Isomorph against qemu-user", "",
             f"Made by `bench/ltp/run.py` ({'subset ' + os.path.basename(args.subset) if args.subset else 'the whole of runtest/syscalls'}"
             f"{', merged into the earlier ' + os.path.basename(args.merge) if args.merge else ''},"
             f" {args.timeout:g} s per run) on {time.strftime('%Y-%m-%d')}: each test under `isomorph run` and under Debian's"
             " `qemu-riscv64` (QEMU 7.2), the same riscv64 binaries. Classes as in the script's header.", "",
             f"{listed} tests listed, {len(not_built)} not built for riscv64 here, {len(rows)} run"
             " (tests of system calls that change the host are left out).", "",
             "| | " + " | ".join(kinds) + " |", "|---|" + "---:|" * len(kinds)]
    for emulator in ("isomorph", "qemu"):
        counts = [sum(1 for _, r in rows if r[emulator][0] == k) for k in kinds]
        lines.append(f"| {emulator} | " + " | ".join(map(str, counts)) + " |")
    worse = [n for n, r in rows if r["qemu"][0] == "pass" and r["isomorph"][0] != "pass"]
    better = [n for n, r in rows if r["isomorph"][0] == "pass" and r["qemu"][0] != "pass"]
    lines += ["", f"Passing under qemu-user only ({len(worse)}): " + (" ".join(f"`{n}`" for n in worse) or "none") + ".",
              "", f"Passing under Isomorph only ({len(better)}): " + (" ".join(f"`{n}`" for n in better) or "none") + "."]
    known = [(n, KNOWN[n]) for n, r in rows if n in KNOWN and r["isomorph"][0] != "pass"]
    if known:
        lines += ["", "Why Isomorph does not pass these:", ""] + [f"- `{n}`: {why}" for n, why in known]
    lines += ["", "## By system call (pass/fail/broken/skip/timeout/crash)", "",
              "| system call | tests | isomorph | qemu-user |", "|---|---:|---|---|"]
    by_call = {}
    for name, r in rows:
        by_call.setdefault(syscall_of(name), []).append(r)
    for call in sorted(by_call):
        rs = by_call[call]
        cell = lambda e: "/".join(str(sum(1 for r in rs if r[e][0] == k)) for k in kinds)
        lines.append(f"| {call} | {len(rs)} | {cell('isomorph')} | {cell('qemu')} |")
    return "\n".join(lines) + "\n"


def write_atomically(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


if __name__ == "__main__":
    sys.exit(main())
