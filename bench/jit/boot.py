#!/usr/bin/env python3
"""Times the Linux guest's boot to the BusyBox prompt (and poweroff -f) under isomorph boot with
each engine and under qemu-system-riscv64, with the images already in build-kernel.sh's cache
(this script never builds them). usage: bench/jit/boot.py [IMAGE INITRD]"""
import importlib.util, os, re, sys

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
spec = importlib.util.spec_from_file_location("boot_time", os.path.join(root, "guests", "linux", "boot-time.py"))
boot_time = importlib.util.module_from_spec(spec)
spec.loader.exec_module(boot_time)

cache = os.path.join(os.environ.get("ISOMORPH_CACHE", os.path.expanduser("~/.cache/isomorph")), "linux")
image = sys.argv[1] if len(sys.argv) > 2 else os.path.join(cache, "Image")
initrd = sys.argv[2] if len(sys.argv) > 2 else os.path.join(cache, "initramfs.cpio.gz")
if not (os.path.exists(image) and os.path.exists(initrd)):
    sys.exit(f"no cached guest images in {cache}: run guests/linux/build-kernel.sh once")
iso = ["dotnet", os.path.join(root, "artifacts", "cli", "isomorph.dll"), "boot", "--kernel", image, "--initrd", initrd, "--stats"]
qemu = ["qemu-system-riscv64", "-M", "virt", "-m", "256M", "-nographic", "-bios", boot_time.firmware,
        "-kernel", image, "-initrd", initrd, "-append", "console=ttyS0"]
for name, cmd in (("isomorph interp", iso + ["--engine", "interp"]), ("isomorph jit", iso + ["--engine", "jit"]), ("qemu-system-riscv64", qemu)):
    prompt, total, out = boot_time.boot(cmd, timeout=300)
    stats = [m.group(1) for m in [re.search(r"│\s*\d+\s*│\s*([\d,]+)\s*│", l) for l in out.splitlines()] if m][:1]
    shown = f"{prompt:.2f} s" if prompt is not None else "never"
    print(f"| {name} | {shown} | {total:.2f} s | {stats[0] + ' instructions' if stats else ''} |", flush=True)
