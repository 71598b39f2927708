using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Isomorph.Tests.Support;

namespace Isomorph.Tests.Debugging;

/// <summary>A test that drives Debian's gdb-multiarch: skipped, visibly, where it is not installed.</summary>
public sealed class GdbFactAttribute : FactAttribute
{
    public GdbFactAttribute()
    {
        if (GdbHarness.Missing is { } why) Skip = why;
    }
}

/// <inheritdoc cref="GdbFactAttribute"/>
public sealed class GdbTheoryAttribute : TheoryAttribute
{
    public GdbTheoryAttribute()
    {
        if (GdbHarness.Missing is { } why) Skip = why;
    }
}

/// <summary>
/// Runs gdb-multiarch in batch mode against a stub: isomorph's (run -g PORT, bare --gdb unix:PATH)
/// or the oracle's (qemu-riscv64 -g PORT), and normalizes what legitimately differs between them.
/// </summary>
public static partial class GdbHarness
{
    public static string? Missing =>
        Repository.HasTool("gdb-multiarch") ? null : "gdb-multiarch is missing: run tests/run.sh, which installs it (apt-get install gdb-multiarch)";

    /// <summary>The program the process VM tests debug (guests/linux/user/debuggee.c, -O0 -g, static).</summary>
    public static string Debuggee => Linux.LinuxGuests.Program("debuggee", "static");

    /// <summary>What one gdb session printed, and how the debugged VM ended.</summary>
    public sealed record Session(string Gdb, string GdbErrors, string GuestOutput, int? ServerExit);

    /// <summary>A TCP port nobody listens on now.</summary>
    public static int FreePort() => Support.Ports.Free();

    /// <summary>Waits until something listens on TCP <paramref name="port"/> (read from /proc/net, so without connecting).</summary>
    public static void WaitForListener(int port, IsomorphProcess server)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        string hexPort = port.ToString("X4", CultureInfo.InvariantCulture);
        while (DateTime.UtcNow < deadline && !server.HasExited)
        {
            foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
                if (File.Exists(table) && File.ReadLines(table).Skip(1).Any(l => IsListening(l, hexPort))) return;
            Thread.Sleep(20);
        }
        throw new InvalidOperationException($"nothing listens on port {port}:\n{server.Stderr}");
    }

    private static bool IsListening(string line, string hexPort)
    {
        var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return f.Length > 3 && f[1].EndsWith(":" + hexPort, StringComparison.Ordinal) && f[3] == "0A";
    }

    /// <summary>Waits until a Unix socket file appears at <paramref name="path"/>.</summary>
    public static void WaitForSocket(string path, IsomorphProcess server)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline && !server.HasExited && !File.Exists(path)) Thread.Sleep(20);
        if (!File.Exists(path)) throw new InvalidOperationException($"no socket at {path}:\n{server.Stderr}");
    }

    /// <summary>
    /// Starts the stub with <paramref name="start"/> (given the port), waits for it to listen, runs
    /// gdb with <paramref name="commands"/> after loading <paramref name="program"/> and connecting;
    /// with <paramref name="interruptAfter"/>, sends gdb SIGINT (Ctrl-C) once that much time has passed.
    /// </summary>
    public static Session RunTcp(Func<int, IsomorphProcess> start, string program, string[] commands, TimeSpan? interruptAfter = null, string[]? setup = null)
    {
        int port = FreePort();
        using var server = start(port);
        WaitForListener(port, server);
        return Drive(server, program, $":{port}", commands, interruptAfter, setup);
    }

    public static Session Drive(IsomorphProcess server, string program, string target, string[] commands, TimeSpan? interruptAfter = null, string[]? setup = null)
    {
        var args = new List<string> { "-batch", "-nx", "-ex", "set confirm off" };
        foreach (var s in setup ?? []) args.AddRange(["-ex", s]);
        args.AddRange(["-ex", $"file {program}", "-ex", $"target remote {target}"]);
        foreach (var c in commands) args.AddRange(["-ex", c]);
        using var gdb = new IsomorphProcess("gdb-multiarch", args);
        try
        {
            if (interruptAfter is { } delay)
            {
                Thread.Sleep(delay);
                gdb.Interrupt();
            }
            Assert.True(gdb.WaitForExit(TimeSpan.FromSeconds(60)) is not null, $"gdb did not finish:\n{gdb.Stdout}\n{gdb.Stderr}\n{server.Stderr}");
            int? exit = server.WaitForExit(TimeSpan.FromSeconds(10));
            return new Session(gdb.Stdout, gdb.Stderr, server.Stdout, exit);
        }
        finally
        {
            server.Dispose();
        }
    }

    /// <summary>
    /// A gdb session against a machine's stub on a Unix socket (isomorph boot or qemu-system, started
    /// by <paramref name="start"/> given the socket's path), with <paramref name="program"/>'s symbols; what gdb printed.
    /// </summary>
    public static string MachineSession(Xunit.Abstractions.ITestOutputHelper output, Func<string, IsomorphProcess> start, string program, string[] commands)
    {
        string socket = Path.Combine(Path.GetTempPath(), $"isomorph-gdb-{Guid.NewGuid():N}.sock");
        using var server = start(socket);
        try
        {
            WaitForSocket(socket, server);
            var s = Drive(server, program, socket, commands);
            output.WriteLine(s.Gdb + s.GdbErrors);
            return s.Gdb;
        }
        finally
        {
            server.Dispose();
            File.Delete(socket);
        }
    }

    /// <summary>
    /// What a machine's stub and qemu-system-riscv64's must print alike: QEMU starts at its reset
    /// ROM (0x1000), isomorph at the firmware or kernel, so the first stop is left out; threads are
    /// named differently; how the session ends after gdb's kill (QEMU at times drops the connection first).
    /// </summary>
    public static string ComparableWithQemuSystem(string gdb) =>
        string.Join("\n", Normalize(gdb).Split('\n').Skip(1).Where(l => !l.StartsWith("[Switching to", StringComparison.Ordinal)
            && !l.Contains("(inferior) killed") && !l.StartsWith("Remote communication error", StringComparison.Ordinal))
            .Select(l => Regex.Replace(l, "^Thread T ", "")));

    /// <summary>isomorph run -g PORT [--engine ENGINE] PROGRAM ARGS.</summary>
    public static Func<int, IsomorphProcess> Isomorph(string engine, string program, params string[] args) =>
        port => new IsomorphProcess(["run", "--engine", engine, "-g", port.ToString(CultureInfo.InvariantCulture), program, .. args]);

    /// <summary>qemu-riscv64 -g PORT PROGRAM ARGS, the oracle.</summary>
    public static Func<int, IsomorphProcess> Qemu(string program, params string[] args) =>
        port => new IsomorphProcess("qemu-riscv64", ["-g", port.ToString(CultureInfo.InvariantCulture), program, .. args]);

    /// <summary>
    /// gdb's output with what may differ between two stubs made equal: the kind of watchpoint
    /// (qemu-user has no hardware watchpoints on RISC-V, so gdb single-steps there), the inferior's
    /// and threads' names, and stack addresses.
    /// </summary>
    public static string Normalize(string gdbOutput)
    {
        var text = gdbOutput.Replace("Hardware watchpoint", "Watchpoint");
        text = InferiorName().Replace(text, "(inferior)");
        text = ThreadName().Replace(text, "Thread T");
        text = StackAddress().Replace(text, "0xSTACK");
        text = Spaces().Replace(text, " ");
        return string.Join("\n", text.Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0));
    }

    [GeneratedRegex(@"\((Remote target|process \d+)\)")]
    private static partial Regex InferiorName();

    [GeneratedRegex(@"Thread [0-9.]+( \([^)]*\)\)?| ""[^""]*"")?")]
    private static partial Regex ThreadName();

    [GeneratedRegex(" +")]
    private static partial Regex Spaces();

    [GeneratedRegex(@"0x(3f|40)[0-9a-f]{8,}")]
    private static partial Regex StackAddress();
}
