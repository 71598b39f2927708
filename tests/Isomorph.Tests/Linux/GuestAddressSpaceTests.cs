using Isomorph.Linux;
using Isomorph.Linux.Memory;
using Isomorph.Riscv;

namespace Isomorph.Tests.Linux;

/// <summary>The process VM's address space: mapping, protection and placement, checked in-process.</summary>
public sealed class GuestAddressSpaceTests : IDisposable
{
    private const ulong Page = GuestAddressSpace.PageSize;
    private readonly GuestAddressSpace _space = GuestAddressSpace.Reserve(maxBits: 40, minBits: 36);

    public void Dispose() => _space.Dispose();

    [Fact]
    public void FreshPagesAreZeroAndCarryTheirProtection()
    {
        Assert.Equal(0, _space.Map(0x10000, 2 * Page, PageFlags.Read | PageFlags.Write));
        Assert.True(_space.Span(0x10000, (int)(2 * Page)).IndexOfAnyExcept((byte)0) < 0);
        Assert.True(_space.Permits(0x10000, AccessType.Read));
        Assert.True(_space.Permits(0x11FFF, AccessType.Write));
        Assert.False(_space.Permits(0x10000, AccessType.Execute));
        Assert.False(_space.Permits(0x12000, AccessType.Read));
        Assert.False(_space.Permits(_space.Limit + 0x10000, AccessType.Read));
    }

    [Fact]
    public void ProtectAndUnmapReducePermissionsAndTellListeners()
    {
        var reduced = new List<(ulong, ulong)>();
        _space.ProtectionReduced += (s, l) => reduced.Add((s, l));
        _space.Map(0x20000, 4 * Page, PageFlags.Read | PageFlags.Write);
        _space.Span(0x20000, 4)[0] = 7;
        Assert.Equal(0, _space.Protect(0x20000, Page, PageFlags.Read));
        Assert.False(_space.Permits(0x20000, AccessType.Write));
        Assert.Equal(7, _space.Span(0x20000, 1)[0]); // protection keeps contents
        Assert.Equal(0, _space.Unmap(0x21000, Page));
        Assert.False(_space.Permits(0x21000, AccessType.Read));
        Assert.Equal(-Errno.ENOMEM, _space.Protect(0x20000, 4 * Page, PageFlags.Read)); // a hole
        Assert.Equal([(0x20000ul, Page), (0x21000ul, Page)], reduced);
    }

    [Fact]
    public void RemappingGivesZeroedPages()
    {
        _space.Map(0x30000, Page, PageFlags.Read | PageFlags.Write);
        _space.Span(0x30000, 8).Fill(0xAA);
        _space.Map(0x30000, Page, PageFlags.Read);
        Assert.Equal(0, _space.Span(0x30000, 1)[0]);
        _space.Unmap(0x30000, Page);
        _space.Map(0x30000, Page, PageFlags.Read);
        Assert.Equal(0, _space.Span(0x30000, 1)[0]);
    }

    [Fact]
    public void FindFreePlacesTopDownAroundMappings()
    {
        ulong top = 1ul << 32;
        ulong first = _space.FindFree(3 * Page, top);
        Assert.Equal(top - 3 * Page, first);
        _space.Map(first, 3 * Page, PageFlags.Read);
        _space.Map(first - 2 * Page, Page, PageFlags.Read); // leaves a one-page hole below the first mapping
        Assert.Equal(first - Page, _space.FindFree(Page, top));
        Assert.Equal(first - 5 * Page, _space.FindFree(3 * Page, top));
    }

    [Fact]
    public void FindFreeGoesPastALongReservationAndTooSmallHoles()
    {
        // Go reserves gigabytes PROT_NONE; the search below such a mapping is one scan, not a step per page.
        ulong top = 1ul << 36;
        ulong reservation = 1ul << 30;
        Assert.Equal(0, _space.Map(top - reservation, reservation, PageFlags.None));
        Assert.Equal(0, _space.Map(top - reservation - 3 * Page, 2 * Page, PageFlags.Read)); // two pages below it, with a one-page hole between
        Assert.Equal(top - reservation - Page, _space.FindFree(Page, top));
        Assert.Equal(top - reservation - 5 * Page, _space.FindFree(2 * Page, top));
        Assert.Equal(0, _space.Unmap(top - reservation, reservation));
        Assert.Equal(top - reservation, _space.FindFree(reservation, top));
    }

    [Fact]
    public void ChecksWholeBuffersAndStrings()
    {
        _space.Map(0x40000, Page, PageFlags.Read | PageFlags.Write);
        _space.Write(0x40FFC, "abc\0"u8);
        Assert.Equal("abc", _space.ReadCString(0x40FFC));
        _space.Write(0x40FFC, "abcd"u8);
        Assert.Null(_space.ReadCString(0x40FFC)); // runs into the unmapped page
        Assert.True(_space.Check(0x40000, Page, PageFlags.Write));
        Assert.False(_space.Check(0x40000, Page + 1, PageFlags.Read));
    }

    [Fact]
    public void SharedAnonymousPagesStaySharedAcrossForkAndPrivateOnesAreCopied()
    {
        Assert.Equal(0, _space.MapSharedAnonymous(0x40000, 2 * Page, PageFlags.Read | PageFlags.Write));
        Assert.Equal(0, _space.Map(0x50000, Page, PageFlags.Read | PageFlags.Write));
        _space.Span(0x40000, 1)[0] = 1;
        _space.Span(0x50000, 1)[0] = 1;
        using var child = _space.Fork();
        child.Span(0x40000 + Page, 1)[0] = 2;  // the child's store shows in the parent
        _space.Span(0x40000, 1)[0] = 3;         // and the parent's in the child
        child.Span(0x50000, 1)[0] = 9;          // private: the parent keeps its own
        Assert.Equal(2, _space.Span(0x40000 + Page, 1)[0]);
        Assert.Equal(3, child.Span(0x40000, 1)[0]);
        Assert.Equal(1, _space.Span(0x50000, 1)[0]);
        Assert.True((child.FlagsAt(0x40000) & PageFlags.Shared) != 0);

        // Unmapping half in the child leaves the other half shared, and the parent's whole.
        Assert.Equal(0, child.Unmap(0x40000, Page));
        child.Span(0x40000 + Page, 1)[0] = 4;
        Assert.Equal(4, _space.Span(0x40000 + Page, 1)[0]);
        Assert.Equal(3, _space.Span(0x40000, 1)[0]);

        // Mapping private memory over a shared page detaches it.
        Assert.Equal(0, _space.Map(0x40000 + Page, Page, PageFlags.Read | PageFlags.Write));
        Assert.Equal(0, _space.Span(0x40000 + Page, 1)[0]);
        child.Span(0x40000 + Page, 1)[0] = 5;
        Assert.Equal(0, _space.Span(0x40000 + Page, 1)[0]);
    }

    [Fact]
    public void AShrinkingFileLeavesNoPageTheHostCannotBack()
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, new byte[2 * Page]);
            using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
            int fd = (int)file.SafeFileHandle.DangerousGetHandle();
            Assert.Equal(0, _space.MapShared(0x60000, 2 * Page, PageFlags.Read | PageFlags.Write, fd, 0, writable: true));
            _space.Span(0x60000 + Page, 1)[0] = 7;
            Assert.Equal(7, ReadByte(path, (int)Page)); // the store reached the file

            _space.Shrinking(FileIdentity.Of(fd), 100);
            file.SetLength(100);
            Assert.True((_space.FlagsAt(0x60000) & PageFlags.Shared) != 0);
            Assert.True((_space.FlagsAt(0x60000 + Page) & PageFlags.Shared) == 0);
            // A host access past the end of the file would raise SIGBUS and end this test process.
            Assert.Equal(0, _space.Span(0x60000 + Page, 1)[0]);
            _space.Span(0x60000, 1)[0] = 9;
            Assert.Equal(9, ReadByte(path, 0));
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static int ReadByte(string path, int at)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        f.Position = at;
        return f.ReadByte();
    }

    [Fact]
    public void LockedPagesAreCountedUntilUnlockedUnmappedOrReplacedAndAForkedChildHasNone()
    {
        Assert.Equal(0, _space.Map(0x40000, 4 * Page, PageFlags.Read | PageFlags.Write | PageFlags.Locked));
        Assert.Equal(4 * Page, _space.LockedBytes);
        Assert.Equal(0, _space.Map(0x50000, 4 * Page, PageFlags.Read));
        Assert.Equal(0, _space.Lock(0x50000 + 100, Page, locked: true)); // two pages: the range's
        Assert.Equal(6 * Page, _space.LockedBytes);
        Assert.Equal(0, _space.Protect(0x40000, 4 * Page, PageFlags.Read)); // mprotect keeps the lock
        Assert.Equal(6 * Page, _space.LockedBytes);
        Assert.Equal(0, _space.Lock(0x40000, Page, locked: false));
        Assert.Equal(0, _space.Unmap(0x41000, Page));
        Assert.Equal(0, _space.Map(0x50000, Page, PageFlags.Read)); // replaced: a fresh mapping is not locked
        Assert.Equal(3 * Page, _space.LockedBytes);
        Assert.Equal(-Errno.ENOMEM, _space.Lock(0x60000, Page, locked: true));
        using var child = _space.Fork();
        Assert.Equal(0ul, child.LockedBytes);
    }

    [Fact]
    public void AGrowsDownMappingGrowsToAFaultBelowItButNotWithinTheGuardGapOfAnother()
    {
        ulong top = 0x4000000;
        Assert.Equal(0, _space.Map(top - Page, Page, PageFlags.Read | PageFlags.Write | PageFlags.GrowsDown));
        Assert.Equal(GuestAddressSpace.Fault.Retry, _space.FaultIn(top - 10 * Page + 8, stackLimit: 8 << 20));
        Assert.True(_space.Permits(top - 10 * Page, AccessType.Write));
        Assert.True((_space.FlagsAt(top - 10 * Page) & PageFlags.GrowsDown) != 0);
        // Past RLIMIT_STACK, or with a mapping in the gap below: no growth.
        Assert.Equal(GuestAddressSpace.Fault.Segv, _space.FaultIn(top - 40 * Page, stackLimit: 16 * Page));
        Assert.Equal(0, _space.Map(top - 100 * Page, Page, PageFlags.Read));
        Assert.Equal(GuestAddressSpace.Fault.Segv, _space.FaultIn(top - 20 * Page, stackLimit: 8 << 20));
        // An unmapped page with no stack above it is just unmapped.
        Assert.Equal(GuestAddressSpace.Fault.Segv, _space.FaultIn(0x30000, stackLimit: 8 << 20));
    }
}
