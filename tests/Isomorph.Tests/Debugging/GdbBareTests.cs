using Isomorph.Tests.Support;
using Xunit.Abstractions;

namespace Isomorph.Tests.Debugging;

/// <summary>
/// gdb-multiarch against <c>isomorph bare --gdb unix:PATH --wait-gdb</c> (QEMU's -gdb and -S), on
/// guests/samples/debuggee.c: harts are threads, the privileged CSRs and the privilege level are
/// registers, memory goes through the hart's translation and physical memory through monitor phys.
/// </summary>
public sealed class GdbBareTests(ITestOutputHelper output)
{
    [GdbTheory]
    [InlineData("interp")]
    [InlineData("jit")]
    public void BreakWatchStepAndRunToTheEnd(string engine)
    {
        string elf = GuestPrograms.Path("samples/debuggee.elf");
        string socket = Path.Combine(Path.GetTempPath(), $"isomorph-gdb-{Guid.NewGuid():N}.sock");
        using var server = new IsomorphProcess("bare", "--engine", engine, "--gdb", $"unix:{socket}", "--wait-gdb", elf);
        try
        {
            GdbHarness.WaitForSocket(socket, server);
            var s = GdbHarness.Drive(server, elf, socket,
                ["break square", "continue", "bt", "p $priv", "p/x $misa", "p/x $mhartid", "watch ticks", "continue", "delete",
                 "stepi", "x/2i $pc", "info threads", "monitor phys 0x80000000 8", "monitor translate 0x80000000", "continue"]);
            output.WriteLine(s.Gdb + s.GdbErrors);
            Assert.Contains("Breakpoint 1, square (x=x@entry=1) at samples/debuggee.c:", s.Gdb);
            Assert.Contains("in sum_squares (", s.Gdb);
            Assert.Contains("in main () at samples/debuggee.c:", s.Gdb);
            Assert.Contains("$1 = 3", s.Gdb);                       // machine mode
            Assert.Contains("$2 = 0x80000000001411ad", s.Gdb);      // RV64 IMAFDC H SU
            Assert.Contains("$3 = 0x0", s.Gdb);
            Assert.Contains("Old value = 0\nNew value = 1", s.Gdb);
            Assert.Contains("Thread 1 \"hart 0\"", s.Gdb);
            Assert.Contains("0000000080000000: ", s.GdbErrors); // monitor output: gdb prints it on stderr
            Assert.Contains("0x80000000 -> 0x80000000 (physical)", s.GdbErrors);
            Assert.Contains("exited normally", s.Gdb);
            Assert.Equal("sum of squares = 30", s.GuestOutput.TrimEnd());
            Assert.Equal(0, s.ServerExit);
        }
        finally
        {
            server.Dispose();
            File.Delete(socket);
        }
    }
}

/// <summary>
/// gdb-multiarch against <c>isomorph boot --gdb unix:PATH --wait-gdb</c> with four harts
/// (guests/virt/smp-atomics.S, --firmware none): each hart is a thread, all-stop, stepping one
/// hart while the others run, a breakpoint hit by one of them, and the machine's end as W.
/// </summary>
public sealed class GdbVirtTests(ITestOutputHelper output)
{
    [GdbTheory]
    [InlineData("interp")]
    [InlineData("jit")]
    public void FourHartsAreFourThreads(string engine)
    {
        string elf = GuestPrograms.Path("virt/smp-atomics.elf");
        string socket = Path.Combine(Path.GetTempPath(), $"isomorph-gdb-{Guid.NewGuid():N}.sock");
        using var server = new IsomorphProcess("boot", "--engine", engine, "--firmware", "none", "--kernel", elf, "--cpus", "4", "--serial", "none",
            "--gdb", $"unix:{socket}", "--wait-gdb");
        try
        {
            GdbHarness.WaitForSocket(socket, server);
            var s = GdbHarness.Drive(server, elf, socket,
                ["info threads", "stepi", "p/x $a0", "thread 3", "p/x $mhartid", "p $priv", "break loop", "continue", "delete", "continue"]);
            output.WriteLine(s.Gdb + s.GdbErrors);
            for (int hart = 0; hart < 4; hart++) Assert.Contains($"Thread {hart + 1} \"hart {hart}\" _start () at virt/smp-atomics.S:16", s.Gdb);
            Assert.Contains("$1 = 0x0", s.Gdb);   // hart 0 read its mhartid
            Assert.Contains("$2 = 0x2", s.Gdb);   // thread 3 is hart 2
            Assert.Contains("$3 = 3", s.Gdb);     // in M-mode
            Assert.Contains("hit Breakpoint 1, loop () at virt/smp-atomics.S:", s.Gdb);
            Assert.Contains("exited normally", s.Gdb);
            Assert.Equal(0, s.ServerExit);
        }
        finally
        {
            server.Dispose();
            File.Delete(socket);
        }
    }
}

/// <summary>
/// An operating system's kernel stopped on its way up: MIT's xv6 (guests/xv6/build.sh, the kernel
/// ELF with its symbols) booted with <c>--wait-gdb</c>, compared with qemu-system-riscv64
/// <c>-S -gdb</c>: a breakpoint on main taken by hart 0 (a condition gdb evaluates; one hart, as
/// kinit's 128 MiB of memset runs interpreted while breakpoints are in), S-mode, satp before and
/// after kvminithart turns paging on, memory and a variable read through the hart's Sv39 translation.
/// </summary>
public sealed class GdbXv6Tests(ITestOutputHelper output)
{
    [GdbXv6Fact]
    public void Xv6KernelStoppedAtMainThenPagingOn()
    {
        var build = Repository.Run(Path.Combine(Repository.Guests, "xv6", "build.sh"), [], TimeSpan.FromMinutes(10));
        Assert.True(build.ExitCode == 0, build.Stderr);
        string kernel = Path.Combine(build.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1].Trim(), "kernel");
        string[] commands = ["break main if $mhartid == 0", "continue", "bt", "p $priv", "p/x $satp", "break kvminithart", "continue",
            "finish", "p/x $satp", "x/2i $pc", "p/x *(long*)0x80000000", "p cpus[0].noff", "kill"];

        string ours = GdbHarness.MachineSession(output, sock => new IsomorphProcess("boot", "--firmware", "none", "--kernel", kernel, "--memory", "128M", "--cpus", "1",
            "--serial", "none", "--gdb", $"unix:{sock}", "--wait-gdb"), kernel, commands);
        string oracle = GdbHarness.MachineSession(output, sock => new IsomorphProcess("qemu-system-riscv64", ["-M", "virt", "-bios", "none", "-kernel", kernel, "-m", "128M",
            "-smp", "1", "-display", "none", "-monitor", "none", "-serial", "none", "-S", "-gdb", $"unix:{sock},server=on,wait=off"]), kernel, commands);
        Assert.Contains("Breakpoint 1, main () at kernel/main.c:", ours);
        Assert.Contains("Breakpoint 2, kvminithart () at kernel/vm.c:", ours);
        Assert.Matches(@"\$3 = 0x8000000000[0-9a-f]+", ours); // Sv39 on
        Assert.Equal(GdbHarness.ComparableWithQemuSystem(oracle), GdbHarness.ComparableWithQemuSystem(ours));
    }
}

/// <summary>gdb-multiarch and xv6's source are both needed: skipped, visibly, otherwise.</summary>
public sealed class GdbXv6FactAttribute : FactAttribute
{
    private static readonly Lazy<string?> Missing = new(() =>
    {
        if (GdbHarness.Missing is { } gdb) return gdb;
        var r = Repository.Run(Path.Combine(Repository.Guests, "xv6", "build.sh"), ["--check-source"], TimeSpan.FromSeconds(60));
        return r.ExitCode == 3 ? r.Stderr.Trim() : null;
    });

    public GdbXv6FactAttribute()
    {
        if (Missing.Value is { } reason) Skip = reason;
    }
}
