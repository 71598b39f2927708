using System.Net;
using System.Net.Sockets;

namespace Isomorph.Debugging;

/// <summary>
/// Where the stub listens: <c>tcp:[HOST]:PORT</c> (HOST defaults to localhost), <c>unix:PATH</c>,
/// or a bare port number (<c>isomorph run -g PORT</c>).
/// </summary>
public sealed record GdbEndpoint(EndPoint EndPoint, string Text)
{
    public static bool TryParse(string spec, out GdbEndpoint? endpoint, out string? error)
    {
        endpoint = null;
        error = null;
        if (spec.StartsWith("unix:", StringComparison.Ordinal))
        {
            string path = spec[5..];
            if (path.Length == 0) { error = "unix: needs a path"; return false; }
            endpoint = new GdbEndpoint(new UnixDomainSocketEndPoint(path), spec);
            return true;
        }
        string hostPort = spec.StartsWith("tcp:", StringComparison.Ordinal) ? spec[4..] : spec;
        int colon = hostPort.LastIndexOf(':');
        string host = colon < 0 ? "" : hostPort[..colon];
        string portText = colon < 0 ? hostPort : hostPort[(colon + 1)..];
        if (!int.TryParse(portText, out int port) || port is < 0 or > 65535) { error = $"'{spec}': expected tcp:[HOST]:PORT, unix:PATH or a port number"; return false; }
        IPAddress address;
        if (host is "" or "localhost") address = IPAddress.Loopback;
        else if (!IPAddress.TryParse(host.Trim('[', ']'), out address!))
        {
            try
            {
                address = Dns.GetHostAddresses(host).First();
            }
            catch (Exception e) when (e is SocketException or InvalidOperationException)
            {
                error = $"'{spec}': cannot resolve {host}";
                return false;
            }
        }
        endpoint = new GdbEndpoint(new IPEndPoint(address, port), spec);
        return true;
    }
}

/// <summary>Listens for gdb, and serves one connection at a time on a thread of its own.</summary>
public sealed class GdbServer : IDisposable
{
    private readonly Socket _listener;
    private readonly ExecutionControl _control;
    private readonly IDebugTarget _target;
    private readonly TextWriter? _log;
    private Thread? _thread;
    private string? _unixPath;

    public GdbServer(GdbEndpoint endpoint, ExecutionControl control, IDebugTarget target, TextWriter? log = null)
    {
        _control = control;
        _target = target;
        _log = log;
        if (endpoint.EndPoint is UnixDomainSocketEndPoint)
        {
            _unixPath = endpoint.Text[5..];
            if (File.Exists(_unixPath) && IsStaleSocket(endpoint.EndPoint)) File.Delete(_unixPath); // left by an earlier run
            _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        }
        else
        {
            _listener = new Socket(endpoint.EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            _listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        }
        _listener.Bind(endpoint.EndPoint);
        _listener.Listen(1);
    }

    /// <summary>True when a socket file is there but nobody listens on it (connecting is refused); a regular file is never stale.</summary>
    private static bool IsStaleSocket(EndPoint endpoint)
    {
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(endpoint);
            return false;
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode == SocketError.ConnectionRefused;
        }
    }

    /// <summary>The TCP port listened on (useful after binding port 0), or 0 for a Unix socket.</summary>
    public int Port => (_listener.LocalEndPoint as IPEndPoint)?.Port ?? 0;

    /// <summary>
    /// Serves gdb on a background thread, one connection after another (gdb may detach and come
    /// back, as with QEMU). With <paramref name="waitForFirst"/>, returns only once the first has connected.
    /// </summary>
    public void Start(bool waitForFirst)
    {
        Socket? first = waitForFirst ? _listener.Accept() : null;
        if (first is not null) _idle.Reset();
        _thread = new Thread(() => AcceptLoop(first)) { IsBackground = true, Name = "gdb stub" };
        _thread.Start();
    }

    private readonly ManualResetEventSlim _idle = new(true);

    private void AcceptLoop(Socket? connection)
    {
        try
        {
            while (true)
            {
                connection ??= _listener.Accept();
                _idle.Reset();
                try
                {
                    if (connection.AddressFamily != AddressFamily.Unix) connection.NoDelay = true;
                    using var stream = new NetworkStream(connection, ownsSocket: true);
                    new GdbStub(_control, _target, stream, _log).Serve();
                }
                finally
                {
                    _idle.Set();
                }
                connection = null;
                if (_control.CurrentStop?.Kind is StopKind.Exited or StopKind.Terminated) return;
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException) { }
    }

    /// <summary>Waits (at most <paramref name="timeout"/>) for the session in progress to end, after the program's end was reported.</summary>
    public void WaitForSession(TimeSpan timeout) => _idle.Wait(timeout);

    public void Dispose()
    {
        _listener.Dispose();
        if (_unixPath is not null)
            try { File.Delete(_unixPath); } catch (IOException) { }
    }
}
