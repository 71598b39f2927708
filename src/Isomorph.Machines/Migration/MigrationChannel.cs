using System.Buffers.Binary;
using System.IO.Hashing;

namespace Isomorph.Machines.Migration;

/// <summary>The messages of a migration stream (docs/migration.md).</summary>
public enum MigrationMessage : byte
{
    /// <summary>Source to destination, first: the protocol's magic and version, the board and the VM's identity.</summary>
    Hello = 1,
    /// <summary>Source to destination: the machine's configuration (<see cref="IMachine.SaveConfiguration"/>).</summary>
    Configuration = 2,
    /// <summary>Destination to source: the machine is built, RAM may come.</summary>
    Accepted = 3,
    /// <summary>Source to destination: a batch of RAM pages (<see cref="PageBatch"/>).</summary>
    Pages = 4,
    /// <summary>Source to destination, with the source paused: the harts' and devices' state (<see cref="IMachine.SaveState"/>).</summary>
    State = 5,
    /// <summary>Destination to source: the whole VM is here and checked; it runs only on the source's word.</summary>
    Ready = 6,
    /// <summary>Source to destination: the commit point. From here the destination owns the VM; the source never runs it again.</summary>
    Go = 7,
    /// <summary>Destination to source: the VM runs here; the payload (u64) is the nanoseconds from Go to the VM released to run.</summary>
    Running = 8,
    /// <summary>Either side: the migration is abandoned, with a line saying why.</summary>
    Abort = 9,
    /// <summary>Source to destination, before the stop: answer once everything sent so far is in place.</summary>
    Sync = 10,
    /// <summary>Destination to source: everything before the Sync is in place.</summary>
    Synced = 11,
}

/// <summary>A migration stream is broken: the link, a checksum, a message out of order, a timeout, or the other side's abort.</summary>
public sealed class MigrationException(string message) : Exception(message);

/// <summary>
/// One migration stream over a connection: messages framed as type (u8), payload length (u32),
/// payload, and an XxHash3 of the three (u64), so that a damaged or cut stream is an error, never
/// a wrong page. Reads and writes time out (<see cref="Timeout"/>); a message longer than
/// <see cref="MaxPayload"/> is refused before it is read.
/// </summary>
public sealed class MigrationChannel(Stream stream) : IDisposable
{
    public const int MaxPayload = 64 << 20;
    private const int HeadSize = 5, SumSize = 8;
    private byte[] _buffer = new byte[1 << 16];

    /// <summary>Bytes written so far, framing included.</summary>
    public long BytesSent { get; private set; }

    /// <summary>Bytes read so far, framing included.</summary>
    public long BytesReceived { get; private set; }

    /// <summary>Sends one message.</summary>
    public void Send(MigrationMessage type, ReadOnlySpan<byte> payload)
    {
        if (payload.Length > MaxPayload) throw new ArgumentException($"a {payload.Length}-byte message", nameof(payload));
        Span<byte> head = stackalloc byte[HeadSize];
        head[0] = (byte)type;
        BinaryPrimitives.WriteInt32LittleEndian(head[1..], payload.Length);
        var hash = new XxHash3();
        hash.Append(head);
        hash.Append(payload);
        Span<byte> sum = stackalloc byte[SumSize];
        BinaryPrimitives.WriteUInt64LittleEndian(sum, hash.GetCurrentHashAsUInt64());
        try
        {
            stream.Write(head);
            stream.Write(payload);
            stream.Write(sum);
            stream.Flush();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or System.Net.Sockets.SocketException)
        {
            throw new MigrationException($"the link broke while sending ({Describe(e)})");
        }
        BytesSent += HeadSize + payload.Length + SumSize;
    }

    /// <summary>
    /// Receives the next message; its payload is valid until the next call. An <see cref="MigrationMessage.Abort"/>
    /// from the other side is thrown as a <see cref="MigrationException"/> with its reason.
    /// </summary>
    public (MigrationMessage Type, ReadOnlyMemory<byte> Payload) Receive()
    {
        Span<byte> head = stackalloc byte[HeadSize];
        Span<byte> sum = stackalloc byte[SumSize];
        Fill(head);
        var type = (MigrationMessage)head[0];
        int length = BinaryPrimitives.ReadInt32LittleEndian(head[1..]);
        if (length < 0 || length > MaxPayload) throw new MigrationException($"a message of {length} bytes: the stream is damaged or not a migration");
        if (_buffer.Length < length) _buffer = new byte[Math.Max(length, _buffer.Length * 2)];
        Fill(_buffer.AsSpan(0, length));
        Fill(sum);
        var hash = new XxHash3();
        hash.Append(head);
        hash.Append(_buffer.AsSpan(0, length));
        if (BinaryPrimitives.ReadUInt64LittleEndian(sum) != hash.GetCurrentHashAsUInt64())
            throw new MigrationException("a message's checksum does not match: the stream is damaged");
        BytesReceived += HeadSize + length + SumSize;
        if (type == MigrationMessage.Abort)
            throw new MigrationException($"the other side gave up: {System.Text.Encoding.UTF8.GetString(_buffer, 0, length)}");
        return (type, _buffer.AsMemory(0, length));
    }

    /// <summary>Receives the next message, which must be <paramref name="expected"/>.</summary>
    public ReadOnlyMemory<byte> Expect(MigrationMessage expected)
    {
        var (type, payload) = Receive();
        if (type != expected) throw new MigrationException($"expected {expected}, received {Name(type)}");
        return payload;
    }

    /// <summary>Tells the other side the migration is abandoned (best effort: the link may be what failed).</summary>
    public void TryAbort(string reason)
    {
        try
        {
            Send(MigrationMessage.Abort, System.Text.Encoding.UTF8.GetBytes(reason.Length > 1000 ? reason[..1000] : reason));
        }
        catch (MigrationException)
        {
        }
    }

    private void Fill(Span<byte> into)
    {
        try
        {
            int at = 0;
            while (at < into.Length)
            {
                int n = stream.Read(into[at..]);
                if (n == 0) throw new MigrationException("the other side closed the link");
                at += n;
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or System.Net.Sockets.SocketException)
        {
            throw new MigrationException($"the link broke while receiving ({Describe(e)})");
        }
    }

    private static string Name(MigrationMessage type) => Enum.IsDefined(type) ? type.ToString() : $"message type {(byte)type}";

    private static string Describe(Exception e) =>
        (e.InnerException as System.Net.Sockets.SocketException)?.SocketErrorCode == System.Net.Sockets.SocketError.TimedOut || e is IOException { InnerException: System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.TimedOut } }
            ? "no answer in time"
            : (e.InnerException ?? e).Message;

    public void Dispose() => stream.Dispose();
}
