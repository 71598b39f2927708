namespace Isomorph.Linux.FileSystem;

/// <summary>
/// A directory whose entries the VM makes up rather than the host's file system: /proc/PID/fd and
/// /proc/PID/task of the VM's own processes, whose descriptor numbers and thread ids are the VM's.
/// The guest's descriptor stands on a host directory (for fstat and fchdir) and getdents64 reads
/// these entries instead of the host's. The read position is shared by every descriptor that
/// shares the open file description (fork), as a directory's offset is.
/// </summary>
public sealed class DirectoryListing(IReadOnlyList<(string Name, byte Type)> entries)
{
    public const byte TypeDirectory = 4, TypeLink = 10;

    private readonly Lock _sync = new();
    private int _position;

    public IReadOnlyList<(string Name, byte Type)> Entries { get; } = entries;

    /// <summary>lseek: SEEK_SET to an entry index (rewinddir is a seek to 0); SEEK_CUR by 0 answers the position.</summary>
    public long Seek(long offset, int whence)
    {
        lock (_sync)
        {
            long target = whence switch { 0 => offset, 1 => _position + offset, _ => -1 };
            if (target < 0) return -Errno.EINVAL;
            _position = (int)Math.Min(target, Entries.Count);
            return _position;
        }
    }

    /// <summary>getdents64: as many struct linux_dirent64 records as fit from the current position; EINVAL when not even one does.</summary>
    public unsafe long Read(Span<byte> buffer)
    {
        lock (_sync)
        {
            int used = 0;
            while (_position < Entries.Count)
            {
                var (name, type) = Entries[_position];
                int nameBytes = System.Text.Encoding.UTF8.GetByteCount(name);
                int length = (19 + nameBytes + 1 + 7) & ~7; // d_ino, d_off, d_reclen, d_type, name, NUL, aligned to 8
                if (used + length > buffer.Length) break;
                var record = buffer.Slice(used, length);
                record.Clear();
                System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(record, (ulong)(_position + 1));
                System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(record[8..], _position + 1);
                System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(record[16..], (ushort)length);
                record[18] = type;
                System.Text.Encoding.UTF8.GetBytes(name, record[19..]);
                used += length;
                _position++;
            }
            return used == 0 && _position < Entries.Count ? -Errno.EINVAL : used;
        }
    }
}
