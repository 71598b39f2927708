using Isomorph.Debugging;
using Isomorph.Riscv.Execution;

namespace Isomorph.Cli;

/// <summary>
/// The gdb stub as the commands wire it: an <see cref="ExecutionControl"/> wrapping the chosen
/// engine (given to the VM before it starts), then, once the VM exists, a listener that waits for
/// gdb before the first instruction (run -g, --wait-gdb) or lets the VM start at once.
/// </summary>
public sealed class GdbOption : IDisposable
{
    private GdbServer? _server;

    private GdbOption(GdbEndpoint endpoint, ExecutionControl control, bool wait)
    {
        Endpoint = endpoint;
        Control = control;
        Wait = wait;
    }

    public GdbEndpoint Endpoint { get; }
    public ExecutionControl Control { get; }
    public bool Wait { get; }

    /// <summary>Parses <paramref name="spec"/>; null with <paramref name="error"/> set when it is not an endpoint.</summary>
    public static GdbOption? Create(string spec, IExecutionEngine? engine, bool wait, out string? error)
    {
        if (!GdbEndpoint.TryParse(spec, out var endpoint, out error)) return null;
        return new GdbOption(endpoint!, new ExecutionControl(engine ?? ExecutionEngines.Default, startHalted: wait), wait);
    }

    /// <summary>A stub for a VM already running under <paramref name="control"/> (gdb attaching through the API).</summary>
    public static GdbOption? Create(string spec, ExecutionControl control, out string? error) =>
        GdbEndpoint.TryParse(spec, out var endpoint, out error) ? new GdbOption(endpoint!, control, wait: false) : null;

    /// <summary>
    /// Listens for gdb on behalf of <paramref name="target"/>; with <see cref="Wait"/>, blocks until
    /// gdb connects. Says where it listens on stderr. Null, or one line saying why it cannot listen.
    /// </summary>
    public string? Start(IDebugTarget target)
    {
        Control.Attach(target);
        var log = Environment.GetEnvironmentVariable("ISOMORPH_GDB_TRACE") == "1" ? TextWriter.Synchronized(Console.Error) : null;
        try
        {
            _server = new GdbServer(Endpoint, Control, target, log);
        }
        catch (System.Net.Sockets.SocketException e)
        {
            return $"gdb {Endpoint.Text}: {e.Message}";
        }
        Console.Error.WriteLine($"isomorph: gdb stub listening on {Endpoint.Text}{(Wait ? ", waiting for gdb" : "")}");
        _server.Start(waitForFirst: Wait);
        return null;
    }

    /// <summary>Tells gdb how the program ended (W or X) and gives it a moment to read that.</summary>
    public void Ended(int status, int signal)
    {
        Control.Ended(status, signal);
        _server?.WaitForSession(TimeSpan.FromSeconds(2));
    }

    public void Dispose() => _server?.Dispose();
}
