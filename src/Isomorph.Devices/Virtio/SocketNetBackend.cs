using System.Buffers.Binary;
using System.Net.Sockets;

namespace Isomorph.Devices.Virtio;

/// <summary>
/// A network backend that joins two VMs' NICs over a Unix stream socket at a path: the first VM
/// listens there, the second connects; each frame travels as a 4-byte big-endian length and the
/// frame (QEMU's stream netdev framing). A listener accepts a new peer when the old one goes; a
/// connector connects again, so either VM may reboot.
/// </summary>
public sealed class SocketNetBackend : INetBackend
{
    private const int MaxFrame = 65536;

    private readonly string _path;
    private readonly Socket? _listener;
    private readonly Lock _sendLock = new();
    private Socket? _peer;
    private volatile bool _disposed;
    private Action<byte[]>? _received;

    public SocketNetBackend(string path)
    {
        _path = path;
        if (System.Text.Encoding.UTF8.GetByteCount(path) > 107) throw new IOException($"{path}: a Unix socket path has at most 107 bytes");
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(path));
            IsListener = false;
            Volatile.Write(ref _peer, socket);
            new Thread(() => ConnectLoop(socket)) { IsBackground = true, Name = "net reader " + path }.Start();
            return;
        }
        catch (SocketException)
        {
            socket.Dispose();
        }
        // Nobody listens: become the listener (a stale socket file from a dead VM is replaced).
        if (File.Exists(path))
        {
            if (!HostIo.UnixSocketPath.IsSocket(path)) throw new IOException($"{path} exists and is not a socket");
            File.Delete(path);
        }
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(path));
        _listener.Listen(1);
        IsListener = true;
        new Thread(AcceptLoop) { IsBackground = true, Name = "net accept " + path }.Start();
    }

    /// <summary>True when this end listens (created the socket file), false when it connected.</summary>
    public bool IsListener { get; }

    public bool Connected => Volatile.Read(ref _peer) is not null;

    public Action<byte[]>? Received
    {
        set => _received = value;
    }

    private void AcceptLoop()
    {
        while (!_disposed)
        {
            Socket peer;
            try
            {
                peer = _listener!.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }
            var reader = StartReader(peer);
            reader.Join();
        }
    }

    /// <summary>
    /// The connecting end: reads from its peer, and when the peer goes (its VM rebooted), connects
    /// again as soon as someone listens at the path.
    /// </summary>
    private void ConnectLoop(Socket socket)
    {
        while (!_disposed)
        {
            ReadLoop(socket);
            while (!_disposed)
            {
                Thread.Sleep(100);
                socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    socket.Connect(new UnixDomainSocketEndPoint(_path));
                    Volatile.Write(ref _peer, socket);
                    if (_disposed) socket.Dispose();
                    break;
                }
                catch (SocketException)
                {
                    socket.Dispose();
                }
            }
        }
    }

    private Thread StartReader(Socket peer)
    {
        Volatile.Write(ref _peer, peer);
        var thread = new Thread(() => ReadLoop(peer)) { IsBackground = true, Name = "net reader " + _path };
        thread.Start();
        return thread;
    }

    private void ReadLoop(Socket peer)
    {
        var length = new byte[4];
        try
        {
            while (!_disposed)
            {
                if (!ReadExactly(peer, length)) break;
                int n = BinaryPrimitives.ReadInt32BigEndian(length);
                if (n <= 0 || n > MaxFrame) break;
                var frame = new byte[n];
                if (!ReadExactly(peer, frame)) break;
                _received?.Invoke(frame);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        Interlocked.CompareExchange(ref _peer, null, peer);
        peer.Dispose();
    }

    private static bool ReadExactly(Socket socket, Span<byte> buffer)
    {
        while (buffer.Length > 0)
        {
            int n = socket.Receive(buffer);
            if (n == 0) return false;
            buffer = buffer[n..];
        }
        return true;
    }

    public void Send(ReadOnlySpan<byte> frame)
    {
        if (Volatile.Read(ref _peer) is not { } peer || frame.Length > MaxFrame) return;
        var message = new byte[4 + frame.Length];
        BinaryPrimitives.WriteInt32BigEndian(message, frame.Length);
        frame.CopyTo(message.AsSpan(4));
        lock (_sendLock)
        {
            try
            {
                peer.Send(message);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        }
    }

    public void Dispose()
    {
        _disposed = true;
        Volatile.Read(ref _peer)?.Dispose();
        if (_listener is not null)
        {
            _listener.Dispose();
            try { File.Delete(_path); } catch (IOException) { }
        }
    }
}
