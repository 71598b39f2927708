// The round trip of a guest function call from C# (LinuxSession.Call): the plugin of
// guests/linux/user/embedded.c paused, then add(i, 1) called again and again, under each engine.
// The first round includes the JIT's tiers warming up; the later ones are the steady state.
using Isomorph;

string plugin = args.Length > 0 ? args[0] : Path.Combine(AppContext.BaseDirectory, "../../../../../guests/build/linux-user/embedded-static");
const int Calls = 2_000_000;
foreach (var engine in new[] { ExecutionEngine.Translator, ExecutionEngine.Interpreter })
{
    var program = new LinuxProgram(plugin, "plugin") { Engine = engine };
    program.SystemCalls[500] = _ => 0;
    program.SystemCalls[501] = call => { call.Pause(); return 0; };
    using var session = program.Start();
    if (!session.RunUntilPaused()) throw new InvalidOperationException("the plugin did not pause");
    ulong add = session.AddressOf("add");
    for (int round = 1; round <= 3; round++)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (ulong i = 0; i < Calls; i++)
            if (session.Call(add, i, 1) != i + 1) throw new InvalidOperationException("wrong sum");
        Console.WriteLine($"{engine,-12} round {round}: {clock.Elapsed.TotalNanoseconds / Calls,6:F0} ns a call");
    }
}

// Hooks (GuestHooks): the plugin's spin loop run for a fixed number of instructions with no hook,
// with a code hook on a function that never runs, and with a memory hook on a variable the loop
// never touches: the target is no measurable cost when the hooked address is not executed.
const long Instructions = 400_000_000;
foreach (var engine in new[] { ExecutionEngine.Translator, ExecutionEngine.Interpreter })
{
    foreach (var (name, hooks) in new (string, GuestHooks?)[]
    {
        ("no hook", null),
        ("code hook, not run", new GuestHooks().OnCode("crash", _ => throw new InvalidOperationException("crash ran"))),
        ("memory hook, untouched", new GuestHooks().OnMemory("inbox", 256, (_, _, _, _) => throw new InvalidOperationException("inbox touched"))),
    })
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var exit = new LinuxProgram(plugin, "spin") { Engine = engine, Hooks = hooks, MaxInstructions = Instructions }.Run();
        if (exit.Reason != GuestEnd.InstructionLimit) throw new InvalidOperationException($"the spin loop ended: {exit.Reason}");
        Console.WriteLine($"{engine,-12} {name,-24} {exit.Instructions / clock.Elapsed.TotalSeconds / 1e6,7:F0} MIPS");
    }
}

// The slowdown of a guest under a watchpoint-like memory hook: the `neighbour` loop increments
// `ticks`, and a memory hook watches `watched`, 8 bytes away on the same page, which the loop never
// touches. Hooks (as gdb's watchpoints) send only the watched pages to the slow path: here the
// loop's own page.
foreach (var engine in new[] { ExecutionEngine.Translator, ExecutionEngine.Interpreter })
{
    foreach (var (name, hooks) in new (string, GuestHooks?)[]
    {
        ("neighbour, no hook", null),
        ("neighbour, hook beside", new GuestHooks().OnMemory("watched", 8, (_, _, _, _) => throw new InvalidOperationException("watched touched"))),
    })
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var exit = new LinuxProgram(plugin, "neighbour") { Engine = engine, Hooks = hooks, MaxInstructions = Instructions / 4 }.Run();
        if (exit.Reason != GuestEnd.InstructionLimit) throw new InvalidOperationException($"the neighbour loop ended: {exit.Reason}");
        Console.WriteLine($"{engine,-12} {name,-24} {exit.Instructions / clock.Elapsed.TotalSeconds / 1e6,7:F0} MIPS");
    }
}
