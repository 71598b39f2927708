using Isomorph.Devices.HostIo;

namespace Isomorph.Cli.Serial;

/// <summary>
/// The host side of the machine's UART (<c>isomorph boot --serial</c>): where its output goes and
/// where its input comes from. <see cref="Attach"/> starts input to a running session (a reboot
/// replaces the machine, not the serial line).
/// </summary>
public abstract class SerialBackend : IDisposable
{
    /// <summary>The UART's output.</summary>
    public abstract Stream Output { get; }

    /// <summary>Starts delivering input to <paramref name="session"/>'s machine of the moment (input while a reboot builds the next is dropped).</summary>
    public virtual void Attach(MachineSession session) { }

    public virtual void Dispose() => GC.SuppressFinalize(this);

    public const string Syntax = "stdio, none, FILE (file:FILE) or unix:PATH";

    /// <summary>Parses and opens a --serial value; null with <paramref name="error"/> set for bad input.</summary>
    public static SerialBackend? Open(string text, out string? error)
    {
        error = null;
        if (text == "stdio") return new StdioSerial();
        if (text == "none") return new NullSerial();
        if (text.StartsWith("unix:", StringComparison.Ordinal))
        {
            string path = text["unix:".Length..];
            if (path.Length == 0)
            {
                error = $"invalid --serial '{text}': expected unix:PATH";
                return null;
            }
            return UnixSerialServer.Listen(Path.GetFullPath(path), out error);
        }
        string file = text.StartsWith("file:", StringComparison.Ordinal) ? text["file:".Length..] : text;
        if (file.Length == 0)
        {
            error = $"invalid --serial '{text}': expected {Syntax}";
            return null;
        }
        file = Path.GetFullPath(file);
        return HostFile.OpenOutput(file, "serial output", out error) is { } stream ? new FileSerial(stream) : null;
    }
}

/// <summary>--serial none: output discarded, no input.</summary>
public sealed class NullSerial : SerialBackend
{
    public override Stream Output => Stream.Null;
}

/// <summary>--serial FILE: output appended to FILE, no input.</summary>
public sealed class FileSerial(FileStream file) : SerialBackend
{
    public override Stream Output => file;

    public override void Dispose()
    {
        file.Dispose();
        base.Dispose();
    }
}

/// <summary>
/// --serial stdio (the default): output on stdout, input from stdin. On a terminal, raw mode, and
/// Ctrl-A is an escape as in QEMU: Ctrl-A X quits, Ctrl-A Ctrl-A sends one Ctrl-A.
/// </summary>
public sealed class StdioSerial : SerialBackend
{
    private const byte CtrlA = 0x01;
    private readonly Stream _stdout = Console.OpenStandardOutput();
    private HostTerminal? _terminal;

    public override Stream Output => _stdout;

    public override void Attach(MachineSession session)
    {
        _terminal = HostTerminal.EnterRawMode();
        bool escapes = HostTerminal.IsTerminal;
        if (escapes) Console.Error.Write("isomorph: Ctrl-A X quits\r\n");
        new Thread(() => ReadInput(session, escapes)) { IsBackground = true, Name = "console input" }.Start();
    }

    private static void ReadInput(MachineSession session, bool escapes)
    {
        using var stdin = Console.OpenStandardInput();
        var buffer = new byte[256];
        var forward = new byte[256];
        bool escape = false;
        while (true)
        {
            int n;
            try
            {
                n = stdin.Read(buffer);
            }
            catch (IOException)
            {
                return;
            }
            if (n <= 0) return;
            if (!escapes)
            {
                session.SendConsoleInput(buffer.AsSpan(0, n));
                continue;
            }
            int count = 0;
            for (int i = 0; i < n; i++)
            {
                byte b = buffer[i];
                if (escape)
                {
                    escape = false;
                    if (b is (byte)'x' or (byte)'X')
                    {
                        session.Stop();
                        return;
                    }
                    if (b == CtrlA) forward[count++] = CtrlA;
                }
                else if (b == CtrlA) escape = true;
                else forward[count++] = b;
            }
            if (count > 0) session.SendConsoleInput(forward.AsSpan(0, count));
        }
    }

    public override void Dispose()
    {
        _terminal?.Dispose();
        _stdout.Dispose();
        base.Dispose();
    }
}
