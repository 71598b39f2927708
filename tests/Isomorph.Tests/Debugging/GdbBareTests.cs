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
            Assert.Contains("$2 = 0x800000000014112d", s.Gdb);      // RV64 IMAFDC SU
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
