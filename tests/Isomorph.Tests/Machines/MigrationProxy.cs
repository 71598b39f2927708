using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Isomorph.Machines.Migration;

namespace Isomorph.Tests.Machines;

/// <summary>
/// A man in the middle of one migration, for fault injection: it carries the migration stream
/// between source and destination message by message (it knows the framing, MigrationChannel's)
/// and, when a message matches its rule, cuts the link before or after passing it on, or calls
/// back (to kill or stop a process at that step) and carries on.
/// </summary>
public sealed class MigrationProxy : IDisposable
{
    public enum Act { CutBefore, CutAfter, CallAfter }

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _destinationPort;
    private readonly Func<MigrationMessage, bool, int, bool> _matches;
    private readonly Act _act;
    private readonly Action? _callback;
    private readonly Thread _thread;
    private Socket? _source, _destination;
    private int _fired;

    /// <summary>
    /// Carries one migration to 127.0.0.1:<paramref name="destinationPort"/>. <paramref name="matches"/>
    /// sees each message's type, whether it comes from the source, and how many of that type came before.
    /// </summary>
    public MigrationProxy(int destinationPort, Func<MigrationMessage, bool, int, bool> matches, Act act, Action? callback = null, long bytesPerSecond = 0)
    {
        _bytesPerSecond = bytesPerSecond;
        _destinationPort = destinationPort;
        (_matches, _act, _callback) = (matches, act, callback);
        _listener.Start(1);
        _thread = new Thread(Serve) { IsBackground = true };
        _thread.Start();
    }

    /// <summary>Where the source migrates to.</summary>
    public string Endpoint => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>True once the rule matched.</summary>
    public bool Fired => Volatile.Read(ref _fired) != 0;

    private readonly Dictionary<(MigrationMessage, bool), int> _seen = [];

    /// <summary>A slow link: the source's messages pass at this rate at most (0: as fast as loopback).</summary>
    private readonly long _bytesPerSecond;

    private void Serve()
    {
        try
        {
            _source = _listener.AcceptSocket();
            _destination = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            _destination.Connect(IPAddress.Loopback, _destinationPort);
            var back = new Thread(() => Pump(_destination, _source, fromSource: false)) { IsBackground = true };
            back.Start();
            Pump(_source, _destination, fromSource: true);
            back.Join();
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException)
        {
        }
    }

    private void Pump(Socket from, Socket to, bool fromSource)
    {
        var head = new byte[5];
        try
        {
            while (true)
            {
                if (!Fill(from, head)) break;
                int length = BinaryPrimitives.ReadInt32LittleEndian(head.AsSpan(1));
                var rest = new byte[length + 8];
                if (!Fill(from, rest)) break;
                var type = (MigrationMessage)head[0];
                int count;
                lock (_seen)
                {
                    count = _seen.GetValueOrDefault((type, fromSource));
                    _seen[(type, fromSource)] = count + 1;
                }
                bool fire = Volatile.Read(ref _fired) == 0 && _matches(type, fromSource, count) && Interlocked.Exchange(ref _fired, 1) == 0;
                if (fire && _act == Act.CutBefore)
                {
                    Cut();
                    return;
                }
                to.Send(head);
                to.Send(rest);
                if (fromSource && _bytesPerSecond > 0) Pace(head.Length + rest.Length);
                if (!fire) continue;
                if (_act == Act.CutAfter)
                {
                    Thread.Sleep(100); // the message is on its way before the link goes
                    Cut();
                    return;
                }
                _callback?.Invoke();
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
        Cut();
    }

    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    private long _carried;

    /// <summary>Waits until the bytes carried so far fit the rate.</summary>
    private void Pace(int bytes)
    {
        _carried += bytes;
        var due = TimeSpan.FromSeconds((double)_carried / _bytesPerSecond);
        if (due > _clock.Elapsed) Thread.Sleep(due - _clock.Elapsed);
    }

    private static bool Fill(Socket socket, byte[] into)
    {
        int at = 0;
        while (at < into.Length)
        {
            int n = socket.Receive(into, at, into.Length - at, SocketFlags.None);
            if (n == 0) return false;
            at += n;
        }
        return true;
    }

    /// <summary>Closes both sides, as a link that failed.</summary>
    public void Cut()
    {
        foreach (var s in new[] { _source, _destination })
        {
            try { s?.Shutdown(SocketShutdown.Both); } catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
            s?.Dispose();
        }
    }

    public void Dispose()
    {
        _listener.Stop();
        Cut();
        _thread.Join(TimeSpan.FromSeconds(5));
    }
}
