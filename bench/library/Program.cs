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
