using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Isomorph.Tests.Support;

/// <summary>
/// An <c>isomorph</c> process that runs while a test talks to it (over its sockets), with its
/// stdout and stderr collected; killed on dispose if still running.
/// </summary>
public sealed class IsomorphProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new(), _stderr = new();

    public IsomorphProcess(params string[] args) : this("dotnet", [Repository.CliDll, .. args])
    {
    }

    /// <summary>Any program (an oracle such as qemu-system-riscv64), run the same way.</summary>
    public IsomorphProcess(string file, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = Repository.Root,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) => { lock (_stdout) _stdout.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { lock (_stderr) _stderr.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int Id => _process.Id;
    public string Stdout { get { lock (_stdout) return _stdout.ToString(); } }
    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }
    public bool HasExited => _process.HasExited;

    /// <summary>Waits for the process to end; its exit status, or null on timeout.</summary>
    public int? WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout)) return null;
        _process.WaitForExit(); // the output readers finish
        return _process.ExitCode;
    }

    /// <summary>Sends SIGINT (as Ctrl-C at a terminal would).</summary>
    public void Interrupt() => Process.Start("kill", ["-INT", _process.Id.ToString()])!.WaitForExit();

    /// <summary>Sends SIGTERM.</summary>
    public void Terminate() => Process.Start("kill", ["-TERM", _process.Id.ToString()])!.WaitForExit();

    /// <summary>Connects to the Unix socket at <paramref name="path"/> once the process listens there.</summary>
    public Socket Connect(string path, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                socket.Connect(new UnixDomainSocketEndPoint(path));
                return socket;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !_process.HasExited)
            {
                socket.Dispose();
                Thread.Sleep(50);
            }
            catch
            {
                socket.Dispose();
                throw new InvalidOperationException($"cannot connect to {path}:\n{Stderr}");
            }
        }
    }

    private bool _disposed;

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        if (!_process.HasExited)
        {
            try { _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            _process.WaitForExit();
        }
        _process.Dispose();
    }
}

/// <summary>A console over a socket: what arrived so far, and waiting for text in it.</summary>
public sealed class SocketConsole : IDisposable
{
    private readonly Socket _socket;
    private readonly StringBuilder _text = new();
    private readonly Thread _reader;

    public SocketConsole(Socket socket)
    {
        _socket = socket;
        _reader = new Thread(Read) { IsBackground = true };
        _reader.Start();
    }

    public string Text { get { lock (_text) return _text.ToString(); } }

    private void Read()
    {
        var buffer = new byte[4096];
        try
        {
            int n;
            while ((n = _socket.Receive(buffer)) > 0)
                lock (_text)
                {
                    _text.Append(Encoding.Latin1.GetString(buffer, 0, n));
                    Monitor.PulseAll(_text);
                }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
    }

    public void Send(string text) => _socket.Send(Encoding.ASCII.GetBytes(text));

    /// <summary>Waits until <paramref name="expected"/> appears after <paramref name="from"/>; the index past it, or -1.</summary>
    public int WaitFor(string expected, TimeSpan timeout, int from = 0)
    {
        var deadline = DateTime.UtcNow + timeout;
        lock (_text)
        {
            while (true)
            {
                int at = _text.ToString().IndexOf(expected, Math.Min(from, _text.Length), StringComparison.Ordinal);
                if (at >= 0) return at + expected.Length;
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero) return -1;
                Monitor.Wait(_text, left);
            }
        }
    }

    public void Dispose()
    {
        try { _socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { }
        _socket.Dispose();
        _reader.Join(TimeSpan.FromSeconds(5));
    }
}
