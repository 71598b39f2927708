using Isomorph.Devices.HostIo;
using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using Isomorph.Devices.State;

namespace Isomorph.Machines.Snapshot;

/// <summary>
/// Reads a snapshot file: <see cref="Open"/> checks the magic, the format version and the checksum
/// over the whole file before anything is read; sections then come in the order the writer wrote
/// them, each checked against the name the reader expects and capped in size.
/// </summary>
public sealed class SnapshotFileReader : IDisposable
{
    private readonly FileStream _file;
    private readonly long _end; // where the checksum starts

    private SnapshotFileReader(FileStream file, long end)
    {
        _file = file;
        _end = end;
    }

    /// <summary>Opens and verifies a snapshot; throws <see cref="SnapshotException"/> (without the path) when it is unusable.</summary>
    public static SnapshotFileReader Open(string path)
    {
        var kind = HostFile.Kind(path);
        if (kind is not (HostFileKind.Regular or HostFileKind.Missing)) throw new SnapshotException($"{HostFile.Describe(kind)}, not a snapshot");
        var info = new FileInfo(path);
        if (!info.Exists) throw new SnapshotException("no such snapshot file");
        // Too short to hold the magic: refused before it is opened, so a FIFO (length 0) cannot hang the reader.
        if (info.Length < SnapshotFormat.Magic.Length) throw new SnapshotException("not an Isomorph snapshot (bad magic)");
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SnapshotException(e is FileNotFoundException or DirectoryNotFoundException ? "no such snapshot file" : $"cannot open the snapshot: {e.Message}");
        }
        try
        {
            var reader = Verify(file);
            return reader;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static SnapshotFileReader Verify(FileStream file)
    {
        long length = file.Length;
        Span<byte> header = stackalloc byte[SnapshotFormat.HeaderSize];
        if (length < SnapshotFormat.Magic.Length || file.ReadAtLeast(header[..SnapshotFormat.Magic.Length], SnapshotFormat.Magic.Length, false) < SnapshotFormat.Magic.Length
            || !header[..SnapshotFormat.Magic.Length].SequenceEqual(SnapshotFormat.Magic))
            throw new SnapshotException("not an Isomorph snapshot (bad magic)");
        if (length < SnapshotFormat.HeaderSize + SnapshotFormat.ChecksumSize)
            throw new SnapshotException($"truncated snapshot ({length} bytes)");
        file.ReadExactly(header[SnapshotFormat.Magic.Length..]);
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
        if (version != SnapshotFormat.Version)
            throw new SnapshotException($"snapshot format version {version}; this isomorph reads version {SnapshotFormat.Version}");

        long end = length - SnapshotFormat.ChecksumSize;
        var hash = new XxHash3();
        hash.Append(header);
        var buffer = new byte[1 << 20];
        for (long at = SnapshotFormat.HeaderSize; at < end;)
        {
            int n = file.Read(buffer, 0, (int)Math.Min(buffer.Length, end - at));
            if (n <= 0) throw new SnapshotException("the snapshot file shrank while being read");
            hash.Append(buffer.AsSpan(0, n));
            at += n;
        }
        Span<byte> sum = stackalloc byte[SnapshotFormat.ChecksumSize];
        file.ReadExactly(sum);
        if (BinaryPrimitives.ReadUInt64LittleEndian(sum) != hash.GetCurrentHashAsUInt64())
            throw new SnapshotException("the snapshot is damaged or truncated (checksum mismatch)");
        if (BinaryPrimitives.ReadUInt32LittleEndian(header[12..]) != 0)
            throw new SnapshotException("the snapshot uses features this isomorph does not know (flags)");
        file.Position = SnapshotFormat.HeaderSize;
        return new SnapshotFileReader(file, end);
    }

    /// <summary>Reads the next section's name and length, which must be <paramref name="expected"/>.</summary>
    public long BeginSection(string expected, long maxLength)
    {
        int nameLength = _file.ReadByte();
        if (nameLength <= 0 || _file.Position + nameLength + 8 > _end)
            throw new SnapshotException($"section '{expected}' is missing");
        Span<byte> buffer = stackalloc byte[255 + 8];
        _file.ReadExactly(buffer[..(nameLength + 8)]);
        string name = Encoding.ASCII.GetString(buffer[..nameLength]);
        long length = BinaryPrimitives.ReadInt64LittleEndian(buffer[nameLength..]);
        if (name != expected)
            throw new SnapshotException($"expected section '{expected}', found '{Printable(buffer[..nameLength])}': the snapshot's machine differs from its configuration");
        if (length < 0 || length > maxLength || length > _end - _file.Position)
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
    public void ReadPayload(Span<byte> into) => _file.ReadExactly(into);

    /// <summary>The next section, whole, for a component to read.</summary>
    public SnapshotReader ReadSection(string expected)
    {
        long length = BeginSection(expected, SnapshotFormat.MaxComponentSection);
        var data = new byte[length];
        _file.ReadExactly(data);
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
    public bool AtEnd => _file.Position == _end;

    /// <summary>Checks that only the checksum follows.</summary>
    public void ExpectEnd()
    {
        if (_file.Position != _end) throw new SnapshotException($"{_end - _file.Position} unexpected bytes after the last section");
    }

    public void Dispose() => _file.Dispose();
}
