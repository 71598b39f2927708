#!/usr/bin/env python3
"""Hypervisors inside the virt machine, side by side: isomorph boot and qemu-system-riscv64
-cpu rv64,h=true run (1) the project's Linux guest as a KVM host (guests/linux/kvm-guest.sh), whose
kvmtool boots the same kernel nested in VS mode, and (2) Xvisor (guests/xvisor/build.sh) with two
guests of its basic firmware. For each: wall times, and the traps taken while the nested work
ran, by cause. Isomorph's come from its API (GET /machine/stats before and after, by the mode
each trap came from and went to: from VS or VU into HS or M is a hypervisor exit); QEMU's from its
interrupt log (-d int), which does not say the mode. Prints markdown. A benchmark, not a test.
usage: bench/hypervisor/run.py [--runs N]"""
import argparse, collections, http.client, json, os, re, socket, subprocess, sys, tempfile, time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
firmware = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin"
cli = os.path.join(root, "artifacts", "cli", "isomorph.dll")
EXCEPTIONS = {2: "illegal instruction", 3: "breakpoint", 8: "ecall from U/VU", 9: "ecall from HS", 10: "ecall from VS",
              12: "instruction page fault", 13: "load page fault", 15: "store page fault", 20: "instruction guest-page fault",
              21: "load guest-page fault", 22: "virtual instruction", 23: "store guest-page fault"}
INTERRUPTS = {1: "S software", 2: "VS software", 3: "M software", 5: "S timer", 6: "VS timer", 7: "M timer",
              9: "S external", 10: "VS external", 11: "M external"}


def script_output(path):
    r = subprocess.run([path], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{path} failed ({r.returncode}): {r.stderr.strip()[-500:]}")
    return [l.strip() for l in r.stdout.splitlines() if l.strip()][-2:]


class Console:
    """A guest's serial line over a Unix socket."""

    def __init__(self, path, timeout=120):
        deadline = time.time() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(path)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        self.text = ""

    def wait(self, expected, start, timeout=180):
        deadline = time.time() + timeout
        while expected not in self.text[start:]:
            self.sock.settimeout(max(0.01, deadline - time.time()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                sys.exit(f"timed out waiting for {expected!r}:\n{self.text[-2000:]}")
            if not chunk:
                sys.exit(f"the console closed before {expected!r}:\n{self.text[-2000:]}")
            self.text += chunk.decode("latin1")
        return self.text.index(expected, start) + len(expected)

    def type(self, line):
        # kvmtool's serial port keeps 64 bytes of input: a few characters at a time.
        data = (line + "\n").encode()
        for i in range(0, len(data), 8):
            self.sock.sendall(data[i:i + 8])
            time.sleep(0.02)


def api_stats(sock):
    conn = http.client.HTTPConnection("localhost")
    conn.sock = socket.socket(socket.AF_UNIX)
    conn.sock.connect(sock)
    conn.request("GET", "/machine/stats")
    return json.loads(conn.getresponse().read())


def trap_counts(stats):
    counts = collections.Counter()
    for t in stats["traps"]:
        counts[(t["kind"], t["code"], t["from"], t["to"])] += t["count"]
    return counts


def qemu_traps(log, offset):
    """The traps in QEMU's interrupt log (-d int) from byte offset on, by kind and code (the log says no mode)."""
    traps = collections.Counter()
    with open(log, "rb") as f:
        f.seek(offset)
        for line in f.read().decode("latin1").splitlines():
            m = re.search(r"async:(\d+), cause:([0-9a-f]+)", line)
            if m:
                traps[("interrupt" if m.group(1) == "1" else "exception", int(m.group(2), 16) & 0x3f, "", "")] += 1
    return traps


def nested_kvm(vmm, image, initrd, tmp):
    """Boots the KVM host, times `nested` to the nested guest's prompt, and counts the traps meanwhile."""
    sock = os.path.join(tmp, f"{vmm}.sock")
    log = os.path.join(tmp, "qemu-int.log")
    if vmm == "isomorph":
        api = os.path.join(tmp, "api.sock")
        cmd = ["dotnet", cli, "boot", "--kernel", image, "--initrd", initrd, "--append", "console=ttyS0 quiet",
               "--serial", f"unix:{sock}", "--api-sock", api]
    else:
        cmd = ["qemu-system-riscv64", "-M", "virt", "-cpu", "rv64,h=true", "-m", "256M", "-display", "none", "-monitor", "none",
               "-bios", firmware, "-kernel", image, "-initrd", initrd, "-append", "console=ttyS0 quiet",
               "-serial", f"unix:{sock},server=on", "-d", "int", "-D", log]
    start = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        c = Console(sock)
        at = c.wait("/ # ", 0)
        host_boot = time.monotonic() - start
        before = api_stats(api) if vmm == "isomorph" else None
        log_at = os.path.getsize(log) if vmm == "qemu" else 0
        t0 = time.monotonic()
        c.type("nested")
        at = c.wait("Isomorph guest:", at)
        at = c.wait("/ # ", at)
        nested = time.monotonic() - t0
        if vmm == "isomorph":
            after = trap_counts(api_stats(api))
            after.subtract(trap_counts(before))
            traps = {k: v for k, v in after.items() if v > 0}
        else:
            traps = qemu_traps(log, log_at)
        c.type("poweroff -f")
        at = c.wait("KVM session ended", at)
        at = c.wait("/ # ", at)
        c.type("poweroff -f")
        p.wait(timeout=60)
        return host_boot, nested, traps
    finally:
        if p.poll() is None:
            p.kill()


def xvisor(vmm, vmmbin, disk, tmp):
    """Xvisor's two guests run cmdlist; the time to the end of both, and the traps of the whole run
    (Isomorph's from its API just before the shutdown, QEMU's from its interrupt log)."""
    bootcmd = ('vmm.bootcmd="vfs mount initrd /;vfs run /autoexec.xscript;guest kick guest0;guest kick guest1;'
               'sleep secs 2;vserial dump guest0/uart0;vserial dump guest1/uart0"')
    sock = os.path.join(tmp, f"xvisor-{vmm}.sock")
    log = os.path.join(tmp, "qemu-xvisor-int.log")
    if vmm == "isomorph":
        api = os.path.join(tmp, "xvisor-api.sock")
        cmd = ["dotnet", cli, "boot", "--kernel", vmmbin, "--initrd", disk, "--memory", "1G", "--append", bootcmd,
               "--serial", f"unix:{sock}", "--api-sock", api]
    else:
        cmd = ["qemu-system-riscv64", "-M", "virt", "-cpu", "rv64,h=true", "-m", "1G", "-display", "none", "-monitor", "none",
               "-bios", firmware, "-kernel", vmmbin, "-initrd", disk, "-append", bootcmd,
               "-serial", f"unix:{sock},server=on", "-d", "int", "-D", log]
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        c = Console(sock)
        at = c.wait("[guest1/uart0] autoexec(timer)", 0)
        elapsed = time.monotonic() - t0
        ok = "[guest0/uart0] Resumed from WFI instruction" in c.text and "[guest1/uart0] Resumed from WFI instruction" in c.text
        if vmm == "isomorph":
            traps = {k: v for k, v in trap_counts(api_stats(api)).items() if v > 0}
        else:
            traps = qemu_traps(log, 0)
        return elapsed, ok, traps
    finally:
        p.kill()
        p.wait()


def trap_table(iso, qemu):
    print("| cause | isomorph: from VS/VU to HS (exits) | isomorph: to M | isomorph: within VS | isomorph: all | qemu: all |")
    print("|---|---:|---:|---:|---:|---:|")
    keys = sorted({(k[0], k[1]) for k in iso} | {(k[0], k[1]) for k in qemu})
    for kind, code in keys:
        name = (INTERRUPTS if kind == "interrupt" else EXCEPTIONS).get(code, f"{kind} {code}")
        exits = sum(v for k, v in iso.items() if k[:2] == (kind, code) and k[2].startswith("Virtual") and k[3] == "Supervisor")
        to_m = sum(v for k, v in iso.items() if k[:2] == (kind, code) and k[3] == "Machine")
        within = sum(v for k, v in iso.items() if k[:2] == (kind, code) and k[3] == "VirtualSupervisor")
        total = sum(v for k, v in iso.items() if k[:2] == (kind, code))
        q = sum(v for k, v in qemu.items() if k[:2] == (kind, code))
        print(f"| {name} ({kind} {code}) | {exits:,} | {to_m:,} | {within:,} | {total:,} | {q:,} |")
    total_exits = sum(v for k, v in iso.items() if k[2].startswith("Virtual") and k[3] in ("Supervisor", "Machine"))
    print(f"\nIsomorph: {total_exits:,} exits from V mode in all.\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    subprocess.run([os.path.join(root, "isomorph"), "--version"], capture_output=True)  # builds the CLI if needed
    image, initrd = script_output(os.path.join(root, "guests", "linux", "kvm-guest.sh"))
    vmmbin, disk = script_output(os.path.join(root, "guests", "xvisor", "build.sh"))
    with tempfile.TemporaryDirectory() as tmp:
        kvm = {vmm: [nested_kvm(vmm, image, initrd, tmp) for _ in range(args.runs)] for vmm in ("isomorph", "qemu")}
        xv = {vmm: [xvisor(vmm, vmmbin, disk, tmp) for _ in range(args.runs)] for vmm in ("isomorph", "qemu")}

    med = lambda xs: sorted(xs)[len(xs) // 2]
    print(f"### Linux KVM with kvmtool, nested ({args.runs} runs, medians)\n")
    print("| VMM | host guest to its prompt | `nested` to the nested guest's prompt |")
    print("|---|---:|---:|")
    for vmm in ("isomorph", "qemu"):
        print(f"| {vmm} | {med([r[0] for r in kvm[vmm]]):.2f} s | {med([r[1] for r in kvm[vmm]]):.2f} s |")
    ratio = med([r[1] for r in kvm["isomorph"]]) / med([r[1] for r in kvm["qemu"]])
    print(f"| isomorph / qemu | | {ratio:.2f}x |\n")

    print("Traps while the nested guest booted (the last run). Isomorph's by mode, from and to; QEMU's log has no mode:\n")
    trap_table(kvm["isomorph"][-1][2], kvm["qemu"][-1][2])

    print(f"### Xvisor, two guests running cmdlist ({args.runs} runs, medians)\n")
    print("| VMM | boot to both guests' last command | all runs ok |")
    print("|---|---:|---|")
    for vmm in ("isomorph", "qemu"):
        print(f"| {vmm} | {med([r[0] for r in xv[vmm]]):.2f} s | {all(r[1] for r in xv[vmm])} |")
    print(f"| isomorph / qemu | {med([r[0] for r in xv['isomorph']]) / med([r[0] for r in xv['qemu']]):.2f}x | |\n")
    print("Traps of the whole run to that point (the last run):\n")
    trap_table(xv["isomorph"][-1][2], xv["qemu"][-1][2])


if __name__ == "__main__":
    main()
