using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;
using Isomorph.Devices.State;

namespace Isomorph.Machines.Snapshot;

/// <summary>
/// Writes a snapshot file atomically: into a temporary file in the target's directory, which is
/// fsync'd and then renamed over the target (and the directory fsync'd), so a crash or an error at
/// any point leaves an existing file at the target untouched. Dispose without <see cref="Commit"/>
/// removes the temporary file.
/// </summary>
public sealed class SnapshotFileWriter : IDisposable
{
    private readonly string _path, _temp;
    private readonly FileStream _file;
    private readonly XxHash3 _hash = new();
    private bool _committed;

    public SnapshotFileWriter(string path) : this(path, long.MaxValue)
    {
    }

    /// <summary>For tests: a writer whose writes fail once <paramref name="failAfter"/> bytes are written.</summary>
    internal SnapshotFileWriter(string path, long failAfter)
    {
        FailAfter = failAfter;
        _path = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(_path) ?? ".";
        _temp = Path.Combine(directory, $".{Path.GetFileName(_path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        _file = new FileStream(_temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16);
        Span<byte> header = stackalloc byte[SnapshotFormat.HeaderSize];
        SnapshotFormat.Magic.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], SnapshotFormat.Version);
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], 0);
        try
        {
            Write(header);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Bytes written so far.</summary>
    public long Position => _file.Position;

    /// <summary>An I/O error once this many bytes are written, as a full disk would give (tests).</summary>
    private long FailAfter { get; }

    private void Write(ReadOnlySpan<byte> bytes)
    {
        if (_file.Position + bytes.Length > FailAfter) throw new IOException("No space left on device (simulated)");
        _hash.Append(bytes);
        _file.Write(bytes);
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

    /// <summary>Appends the checksum, makes the file durable and puts it at the target path.</summary>
    public void Commit()
    {
        Span<byte> sum = stackalloc byte[SnapshotFormat.ChecksumSize];
        BinaryPrimitives.WriteUInt64LittleEndian(sum, _hash.GetCurrentHashAsUInt64());
        _file.Write(sum);
        _file.Flush(flushToDisk: true);
        _file.Dispose();
        File.Move(_temp, _path, overwrite: true);
        _committed = true;
        SyncDirectory(Path.GetDirectoryName(_path) ?? ".");
    }

    public void Dispose()
    {
        _file.Dispose();
        if (!_committed)
        {
            try
            {
                File.Delete(_temp);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
    }

    /// <summary>fsync on the directory, so that the rename itself survives a crash (best effort).</summary>
    private static void SyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux()) return;
        int fd = open(directory, 0 /* O_RDONLY */);
        if (fd < 0) return;
        fsync(fd);
        close(fd);
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc")]
    private static extern int fsync(int fd);

    [DllImport("libc")]
    private static extern int close(int fd);
}
