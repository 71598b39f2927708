namespace Isomorph.Riscv;

/// <summary>
/// A process VM's guest memory as translated code reaches it without the TLBs: guest address A
/// (below <see cref="Limit"/>, virtual and physical alike, as user-mode emulation has satp = Bare)
/// is host address <see cref="HostBase"/> + A, and a byte per guest page says whether loads
/// (<see cref="Load"/>) and stores (<see cref="Store"/>) may go to it directly. A translated access
/// then costs a compare, a test of the page's byte and the host access, as qemu-user's guest_base
/// does, where the TLBs need a tag compare and a dependent load of the entry's addend.
/// </summary>
/// <remarks>
/// The table is a TLB without tags, shared by the harts of an address space: the harts' slow paths
/// set a page's bit exactly when they would fill a TLB entry for it (plain RAM the page protections
/// permit, not watched, and for stores holding no decoded code), and its owner clears bits wherever
/// TLBs are flushed: <see cref="Forget"/> when protections are reduced (munmap, mprotect, a mapping
/// replaced or truncated), <see cref="ForgetStores"/> when a page becomes code, and a watch's pages
/// when it is set (<see cref="Hart.Watch"/>). Everything else — a miss, a
/// misaligned access, a fault — leaves translated code for the interpreter's full access path.
/// </remarks>
public unsafe class DirectMemory(byte* hostBase, ulong limit, byte* pages)
{
    /// <summary>A page's bit: loads may go straight to the host.</summary>
    public const byte Load = 1;
    /// <summary>A page's bit: stores may go straight to the host.</summary>
    public const byte Store = 2;

    private const int PageShift = 12;

    /// <summary>The host address of guest address 0.</summary>
    public byte* HostBase => hostBase;

    /// <summary>Guest addresses are below this (a power of two, at most 2^61: translated code folds an access's alignment into its compare with the limit).</summary>
    public ulong Limit { get; } = limit <= MaxLimit ? limit : throw new ArgumentOutOfRangeException(nameof(limit), limit, "direct memory spans at most 2^61 bytes");

    /// <summary>The largest <see cref="Limit"/>.</summary>
    public const ulong MaxLimit = 1ul << 61;

    /// <summary>The bits of each guest page, <see cref="Limit"/> &gt;&gt; 12 bytes.</summary>
    internal byte* Pages => pages;

    /// <summary>Lets <paramref name="bits"/> accesses to the page holding <paramref name="address"/> go direct (a hart's slow path, after it checked them).</summary>
    internal void Allow(ulong address, byte bits)
    {
        if (address < limit) Update(ref pages[address >> PageShift], bits, 0);
    }

    /// <summary>Takes <paramref name="bits"/> back from the page holding <paramref name="address"/>.</summary>
    internal void Revoke(ulong address, byte bits)
    {
        if (address < limit) Update(ref pages[address >> PageShift], 0, bits);
    }

    /// <summary>Stores to the page holding <paramref name="address"/> take the slow path from now on (it became code).</summary>
    public void ForgetStores(ulong address) => Revoke(address, Store);

    /// <summary>Sets and clears bits of a page's byte atomically: harts on several threads allow loads while another forgets stores.</summary>
    private static void Update(ref byte b, byte set, byte clear)
    {
        byte old = Volatile.Read(ref b);
        while (true)
        {
            byte updated = (byte)((old | set) & ~clear);
            if (updated == old) return;
            byte seen = Interlocked.CompareExchange(ref b, updated, old);
            if (seen == old) return;
            old = seen;
        }
    }

    /// <summary>Every access to [<paramref name="start"/>, +<paramref name="length"/>) takes the slow path until a hart's slow path allows it again.</summary>
    public void Forget(ulong start, ulong length)
    {
        if (start >= limit) return;
        length = Math.Min(length, limit - start);
        ulong first = start >> PageShift, end = (start + length + (1ul << PageShift) - 1) >> PageShift;
        Clear(pages + first, end - first);
    }

    /// <summary>Zeroes <paramref name="count"/> bytes of the table; an owner whose table is lazily committed may release whole pages of it instead.</summary>
    protected virtual void Clear(byte* from, ulong count) => System.Runtime.InteropServices.NativeMemory.Clear(from, (nuint)count);
}

public sealed unsafe partial class Hart
{
    private DirectMemory? _direct;

    /// <summary>
    /// What translated code reads for direct access (<see cref="DirectMemory"/>): its host base,
    /// its table, and its limit, which is 0 without direct memory, so that every address fails the
    /// limit compare.
    /// </summary>
    internal byte* _directBase, _directPages;
    internal ulong _directLimit;

    /// <summary>
    /// The process VM's direct memory, used by translated code and kept up to date by this hart's
    /// slow paths; null (the default) in a system VM, whose accesses go through the TLBs.
    /// </summary>
    public DirectMemory? Direct
    {
        get => _direct;
        set
        {
            _direct = value;
            UpdateDirectAccess();
        }
    }

    /// <summary>
    /// After a slow path checked an access to the page holding <paramref name="va"/> and filled a
    /// TLB entry for it: lets translated code make such accesses directly. Then checks again, after a
    /// fence, that the page is still permitted (and for stores, still not code): a protection reduced
    /// or a page decoded by another thread meanwhile may have cleared the bit before it was set.
    /// </summary>
    private void AllowDirect(ulong va, byte bit)
    {
        if (_direct is not { } direct) return;
        direct.Allow(va, bit);
        Interlocked.MemoryBarrier();
        bool still = PageProtection?.Permits(va, bit == DirectMemory.Store ? AccessType.Write : AccessType.Read) ?? true;
        if (still && bit == DirectMemory.Store && Code.IsCode(va)) still = false;
        if (!still) direct.Revoke(va, bit);
    }

    /// <summary>Translated code goes direct only with direct memory and no watch (whose pages must reach the slow path).</summary>
    private void UpdateDirectAccess()
    {
        var direct = _direct;
        _directBase = direct is null ? null : direct.HostBase;
        _directPages = direct is null ? null : direct.Pages;
        _directLimit = direct?.Limit ?? 0;
    }
}
