using Isomorph.Devices.HostIo;
using System.Net.Sockets;

namespace Isomorph.Cli.Serial;

/// <summary>
/// --serial unix:PATH: isomorph listens on a Unix stream socket at PATH, as QEMU's
/// <c>-serial unix:PATH,server,nowait</c> does. One client at a time gets the console both ways;
/// when it leaves, the next one to connect gets it. Output while no client is connected (or while
/// the client reads slower than the guest writes) is kept in a ring of the last
/// <see cref="BacklogBytes"/> bytes, handed to the next client; older output is dropped. The guest
/// never waits for a client: the UART's output goes to the ring and a sender thread drains it.
/// The socket file is removed on dispose.
/// </summary>
public sealed class UnixSerialServer : SerialBackend
{
    /// <summary>How much output is kept for a client that has not connected yet or reads slowly.</summary>
    public const int BacklogBytes = 64 << 10;

    private readonly string _path;
    private readonly Socket _listener;
    private readonly RingOutput _output;
    private readonly AutoResetEvent _pending = new(false);
    private Socket? _client;
    private MachineSession? _session;
    private volatile bool _disposed;

    private UnixSerialServer(string path, Socket listener)
    {
        _path = path;
        _listener = listener;
        _output = new RingOutput(BacklogBytes, () => _pending.Set());
        new Thread(SendLoop) { IsBackground = true, Name = "serial sender" }.Start();
    }

    public static UnixSerialServer? Listen(string path, out string? error) =>
        UnixSocketPath.Listen(path, "serial socket", out error) is { } listener ? new UnixSerialServer(path, listener) : null;

    public override Stream Output => _output;

    public override void Attach(MachineSession session)
    {
        _session = session;
        new Thread(AcceptLoop) { IsBackground = true, Name = "serial accept" }.Start();
    }

    private void AcceptLoop()
    {
        var buffer = new byte[512];
        while (!_disposed)
        {
            Socket client;
            try
            {
                client = _listener.Accept();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }
            Volatile.Write(ref _client, client);
            _pending.Set(); // hand it the backlog
            try
            {
                while (true)
                {
                    int n = client.Receive(buffer);
                    if (n <= 0) break;
                    _session!.SendConsoleInput(buffer.AsSpan(0, n));
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
            Interlocked.CompareExchange(ref _client, null, client);
            client.Dispose();
        }
    }

    private void SendLoop()
    {
        var chunk = new byte[BacklogBytes];
        while (!_disposed)
        {
            _pending.WaitOne();
            while (Volatile.Read(ref _client) is { } client)
            {
                int n = _output.Take(chunk);
                if (n == 0) break;
                try
                {
                    client.Send(chunk.AsSpan(0, n));
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                    break; // the client left; the accept loop notices
                }
            }
        }
    }

    public override void Dispose()
    {
        if (_disposed) return;
        // The guest's last words (e.g. "reboot: Power down") still reach a connected client.
        _pending.Set();
        for (int i = 0; i < 100 && _output.Buffered > 0 && Volatile.Read(ref _client) is not null; i++) Thread.Sleep(10);
        _disposed = true;
        _listener.Dispose();
        Volatile.Read(ref _client)?.Dispose();
        _pending.Set();
        UnixSocketPath.Remove(_path);
        base.Dispose();
    }

    /// <summary>
    /// The UART's side: bytes go into a ring of fixed size (the oldest dropped when full); a flush
    /// wakes the sender. Writes never block and never allocate.
    /// </summary>
    private sealed class RingOutput(int capacity, Action flushed) : Stream
    {
        private readonly byte[] _ring = new byte[capacity];
        private int _start, _count;
        private readonly Lock _gate = new();

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            lock (_gate)
            {
                if (buffer.Length >= _ring.Length)
                {
                    buffer[^_ring.Length..].CopyTo(_ring);
                    (_start, _count) = (0, _ring.Length);
                    return;
                }
                foreach (byte b in buffer) Put(b);
            }
        }

        public override void WriteByte(byte value)
        {
            lock (_gate) Put(value);
        }

        private void Put(byte b)
        {
            int end = _start + _count;
            if (end >= _ring.Length) end -= _ring.Length;
            _ring[end] = b;
            if (_count < _ring.Length) _count++;
            else if (++_start == _ring.Length) _start = 0; // full: the oldest byte goes
        }

        public int Buffered
        {
            get { lock (_gate) return _count; }
        }

        /// <summary>Moves what is buffered into <paramref name="into"/>; the number of bytes.</summary>
        public int Take(byte[] into)
        {
            lock (_gate)
            {
                int n = Math.Min(_count, into.Length);
                int first = Math.Min(n, _ring.Length - _start);
                _ring.AsSpan(_start, first).CopyTo(into);
                _ring.AsSpan(0, n - first).CopyTo(into.AsSpan(first));
                _start = (_start + n) % _ring.Length;
                _count -= n;
                return n;
            }
        }

        public override void Flush() => flushed();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
