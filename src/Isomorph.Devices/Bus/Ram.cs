using System.Runtime.InteropServices;

namespace Isomorph.Devices.Bus;

/// <summary>
/// Guest RAM: one contiguous, zero-filled host mapping. Untouched pages cost the host nothing: the
/// mapping is anonymous and reserves no swap (MAP_NORESERVE), so a guest may be given more memory
/// than the host has, and only the pages it touches are backed.
/// </summary>
public sealed unsafe partial class Ram : IDisposable
{
    public const int PageShift = 12;
    public const ulong PageSize = 1ul << PageShift;

    public ulong Base { get; }
    public ulong Size { get; }
    public byte* Host { get; private set; }

    public Ram(ulong @base, ulong size)
    {
        if (size == 0 || (size & (PageSize - 1)) != 0)
            throw new ArgumentException($"RAM size must be a non-zero multiple of {PageSize} bytes", nameof(size));
        Base = @base;
        Size = size;
        void* p = Mmap(null, (nuint)size, ProtRead | ProtWrite, MapPrivate | MapAnonymous | MapNoReserve, -1, 0);
        if (p == MapFailed)
            throw new InsufficientMemoryException($"cannot reserve {size >> 20} MiB of guest RAM on this host (errno {Marshal.GetLastPInvokeError()})");
        Host = (byte*)p;
    }

    private const int ProtRead = 1, ProtWrite = 2, MapPrivate = 0x02, MapAnonymous = 0x20, MapNoReserve = 0x4000;
    private static readonly void* MapFailed = (void*)-1;

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial void* Mmap(void* addr, nuint length, int prot, int flags, int fd, nint offset);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    private static partial int Munmap(void* addr, nuint length);

    /// <summary>
    /// RAM over host memory that someone else owns and frees (a process VM's reserved address
    /// space); <paramref name="host"/> must stay valid for <paramref name="size"/> bytes.
    /// </summary>
    public Ram(ulong @base, ulong size, byte* host)
    {
        if (size == 0 || (size & (PageSize - 1)) != 0)
            throw new ArgumentException($"RAM size must be a non-zero multiple of {PageSize} bytes", nameof(size));
        Base = @base;
        Size = size;
        Host = host;
        _borrowed = true;
    }

    private readonly bool _borrowed;

    public ulong End => Base + Size;

    /// <summary>The pages written since they were last collected, while a log is kept (<see cref="StartDirtyLog"/>); null otherwise.</summary>
    public DirtyLog? Dirty { get; private set; }

    /// <summary>
    /// Starts a dirty log with every page marked that may hold a non-zero byte; whoever writes RAM
    /// marks from now on (see <see cref="DirtyLog"/>). A page the host never backed (neither
    /// present nor swapped, as /proc/self/pagemap says) was never written and reads as zero, so a
    /// large, little-used RAM starts with few marks; where pagemap cannot be read, every page is marked.
    /// </summary>
    public DirtyLog StartDirtyLog()
    {
        var log = new DirtyLog(Size >> PageShift);
        if (_borrowed || !MarkBackedPages(log)) log.MarkAll();
        Dirty = log;
        return log;
    }

    /// <summary>Marks the pages the host backs (pagemap's present or swapped bit); false when pagemap cannot be read.</summary>
    private bool MarkBackedPages(DirtyLog log)
    {
        const ulong Present = 1ul << 63, Swapped = 1ul << 62;
        try
        {
            using var pagemap = new FileStream("/proc/self/pagemap", FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
            var entries = new ulong[8192];
            var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(entries.AsSpan());
            ulong pages = Size >> PageShift;
            for (ulong first = 0; first < pages; first += (ulong)entries.Length)
            {
                int n = (int)Math.Min((ulong)entries.Length, pages - first);
                pagemap.Position = (long)(((ulong)Host >> PageShift) + first) * 8;
                pagemap.ReadExactly(bytes[..(n * 8)]);
                for (int i = 0; i < n; i++)
                    if ((entries[i] & (Present | Swapped)) != 0) log.Mark((first + (ulong)i) << PageShift, PageSize);
            }
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            return false;
        }
    }

    /// <summary>Stops keeping the dirty log.</summary>
    public void StopDirtyLog() => Dirty = null;

    /// <summary>Marks [address, address + length) as written, when a dirty log is kept (a guest physical address inside this RAM).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public void MarkWritten(ulong address, ulong length)
    {
        if (Dirty is { } log) log.Mark(address - Base, length);
    }

    public bool Contains(ulong address) => address - Base < Size;

    /// <summary>True when [address, address + length) lies inside this RAM.</summary>
    public bool Contains(ulong address, ulong length) => address - Base < Size && length <= Size - (address - Base);

    /// <summary>The host address of a guest physical address that <see cref="Contains(ulong)"/>.</summary>
    public byte* HostAddress(ulong address) => Host + (address - Base);

    public Span<byte> Span(ulong address, int length)
    {
        if (!Contains(address, (ulong)length)) throw new ArgumentOutOfRangeException(nameof(address));
        return new Span<byte>(HostAddress(address), length);
    }

    /// <summary>
    /// Makes [offset, offset + length) of RAM zero (page-aligned). RAM this object mapped gives the
    /// pages back to the host (madvise MADV_DONTNEED: the next touch finds a fresh zero page), so a
    /// zero page costs no memory and no write fault; borrowed RAM is cleared.
    /// </summary>
    public void Discard(ulong offset, ulong length)
    {
        if (offset > Size || length > Size - offset || ((offset | length) & (PageSize - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(offset));
        if (_borrowed || Madvise(Host + offset, (nuint)length, MadvDontNeed) != 0)
            new Span<byte>(Host + offset, checked((int)length)).Clear();
    }

    private const int MadvDontNeed = 4;

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(void* addr, nuint length, int advice);

    public void Dispose()
    {
        if (Host != null && !_borrowed) Munmap(Host, (nuint)Size);
        Host = null;
    }
}
