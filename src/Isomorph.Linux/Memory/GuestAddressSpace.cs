using System.Text;
using Isomorph.Linux.Host;
using Isomorph.Riscv;

namespace Isomorph.Linux.Memory;

/// <summary>
/// A guest process's address space: guest addresses [0, <see cref="Limit"/>) map one to one onto a
/// host region reserved with mmap(PROT_NONE, MAP_NORESERVE), so untouched memory costs nothing and
/// any guest buffer is one contiguous host range. Each guest page has a <see cref="PageFlags"/> byte
/// in a table that is itself lazily committed; the hart checks it on its slow path (as
/// <see cref="IPageProtection"/>), and system calls check it before they touch guest memory.
/// Mapped pages are host read-write whatever their guest protection, so the host side (loader,
/// system calls) may fill them; guest accesses are checked in software and never fault on the host.
/// MAP_SHARED mappings are the host's own: the file's (or a memfd's) pages mapped with
/// MAP_SHARED|MAP_FIXED into the reservation, so stores reach the file and every other mapper at
/// once, and a fork maps the same pages into the child rather than copying them. Pages of a file
/// mapping wholly past the end of the file are never the host's file pages (the host would raise
/// SIGBUS in the VM itself): they are <see cref="PageFlags.BeyondFile"/>, which the guest gets SIGBUS
/// for until the file grows (<see cref="FaultIn"/>).
/// </summary>
public sealed unsafe class GuestAddressSpace : IPageProtection, IDisposable
{
    public const ulong PageSize = 4096;
    public const int PageShift = 12;
    /// <summary>The lowest address mmap hands out without MAP_FIXED (Linux's mmap_min_addr).</summary>
    public const ulong MinimumAddress = 0x10000;

    private byte* _host;
    private byte* _pages;
    private readonly ulong _pageCount;

    /// <summary>
    /// A file mapping of [Start, Start + Length): host descriptor <paramref name="Fd"/> (the
    /// region's own duplicate) from <paramref name="Offset"/>; <paramref name="Anonymous"/> for a
    /// memfd standing in for MAP_SHARED|MAP_ANONYMOUS memory; <paramref name="Shared"/> for
    /// MAP_SHARED (a region past the end of its file may be private). A System V shared memory
    /// attachment has no descriptor: <paramref name="ShmId"/> names the host's segment, and
    /// <paramref name="Offset"/> is the region's offset in it.
    /// </summary>
    private sealed record FileRegion(ulong Start, ulong Length, int Fd, long Offset, bool Writable, bool Anonymous, FileIdentity File, bool Shared, int ShmId = -1)
    {
        public ulong End => Start + Length;
    }

    /// <summary>The shared mappings, whose pages carry <see cref="PageFlags.Shared"/> (guarded by its own lock).</summary>
    private readonly List<FileRegion> _shared = [];

    /// <summary>
    /// The parts of file mappings (shared or private) past the end of their files, whose pages carry
    /// <see cref="PageFlags.BeyondFile"/> (guarded by <see cref="_shared"/>'s lock).
    /// </summary>
    private readonly List<FileRegion> _beyondFile = [];

    /// <summary>How many pages are mapped.</summary>
    private long _mappedPages;

    /// <summary>Bytes mapped (VmSize).</summary>
    public ulong MappedBytes => (ulong)Interlocked.Read(ref _mappedPages) << PageShift;

    /// <summary>The most bytes that may be mapped (RLIMIT_AS): a mapping past it is ENOMEM. Null: no limit. A forked child keeps it.</summary>
    public ulong? MappedLimit { get; set; }

    /// <summary>How many pages carry <see cref="PageFlags.Locked"/>.</summary>
    private long _lockedPages;

    /// <summary>Bytes locked in memory (MAP_LOCKED, mlock): /proc/PID/status's VmLck.</summary>
    public ulong LockedBytes => (ulong)Interlocked.Read(ref _lockedPages) << PageShift;

    /// <summary>mlockall(MCL_FUTURE) is in force: new mappings are locked.</summary>
    public bool LockFuture { get; set; }

    /// <summary>Guest addresses are below this (a power of two).</summary>
    public ulong Limit { get; }

    /// <summary>The host address of guest address 0.</summary>
    public byte* HostBase => _host;

    /// <summary>
    /// Raised after pages were unmapped, replaced or lost permissions, with the range: anyone who
    /// cached translations or decoded code for them (the hart's TLBs, the code cache) must forget them.
    /// </summary>
    public event Action<ulong, ulong>? ProtectionReduced;

    /// <summary>Raised after the host wrote guest memory behind the hart's back (read(2), the loader).</summary>
    public event Action<ulong, ulong>? WrittenByHost;

    private GuestAddressSpace(byte* host, byte* pages, byte* direct, ulong limit)
    {
        _host = host;
        _pages = pages;
        Limit = limit;
        _pageCount = limit >> PageShift;
        _directPages = direct;
        Direct = new LazyDirectMemory(host, limit, direct);
    }

    /// <summary>
    /// The address space as the harts' translated code reaches it directly (see
    /// <see cref="DirectMemory"/>): its table, lazily committed like <see cref="PageFlags"/>'s, is
    /// cleared here wherever protections are reduced, before <see cref="ProtectionReduced"/> is raised.
    /// </summary>
    public DirectMemory Direct { get; }
    private readonly byte* _directPages;

    /// <summary>Direct memory whose table is released rather than zeroed where whole pages of it are cleared (a large munmap).</summary>
    private sealed class LazyDirectMemory(byte* host, ulong limit, byte* pages) : DirectMemory(host, limit, pages)
    {
        protected override void Clear(byte* from, ulong count)
        {
            ulong start = (ulong)from, end = start + count;
            ulong wholeStart = (start + PageSize - 1) & ~(PageSize - 1), wholeEnd = end & ~(PageSize - 1);
            if (wholeEnd <= wholeStart)
            {
                base.Clear(from, count);
                return;
            }
            base.Clear(from, wholeStart - start);
            Libc.madvise((nint)wholeStart, (nuint)(wholeEnd - wholeStart), Libc.MadvDontNeed);
            base.Clear((byte*)wholeEnd, end - wholeEnd);
        }
    }

    /// <summary>Pages of [start, start + length) lost permissions or were replaced: direct memory forgets them, then whoever cached translations.</summary>
    private void Reduced(ulong start, ulong length)
    {
        Direct.Forget(start, length);
        ProtectionReduced?.Invoke(start, length);
    }

    /// <summary>
    /// Reserves the largest guest address space of at most 2^<paramref name="maxBits"/> bytes the
    /// host grants (a 47-bit space, as Sv48 Linux gives user space, when it can; never below 2^<paramref name="minBits"/>).
    /// </summary>
    public static GuestAddressSpace Reserve(int maxBits = 47, int minBits = 38)
    {
        for (int bits = maxBits; bits >= minBits; bits--)
        {
            ulong size = 1ul << bits;
            nint host = Libc.mmap(0, (nuint)size, Libc.ProtNone, Libc.MapPrivate | Libc.MapAnonymous | Libc.MapNoReserve, -1, 0);
            if (host == -1) continue;
            nint pages = Libc.mmap(0, (nuint)(size >> PageShift), Libc.ProtRead | Libc.ProtWrite,
                Libc.MapPrivate | Libc.MapAnonymous | Libc.MapNoReserve, -1, 0);
            nint direct = Libc.mmap(0, (nuint)(size >> PageShift), Libc.ProtRead | Libc.ProtWrite,
                Libc.MapPrivate | Libc.MapAnonymous | Libc.MapNoReserve, -1, 0);
            if (pages == -1 || direct == -1)
            {
                Libc.munmap(host, (nuint)size);
                if (pages != -1) Libc.munmap(pages, (nuint)(size >> PageShift));
                if (direct != -1) Libc.munmap(direct, (nuint)(size >> PageShift));
                continue;
            }
            return new GuestAddressSpace((byte*)host, (byte*)pages, (byte*)direct, size);
        }
        throw new InsufficientMemoryException($"cannot reserve a guest address space of 2^{minBits} bytes on this host");
    }

    public static ulong PageDown(ulong address) => address & ~(PageSize - 1);
    public static ulong PageUp(ulong address) => (address + PageSize - 1) & ~(PageSize - 1);

    /// <summary>True when [start, start + length) lies inside the address space.</summary>
    public bool InRange(ulong start, ulong length) => start < Limit && length <= Limit - start;

    public PageFlags FlagsAt(ulong address) => address < Limit ? (PageFlags)_pages[address >> PageShift] : PageFlags.None;

    public bool Permits(ulong address, AccessType access)
    {
        if (address >= Limit) return false;
        var need = access switch { AccessType.Read => PageFlags.Read, AccessType.Write => PageFlags.Write, _ => PageFlags.Execute };
        byte flags = _pages[address >> PageShift];
        return (flags & (byte)need) != 0 && (flags & (byte)PageFlags.BeyondFile) == 0;
    }

    /// <summary>
    /// True when every page of [start, start + length) is mapped with all of <paramref name="need"/>
    /// (and, when it needs any access, none lies past the end of its file).
    /// </summary>
    public bool Check(ulong start, ulong length, PageFlags need)
    {
        if (length == 0) return true;
        if (!InRange(start, length)) return false;
        byte mask = (byte)(need | PageFlags.Mapped);
        byte refused = need == PageFlags.None ? (byte)0 : (byte)PageFlags.BeyondFile;
        for (ulong p = start >> PageShift, last = (start + length - 1) >> PageShift; p <= last; p++)
            if ((_pages[p] & mask) != mask || (_pages[p] & refused) != 0) return false;
        return true;
    }

    /// <summary>True when no page of [start, start + length) is mapped.</summary>
    public bool IsFree(ulong start, ulong length)
    {
        if (!InRange(start, length)) return false;
        ulong first = start >> PageShift, end = (start + length + PageSize - 1) >> PageShift;
        for (ulong p = first; p < end; p += int.MaxValue)
            if (Flags(p, Math.Min(end - p, int.MaxValue)).IndexOfAnyExcept((byte)0) >= 0) return false;
        return true;
    }

    /// <summary>The flag bytes of <paramref name="count"/> (at most int.MaxValue) pages from page <paramref name="first"/>.</summary>
    private ReadOnlySpan<byte> Flags(ulong first, ulong count) => new(_pages + first, (int)count);

    /// <summary>The pages of [start, start + length) that are mapped, and those of them locked, in one pass.</summary>
    private (long Mapped, long Locked) Count(ulong start, ulong length)
    {
        long mapped = 0, locked = 0;
        ulong first = start >> PageShift, end = (start + length) >> PageShift;
        for (ulong p = first; p < end; p += int.MaxValue)
        {
            var flags = Flags(p, Math.Min(end - p, int.MaxValue));
            mapped += flags.Length - flags.Count((byte)0);
            foreach (byte f in flags) locked += f >> 7; // PageFlags.Locked is the top bit
        }
        return (mapped, locked);
    }

    /// <summary>
    /// Maps fresh zero-filled pages over [start, start + length) (page-aligned), replacing whatever
    /// was there, as mmap with MAP_FIXED does. <paramref name="protection"/> may carry
    /// <see cref="PageFlags.GrowsDown"/> and <see cref="PageFlags.Locked"/> besides the guest
    /// protections (every mapping is locked after mlockall(MCL_FUTURE)). Returns 0 or -errno.
    /// </summary>
    public long Map(ulong start, ulong length, PageFlags protection)
    {
        if ((start | length) % PageSize != 0 || length == 0 || !InRange(start, length)) return -Errno.EINVAL;
        var (mapped, locked) = Count(start, length);
        bool replaced = mapped > 0;
        long added = (long)(length >> PageShift) - mapped;
        if (MappedLimit is { } most && MappedBytes + ((ulong)added << PageShift) > most) return -Errno.ENOMEM;
        Interlocked.Add(ref _mappedPages, added);
        if (replaced)
        {
            Detach(start, length);
            Interlocked.Add(ref _lockedPages, -locked);
            Libc.madvise((nint)(_host + start), (nuint)length, Libc.MadvDontNeed);
        }
        if (Libc.mprotect((nint)(_host + start), (nuint)length, Libc.ProtRead | Libc.ProtWrite) != 0) return -Errno.ENOMEM;
        if (LockFuture) protection |= PageFlags.Locked;
        SetFlags(start, length, (protection & (PageFlags.Access | PageFlags.GrowsDown | PageFlags.Locked)) | PageFlags.Mapped);
        if ((protection & PageFlags.Locked) != 0) Interlocked.Add(ref _lockedPages, (long)(length >> PageShift));
        if (replaced) Reduced(start, length);
        return 0;
    }

    /// <summary>Unmaps [start, start + length); unmapped pages in the range are fine, as with munmap.</summary>
    public long Unmap(ulong start, ulong length)
    {
        if (start % PageSize != 0 || length == 0 || !InRange(start, PageUp(length))) return -Errno.EINVAL;
        length = PageUp(length);
        if (IsFree(start, length)) return 0;
        Detach(start, length);
        var (mapped, locked) = Count(start, length);
        Interlocked.Add(ref _lockedPages, -locked);
        Interlocked.Add(ref _mappedPages, -mapped);
        // The host pages are released but stay accessible (reading zeros): another thread's hart may
        // still hold them in its TLB for an instant, or a system call may be copying into them.
        Libc.madvise((nint)(_host + start), (nuint)length, Libc.MadvDontNeed);
        SetFlags(start, length, PageFlags.None);
        Reduced(start, length);
        return 0;
    }

    /// <summary>Changes the protection of mapped pages, as mprotect does (-ENOMEM when a page is unmapped).</summary>
    public long Protect(ulong start, ulong length, PageFlags protection)
    {
        if (start % PageSize != 0 || !InRange(start, PageUp(length))) return -Errno.EINVAL;
        length = PageUp(length);
        if (length == 0) return 0;
        if (!Check(start, length, PageFlags.None)) return -Errno.ENOMEM;
        protection &= PageFlags.Access;
        if ((protection & PageFlags.Write) != 0 && HasReadOnlyShared(start, length)) return -Errno.EACCES;
        // Shared pages stay shared, locked ones locked, a stack a stack.
        for (ulong p = start >> PageShift, end = (start + length) >> PageShift; p < end; p++)
            _pages[p] = (byte)((_pages[p] & (byte)PageFlags.Kept) | (byte)(protection | PageFlags.Mapped));
        Reduced(start, length);
        return 0;
    }

    // --- MAP_SHARED mappings --------------------------------------------------------------------------

    /// <summary>
    /// Maps [start, start + length) onto host descriptor <paramref name="fd"/>'s pages from
    /// <paramref name="offset"/>, shared, replacing whatever was there (mmap MAP_SHARED|MAP_FIXED).
    /// Unless <paramref name="writable"/> (the descriptor is open for writing) the guest may never
    /// make it writable. Pages wholly past the end of a regular file are
    /// <see cref="PageFlags.BeyondFile"/>: SIGBUS for the guest, as on Linux, until the file grows. 0 or -errno.
    /// </summary>
    public long MapShared(ulong start, ulong length, PageFlags protection, int fd, long offset, bool writable, bool anonymous = false)
    {
        if ((start | length) % PageSize != 0 || length == 0 || !InRange(start, length) || offset < 0) return -Errno.EINVAL;
        if ((protection & PageFlags.Write) != 0 && !writable) return -Errno.EACCES;
        var file = FileIdentity.Of(fd);
        ulong covered = Covered(file, offset, length);
        long status = Map(start, length, protection);
        if (status != 0) return status;
        var region = new FileRegion(start, length, -1, offset, writable, anonymous, file, Shared: true);
        status = covered == 0 ? 0 : AttachShared(region with { Length = covered }, fd);
        if (status == 0 && covered < length) status = AddBeyondFile(region, covered, fd);
        if (status != 0) Unmap(start, length);
        return status;
    }

    /// <summary>
    /// A private file mapping of [start, start + length) from <paramref name="offset"/>, whose
    /// pages the caller has filled with the file's bytes: the pages wholly past the end of a regular
    /// file become <see cref="PageFlags.BeyondFile"/>. 0 or -errno.
    /// </summary>
    public long MarkBeyondFile(ulong start, ulong length, int fd, long offset)
    {
        var file = FileIdentity.Of(fd);
        ulong covered = Covered(file, offset, length);
        return covered >= length ? 0 : AddBeyondFile(new FileRegion(start, length, -1, offset, false, false, file, Shared: false), covered, fd);
    }

    /// <summary>How much of a mapping of <paramref name="length"/> bytes from <paramref name="offset"/> the file covers, in whole pages (all of it for anything but a regular file).</summary>
    private static ulong Covered(FileIdentity file, long offset, ulong length) =>
        !file.Regular ? length
        : (ulong)file.Size <= (ulong)offset ? 0 : Math.Min(length, PageUp((ulong)file.Size - (ulong)offset));

    /// <summary>Maps <paramref name="region"/>'s pages onto the file's, shared, through a duplicate of <paramref name="fd"/> the region keeps. 0 or -errno.</summary>
    private long AttachShared(FileRegion region, int fd)
    {
        int own = Libc.fcntl(fd, Libc.FDupfdCloexec, 0);
        if (own < 0) return -Errno.EMFILE;
        if (!MapHost(region.Start, region.Length, own, region.Offset, region.Writable, out long error))
        {
            Libc.close(own);
            return error;
        }
        lock (_shared) _shared.Add(region with { Fd = own });
        for (ulong p = region.Start >> PageShift, end = region.End >> PageShift; p < end; p++)
            _pages[p] = (byte)((_pages[p] | (byte)PageFlags.Shared) & ~(byte)PageFlags.BeyondFile);
        return 0;
    }

    /// <summary>Marks the pages of <paramref name="region"/> from <paramref name="covered"/> on as past the end of the file, remembering the file (a duplicate of <paramref name="fd"/>) for when it grows. 0 or -errno.</summary>
    private long AddBeyondFile(FileRegion region, ulong covered, int fd)
    {
        int own = Libc.fcntl(fd, Libc.FDupfdCloexec, 0);
        if (own < 0) return -Errno.EMFILE;
        var tail = region with { Start = region.Start + covered, Length = region.Length - covered, Offset = region.Offset + (long)covered, Fd = own };
        lock (_shared) _beyondFile.Add(tail);
        for (ulong p = tail.Start >> PageShift, end = tail.End >> PageShift; p < end; p++) _pages[p] |= (byte)PageFlags.BeyondFile;
        return 0;
    }

    /// <summary>What a page fault at a mapped or growable address comes to (<see cref="FaultIn"/>).</summary>
    public enum Fault
    {
        /// <summary>Nothing to do: the access is a SIGSEGV.</summary>
        Segv,
        /// <summary>The page is there now (the file grew, the stack grew down): run the instruction again.</summary>
        Retry,
        /// <summary>The page lies past the end of its file: SIGBUS.</summary>
        Bus,
    }

    /// <summary>
    /// A guest access to <paramref name="address"/> faulted: when the page lies past the end of its
    /// file and the file has since grown to cover it, the mapping catches up (and the access is tried
    /// again); otherwise it is SIGBUS. An unmapped address just below a MAP_GROWSDOWN mapping grows it
    /// down, as Linux grows a stack: not closer than <paramref name="guardGap"/> bytes to an accessible
    /// mapping below it, and not past <paramref name="stackLimit"/> bytes (RLIMIT_STACK).
    /// </summary>
    public Fault FaultIn(ulong address, ulong stackLimit, ulong guardGap = 256 * PageSize)
    {
        if (address >= Limit) return Fault.Segv;
        byte flags = _pages[address >> PageShift];
        if ((flags & (byte)PageFlags.BeyondFile) != 0) return FileGrew(address) ? Fault.Retry : Fault.Bus;
        return flags == 0 && GrowDown(address, stackLimit, guardGap) ? Fault.Retry : Fault.Segv;
    }

    private bool FileGrew(ulong address)
    {
        lock (_shared)
        {
            int i = _beyondFile.FindIndex(r => address >= r.Start && address < r.End);
            if (i < 0) return false;
            var tail = _beyondFile[i];
            ulong covered = Covered(FileIdentity.Of(tail.Fd), tail.Offset, tail.Length);
            if (address >= tail.Start + covered) return false;
            var now = tail with { Length = covered };
            if (tail.Shared)
            {
                if (AttachShared(now, tail.Fd) != 0) return false;
            }
            else
            {
                for (ulong done = 0; done < covered;)
                {
                    long n = Libc.pread(tail.Fd, _host + tail.Start + done, (nuint)(covered - done), tail.Offset + (long)done);
                    if (n <= 0) break;
                    done += (ulong)n;
                }
                for (ulong p = now.Start >> PageShift; p < now.End >> PageShift; p++) _pages[p] &= unchecked((byte)~PageFlags.BeyondFile);
                NoteWritten(now.Start, covered);
            }
            if (covered == tail.Length)
            {
                Libc.close(tail.Fd);
                _beyondFile.RemoveAt(i);
            }
            else
            {
                _beyondFile[i] = tail with { Start = tail.Start + covered, Length = tail.Length - covered, Offset = tail.Offset + (long)covered };
            }
            return true;
        }
    }

    /// <summary>Grows the MAP_GROWSDOWN mapping just above unmapped <paramref name="address"/> down to its page (<see cref="FaultIn"/>).</summary>
    private bool GrowDown(ulong address, ulong stackLimit, ulong guardGap)
    {
        // An unlimited stack still grows by at most 256 MiB at a time (a scan of 64 KiB of page table).
        ulong page = address >> PageShift, limitPages = Math.Min(stackLimit, 256ul << 20) >> PageShift;
        if (address < MinimumAddress) return false;
        // The mapping above: the first mapped page over the hole, which must be a growable stack's lowest.
        int hole = new ReadOnlySpan<byte>(_pages + page, (int)Math.Min(limitPages + 1, _pageCount - page)).IndexOfAnyExcept((byte)0);
        if (hole < 0) return false;
        ulong above = page + (ulong)hole;
        if ((_pages[above] & (byte)PageFlags.GrowsDown) == 0) return false;
        ulong top = above;
        while (top < _pageCount && (_pages[top] & (byte)PageFlags.GrowsDown) != 0) top++;
        if (top - page > stackLimit >> PageShift) return false;
        // Linux's stack guard gap: no accessible mapping (other than another stack) within the gap below the new start.
        ulong gapPages = guardGap >> PageShift;
        for (ulong p = page > gapPages ? page - gapPages : 0; p < page; p++)
            if ((_pages[p] & (byte)PageFlags.Access) != 0 && (_pages[p] & (byte)PageFlags.GrowsDown) == 0) return false;
        var flags = (PageFlags)_pages[above] & (PageFlags.Access | PageFlags.GrowsDown | PageFlags.Locked);
        return Map(page << PageShift, (above - page) << PageShift, flags) == 0;
    }

    // --- mlock ----------------------------------------------------------------------------------------

    /// <summary>mlock and munlock: marks the mapped pages of [start, start + length) locked or not. -ENOMEM when a page is unmapped.</summary>
    public long Lock(ulong start, ulong length, bool locked)
    {
        ulong end = PageUp(start + length);
        start = PageDown(start);
        if (end < start || !InRange(start, end - start)) return -Errno.ENOMEM;
        if (!Check(start, end - start, PageFlags.None)) return -Errno.ENOMEM;
        for (ulong p = start >> PageShift; p < end >> PageShift; p++)
        {
            bool was = (_pages[p] & (byte)PageFlags.Locked) != 0;
            if (was == locked) continue;
            _pages[p] ^= (byte)PageFlags.Locked;
            Interlocked.Add(ref _lockedPages, locked ? 1 : -1);
        }
        return 0;
    }

    /// <summary>mlockall(MCL_CURRENT) and munlockall: every mapped page locked, or none.</summary>
    public void LockAll(bool locked)
    {
        foreach (var (start, end, _) in Mappings()) Lock(start, end - start, locked);
    }

    /// <summary>
    /// MAP_SHARED|MAP_ANONYMOUS: a memfd of <paramref name="length"/> bytes mapped shared, so that
    /// a forked child keeps sharing the pages with its parent.
    /// </summary>
    public long MapSharedAnonymous(ulong start, ulong length, PageFlags protection)
    {
        int fd = Libc.memfd_create("isomorph-shared", Libc.MfdCloexec);
        if (fd < 0) return -Errno.ENOMEM;
        try
        {
            if (Libc.ftruncate(fd, (long)length) != 0) return -Errno.ENOMEM;
            return MapShared(start, length, protection, fd, 0, writable: true, anonymous: true);
        }
        finally
        {
            Libc.close(fd);
        }
    }

    /// <summary>The shared mapping around <paramref name="address"/>: its descriptor, the file offset of the address, and how it was mapped; false when the page is not shared.</summary>
    public bool SharedAt(ulong address, out int fd, out long offset, out bool writable, out bool anonymous, out ulong end)
    {
        lock (_shared)
        {
            foreach (var r in _shared)
            {
                if (address < r.Start || address >= r.End || r.ShmId >= 0) continue;
                (fd, offset, writable, anonymous, end) = (r.Fd, r.Offset + (long)(address - r.Start), r.Writable, r.Anonymous, r.End);
                return true;
            }
        }
        (fd, offset, writable, anonymous, end) = (-1, 0, false, false, 0);
        return false;
    }

    /// <summary>The System V segment attached around <paramref name="address"/> and the address's offset in it; false when none is.</summary>
    public bool SysVAt(ulong address, out int shmId, out long offset)
    {
        lock (_shared)
            foreach (var r in _shared)
                if (r.ShmId >= 0 && address >= r.Start && address < r.End)
                {
                    (shmId, offset) = (r.ShmId, r.Offset + (long)(address - r.Start));
                    return true;
                }
        (shmId, offset) = (-1, 0);
        return false;
    }

    /// <summary>
    /// shmat: attaches the host's System V segment <paramref name="shmId"/> of <paramref name="length"/>
    /// bytes at [start, start + length), replacing whatever was there. Read-only attachments stay so
    /// (mprotect cannot add write). 0 or -errno.
    /// </summary>
    public long AttachSysV(ulong start, ulong length, int shmId, PageFlags protection)
    {
        const int ShmRdonly = 0x1000, ShmRemap = 0x4000;
        if ((start | length) % PageSize != 0 || length == 0 || !InRange(start, length)) return -Errno.EINVAL;
        bool writable = (protection & PageFlags.Write) != 0;
        long status = Map(start, length, protection);
        if (status != 0) return status;
        long at = Libc.syscall(HostShmat, shmId, (nint)(_host + start), ShmRemap | (writable ? 0 : ShmRdonly), 0, 0);
        if (at == -1)
        {
            long error = Libc.Check(-1);
            Unmap(start, length);
            return error;
        }
        lock (_shared) _shared.Add(new FileRegion(start, length, -1, 0, writable, false, default, Shared: true, ShmId: shmId));
        for (ulong p = start >> PageShift, end = (start + length) >> PageShift; p < end; p++) _pages[p] |= (byte)PageFlags.Shared;
        return 0;
    }

    /// <summary>shmdt: unmaps every part of the System V attachment that was made at <paramref name="address"/>. 0, or -EINVAL when none was.</summary>
    public long DetachSysV(ulong address)
    {
        List<(ulong, ulong)> parts;
        lock (_shared) parts = [.. _shared.Where(r => r.ShmId >= 0 && r.Start - (ulong)r.Offset == address).Select(r => (r.Start, r.Length))];
        foreach (var (start, length) in parts) Unmap(start, length);
        return parts.Count == 0 ? -Errno.EINVAL : 0;
    }

    /// <summary>x86-64's shmat and shmctl.</summary>
    private const long HostShmat = 30, HostShmctl = 31;

    /// <summary>The size of the host's System V segment <paramref name="shmId"/> (shm_segsz), 0 when it cannot be asked.</summary>
    public static ulong SegmentSize(int shmId)
    {
        const int IpcStat = 2;
        byte* info = stackalloc byte[112]; // struct shmid64_ds, the same on x86-64 and riscv64
        return Libc.syscall(HostShmctl, shmId, IpcStat, (nint)info, 0, 0) == 0 ? *(ulong*)(info + 48) : 0;
    }

    /// <summary>msync: writes the shared pages of [start, start + length) back to their files (MS_SYNC waits). 0 or -errno.</summary>
    public long Sync(ulong start, ulong length, int flags)
    {
        if (start % PageSize != 0 || !InRange(start, PageUp(length))) return -Errno.EINVAL;
        length = PageUp(length);
        if (length == 0) return 0;
        if (!Check(start, length, PageFlags.None)) return -Errno.ENOMEM;
        lock (_shared)
        {
            foreach (var r in _shared)
            {
                ulong from = Math.Max(start, r.Start), to = Math.Min(start + length, r.End);
                if (from >= to) continue;
                if (Libc.msync((nint)(_host + from), (nuint)(to - from), flags) != 0) return Libc.Check(-1);
            }
        }
        return 0;
    }

    /// <summary>
    /// Maps the file's pages at guest [start, start + length), host read-write either way so that no
    /// host access ever faults (a hart on another thread may still hold an old translation): shared
    /// when the descriptor is writable; otherwise private, which the host never writes (the guest may
    /// not), so its pages stay the page cache's and show the file's changes as a shared mapping does.
    /// </summary>
    private bool MapHost(ulong start, ulong length, int fd, long offset, bool writable, out long error)
    {
        nint at = Libc.mmap((nint)(_host + start), (nuint)length, Libc.ProtRead | Libc.ProtWrite,
            (writable ? Libc.MapShared : Libc.MapPrivate) | Libc.MapFixed, fd, offset);
        error = at == -1 ? Libc.Check(-1) : 0;
        return at != -1;
    }

    /// <summary>
    /// Turns the shared pages in [start, start + length) back into private anonymous pages of the
    /// reservation and forgets the file behind pages past the end of theirs; the regions that extend
    /// beyond the range keep their remainders.
    /// </summary>
    private void Detach(ulong start, ulong length)
    {
        lock (_shared)
        {
            Detach(_shared, start, length, PageFlags.Shared);
            Detach(_beyondFile, start, length, PageFlags.BeyondFile);
        }
    }

    private void Detach(List<FileRegion> regions, ulong start, ulong length, PageFlags flag)
    {
        ulong end = start + length;
        for (int i = regions.Count - 1; i >= 0; i--)
        {
            var r = regions[i];
            ulong from = Math.Max(start, r.Start), to = Math.Min(end, r.End);
            if (from >= to) continue;
            if (flag == PageFlags.Shared)
                Libc.mmap((nint)(_host + from), (nuint)(to - from), Libc.ProtRead | Libc.ProtWrite,
                    Libc.MapPrivate | Libc.MapAnonymous | Libc.MapFixed | Libc.MapNoReserve, -1, 0);
            for (ulong p = from >> PageShift; p < to >> PageShift; p++) _pages[p] &= unchecked((byte)~flag);
            regions.RemoveAt(i);
            if (r.Start < from)
                regions.Add(r with { Length = from - r.Start, Fd = Libc.fcntl(r.Fd, Libc.FDupfdCloexec, 0) });
            if (to < r.End)
                regions.Add(r with { Start = to, Length = r.End - to, Offset = r.Offset + (long)(to - r.Start), Fd = Libc.fcntl(r.Fd, Libc.FDupfdCloexec, 0) });
            Libc.close(r.Fd);
        }
    }

    private bool HasReadOnlyShared(ulong start, ulong length)
    {
        lock (_shared) return _shared.Any(r => !r.Writable && r.Start < start + length && start < r.End);
    }

    /// <summary>
    /// A file is about to shrink to <paramref name="size"/> bytes (ftruncate, open with O_TRUNC):
    /// the pages of its shared mappings wholly past the new end are let go of, so that no access
    /// reaches file pages that no longer exist (the host would raise SIGBUS in the VM), and become
    /// <see cref="PageFlags.BeyondFile"/>: SIGBUS for the guest, as on Linux, until the file grows again.
    /// </summary>
    public void Shrinking(FileIdentity file, long size)
    {
        lock (_shared)
        {
            List<(FileRegion Region, ulong Keep)> gone = [];
            foreach (var r in _shared)
            {
                if (r.File.Device != file.Device || r.File.Inode != file.Inode) continue;
                ulong keep = size <= r.Offset ? 0 : PageUp((ulong)(size - r.Offset));
                if (keep < r.Length) gone.Add((r, keep));
            }
            foreach (var (r, keep) in gone)
            {
                int fd = Libc.fcntl(r.Fd, Libc.FDupfdCloexec, 0);
                Detach(_shared, r.Start + keep, r.Length - keep, PageFlags.Shared);
                if (fd < 0) continue;
                AddBeyondFile(r, keep, fd);
                Libc.close(fd);
                Reduced(r.Start + keep, r.Length - keep);
            }
        }
    }

    private void SetFlags(ulong start, ulong length, PageFlags flags) =>
        new Span<byte>(_pages + (start >> PageShift), checked((int)(length >> PageShift))).Fill((byte)flags);

    /// <summary>
    /// The highest free, page-aligned range of <paramref name="length"/> bytes that ends at or below
    /// <paramref name="top"/> and starts at or above <see cref="MinimumAddress"/>; 0 when there is none.
    /// </summary>
    public ulong FindFree(ulong length, ulong top)
    {
        ulong n = PageUp(length) >> PageShift;
        ulong end = Math.Min(top, Limit) >> PageShift;
        ulong floor = MinimumAddress >> PageShift;
        // Downwards: the n pages below end, and when one of them is mapped, on below the mapped run
        // it belongs to. A long mapping (a PROT_NONE reservation of gigabytes) costs one vectorised
        // scan, not a step per page.
        while (n > 0 && end >= floor + n)
        {
            long busy = LastWith(end - n, n, mapped: true);
            if (busy < 0) return (end - n) << PageShift;
            long free = LastWith(floor, (ulong)busy - floor, mapped: false);
            if (free < 0) return 0;
            end = (ulong)free + 1;
        }
        return 0;
    }

    /// <summary>The last page of [first, first + count) that is mapped (or free, as <paramref name="mapped"/> says); -1 when none is.</summary>
    private long LastWith(ulong first, ulong count, bool mapped)
    {
        while (count > 0)
        {
            int chunk = (int)Math.Min(count, 1ul << 30);
            ulong chunkStart = first + count - (ulong)chunk;
            var flags = new ReadOnlySpan<byte>(_pages + chunkStart, chunk);
            int i = mapped ? flags.LastIndexOfAnyExcept((byte)0) : flags.LastIndexOf((byte)0);
            if (i >= 0) return (long)(chunkStart + (ulong)i);
            count -= (ulong)chunk;
        }
        return -1;
    }

    /// <summary>
    /// The mapped ranges, lowest first: each a run of pages with the same flags (what
    /// /proc/self/maps lists). Like <see cref="Fork"/>, it reads only the page table the host holds.
    /// </summary>
    public List<(ulong Start, ulong End, PageFlags Flags)> Mappings()
    {
        var ranges = new List<(ulong, ulong, PageFlags)>();
        using var presence = new HostPagePresence();
        const ulong Batch = 512;
        ulong runStart = 0;
        byte runFlags = 0;
        void Close(ulong page)
        {
            if (runFlags != 0) ranges.Add((runStart << PageShift, page << PageShift, (PageFlags)runFlags));
            runFlags = 0;
        }
        for (ulong table = 0; table < _pageCount; table += PageSize * Batch)
        {
            ulong tableBytes = Math.Min(PageSize * Batch, _pageCount - table);
            var tableHeld = presence.Present(_pages + table, (tableBytes + PageSize - 1) / PageSize);
            for (int t = 0; t < tableHeld.Length; t++)
            {
                ulong first = table + (ulong)t * PageSize, end = Math.Min(first + PageSize, _pageCount);
                if (!tableHeld[t])
                {
                    Close(first);
                    continue;
                }
                for (ulong page = first; page < end; page++)
                {
                    byte flags = _pages[page];
                    if (flags == runFlags) continue;
                    Close(page);
                    (runStart, runFlags) = (page, flags);
                }
            }
        }
        Close(_pageCount);
        return ranges;
    }

    /// <summary>
    /// A copy of this address space for a forked child: the same pages with the same protections
    /// and contents. Only pages the host has committed (present or swapped, per /proc/self/pagemap)
    /// are copied; the others read as zero in both spaces. Both the page table and the guest pages
    /// are walked only where the host holds them, so a fork costs what the process uses, not its reservation.
    /// </summary>
    public GuestAddressSpace Fork()
    {
        // The parent's size when the host has room for it, else down to Sv39's 2^38 bytes (the
        // host's 2^47 holds a hundred 2^40 spaces, a few hundred more of 2^38): the fork fails only
        // when the parent has pages above the child's top.
        int bits = System.Numerics.BitOperations.Log2(Limit);
        var child = Reserve(bits, Math.Min(bits, 38));
        child.MappedLimit = MappedLimit;
        child._mappedPages = Interlocked.Read(ref _mappedPages);
        try
        {
            CopyInto(child);
        }
        catch
        {
            child.Dispose();
            throw;
        }
        return child;
    }

    private void CopyInto(GuestAddressSpace child)
    {
        using var presence = new HostPagePresence();
        const ulong Batch = 512;
        for (ulong table = 0; table < _pageCount; table += PageSize * Batch)
        {
            ulong tableBytes = Math.Min(PageSize * Batch, _pageCount - table);
            // A copy: CopyPages asks the same presence reader about the guest pages, which reuses its buffer.
            var tableHeld = presence.Present(_pages + table, (tableBytes + PageSize - 1) / PageSize).ToArray();
            for (int t = 0; t < tableHeld.Length; t++)
            {
                if (!tableHeld[t]) continue;
                ulong first = table + (ulong)t * PageSize, end = Math.Min(first + PageSize, _pageCount);
                for (ulong page = first; page < end;)
                {
                    byte flags = _pages[page];
                    if (flags == 0) { page++; continue; }
                    ulong run = page;
                    while (run < end && _pages[run] == flags) run++;
                    if (run > child._pageCount) throw new InsufficientMemoryException("no room on the host for a forked child's address space");
                    child.CopyPages(this, page << PageShift, (run - page) << PageShift, (PageFlags)flags, presence);
                    page = run;
                }
            }
        }
        // Shared pages are not copied: the child maps the same host pages.
        lock (_shared)
        {
            foreach (var r in _shared)
            {
                if (r.ShmId >= 0)
                {
                    child.ForkSysV(this, r);
                    continue;
                }
                int own = r.End <= child.Limit ? Libc.fcntl(r.Fd, Libc.FDupfdCloexec, 0) : -1;
                if (own < 0 || !child.MapHost(r.Start, r.Length, own, r.Offset, r.Writable, out _))
                {
                    if (own >= 0) Libc.close(own);
                    throw new InsufficientMemoryException("cannot map a shared mapping into a forked child");
                }
                lock (child._shared) child._shared.Add(r with { Fd = own });
            }
            foreach (var r in _beyondFile)
            {
                int own = Libc.fcntl(r.Fd, Libc.FDupfdCloexec, 0);
                if (own >= 0) lock (child._shared) child._beyondFile.Add(r with { Fd = own });
            }
        }
    }

    /// <summary>
    /// A forked child's copy of a System V attachment: the same segment attached at the same place
    /// (the host counts the attachment); a part left of one by a partial munmap becomes a private copy.
    /// </summary>
    private void ForkSysV(GuestAddressSpace parent, FileRegion r)
    {
        const int ShmRdonly = 0x1000, ShmRemap = 0x4000;
        if (r.Offset == 0 && PageUp(SegmentSize(r.ShmId)) == r.Length
            && Libc.syscall(HostShmat, r.ShmId, (nint)(_host + r.Start), ShmRemap | (r.Writable ? 0 : ShmRdonly), 0, 0) != -1)
        {
            lock (_shared) _shared.Add(r);
            return;
        }
        Buffer.MemoryCopy(parent._host + r.Start, _host + r.Start, r.Length, r.Length);
        for (ulong p = r.Start >> PageShift; p < r.End >> PageShift; p++) _pages[p] &= unchecked((byte)~PageFlags.Shared);
    }

    /// <summary>Maps [start, start + length) with <paramref name="flags"/> and copies the pages <paramref name="from"/> holds.</summary>
    private void CopyPages(GuestAddressSpace from, ulong start, ulong length, PageFlags flags, HostPagePresence presence)
    {
        Libc.mprotect((nint)(_host + start), (nuint)length, Libc.ProtRead | Libc.ProtWrite);
        SetFlags(start, length, flags & ~PageFlags.Locked); // memory locks are not inherited across fork
        if ((flags & PageFlags.Shared) != 0) return; // mapped from the same host pages afterwards
        const ulong Batch = 512;
        for (ulong chunk = start; chunk < start + length; chunk += PageSize * Batch)
        {
            ulong pages = Math.Min(Batch, (start + length - chunk) >> PageShift);
            var held = presence.Present(from._host + chunk, pages);
            for (int i = 0; i < held.Length; i++)
            {
                if (!held[i]) continue;
                ulong at = chunk + ((ulong)i << PageShift);
                new ReadOnlySpan<byte>(from._host + at, (int)PageSize).CopyTo(new Span<byte>(_host + at, (int)PageSize));
            }
        }
    }

    // --- The host side's access to guest memory (callers check permissions first) -------------------

    /// <summary>The host address of a guest address inside the space.</summary>
    public byte* HostAddress(ulong address) => _host + address;

    public Span<byte> Span(ulong address, int length) => new(_host + address, length);

    /// <summary>Copies bytes into guest memory (no permission check: loaders, the initial stack).</summary>
    public void Write(ulong address, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(Span(address, bytes.Length));
        NoteWritten(address, (ulong)bytes.Length);
    }

    /// <summary>Tells the code cache that the host wrote guest memory.</summary>
    public void NoteWritten(ulong address, ulong length)
    {
        if (length > 0) WrittenByHost?.Invoke(address, length);
    }

    /// <summary>A NUL-terminated string from readable guest memory, or null when it is unreadable or too long.</summary>
    public string? ReadCString(ulong address, int maxLength = 4096)
    {
        var bytes = ReadCStringBytes(address, maxLength);
        return bytes is null ? null : Encoding.UTF8.GetString(bytes);
    }

    /// <summary>The bytes of a NUL-terminated guest string (without the NUL), or null.</summary>
    public byte[]? ReadCStringBytes(ulong address, int maxLength = 4096)
    {
        for (int length = 0; length < maxLength; length++)
        {
            ulong a = address + (ulong)length;
            if ((length == 0 || (a & (PageSize - 1)) == 0) && !Check(a, 1, PageFlags.Read)) return null;
            if (_host[a] == 0) return Span(address, length).ToArray();
        }
        return null;
    }

    public bool TryReadUInt64(ulong address, out ulong value)
    {
        value = 0;
        if (!Check(address, 8, PageFlags.Read)) return false;
        value = *(ulong*)(_host + address);
        return true;
    }

    public void Dispose()
    {
        if (_host == null) return;
        lock (_shared)
        {
            foreach (var r in _shared.Concat(_beyondFile)) Libc.close(r.Fd);
            _shared.Clear();
            _beyondFile.Clear();
        }
        Libc.munmap((nint)_host, (nuint)Limit);
        Libc.munmap((nint)_pages, (nuint)_pageCount);
        Libc.munmap((nint)_directPages, (nuint)_pageCount);
        _host = null;
        _pages = null;
    }
}

/// <summary>Which file a descriptor refers to (device and inode), its size, and whether it is a regular file.</summary>
public readonly record struct FileIdentity(ulong Device, ulong Inode, long Size, bool Regular)
{
    public static unsafe FileIdentity Of(int fd)
    {
        const int AtEmptyPath = 0x1000, StatxType = 1, StatxIno = 0x100, StatxSize = 0x200;
        byte* statx = stackalloc byte[256];
        byte* empty = stackalloc byte[1] { 0 };
        if (Libc.statx(fd, empty, AtEmptyPath, StatxType | StatxIno | StatxSize, statx) != 0) return new FileIdentity(0, 0, -1, false);
        ulong device = ((ulong)*(uint*)(statx + 136) << 32) | *(uint*)(statx + 140);
        return new FileIdentity(device, *(ulong*)(statx + 32), *(long*)(statx + 40), (*(ushort*)(statx + 28) & 0xF000) == 0x8000);
    }
}
