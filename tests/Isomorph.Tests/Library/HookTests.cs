using System.Text;

namespace Isomorph.Tests.Library;

/// <summary>
/// Hooks on a <see cref="LinuxProgram"/> (<see cref="GuestHooks"/>), under both engines, on the
/// plugin of guests/linux/user/embedded.c: a code hook on a function sees each call with its
/// arguments and can change them; a memory hook on a variable sees the guest's own loads and
/// stores of it (not the host's writes through <see cref="GuestMemory"/>), and only those.
/// </summary>
public sealed class HookTests
{
    private static string Embedded() => Linux.LinuxGuests.Program("embedded", "static");

    [Theory]
    [InlineData(ExecutionEngine.Translator)]
    [InlineData(ExecutionEngine.Interpreter)]
    public void CodeAndMemoryHooksSeeWhatTheyWatch(ExecutionEngine engine)
    {
        var adds = new List<(ulong A, ulong B)>();
        var inboxAccesses = new List<(ulong Address, int Size, bool Write)>();
        var hooks = new GuestHooks()
            .OnCode("add", thread =>
            {
                adds.Add((thread[10], thread[11]));
                if (thread[10] == 1000) thread[11] = 1; // a hook may change what the function sees: add(1000, 7) = 1001
            })
            .OnMemory("inbox", 256, (thread, address, size, write) => inboxAccesses.Add((address, size, write)));
        using var session = LinuxProgramTests.Plugin(new LinuxProgram(Embedded(), "plugin") { Engine = engine, Hooks = hooks }).Start();
        Assert.True(session.RunUntilPaused());
        Assert.Empty(adds);
        for (int i = 0; i < 300; i++) Assert.Equal((ulong)(2 * i), session.Call("add", (ulong)i, (ulong)i));
        Assert.Equal(1001ul, session.Call("add", 1000, 7));
        Assert.Equal(301, adds.Count);
        Assert.Equal((1000ul, 7ul), adds[^1]);
        Assert.Equal(Enumerable.Range(0, 300).Select(i => ((ulong)i, (ulong)i)), adds.Take(300));

        // The host's own write is not a guest access; greet's reading of the string is, byte by byte or wider.
        ulong inbox = session.AddressOf("inbox");
        session.Memory.WriteString(inbox, "the teapot");
        Assert.Empty(inboxAccesses);
        Assert.Equal(24ul, session.Call("greet", inbox));
        Assert.NotEmpty(inboxAccesses);
        Assert.All(inboxAccesses, a => Assert.False(a.Write));
        Assert.All(inboxAccesses, a => Assert.InRange(a.Address, inbox, inbox + 255));
        Assert.Contains(inboxAccesses, a => a.Address == inbox);
        // Other calls touch neither: the hook saw nothing more.
        int seen = inboxAccesses.Count;
        session.Call("add", 1, 1);
        Assert.Equal(seen, inboxAccesses.Count);
        Assert.False(session.RunUntilPaused());
    }

    [Theory]
    [InlineData(ExecutionEngine.Translator)]
    [InlineData(ExecutionEngine.Interpreter)]
    public void SystemCallAndTrapHooksSeeEachCallAndTheFault(ExecutionEngine engine)
    {
        var calls = new List<long>();
        var traps = new List<(int Signal, ulong Pc)>();
        var hooks = new GuestHooks()
            .OnSystemCall((thread, call) => calls.Add(call.Number))
            .OnTrap((thread, signal) => traps.Add((signal, thread.Pc)));
        var output = new MemoryStream();
        using var session = LinuxProgramTests.Plugin(new LinuxProgram(Embedded(), "plugin") { Engine = engine, Hooks = hooks, StandardOutput = output }).Start();
        Assert.True(session.RunUntilPaused());
        Assert.Contains(500L, calls); // the custom ones too
        Assert.Contains(64L, calls); // write: "plugin … ready"
        Assert.Equal(501L, calls[^1]);
        Assert.Empty(traps);

        // crash(NULL) loads from address 0: the hook sees SIGSEGV at crash's load, then the signal ends the program.
        Assert.Throws<InvalidOperationException>(() => session.Call("crash", 0));
        Assert.Equal(11, Assert.Single(traps).Signal);
        Assert.InRange(traps[0].Pc, session.AddressOf("crash"), session.AddressOf("crash") + 8);
        Assert.Equal(11, session.Exit!.Value.Signal);
    }

    [Fact]
    public void AHookOnASymbolThatIsNotThereIsRefused()
    {
        var program = new LinuxProgram(Embedded(), "plugin") { Hooks = new GuestHooks().OnCode("no_such_function", _ => { }) };
        Assert.Throws<KeyNotFoundException>(() => program.Start());
    }
}
