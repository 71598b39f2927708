using System.Text;
using Isomorph.Tests.Linux;

namespace Isomorph.Tests.Library;

/// <summary>
/// The library's process VM (src/Isomorph.Library): a riscv64 program run from .NET with its standard
/// streams as .NET streams, its environment, limits, an allow-list of system calls, system calls
/// the host serves, and calls into its functions while it is paused (guests/linux/user/embedded.c).
/// </summary>
public sealed class LinuxProgramTests
{
    private static string Embedded(string linkage = "static") => LinuxGuests.Program("embedded", linkage);

    [Theory]
    [InlineData("static", ExecutionEngine.Translator)]
    [InlineData("dynamic", ExecutionEngine.Interpreter)]
    public void StreamsEnvironmentAndExitStatusGoThroughDotNetStreams(string linkage, ExecutionEngine engine)
    {
        var output = new MemoryStream();
        var error = new MemoryStream();
        var exit = new LinuxProgram(Embedded(linkage), "echo")
        {
            StandardInput = new MemoryStream(Encoding.UTF8.GetBytes("hello, riscv64\n")),
            StandardOutput = output,
            StandardError = error,
            Environment = new Dictionary<string, string> { ["GREETING"] = "from .NET" },
            Engine = engine,
        }.Run();
        Assert.Equal(new GuestExit(GuestEnd.Exited, 7, 0, exit.Instructions), exit);
        Assert.Equal("HELLO, RISCV64\n", Encoding.UTF8.GetString(output.ToArray()));
        Assert.Equal("greeting: from .NET\n", Encoding.UTF8.GetString(error.ToArray()));
        Assert.True(exit.Instructions > 1000);
    }

    [Fact]
    public void WithoutStreamsTheProgramReadsNothingAndNothingOfTheHostsEnvironment()
    {
        var error = new MemoryStream();
        var exit = new LinuxProgram(Embedded(), "echo") { StandardError = error }.Run();
        Assert.Equal(7, exit.ExitStatus);
        Assert.Equal("greeting: (none)\n", Encoding.UTF8.GetString(error.ToArray()));
    }

    [Fact]
    public void TheInstructionLimitEndsTheProgramWithSigxcpu()
    {
        var exit = new LinuxProgram(Embedded(), "spin") { MaxInstructions = 5_000_000 }.Run();
        Assert.Equal(GuestEnd.InstructionLimit, exit.Reason);
        Assert.Equal(24, exit.Signal);
        Assert.InRange(exit.Instructions, 5_000_000, 5_000_100);
    }

    [Fact]
    public async Task ATimeoutAndACancellationEndASpinningProgram()
    {
        var timedOut = await new LinuxProgram(Embedded(), "spin") { Timeout = TimeSpan.FromMilliseconds(300) }.RunAsync();
        Assert.Equal(GuestEnd.TimedOut, timedOut.Reason);
        Assert.Equal(9, timedOut.Signal);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var cancelled = await new LinuxProgram(Embedded(), "spin").RunAsync(cancel.Token);
        Assert.Equal(GuestEnd.Cancelled, cancelled.Reason);
    }

    [Fact]
    public void TheMemoryLimitBoundsWhatTheProgramMaps()
    {
        var output = new MemoryStream();
        var exit = new LinuxProgram(Embedded(), "alloc") { MaxMemory = 64ul << 20, StandardOutput = output }.Run();
        Assert.Equal(0, exit.ExitStatus);
        int blocks = int.Parse(Encoding.UTF8.GetString(output.ToArray()).Split(' ')[0]);
        Assert.InRange(blocks, 40, 63); // 64 MiB less the program, its stack and its heap
    }

    [Fact]
    public void ASystemCallOutsideTheAllowListEndsTheProgramWithSigsys()
    {
        var output = new MemoryStream();
        var exit = new LinuxProgram(Embedded(), "getpid")
        {
            StandardOutput = output,
            AllowedSystemCalls = ["getpid", "write", "brk", "set_tid_address", "set_robust_list", "rseq", "prlimit64", "readlinkat",
                "getrandom", "mprotect", "newfstatat", "fstat", "exit_group", "riscv_hwprobe", "mmap", "uname", "faccessat", "read", "close"],
        }.Run();
        Assert.Equal(GuestEnd.SystemCallRefused, exit.Reason);
        Assert.Equal(31, exit.Signal);
        Assert.Equal("pid ok\n", Encoding.UTF8.GetString(output.ToArray()));
        Assert.Throws<ArgumentException>(() => new LinuxProgram(Embedded(), "getpid") { AllowedSystemCalls = ["no_such_call"] }.Run());
    }

    /// <summary>
    /// embedded.c's plugin with the host's side of its system calls: 500 names it "kettle", 501 pauses it
    /// (ready for calls), 502 logs a line into <paramref name="log"/>.
    /// </summary>
    internal static LinuxProgram Plugin(LinuxProgram program, List<string>? log = null)
    {
        program.SystemCalls[500] = call =>
        {
            call.Memory.WriteString(call[0], "kettle");
            return 6;
        };
        program.SystemCalls[501] = call =>
        {
            call.Pause();
            return 0;
        };
        program.SystemCalls[502] = call =>
        {
            log?.Add(Encoding.UTF8.GetString(call.Memory.ReadBytes(call[0], (int)call[1])));
            return 0;
        };
        return program;
    }

    [Theory]
    [InlineData(ExecutionEngine.Translator)]
    [InlineData(ExecutionEngine.Interpreter)]
    public void APausedPluginServesCallsIntoItsFunctions(ExecutionEngine engine)
    {
        var output = new MemoryStream();
        var log = new List<string>();
        using var session = Plugin(new LinuxProgram(Embedded(), "plugin") { StandardOutput = output, Engine = engine }, log).Start();
        Assert.True(session.RunUntilPaused());
        Assert.Equal(5ul, session.Call("add", 2, 3));
        Assert.Equal(unchecked((ulong)-1L), session.Call("add", 1, unchecked((ulong)-2L)));
        Assert.Equal(204ul, session.Call("sum8", 1, 2, 3, 4, 5, 6, 7, 8));
        for (int i = 0; i < 1000; i++) Assert.Equal((ulong)(2 * i), session.Call("add", (ulong)i, (ulong)i));

        // A string the host leaves in the plugin's own memory for the function it calls.
        ulong inbox = session.AddressOf("inbox");
        session.Memory.WriteString(inbox, "the teapot");
        Assert.Equal(24ul, session.Call("greet", inbox));
        Assert.Equal(["kettle greets the teapot"], log);

        Assert.Throws<KeyNotFoundException>(() => session.Call("no_such_function"));
        Assert.False(session.RunUntilPaused());
        var exit = session.Exit!.Value;
        Assert.Equal(1004 & 0xFF, exit.ExitStatus); // exit status 1004, as a byte
        Assert.Equal("plugin kettle ready (6)\nplugin served 1004 calls\n", Encoding.UTF8.GetString(output.ToArray()));
    }

    [Fact]
    public void AFaultInACalledFunctionEndsTheProgramAndTheCallSaysSo()
    {
        var program = new LinuxProgram(Embedded(), "plugin");
        program.SystemCalls[500] = _ => 0;
        program.SystemCalls[501] = call => { call.Pause(); return 0; };
        using var session = program.Start();
        Assert.True(session.RunUntilPaused());
        var e = Assert.Throws<InvalidOperationException>(() => session.Call("crash", 8));
        Assert.Contains("Killed", e.Message);
        Assert.Equal(11, session.Exit!.Value.Signal);
    }

    [Fact]
    public void AProgramThatCannotBeLoadedSaysWhy()
    {
        var e = Assert.Throws<InvalidProgramException>(() => new LinuxProgram("/no/such/program").Run());
        Assert.Contains("no such file", e.Message);
    }
}
