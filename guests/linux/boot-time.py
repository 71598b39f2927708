#!/usr/bin/env python3
"""Times a boot of the Linux guest to the BusyBox prompt and `poweroff -f`, under Isomorph and
under qemu-system-riscv64 -M virt with the same firmware, kernel and initramfs.

usage: guests/linux/boot-time.py [--cpus N] [--host-threads M] [--qemu-single] [--runs N]
(images from build-kernel.sh's cache). --qemu-single runs QEMU with -accel tcg,thread=single: all
vCPUs round-robin on one host thread, the configuration to compare with --host-threads 1."""
import argparse, os, re, select, subprocess, sys, time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
firmware = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin"

def boot(cmd, timeout=120):
    start = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out, prompt_at, sent = b"", None, False
    while time.monotonic() - start < timeout:
        r, _, _ = select.select([p.stdout], [], [], 0.05)
        if r:
            chunk = os.read(p.stdout.fileno(), 4096)
            if not chunk:
                break
            out += chunk
        if not sent and b"/ # " in out:
            prompt_at = time.monotonic() - start
            p.stdin.write(b"poweroff -f\n"); p.stdin.flush(); sent = True
        if p.poll() is not None and not r:
            break
    try:
        p.wait(timeout=max(1.0, timeout - (time.monotonic() - start)))
    except subprocess.TimeoutExpired:
        p.kill()
        sys.exit("timed out:\n" + out.decode(errors="replace")[-2000:])
    total = time.monotonic() - start
    return prompt_at, total, out.decode(errors="replace")

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cpus", type=int, default=1)
    ap.add_argument("--host-threads", type=int, default=1)
    ap.add_argument("--qemu-single", action="store_true")
    ap.add_argument("--runs", type=int, default=1)
    a = ap.parse_args()
    lines = subprocess.run([os.path.join(here, "build-kernel.sh")], check=True, capture_output=True, text=True).stdout.split()
    image, initrd = lines[-2], lines[-1]
    # Build through the launcher once, then time the built CLI itself (a rebuild's compiler servers
    # would otherwise hold the output pipe open).
    subprocess.run([os.path.join(root, "isomorph"), "--help"], capture_output=True)
    iso = ["dotnet", os.environ.get("ISO_DLL") or os.path.join(root, "artifacts", "cli", "isomorph.dll"), "boot", "--cpus", str(a.cpus), "--host-threads", str(a.host_threads), "--kernel", image, "--initrd", initrd, "--stats"]
    qemu = ["qemu-system-riscv64", "-M", "virt", "-smp", str(a.cpus), "-m", "256M", "-nographic", "-bios", firmware,
            "-kernel", image, "-initrd", initrd, "-append", "console=ttyS0"]
    if a.qemu_single:
        qemu[1:1] = ["-accel", "tcg,thread=single"]
    best = {}
    for name, cmd in (("isomorph", iso), ("qemu", qemu)):
        threads = a.host_threads if name == "isomorph" else (1 if a.qemu_single else a.cpus)
        for _ in range(a.runs):
            prompt, total, out = boot(cmd)
            # --stats' first table: harts | instructions | wall time | MIPS
            stats = [f"{m.group(1)} instructions" for m in [re.search(r"│\s*\d+\s*│\s*([\d,]+)\s*│", l) for l in out.splitlines()] if m][:1]
            best[name] = min(best.get(name, total), total)
            print(f"{name:9} {a.cpus} harts on {threads} thread(s): prompt {prompt:.2f} s, total {total:.2f} s  {stats[0] if stats else ''}")
    print(f"ratio isomorph/qemu: {best['isomorph'] / best['qemu']:.2f}")

if __name__ == "__main__":
    main()
