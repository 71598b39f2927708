using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using Isomorph.Devices.State;

namespace Isomorph.Machines.Snapshot;

/// <summary>
/// Reads the snapshot format from any stream whose length is known (a file, or a message of a
/// migration stream that carries its length): the header at once, then sections in the order the
/// writer wrote them, each checked against the name the reader expects and capped in size, hashing
/// as it goes. <see cref="Finish"/> checks the checksum: whatever was built from a snapshot read
/// from a stream is used only after it.
/// </summary>
public sealed class SnapshotStreamReader : IDisposable
{
    private readonly Stream _stream;
    private readonly bool _ownsStream;
    private readonly XxHash3 _hash = new();
    private readonly long _end; // where the checksum starts, counted from the header's first byte
    private long _position;

    /// <summary>Starts reading a snapshot of <paramref name="length"/> bytes (checksum included) from <paramref name="stream"/>.</summary>
    public SnapshotStreamReader(Stream stream, long length, bool ownsStream = false)
    {
        _stream = stream;
        _ownsStream = ownsStream;
        if (length < SnapshotFormat.HeaderSize + SnapshotFormat.ChecksumSize)
            throw new SnapshotException($"truncated snapshot ({length} bytes)");
        _end = length - SnapshotFormat.ChecksumSize;
        Span<byte> header = stackalloc byte[SnapshotFormat.HeaderSize];
        Read(header);
        CheckHeader(header);
    }

    /// <summary>Checks a snapshot's header: the magic, the format version, no unknown flags.</summary>
    internal static void CheckHeader(ReadOnlySpan<byte> header)
    {
        if (!header[..SnapshotFormat.Magic.Length].SequenceEqual(SnapshotFormat.Magic))
            throw new SnapshotException("not an Isomorph snapshot (bad magic)");
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
        if (version != SnapshotFormat.Version)
            throw new SnapshotException($"snapshot format version {version}; this isomorph reads version {SnapshotFormat.Version}");
        if (BinaryPrimitives.ReadUInt32LittleEndian(header[12..]) != 0)
            throw new SnapshotException("the snapshot uses features this isomorph does not know (flags)");
    }

    private void Read(Span<byte> into)
    {
        if (into.Length > _end - _position) throw new SnapshotException("the snapshot ends in the middle of a section");
        try
        {
            _stream.ReadExactly(into);
        }
        catch (EndOfStreamException)
        {
            throw new SnapshotException("the snapshot ends in the middle of a section");
        }
        _hash.Append(into);
        _position += into.Length;
    }

    /// <summary>Reads the next section's name and length, which must be <paramref name="expected"/>.</summary>
    public long BeginSection(string expected, long maxLength)
    {
        if (_end - _position < 1 + 1 + 8) throw new SnapshotException($"section '{expected}' is missing");
        Span<byte> buffer = stackalloc byte[1 + 255 + 8];
        Read(buffer[..1]);
        int nameLength = buffer[0];
        if (nameLength == 0 || _position + nameLength + 8 > _end)
            throw new SnapshotException($"section '{expected}' is missing");
        Read(buffer[..(nameLength + 8)]);
        string name = Encoding.ASCII.GetString(buffer[..nameLength]);
        long length = BinaryPrimitives.ReadInt64LittleEndian(buffer[nameLength..]);
        if (name != expected)
            throw new SnapshotException($"expected section '{expected}', found '{Printable(buffer[..nameLength])}': the snapshot's machine differs from its configuration");
        if (length < 0 || length > maxLength || length > _end - _position)
            throw new SnapshotException($"section '{expected}': {length} bytes is too large");
        return length;
    }

    /// <summary>A section name for a one-line message: bytes outside printable ASCII as \xNN.</summary>
    private static string Printable(ReadOnlySpan<byte> name)
    {
        var text = new StringBuilder(name.Length);
        foreach (byte b in name)
            if (b is >= 0x20 and < 0x7F and not (byte)'\\') text.Append((char)b);
            else text.Append($"\\x{b:x2}");
        return text.ToString();
    }

    /// <summary>Reads exactly <paramref name="into"/>.Length payload bytes.</summary>
    public void ReadPayload(Span<byte> into) => Read(into);

    /// <summary>The next section, whole, for a component to read.</summary>
    public SnapshotReader ReadSection(string expected)
    {
        long length = BeginSection(expected, SnapshotFormat.MaxComponentSection);
        var data = new byte[length];
        Read(data);
        return new SnapshotReader(expected, data);
    }

    /// <summary>Restores a component from the next section, which it must read whole.</summary>
    public void Restore(string name, ISnapshotState component)
    {
        var reader = ReadSection(name);
        component.Restore(reader);
        reader.ExpectEnd();
    }

    /// <summary>True when only the checksum follows.</summary>
    public bool AtEnd => _position == _end;

    /// <summary>Checks that only the checksum follows, and the checksum: the snapshot read is the one written.</summary>
    public void Finish()
    {
        if (_position != _end) throw new SnapshotException($"{_end - _position} unexpected bytes after the last section");
        Span<byte> sum = stackalloc byte[SnapshotFormat.ChecksumSize];
        try
        {
            _stream.ReadExactly(sum);
        }
        catch (EndOfStreamException)
        {
            throw new SnapshotException("the snapshot ends before its checksum");
        }
        if (BinaryPrimitives.ReadUInt64LittleEndian(sum) != _hash.GetCurrentHashAsUInt64())
            throw new SnapshotException("the snapshot is damaged or truncated (checksum mismatch)");
    }

    public void Dispose()
    {
        if (_ownsStream) _stream.Dispose();
    }
}
