using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Isomorph.Devices.Bus;
using Isomorph.Riscv.Isa;

namespace Isomorph.Riscv;

/// <summary>
/// The decoded instructions of one 4 KiB physical page: one slot per 16-bit parcel, decoded lazily
/// the first time each is executed.
/// </summary>
/// <remarks>
/// Harts on other host threads may run a page while it is decoded or invalidated: a slot's
/// operands are written before its semantics pointer (<see cref="Publish"/>), and invalidation
/// only swaps the pointer back, so a racing hart sees either the old instruction or a fresh decode.
/// </remarks>
public sealed unsafe class DecodedPage
{
    public const int SlotCount = 2048;

    public ulong PhysicalBase { get; }
    public byte* Host { get; }
    // Not zeroed: every slot is sent to the decoder (Reset) before the page is published, and an
    // undecoded slot is read for its semantics pointer alone. (Zeroing 64 KiB per new code page
    // was a twentieth of a Linux boot's time on its hart's thread.)
    public readonly Insn[] Slots = GC.AllocateUninitializedArray<Insn>(SlotCount);

    /// <summary>
    /// False once the page has taken <see cref="CodeCache.RetireAfterStores"/> stores since it became
    /// code (it is data now: a stack, a zeroed page): its slots are all sent back to the decoder,
    /// stores to it may use the write TLBs, and running it again makes it code again.
    /// </summary>
    internal volatile bool Active = true;

    /// <summary>Stores that invalidated slots since the page was (re)activated (approximate under races).</summary>
    internal int Stores;

    public DecodedPage(ulong physicalBase, byte* host)
    {
        PhysicalBase = physicalBase;
        Host = host;
        Reset(0, SlotCount);
    }

    /// <summary>
    /// Bumped whenever slots are reset (a store to the page, retirement, a cache clear): translated
    /// regions of the page carry the generation they were made from and stop at a mismatch.
    /// </summary>
    internal int Generation;

    /// <summary>True while the page is code whose bytes have not changed since <paramref name="generation"/> was read: what was translated from them then still holds.</summary>
    internal bool Unchanged(int generation) => Active && Volatile.Read(ref Generation) == generation;

    /// <summary>The page's translated regions and execution counters (Translation/), dropped with every reset.</summary>
    internal volatile Translation.PageTranslations? Translations;

    /// <summary>Sends slots back to the decoder (their next execution decodes them afresh), and drops the page's translations.</summary>
    public void Reset(int first, int count)
    {
        Interlocked.Increment(ref Generation);
        Translations = null;
        for (int i = first; i < first + count; i++) SetExec(ref Slots[i], &CodeCache.DecodeSlot);
    }

    /// <summary>Stores a decoded instruction into a slot: operands first, semantics last.</summary>
    internal static void Publish(ref Insn slot, in Insn decoded)
    {
        slot.Imm = decoded.Imm;
        slot.Raw = decoded.Raw;
        slot.Rd = decoded.Rd;
        slot.Rs1 = decoded.Rs1;
        slot.Rs2 = decoded.Rs2;
        slot.Rs3 = decoded.Rs3;
        slot.Slots = decoded.Slots;
        slot.Rm = decoded.Rm;
        slot.Id = decoded.Id;
        SetExec(ref slot, decoded.Exec);
    }

    /// <summary>Sends one slot back to the decoder (a decode that raced with a reset).</summary>
    internal static void Unpublish(ref Insn slot) => SetExec(ref slot, &CodeCache.DecodeSlot);

    private static void SetExec(ref Insn slot, delegate*<Hart, ref Insn, int, int> exec) =>
        Volatile.Write(ref *(nint*)Unsafe.AsPointer(ref slot), (nint)exec); // Exec is the first field
}

/// <summary>
/// Decoded code, shared by the harts of a machine and keyed by physical page. A store to a page
/// holding decoded code invalidates the slots it overlaps, so self-modifying code is always seen
/// (as on QEMU); such pages are therefore never entered in the harts' write TLBs. Safe for harts
/// on several host threads.
/// </summary>
public sealed unsafe class CodeCache(PhysicalBus bus)
{
    private readonly ConcurrentDictionary<ulong, DecodedPage> _pages = new();
    private readonly List<Hart> _harts = [];
    private readonly Lock _creation = new();

    public int PageCount => _pages.Count;

    /// <summary>A process VM's direct memory (<see cref="DirectMemory"/>): a page that becomes code leaves it for stores, as it leaves the write TLBs.</summary>
    public DirectMemory? Direct { get; set; }

    /// <summary>The harts, as an array that is replaced, never changed: read without the lock when a page's code changes.</summary>
    private volatile Hart[] _attached = [];

    internal void Attach(Hart hart)
    {
        lock (_creation)
        {
            _harts.Add(hart);
            _attached = [.. _harts];
        }
    }

    /// <summary>Stops sending flush requests to a hart that is going away (a process VM thread that ended).</summary>
    public void Detach(Hart hart)
    {
        lock (_creation)
        {
            _harts.Remove(hart);
            _attached = [.. _harts];
        }
    }

    /// <summary>
    /// After a page's slots were reset (its regions dropped): every hart's jump cache forgets the
    /// regions it holds, so that no region exit goes on into a region of old code. A clear costs
    /// nothing (an epoch), and regions check no generation when they chain.
    /// </summary>
    private void ForgetChainedRegions()
    {
        foreach (var h in _attached) h.ForgetRegions();
    }

    /// <summary>
    /// How many stores a page of code takes before it is treated as data again. A page that held code
    /// once (freed kernel init memory, a dead process's text) and now holds a stack or fresh data
    /// would otherwise send every store to it through the slow path for good.
    /// </summary>
    internal const int RetireAfterStores = 256;

    /// <summary>True when the physical page holding <paramref name="physicalAddress"/> has decoded code.</summary>
    public bool IsCode(ulong physicalAddress) =>
        _pages.TryGetValue(physicalAddress >> Ram.PageShift, out var page) && page.Active;

    /// <summary>
    /// The decoded page for a physical page of RAM, or null when it is not RAM. When the page is
    /// new, every hart's write TLB forgets it, so that stores to it take the slow path: the
    /// requesting hart's at once, the others' at their next instruction boundary.
    /// </summary>
    public DecodedPage? GetPage(ulong physicalAddress, Hart? requester = null)
    {
        ulong ppn = physicalAddress >> Ram.PageShift;
        if (_pages.TryGetValue(ppn, out var page)) return page;
        ulong pageBase = ppn << Ram.PageShift;
        // Code runs from RAM; a device window overlaid on the page (HTIF's tohost) is not code.
        if (bus.FindRam(pageBase) is not { } ram || !ram.Contains(pageBase, Ram.PageSize)) return null;
        lock (_creation)
        {
            if (_pages.TryGetValue(ppn, out page)) return page;
            page = new DecodedPage(pageBase, ram.HostAddress(pageBase));
            _pages[ppn] = page;
            ForgetWritableMappings(pageBase, requester);
        }
        return page;
    }

    /// <summary>Makes a retired page code again before a slot of it is decoded (see <see cref="DecodedPage.Active"/>).</summary>
    private void Reactivate(DecodedPage page, Hart requester)
    {
        lock (_creation)
        {
            if (page.Active) return;
            page.Stores = 0;
            page.Active = true;
            ForgetWritableMappings(page.PhysicalBase, requester);
        }
    }

    /// <summary>Every hart's write TLB forgets its pages, and direct memory the page's stores, so that stores to a page that just became code take the slow path.</summary>
    private void ForgetWritableMappings(ulong pageBase, Hart? requester)
    {
        Direct?.ForgetStores(pageBase);
        foreach (var h in _harts)
        {
            if (h == requester) h.FlushWriteTlb();
            else h.RequestWriteTlbFlush();
        }
    }

    /// <summary>Invalidates decoded slots overlapping a store of <paramref name="size"/> bytes.</summary>
    public void InvalidateStore(ulong physicalAddress, int size)
    {
        ulong first = physicalAddress >> Ram.PageShift, last = (physicalAddress + (ulong)Math.Max(size, 1) - 1) >> Ram.PageShift;
        for (ulong ppn = first; ppn <= last; ppn++)
        {
            if (!_pages.TryGetValue(ppn, out var page) || !page.Active) continue;
            if (++page.Stores >= RetireAfterStores)
            {
                page.Active = false;
                page.Reset(0, DecodedPage.SlotCount);
                ForgetChainedRegions();
                continue;
            }
            ulong start = Math.Max(physicalAddress, ppn << Ram.PageShift) & (Ram.PageSize - 1);
            ulong end = Math.Min(physicalAddress + (ulong)size, (ppn + 1) << Ram.PageShift) - (ppn << Ram.PageShift);
            int firstSlot = Math.Max(0, (int)(start >> 1) - 1); // a 32-bit instruction may start one parcel earlier
            int lastSlot = Math.Min(DecodedPage.SlotCount - 1, (int)((end - 1) >> 1));
            page.Reset(firstSlot, lastSlot - firstSlot + 1);
            ForgetChainedRegions();
        }
    }

    /// <summary>Forgets all decoded code (after RAM was written behind the harts' backs, e.g. by a loader).</summary>
    public void Clear()
    {
        lock (_creation)
        {
            foreach (var page in _pages.Values) page.Reset(0, DecodedPage.SlotCount);
            _pages.Clear();
            ForgetChainedRegions();
            foreach (var h in _harts) h.RequestTlbFlush();
        }
    }

    /// <summary>
    /// The semantics every slot starts with: decode the parcel(s) at this slot, remember the result,
    /// and run it. A 32-bit instruction in the page's last slot straddles two pages and is fetched
    /// afresh each time through the MMU.
    /// </summary>
    internal static int DecodeSlot(Hart h, ref Insn slot, int idx)
    {
        var page = h.CurrentPage!;
        if (!page.Active) h.Code.Reactivate(page, h);
        int generation = Volatile.Read(ref page.Generation);
        uint low = Unsafe.ReadUnaligned<ushort>(page.Host + idx * 2);
        var decoded = default(Insn);
        if (Decoder.IsWide(low))
        {
            if (idx == DecodedPage.SlotCount - 1)
            {
                decoded.Exec = &ExecuteStraddling;
                DecodedPage.Publish(ref slot, in decoded);
                return ExecuteStraddling(h, ref slot, idx);
            }
            low = Unsafe.ReadUnaligned<uint>(page.Host + idx * 2);
        }
        Decoder.Decode(low, ref decoded);
        DecodedPage.Publish(ref slot, in decoded);
        // A store that reset the page while these bytes were read (another thread's, followed by its
        // riscv_flush_icache or remote fence.i) must not be undone by this publication: the old
        // instruction runs this once, as fetched before the store, and the slot is decoded again next
        // time. (The fence orders the publication before the generation's second reading; a reset
        // bumps the generation before it sends slots back to the decoder.)
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref page.Generation) != generation) DecodedPage.Unpublish(ref slot);
        return decoded.Exec(h, ref slot, idx);
    }

    private static int ExecuteStraddling(Hart h, ref Insn slot, int idx)
    {
        var page = h.CurrentPage!;
        uint low = Unsafe.ReadUnaligned<ushort>(page.Host + idx * 2);
        ulong pc = h.PcOf(idx);
        if (!h.FetchParcel(pc + 2, out ushort high)) return h.RaisePending(idx);
        var insn = default(Insn);
        Decoder.Decode(low | (uint)high << 16, ref insn);
        return insn.Exec(h, ref insn, idx);
    }
}
