using Isomorph.Devices.HostIo;
using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using Isomorph.Devices.State;

namespace Isomorph.Machines.Snapshot;

/// <summary>
/// Opens a snapshot file: <see cref="Open"/> checks the magic, the format version and the checksum
/// over the whole file before anything is read, so that a damaged file never half-restores; the
/// sections are then read as from any stream (<see cref="SnapshotStreamReader"/>).
/// </summary>
public static class SnapshotFileReader
{
    /// <summary>Opens and verifies a snapshot; throws <see cref="SnapshotException"/> (without the path) when it is unusable.</summary>
    public static SnapshotStreamReader Open(string path)
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
            Verify(file);
            file.Position = 0;
            return new SnapshotStreamReader(file, file.Length, ownsStream: true);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static void Verify(FileStream file)
    {
        long length = file.Length;
        Span<byte> header = stackalloc byte[SnapshotFormat.HeaderSize];
        if (length < SnapshotFormat.Magic.Length || file.ReadAtLeast(header[..SnapshotFormat.Magic.Length], SnapshotFormat.Magic.Length, false) < SnapshotFormat.Magic.Length
            || !header[..SnapshotFormat.Magic.Length].SequenceEqual(SnapshotFormat.Magic))
            throw new SnapshotException("not an Isomorph snapshot (bad magic)");
        if (length < SnapshotFormat.HeaderSize + SnapshotFormat.ChecksumSize)
            throw new SnapshotException($"truncated snapshot ({length} bytes)");
        file.ReadExactly(header[SnapshotFormat.Magic.Length..]);
        SnapshotStreamReader.CheckHeader(header);

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
    }
}
