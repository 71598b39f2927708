using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace Isomorph.Devices.Virtio;

/// <summary>
/// virtio-blk over a raw image file: read, write, flush (fsync to the host disk) and get-id. A
/// read-only disk offers VIRTIO_BLK_F_RO and fails writes. Requests are served synchronously.
/// </summary>
public sealed partial class VirtioBlock : IVirtioDevice
{
    public const int SectorSize = 512;
    public const ulong FeatureSegMax = 1ul << 2, FeatureReadOnly = 1ul << 5, FeatureFlush = 1ul << 9;
    public const uint RequestIn = 0, RequestOut = 1, RequestFlush = 4, RequestGetId = 8;
    public const byte StatusOk = 0, StatusIoError = 1, StatusUnsupported = 2;
    private const int HeaderSize = 16, IdSize = 20;
    private const ushort MaxQueueSize = 256;

    private readonly FileStream _file;
    private readonly byte[] _config = new byte[16];
    private readonly byte[] _id;
    private IVirtioQueues? _queues;

    public VirtioBlock(FileStream file, bool readOnly, string id)
    {
        _file = file;
        ReadOnly = readOnly;
        Capacity = (ulong)file.Length / SectorSize;
        _id = Encoding.ASCII.GetBytes(id.Length > IdSize ? id[..IdSize] : id);
        BinaryPrimitives.WriteUInt64LittleEndian(_config, Capacity);
        BinaryPrimitives.WriteUInt32LittleEndian(_config.AsSpan(12), MaxQueueSize - 2u); // seg_max
    }

    /// <summary>
    /// Opens a raw image as a disk, locked (<see cref="Lock"/>) unless <paramref name="locked"/> is
    /// false: a migration's destination opens the image while the source still holds it, and locks
    /// it once the VM is its own. Throws <see cref="IOException"/> when the image cannot be opened or locked.
    /// </summary>
    public static VirtioBlock Open(string path, bool readOnly, bool locked = true)
    {
        // Opened through open(2), not FileStream's path constructor, which takes flock itself and cannot leave the image unlocked.
        int fd = Libc.open(path, (readOnly ? Libc.O_RDONLY : Libc.O_RDWR) | Libc.O_CLOEXEC);
        if (fd < 0) throw new IOException(new System.ComponentModel.Win32Exception(Marshal.GetLastPInvokeError()).Message);
        var handle = new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true);
        var block = new VirtioBlock(new FileStream(handle, readOnly ? FileAccess.Read : FileAccess.ReadWrite, bufferSize: 0), readOnly, Path.GetFileName(path));
        if (locked && !block.Lock(out string? error))
        {
            block.Dispose();
            throw new IOException(error);
        }
        return block;
    }

    /// <summary>True while this process holds the image's lock.</summary>
    public bool Locked { get; private set; }

    /// <summary>
    /// Takes the image's lock (flock: exclusive when writable, shared when read-only), so that no other
    /// VM writes it meanwhile, and drops any cached pages of it (another host may have written it last).
    /// False, with one line in <paramref name="error"/>, when another process holds it.
    /// </summary>
    public bool Lock(out string? error)
    {
        error = null;
        if (Locked) return true;
        if (Libc.flock(_file.SafeFileHandle, (ReadOnly ? Libc.LOCK_SH : Libc.LOCK_EX) | Libc.LOCK_NB) != 0)
        {
            error = ReadOnly ? "the disk image is being written by another VM" : "the disk image is in use by another VM";
            return false;
        }
        Libc.posix_fadvise(_file.SafeFileHandle, 0, 0, Libc.POSIX_FADV_DONTNEED);
        Locked = true;
        return true;
    }

    /// <summary>Makes the image durable (fsync) and gives its lock up, for another host to take (a migration's stop).</summary>
    public void Unlock()
    {
        if (!Locked) return;
        if (!ReadOnly) _file.Flush(flushToDisk: true);
        Libc.flock(_file.SafeFileHandle, Libc.LOCK_UN);
        Locked = false;
    }

    private static partial class Libc
    {
        public const int O_RDONLY = 0, O_RDWR = 2, O_CLOEXEC = 0x80000;
        public const int LOCK_SH = 1, LOCK_EX = 2, LOCK_NB = 4, LOCK_UN = 8, POSIX_FADV_DONTNEED = 4;

        [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
        public static partial int open(string path, int flags);

        [LibraryImport("libc", SetLastError = true)]
        public static partial int flock(SafeHandle fd, int operation);

        [LibraryImport("libc")]
        public static partial int posix_fadvise(SafeHandle fd, long offset, long length, int advice);
    }

    public bool ReadOnly { get; }
    /// <summary>The size in 512-byte sectors (a partial last sector is not visible).</summary>
    public ulong Capacity { get; }

    public string Name => "virtio-blk";
    public VirtioDeviceId DeviceId => VirtioDeviceId.Block;
    public ulong Features => FeatureSegMax | FeatureFlush | (ReadOnly ? FeatureReadOnly : 0);
    public int QueueCount => 1;
    public ushort QueueSize => MaxQueueSize;

    public void ReadConfig(int offset, Span<byte> data) => VirtioConfig.Read(_config, offset, data);
    public void WriteConfig(int offset, ReadOnlySpan<byte> data) { }
    public void Activate(IVirtioQueues queues) => _queues = queues;
    public void Poll() { }
    public void Reset() => _queues = null;

    public void Notify(int queue)
    {
        if (_queues is not { } qs) return;
        qs.ServeAll(0, chain => Serve(qs.Memory, chain));
    }

    /// <summary>Serves one request; returns the bytes written into its buffers (data and status).</summary>
    private uint Serve(IGuestMemory memory, DescriptorChain chain)
    {
        if (chain.WritableLength < 1 || chain.ReadableLength < HeaderSize) throw new VirtioException("a block request without header or status");
        Span<byte> header = stackalloc byte[HeaderSize];
        chain.Read(memory, 0, header);
        uint type = BinaryPrimitives.ReadUInt32LittleEndian(header);
        ulong sector = BinaryPrimitives.ReadUInt64LittleEndian(header[8..]);
        long statusAt = chain.WritableLength - 1;
        uint written = 0;
        byte status;
        try
        {
            switch (type)
            {
                case RequestIn:
                    status = Transfer(memory, chain, sector, statusAt, write: false);
                    if (status == StatusOk) written = (uint)statusAt;
                    break;
                case RequestOut:
                    status = ReadOnly ? StatusIoError : Transfer(memory, chain, sector, chain.ReadableLength - HeaderSize, write: true);
                    break;
                case RequestFlush:
                    if (!ReadOnly) _file.Flush(flushToDisk: true);
                    status = StatusOk;
                    break;
                case RequestGetId:
                    var id = new byte[Math.Min(IdSize, statusAt)];
                    _id.AsSpan(0, Math.Min(_id.Length, id.Length)).CopyTo(id);
                    written = (uint)chain.Write(memory, 0, id);
                    status = StatusOk;
                    break;
                default:
                    status = StatusUnsupported;
                    break;
            }
        }
        catch (IOException)
        {
            status = StatusIoError;
        }
        chain.Write(memory, statusAt, [status]);
        return written + 1;
    }

    private byte Transfer(IGuestMemory memory, DescriptorChain chain, ulong sector, long length, bool write)
    {
        if (length % SectorSize != 0 || sector > Capacity || (ulong)(length / SectorSize) > Capacity - sector) return StatusIoError;
        long position = (long)sector * SectorSize;
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(length, 1 << 20));
        try
        {
            for (long done = 0; done < length;)
            {
                int n = (int)Math.Min(length - done, buffer.Length);
                var span = buffer.AsSpan(0, n);
                if (write)
                {
                    chain.Read(memory, HeaderSize + done, span);
                    RandomAccess.Write(_file.SafeFileHandle, span, position + done);
                }
                else
                {
                    int got = RandomAccess.Read(_file.SafeFileHandle, span, position + done);
                    span[got..].Clear();
                    chain.Write(memory, done, span);
                }
                done += n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return StatusOk;
    }

    public void Dispose() => _file.Dispose();
}
