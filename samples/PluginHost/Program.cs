// A plugin host: the riscv64 plugin (guests/linux/user/embedded.c, "plugin") asks the host for its
// name with system call 500, pauses with 501, and from then on the host calls its functions; it
// logs through system call 502.
using System.Text;
using Isomorph;

var plugin = new LinuxProgram(args[0], "plugin") { StandardOutput = Console.OpenStandardOutput() };
plugin.SystemCalls[500] = call =>
{
    call.Memory.WriteString(call[0], "kettle");
    return 6;
};
plugin.SystemCalls[501] = call =>
{
    call.Pause();
    return 0;
};
plugin.SystemCalls[502] = call =>
{
    Console.WriteLine($"[plugin log] {Encoding.UTF8.GetString(call.Memory.ReadBytes(call[0], (int)call[1]))}");
    return 0;
};

using var session = plugin.Start();
if (!session.RunUntilPaused()) return 1;
Console.WriteLine($"add(40, 2) = {session.Call("add", 40, 2)}");
ulong inbox = session.AddressOf("inbox");
session.Memory.WriteString(inbox, "the host");
Console.WriteLine($"greet(\"the host\") = {session.Call("greet", inbox)}");

const int Calls = 100_000;
var clock = System.Diagnostics.Stopwatch.StartNew();
for (ulong i = 0; i < Calls; i++) session.Call("add", i, 1);
Console.WriteLine($"{Calls} calls: {clock.Elapsed.TotalNanoseconds / Calls:F0} ns a call");

session.RunUntilPaused();
Console.WriteLine($"plugin ended: {session.Exit}");
return 0;
