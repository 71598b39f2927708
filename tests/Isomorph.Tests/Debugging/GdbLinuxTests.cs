using Isomorph.Tests.Machines;
using Isomorph.Tests.Support;
using Xunit.Abstractions;

namespace Isomorph.Tests.Debugging;

/// <summary>
/// The project's Linux guest (guests/linux/build-kernel.sh, whose vmlinux gives gdb the kernel's
/// symbols) booted through Debian's OpenSBI with <c>boot --gdb --wait-gdb</c> and stopped at
/// <c>start_kernel</c>, under both engines, compared with the same session against
/// <c>qemu-system-riscv64 -S -gdb</c>: the breakpoint is on a virtual address the hart reaches only
/// once the kernel's early page tables are on, so it is taken in S-mode with satp on them. And gdb
/// attached through the API to the running guest, which it stops, snapshots and lets go.
/// </summary>
public sealed class GdbLinuxTests(ITestOutputHelper output) : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("isomorph-gdb-linux");

    public void Dispose() => _temp.Delete(recursive: true);

    private const string Firmware = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin";

    [GdbTheory]
    [InlineData("interp")]
    [InlineData("jit")]
    public void KernelStoppedAtStartKernel(string engine)
    {
        var (image, initrd) = LinuxGuest.Images;
        string vmlinux = Path.Combine(Path.GetDirectoryName(image)!, "vmlinux");
        Assert.True(File.Exists(vmlinux), $"{vmlinux} is missing: guests/linux/build-kernel.sh keeps it beside the Image");
        string[] commands = ["break start_kernel", "continue", "p $priv", "p/x $pc", "x/2i $pc", "p ((unsigned long)$satp >> 60) >= 8", "info threads", "kill"];

        string ours = GdbHarness.MachineSession(output, sock => new IsomorphProcess("boot", "--engine", engine, "--firmware", Firmware,
            "--kernel", image, "--initrd", initrd, "--memory", "256M", "--cpus", "1", "--serial", "none", "--gdb", $"unix:{sock}", "--wait-gdb"),
            vmlinux, commands);
        string oracle = GdbHarness.MachineSession(output, sock => new IsomorphProcess("qemu-system-riscv64", ["-M", "virt", "-bios", Firmware,
            "-kernel", image, "-initrd", initrd, "-append", "console=ttyS0", "-m", "256M", "-smp", "1", "-display", "none", "-monitor", "none", "-serial", "none",
            "-S", "-gdb", $"unix:{sock},server=on,wait=off"]), vmlinux, commands);
        Assert.Contains("Breakpoint 1, 0x", ours);
        Assert.Contains(" in start_kernel ()", ours);
        Assert.Contains("$1 = 1", ours);                          // S-mode
        // Paging on, the early page tables: Sv48 here, Sv57 under QEMU 7.2 (the kernel takes the widest mode the hart has).
        Assert.Contains("$3 = 1", ours);
        Assert.Equal(GdbHarness.ComparableWithQemuSystem(oracle), GdbHarness.ComparableWithQemuSystem(ours));
    }

    /// <summary>
    /// <c>isomorph vm gdb</c> (POST /machine/gdb) on a guest at its shell prompt: gdb attaching stops
    /// it, <c>monitor snapshot</c> saves it as stopped (the machine's pause lets the harts gdb holds
    /// come to it), and after gdb detaches the guest answers on; the snapshot resumes in another process.
    /// A second stub is refused while one listens.
    /// </summary>
    [GdbFact]
    public void AttachedThroughTheApiStoppedSnapshottedAndLetGo()
    {
        var (image, _) = LinuxGuest.Images;
        string vmlinux = Path.Combine(Path.GetDirectoryName(image)!, "vmlinux");
        string api = Path.Combine(_temp.FullName, "api.sock"), serial = Path.Combine(_temp.FullName, "serial.sock");
        string gdbSocket = Path.Combine(_temp.FullName, "gdb.sock"), snapshot = Path.Combine(_temp.FullName, "stopped.snap");
        using (var vm = new IsomorphProcess("boot", "--append", "console=ttyS0 quiet", "--serial", $"unix:{serial}", "--api-sock", api))
        using (var console = new SocketConsole(vm.Connect(serial, LinuxGuest.BootTimeout)))
        {
            int at = console.WaitFor("/ # ", LinuxGuest.BootTimeout);
            Assert.True(at >= 0, "no shell prompt:\n" + console.Text + vm.Stderr);

            var attached = Repository.Isomorph("vm", "gdb", $"unix:{gdbSocket}", "--sock", api);
            Assert.True(attached.ExitCode == 0, attached.Stdout + attached.Stderr);
            Assert.Contains($"gdb stub listening on unix:{gdbSocket}", attached.Stdout);
            var again = Repository.Isomorph("vm", "gdb", $"unix:{gdbSocket}.2", "--sock", api);
            Assert.Equal(1, again.ExitCode);
            Assert.Contains("listens already", again.Stdout + again.Stderr);

            using (var gdb = new IsomorphProcess("gdb-multiarch", ["-batch", "-nx", "-ex", "set confirm off", "-ex", $"file {vmlinux}",
                "-ex", $"target remote {gdbSocket}", "-ex", "p $priv", "-ex", "info threads", "-ex", $"monitor snapshot {snapshot}", "-ex", "detach"]))
            {
                Assert.True(gdb.WaitForExit(TimeSpan.FromSeconds(60)) is not null, $"gdb did not finish:\n{gdb.Stdout}\n{gdb.Stderr}\n{vm.Stderr}");
                output.WriteLine(gdb.Stdout + gdb.Stderr);
                Assert.Matches(@"\$1 = [013]", gdb.Stdout);
                Assert.Contains("Thread 1 \"hart 0\"", gdb.Stdout);
                Assert.Matches($@"snapshot of [\d,]+ bytes written to {System.Text.RegularExpressions.Regex.Escape(snapshot)}", gdb.Stderr);
                Assert.Contains("detached]", gdb.Stdout + gdb.Stderr);
            }
            Assert.True(File.Exists(snapshot));

            console.Send("echo after$((6*7))\n");
            Assert.True(console.WaitFor("after42", LinuxGuest.CommandTimeout, at) >= 0, "the guest did not run on after gdb detached:\n" + LinuxGuest.Tail(console.Text));
            vm.Terminate();
            Assert.Equal(143, vm.WaitForExit(TimeSpan.FromSeconds(30)));
        }

        var r = Repository.Run("dotnet", [Repository.CliDll, "boot", "--restore", snapshot], TimeSpan.FromSeconds(120),
            stdin: "echo restored$((6*7))\npoweroff\n");
        Assert.False(r.TimedOut, "the restored machine did not power off:\n" + LinuxGuest.Tail(r.Stdout));
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("restored42", r.Stdout);
    }
}
