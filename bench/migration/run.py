#!/usr/bin/env python3
"""Live migration side by side: isomorph (boot, receive, vm migrate) and qemu-system-riscv64
(-incoming tcp:, `migrate` on its monitor) move the same Linux guest (build-kernel.sh's cached
Image and BusyBox initramfs, 512 MiB, one hart) over loopback, idle, dirtying memory at a fixed
rate, and dirtying it at full speed. Prints one markdown table: total time, downtime, bytes sent
and rounds for each, and the ratios of isomorph's to QEMU's. A benchmark, not a test: no limit
makes it fail. usage: bench/migration/run.py [--memory 512M] [--scenario idle|rate|full ...]"""
import argparse, json, os, re, socket, subprocess, sys, tempfile, threading, time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
cache = os.path.join(os.environ.get("ISOMORPH_CACHE", os.path.expanduser("~/.cache/isomorph")), "linux")
image, initrd = os.path.join(cache, "Image"), os.path.join(cache, "initramfs.cpio.gz")
cli = os.path.join(root, "artifacts", "cli", "isomorph.dll")

# What the guest does while it moves: nothing; rewrite 1 MiB of a tmpfs file every 50 ms (about
# 20 MB/s); rewrite 32 MiB of it as fast as it can.
SCENARIOS = {
    "idle": "",
    "rate": "mkdir -p /tmp; while true; do dd if=/dev/zero of=/tmp/x bs=64k count=16 conv=notrunc 2>/dev/null; usleep 50000; done &",
    "full": "mkdir -p /tmp; while true; do dd if=/dev/zero of=/tmp/x bs=1M count=32 conv=notrunc 2>/dev/null; done &",
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Console:
    """A guest's serial line over a Unix socket: what arrived, waiting for text, typing."""

    def __init__(self, path, timeout=120):
        deadline = time.time() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.time() > deadline:
                    raise
                time.sleep(0.05)
        self.text, self.cond = "", threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while True:
            try:
                data = self.sock.recv(4096)
            except OSError:
                return
            if not data:
                return
            with self.cond:
                self.text += data.decode("latin-1")
                self.cond.notify_all()

    def wait_for(self, needle, timeout=180):
        with self.cond:
            return self.cond.wait_for(lambda: needle in self.text, timeout)

    def send(self, text):
        self.sock.sendall(text.encode())


def start_workload(console, scenario):
    if not console.wait_for("/ # "):
        sys.exit("the guest gave no shell prompt")
    if SCENARIOS[scenario]:
        console.send(SCENARIOS[scenario] + "\n")
    time.sleep(3)  # the workload settles; an idle guest's boot is over


def isomorph(scenario, memory, tmp):
    serial, api, port = os.path.join(tmp, "iso.serial"), os.path.join(tmp, "iso.api"), free_port()
    src = subprocess.Popen(["dotnet", cli, "boot", "--kernel", image, "--initrd", initrd, "--memory", memory,
                            "--append", "console=ttyS0 quiet", "--serial", "unix:" + serial, "--api-sock", api],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    dst = subprocess.Popen(["dotnet", cli, "receive", "--listen", f"127.0.0.1:{port}", "--serial", "none"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        start_workload(Console(serial), scenario)
        r = subprocess.run(["dotnet", cli, "vm", "migrate", "--sock", api, "--to", f"127.0.0.1:{port}", "--json"],
                           capture_output=True, text=True, timeout=600)
        info = json.loads(r.stdout)
        if info["phase"] != "Succeeded":
            return None, info.get("message")
        return (info["elapsedMs"], info["stopAndCopyMs"], info["downtimeMs"], info["bytesSent"], info["round"], info["throttle"]), None
    finally:
        for p in (src, dst):
            p.kill()
            p.wait()


def qemu(scenario, memory, tmp):
    port = free_port()
    def machine(name, extra):
        serial, monitor = os.path.join(tmp, name + ".serial"), os.path.join(tmp, name + ".monitor")
        p = subprocess.Popen(["qemu-system-riscv64", "-M", "virt", "-m", memory, "-display", "none", "-kernel", image,
                              "-initrd", initrd, "-append", "console=ttyS0 quiet",
                              "-serial", f"unix:{serial},server=on,wait=off", "-monitor", f"unix:{monitor},server=on,wait=off"] + extra,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return p, serial, monitor
    src, serial, monitor = machine("qemu-src", [])
    dst, _, _ = machine("qemu-dst", ["-incoming", f"tcp:127.0.0.1:{port}"])
    try:
        start_workload(Console(serial), scenario)
        hmp = Console(monitor)
        hmp.wait_for("(qemu)")
        def command(text):
            mark = len(hmp.text)
            hmp.send(text + "\n")
            hmp.wait_for("(qemu)", 10)
            deadline = time.time() + 10
            while hmp.text.count("(qemu)", mark) < 1 and time.time() < deadline:
                time.sleep(0.01)
            return hmp.text[mark:]
        # As isomorph: no bandwidth cap (QEMU's default is 128 MiB/s), auto-converge on, the same 300 ms target.
        command("migrate_set_parameter max-bandwidth 100G")
        command("migrate_set_parameter downtime-limit 300")
        command("migrate_set_capability auto-converge on")
        command(f"migrate -d tcp:127.0.0.1:{port}")
        deadline = time.time() + 600
        while time.time() < deadline:
            time.sleep(0.1)
            mark = len(hmp.text)
            hmp.send("info migrate\n")
            time.sleep(0.1)
            hmp.wait_for("(qemu)", 10)
            out = hmp.text[mark:]
            status = re.search(r"Migration status: (\S+)", out)
            if status and status.group(1) == "completed":
                def field(name):
                    m = re.search(name + r": (\d+)", out)
                    return int(m.group(1)) if m else None
                throttle = field("cpu throttle percentage") or 0
                return (field("total time"), field("downtime"), None, field("transferred ram") * 1024, field("dirty sync count"), throttle), None
            if status and status.group(1) in ("failed", "cancelled"):
                return None, status.group(1)
        return None, "timed out"
    finally:
        for p in (src, dst):
            p.kill()
            p.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memory", default="512M")
    parser.add_argument("--scenario", action="append", choices=list(SCENARIOS))
    args = parser.parse_args()
    if not (os.path.exists(image) and os.path.exists(initrd)):
        sys.exit(f"no cached guest images in {cache}: run guests/linux/build-kernel.sh once")
    subprocess.run([os.path.join(root, "isomorph"), "--version"], capture_output=True)  # builds artifacts/cli
    # QEMU's downtime is the source's: from the stop until the last byte left. Isomorph reports that
    # (stop and copy) and the downtime the VM sees, until it runs at the destination.
    print(f"| guest ({args.memory}, 1 hart) | VMM | total | stop and copy (QEMU's downtime) | until it runs there | bytes sent | rounds | throttle |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for scenario in args.scenario or list(SCENARIOS):
        results = {}
        for name, run in (("isomorph", isomorph), ("qemu-system-riscv64", qemu)):
            with tempfile.TemporaryDirectory() as tmp:
                r, error = run(scenario, args.memory, tmp)
            results[name] = r
            if r is None:
                print(f"| {scenario} | {name} | failed: {error} | | | | | |", flush=True)
            else:
                total, stop, down, sent, rounds, throttle = r
                seen = f"{down:.1f} ms" if down is not None else "(not measured)"
                print(f"| {scenario} | {name} | {total:.0f} ms | {stop:.1f} ms | {seen} | {sent / 1e6:.1f} MB | {rounds} | {throttle}% |", flush=True)
        a, b = results.get("isomorph"), results.get("qemu-system-riscv64")
        if a and b:
            print(f"| {scenario} | isomorph / qemu | {a[0] / max(b[0], 1):.2f}x | {a[1] / max(b[1], 1):.2f}x | | {a[3] / max(b[3], 1):.2f}x | | |", flush=True)


if __name__ == "__main__":
    main()
