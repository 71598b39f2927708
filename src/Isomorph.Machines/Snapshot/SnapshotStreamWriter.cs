using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using Isomorph.Devices.State;

namespace Isomorph.Machines.Snapshot;

/// <summary>
/// Writes the snapshot format (<see cref="SnapshotFormat"/>) to any stream as it goes: the header
/// at once, sections as they come, the checksum at <see cref="Finish"/>. Nothing is held back but
/// the running hash, so a machine can be saved into a file, a pipe or a socket alike.
/// </summary>
public sealed class SnapshotStreamWriter
{
    private readonly Stream _stream;
    private readonly XxHash3 _hash = new();
    private readonly long _failAfter;
    private bool _finished;

    /// <summary>Starts a snapshot on <paramref name="stream"/> (the header is written now).</summary>
    public SnapshotStreamWriter(Stream stream) : this(stream, long.MaxValue)
    {
    }

    /// <summary>For tests: a writer whose writes fail once <paramref name="failAfter"/> bytes are written, as a full disk would.</summary>
    internal SnapshotStreamWriter(Stream stream, long failAfter)
    {
        _stream = stream;
        _failAfter = failAfter;
        Span<byte> header = stackalloc byte[SnapshotFormat.HeaderSize];
        SnapshotFormat.Magic.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], SnapshotFormat.Version);
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], 0);
        Write(header);
    }

    /// <summary>Bytes written so far.</summary>
    public long Position { get; private set; }

    private void Write(ReadOnlySpan<byte> bytes)
    {
        if (_finished) throw new InvalidOperationException("the snapshot is finished");
        if (Position + bytes.Length > _failAfter) throw new IOException("No space left on device (simulated)");
        _hash.Append(bytes);
        _stream.Write(bytes);
        Position += bytes.Length;
    }

    /// <summary>Starts a section of <paramref name="length"/> bytes; the caller then writes exactly that many with <see cref="WritePayload"/>.</summary>
    public void BeginSection(string name, long length)
    {
        var nameBytes = Encoding.ASCII.GetBytes(name);
        if (nameBytes.Length is 0 or > 255) throw new ArgumentException($"section name '{name}'", nameof(name));
        Span<byte> head = stackalloc byte[1 + 255 + 8];
        head[0] = (byte)nameBytes.Length;
        nameBytes.CopyTo(head[1..]);
        BinaryPrimitives.WriteInt64LittleEndian(head[(1 + nameBytes.Length)..], length);
        Write(head[..(1 + nameBytes.Length + 8)]);
    }

    public void WritePayload(ReadOnlySpan<byte> bytes) => Write(bytes);

    public void WriteSection(string name, ReadOnlySpan<byte> payload)
    {
        BeginSection(name, payload.Length);
        Write(payload);
    }

    /// <summary>Writes a component's state as the section <paramref name="name"/>.</summary>
    public void WriteSection(string name, ISnapshotState component, SnapshotWriter scratch)
    {
        scratch.Clear();
        component.Save(scratch);
        WriteSection(name, scratch.Written);
    }

    /// <summary>Appends the checksum of everything written; the snapshot is then whole. Returns its length in bytes.</summary>
    public long Finish()
    {
        Span<byte> sum = stackalloc byte[SnapshotFormat.ChecksumSize];
        BinaryPrimitives.WriteUInt64LittleEndian(sum, _hash.GetCurrentHashAsUInt64());
        if (Position + sum.Length > _failAfter) throw new IOException("No space left on device (simulated)");
        _stream.Write(sum);
        Position += sum.Length;
        _finished = true;
        return Position;
    }
}
