using System.Runtime.InteropServices;

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
    private bool _committed;

    public SnapshotFileWriter(string path) : this(path, long.MaxValue)
    {
    }

    /// <summary>For tests: a writer whose writes fail once <paramref name="failAfter"/> bytes are written.</summary>
    internal SnapshotFileWriter(string path, long failAfter)
    {
        _path = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(_path) ?? ".";
        _temp = Path.Combine(directory, $".{Path.GetFileName(_path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        _file = new FileStream(_temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16);
        try
        {
            Snapshot = new SnapshotStreamWriter(_file, failAfter);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The snapshot being written into the temporary file.</summary>
    public SnapshotStreamWriter Snapshot { get; }

    /// <summary>Finishes the snapshot (its checksum), makes the file durable and puts it at the target path. Returns the file's length.</summary>
    public long Commit()
    {
        long length = Snapshot.Finish();
        _file.Flush(flushToDisk: true);
        _file.Dispose();
        File.Move(_temp, _path, overwrite: true);
        _committed = true;
        SyncDirectory(Path.GetDirectoryName(_path) ?? ".");
        return length;
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
