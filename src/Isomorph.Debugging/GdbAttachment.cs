using Isomorph.Riscv.Execution;

namespace Isomorph.Debugging;

/// <summary>
/// A gdb stub as a machine's owner wires it: an <see cref="ExecutionControl"/> wrapping the chosen
/// engine (given to the machine before it starts), then, once the machine exists, a listener that
/// waits for gdb before the first instruction (<c>--wait-gdb</c>, QEMU's <c>-S</c>) or lets the
/// machine start at once. <c>isomorph bare</c> and the library's virt machines use it.
/// </summary>
public sealed class GdbAttachment : IDisposable
{
    private readonly TextWriter? _diagnostics;
    private GdbServer? _server;

    private GdbAttachment(GdbEndpoint endpoint, ExecutionControl control, bool wait, TextWriter? diagnostics)
    {
        Endpoint = endpoint;
        Control = control;
        Wait = wait;
        _diagnostics = diagnostics;
    }

    /// <summary>Where the stub listens.</summary>
    public GdbEndpoint Endpoint { get; }

    /// <summary>The engine the machine must run under: the chosen one, stopped and stepped by gdb.</summary>
    public ExecutionControl Control { get; }

    /// <summary>Whether <see cref="Start"/> waits for gdb before the machine's first instruction.</summary>
    public bool Wait { get; }

    /// <summary>
    /// Parses <paramref name="spec"/>; null with <paramref name="error"/> set when it is not an
    /// endpoint. <paramref name="diagnostics"/> is told where the stub listens.
    /// </summary>
    public static GdbAttachment? Create(string spec, IExecutionEngine? engine, bool wait, TextWriter? diagnostics, out string? error)
    {
        if (!GdbEndpoint.TryParse(spec, out var endpoint, out error)) return null;
        return new GdbAttachment(endpoint!, new ExecutionControl(engine ?? ExecutionEngines.Default, startHalted: wait), wait, diagnostics);
    }

    /// <summary>A stub for a machine already running under <paramref name="control"/> (gdb attaching later, through an API).</summary>
    public static GdbAttachment? Create(string spec, ExecutionControl control, TextWriter? diagnostics, out string? error) =>
        GdbEndpoint.TryParse(spec, out var endpoint, out error) ? new GdbAttachment(endpoint!, control, wait: false, diagnostics) : null;

    /// <summary>
    /// Listens for gdb on behalf of <paramref name="target"/>; with <see cref="Wait"/>, blocks until
    /// gdb connects. Null, or one line saying why it cannot listen.
    /// </summary>
    public string? Start(IDebugTarget target)
    {
        Control.Attach(target);
        var log = Environment.GetEnvironmentVariable("ISOMORPH_GDB_TRACE") == "1" ? _diagnostics : null;
        try
        {
            _server = new GdbServer(Endpoint, Control, target, log);
        }
        catch (System.Net.Sockets.SocketException e)
        {
            return $"gdb {Endpoint.Text}: {e.Message}";
        }
        _diagnostics?.WriteLine($"isomorph: gdb stub listening on {Endpoint.Text}{(Wait ? ", waiting for gdb" : "")}");
        _server.Start(waitForFirst: Wait);
        return null;
    }

    /// <summary>Tells gdb how the machine or program ended (W or X) and gives it a moment to read that.</summary>
    public void Ended(int status, int signal)
    {
        Control.Ended(status, signal);
        _server?.WaitForSession(TimeSpan.FromSeconds(2));
    }

    public void Dispose() => _server?.Dispose();
}
