using Isomorph.Tests.Support;
using Xunit.Abstractions;

namespace Isomorph.Tests.Debugging;

/// <summary>
/// gdb-multiarch sessions against <c>isomorph run -g PORT</c>, under both engines, each compared
/// with the same session against <c>qemu-riscv64 -g PORT</c> where qemu can do it. The debuggee is
/// guests/linux/user/debuggee.c, built -O0 -g and static.
/// </summary>
public sealed class GdbProcessTests(ITestOutputHelper output)
{
    private GdbHarness.Session Isomorph(string engine, string mode, string[] commands, TimeSpan? interrupt = null)
    {
        var s = GdbHarness.RunTcp(GdbHarness.Isomorph(engine, GdbHarness.Debuggee, mode), GdbHarness.Debuggee, commands, interrupt);
        output.WriteLine($"--- isomorph ({engine}) ---\n{s.Gdb}\n{s.GdbErrors}");
        return s;
    }

    private GdbHarness.Session Qemu(string mode, string[] commands, TimeSpan? interrupt = null)
    {
        if (!Repository.HasTool("qemu-riscv64")) throw new InvalidOperationException("qemu-riscv64 is missing: run tests/run.sh, which installs qemu-user");
        // qemu-user has no hardware watchpoints on RISC-V: gdb single-steps and compares instead.
        var s = GdbHarness.RunTcp(GdbHarness.Qemu(GdbHarness.Debuggee, mode), GdbHarness.Debuggee, commands, interrupt, ["set can-use-hw-watchpoints 0"]);
        output.WriteLine($"--- qemu-riscv64 ---\n{s.Gdb}\n{s.GdbErrors}");
        return s;
    }

    private void SameAsQemu(string engine, string mode, string[] commands, params string[] expected)
    {
        var ours = Isomorph(engine, mode, commands);
        var oracle = Qemu(mode, commands);
        foreach (var e in expected) Assert.Contains(e, ours.Gdb);
        Assert.Equal(GdbHarness.Normalize(oracle.Gdb), GdbHarness.Normalize(ours.Gdb));
        Assert.Equal(oracle.GuestOutput.TrimEnd(), ours.GuestOutput.TrimEnd());
        Assert.Equal(oracle.ServerExit, ours.ServerExit);
    }

    /// <summary>A breakpoint on a function three calls deep, the backtrace, locals, finish, next and step.</summary>
    [GdbTheory]
    [InlineData("interp")]
    [InlineData("jit")]
    public void BreakBacktraceLocalsFinishNextStep(string engine) => SameAsQemu(engine, "calls",
        ["break leaf", "continue", "bt", "info locals", "finish", "next", "step", "info frame", "continue"],
        "Breakpoint 1, leaf (x=6) at debuggee.c:", "#3 ", "in main (", "Value returned is $1 = 13", "exited normally");

    /// <summary>A watchpoint on a global seen changing twice (hardware here, software steps under qemu), then the exit.</summary>
    [GdbTheory]
    [InlineData("interp")]
    [InlineData("jit")]
    public void WatchpointSeesTwoChanges(string engine) => SameAsQemu(engine, "calls",
        ["break bump", "continue", "watch counter", "continue", "continue", "continue"],
        "Hardware watchpoint 2: counter", "Old value = 0\nNew value = 1", "Old value = 1\nNew value = 11", "exited normally");

    /// <summary>
    /// A watchpoint under the translator: a hot loop (108 M instructions) writes the watched global
    /// once a third of the way in, then once after it. Only the watched page leaves the fast paths,
    /// so the loop's last two thirds, between the two stops, run translated with the watchpoint in
    /// (monitor engine's figures, read at both stops, say so), and each write still stops the program
    /// before it, with the values gdb reads. With a breakpoint on the loop's own page as well (on
    /// leaf, which the loop never calls), the page's regions are translated around it and the loop
    /// still runs translated.
    /// </summary>
    [GdbTheory]
    [InlineData(false)]
    [InlineData(true)]
    public void WatchpointInHotTranslatedCode(bool breakpointOnItsPage)
    {
        string[] breakpoint = breakpointOnItsPage ? ["break leaf", "p ((unsigned long)leaf >> 12) == ((unsigned long)main >> 12)"] : [];
        var s = Isomorph("jit", "hot", [.. breakpoint, "watch counter", "continue", "monitor engine", "continue", "monitor engine", "continue"]);
        if (breakpointOnItsPage) Assert.Contains("$1 = 1", s.Gdb); // leaf and the loop in main share a page
        var sum = System.Text.RegularExpressions.Regex.Match(s.GuestOutput, @"sum = (\d+)");
        Assert.True(sum.Success, s.GuestOutput);
        Assert.Contains($"Hardware watchpoint {(breakpointOnItsPage ? 2 : 1)}: counter", s.Gdb);
        Assert.Matches(@"Old value = 0\nNew value = [1-9]\d*\n", s.Gdb);
        Assert.Matches(@"Old value = [1-9]\d*\nNew value = 5\n", s.Gdb);
        Assert.Contains("exited normally", s.Gdb);
        var engine = System.Text.RegularExpressions.Regex.Matches(s.GdbErrors, @"([\d,]+) instructions run translated, ([\d,]+) interpreted \(.*?, ([\d,]+) handed over by regions\)");
        Assert.True(engine.Count == 2, s.GdbErrors);
        long Figure(int stop, int group) => long.Parse(engine[stop].Groups[group].Value.Replace(",", ""));
        // Between the stops (72 M instructions): when the watch made every memory access leave the
        // regions, about half ran translated and millions were handed over. The loop's region may land
        // late on a loaded host (28 M instructions interpreted first was seen), still before the
        // first stop, 36 M in; the regions hand over nothing of the loop now.
        Assert.True(Figure(1, 1) - Figure(0, 1) > 50_000_000, s.GdbErrors);
        Assert.True(Figure(1, 3) - Figure(0, 3) < 100_000, s.GdbErrors);
    }

    /// <summary>hbreak (Z1), tbreak, set var on a local and a global (register and memory writes), x.</summary>
    [GdbFact]
    public void HardwareAndTemporaryBreakpointsAndWrites() => SameAsQemu("interp", "calls",
        ["hbreak middle", "tbreak bump", "continue", "set var x = 7", "print x", "continue", "set var counter = 100", "print counter", "x/2xg &counter", "continue"],
        "Hardware assisted breakpoint 1", "Temporary breakpoint 2, bump ()", "exited normally");

    /// <summary>rwatch and awatch (qemu-user cannot: compared with what the program does).</summary>
    [GdbFact]
    public void ReadAndAccessWatchpoints()
    {
        var s = Isomorph("interp", "calls", ["break bump", "continue", "rwatch counter", "continue", "delete", "awatch counter", "continue", "continue", "delete", "continue"]);
        Assert.Contains("Hardware read watchpoint 2: counter", s.Gdb);
        Assert.Contains("Value = 0", s.Gdb);
        Assert.Contains("Hardware access (read/write) watchpoint 3: counter", s.Gdb);
        Assert.Contains("exited normally", s.Gdb);
        Assert.Contains("counter = 11", s.GuestOutput);
    }

    /// <summary>stepi over compressed and full-size instructions and into a call (the pc advances by 2 or 4 as the encodings say).</summary>
    [GdbFact]
    public void StepiOverCompressedInstructions() => SameAsQemu("interp", "calls",
        ["break outer", "continue", "stepi", "stepi", "stepi", "stepi", "stepi", "stepi", "stepi", "stepi", "stepi", "stepi", "info registers pc", "bt 1", "continue"]);

    /// <summary>info threads of a four-thread program stopped in one of them; another thread's backtrace.</summary>
    [GdbFact]
    public void InfoThreadsOfFourThreads()
    {
        string[] commands = ["break threads_ready", "continue", "info threads", "thread 3", "bt 1", "continue"];
        var ours = Isomorph("interp", "threads", commands);
        var oracle = Qemu("threads", commands);
        foreach (var s in new[] { ours, oracle })
        {
            var rows = s.Gdb.Split('\n').Where(l => l.Contains("Thread ") && (l.StartsWith("* ") || l.StartsWith("  "))).ToList();
            Assert.Equal(4, rows.Count);
            Assert.Contains("threads_ready () at debuggee.c:", rows[0]);
            // A worker is in the second barrier, or on its way from the first to it: all stop wherever they are.
            Assert.All(rows.Skip(1), r => Assert.Matches(@"pthread_barrier_wait|worker \(", r));
            Assert.Contains("[Switching to thread 3", s.Gdb);
            Assert.Contains("exited normally", s.Gdb);
        }
        Assert.Contains("\"debuggee-static\"", ours.Gdb); // the name from qXfer:threads:read
        Assert.Equal(oracle.GuestOutput.TrimEnd(), ours.GuestOutput.TrimEnd());
    }

    /// <summary>
    /// Ctrl-C (gdb sends 0x03) stops a spinning guest, under both engines (translated code too: the
    /// loop is hot by then); then kill. No oracle: qemu-riscv64 (8.x) does not answer the interrupt
    /// while its guest spins without making system calls, so gdb waits for ever there.
    /// </summary>
    [GdbTheory]
    [InlineData("interp")]
    [InlineData("jit")]
    public void CtrlCInterruptsASpinningGuestThenKill(string engine)
    {
        var ours = Isomorph(engine, "spin", ["continue", "bt 1", "print counter > 0", "kill"], TimeSpan.FromSeconds(2.5));
        var lines = GdbHarness.Normalize(ours.Gdb).Split('\n');
        Assert.Equal(
            ["Program received signal SIGINT, Interrupt.", "main (argc=2, argv=0xSTACK) at debuggee.c:69", "69\t for (;;) counter++;",
             "#0 main (argc=2, argv=0xSTACK) at debuggee.c:69", "$1 = 1", "[Inferior 1 (inferior) killed]"],
            lines.Skip(1).Select(l => System.Text.RegularExpressions.Regex.Replace(l, "^(#0 )?0x[0-9a-f]+ in ", "$1")));
        Assert.Equal(137, ours.ServerExit); // killed, as by SIGKILL
    }

    /// <summary>gdb detaches from a running guest and another attaches: the second stops it where it spins.</summary>
    [GdbFact]
    public void DetachAndAttachAgain()
    {
        int port = GdbHarness.FreePort();
        using var server = new IsomorphProcess("run", "-g", port.ToString(), GdbHarness.Debuggee, "spin");
        GdbHarness.WaitForListener(port, server);
        var args = new[] { "-batch", "-nx", "-ex", $"file {GdbHarness.Debuggee}", "-ex", $"target remote :{port}" };
        var first = Repository.Run("gdb-multiarch", [.. args, "-ex", "break main", "-ex", "continue", "-ex", "detach"], TimeSpan.FromSeconds(60));
        Assert.Contains("detached", first.Stdout);
        var second = GdbHarness.Drive(server, GdbHarness.Debuggee, $":{port}", ["bt 1", "print counter > 0", "kill"]);
        output.WriteLine(first.Stdout + second.Gdb);
        Assert.Contains("main (argc=2", second.Gdb); // "0x... in main (...)", or "main (...)" when stopped at a line's first instruction
        Assert.Contains("$1 = 1", second.Gdb);
        Assert.Equal(137, second.ServerExit);
    }

    /// <summary>Detach: the guest runs on to its end without the debugger.</summary>
    [GdbFact]
    public void DetachLetsTheGuestFinish()
    {
        string[] commands = ["break middle", "continue", "detach"];
        var ours = Isomorph("interp", "calls", commands);
        var oracle = Qemu("calls", commands);
        Assert.Contains("detached", ours.Gdb);
        Assert.Equal(GdbHarness.Normalize(oracle.Gdb), GdbHarness.Normalize(ours.Gdb));
        Assert.Equal("outer(5) = 40\ncounter = 11", ours.GuestOutput.TrimEnd());
        Assert.Equal(0, ours.ServerExit);
    }

    /// <summary>A fault stops with its signal (T0b) and, passed on, ends the program (X0b); an exit status is W.</summary>
    [GdbFact]
    public void SignalsAndExitStatusAsQemuUser()
    {
        SameAsQemu("interp", "segv", ["continue", "bt 1", "continue"], "Program received signal SIGSEGV", "Program terminated with signal SIGSEGV");
        SameAsQemu("interp", "exit", ["continue"], "exited with code 07");
    }

    /// <summary>
    /// A dynamic PIE program: gdb relocates it and finds the dynamic linker and libc from the
    /// auxiliary vector (qXfer:auxv:read). Load addresses differ from qemu's, so they are masked.
    /// </summary>
    [GdbFact]
    public void DynamicProgramWithSharedLibraries()
    {
        string program = Linux.LinuxGuests.Program("debuggee", "dynamic");
        string[] setup = ["set sysroot " + Linux.LinuxGuests.Sysroot];
        string[] commands = ["break leaf", "continue", "bt", "info sharedlibrary", "continue"];
        var ours = GdbHarness.RunTcp(GdbHarness.Isomorph("interp", program, "calls"), program, commands, setup: setup);
        var oracle = GdbHarness.RunTcp(port => new IsomorphProcess("qemu-riscv64", ["-L", Linux.LinuxGuests.Sysroot, "-g", port.ToString(), program, "calls"]),
            program, commands, setup: setup);
        output.WriteLine(ours.Gdb + "\n---\n" + oracle.Gdb);
        Assert.Contains("Breakpoint 1, leaf (x=6) at debuggee.c:", ours.Gdb);
        Assert.Contains("/libc.so.6", ours.Gdb);
        static string Masked(string s) => System.Text.RegularExpressions.Regex.Replace(GdbHarness.Normalize(s), "0x([0-9a-f]+|STACK)", "ADDR");
        Assert.Equal(Masked(oracle.Gdb), Masked(ours.Gdb));
    }

    /// <summary>monitor commands: help, registers.</summary>
    [GdbFact]
    public void MonitorCommands()
    {
        var s = Isomorph("interp", "calls", ["break leaf", "continue", "monitor help", "monitor registers", "monitor engine", "kill"]);
        string monitor = s.GdbErrors; // gdb prints what the stub sends for monitor commands on stderr
        Assert.Contains("registers", monitor);
        Assert.Matches(@"a0\s+0x0000000000000006", monitor); // leaf(6)
        Assert.Contains("maps", monitor);
        // gdb takes its breakpoints out while the target is stopped: nothing is installed, so the engine runs freely.
        Assert.Contains("interp\n", monitor);
        Assert.DoesNotContain("page(s) holding breakpoints", monitor);
    }
}
