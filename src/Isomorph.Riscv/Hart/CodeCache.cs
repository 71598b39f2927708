using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Isomorph.Devices.Bus;
using Isomorph.Riscv.Isa;

namespace Isomorph.Riscv;

/// <summary>
/// The decoded instructions of one 4 KiB physical page: one slot per 16-bit parcel, decoded lazily
/// the first time each is executed.
/// </summary>
public sealed unsafe class DecodedPage
{
    public const int SlotCount = 2048;

    public ulong PhysicalBase { get; }
    public byte* Host { get; }
    public readonly Insn[] Slots = new Insn[SlotCount];

    public DecodedPage(ulong physicalBase, byte* host)
    {
        PhysicalBase = physicalBase;
        Host = host;
        Reset(0, SlotCount);
    }

    public void Reset(int first, int count)
    {
        for (int i = first; i < first + count; i++)
        {
            Slots[i] = default;
            Slots[i].Exec = &CodeCache.DecodeSlot;
        }
    }
}

/// <summary>
/// Decoded code, shared by the harts of a machine and keyed by physical page. A store to a page
/// holding decoded code invalidates the slots it overlaps, so self-modifying code is always seen
/// (as on QEMU); such pages are therefore never entered in the harts' write TLBs.
/// </summary>
public sealed unsafe class CodeCache(PhysicalBus bus)
{
    private readonly Dictionary<ulong, DecodedPage> _pages = [];
    private readonly List<Hart> _harts = [];

    public int PageCount => _pages.Count;

    internal void Attach(Hart hart) => _harts.Add(hart);

    /// <summary>True when the physical page holding <paramref name="physicalAddress"/> has decoded code.</summary>
    public bool IsCode(ulong physicalAddress) => _pages.ContainsKey(physicalAddress >> Ram.PageShift);

    /// <summary>The decoded page for a physical page of plain RAM, or null when it is not RAM.</summary>
    public DecodedPage? GetPage(ulong physicalAddress)
    {
        ulong ppn = physicalAddress >> Ram.PageShift;
        if (_pages.TryGetValue(ppn, out var page)) return page;
        ulong pageBase = ppn << Ram.PageShift;
        // Code runs from RAM; a device window overlaid on the page (HTIF's tohost) is not code.
        if (bus.FindRam(pageBase) is not { } ram || !ram.Contains(pageBase, Ram.PageSize)) return null;
        page = new DecodedPage(pageBase, ram.HostAddress(pageBase));
        _pages[ppn] = page;
        foreach (var h in _harts) h.FlushWriteTlb(); // stores to this page must now take the slow path
        return page;
    }

    /// <summary>Invalidates decoded slots overlapping a store of <paramref name="size"/> bytes.</summary>
    public void InvalidateStore(ulong physicalAddress, int size)
    {
        if (!_pages.TryGetValue(physicalAddress >> Ram.PageShift, out var page)) return;
        int first = Math.Max(0, (int)((physicalAddress & (Ram.PageSize - 1)) >> 1) - 1);
        int last = Math.Min(DecodedPage.SlotCount - 1, (int)(((physicalAddress & (Ram.PageSize - 1)) + (ulong)size - 1) >> 1));
        page.Reset(first, last - first + 1);
    }

    /// <summary>Forgets all decoded code (after RAM was written behind the harts' backs, e.g. by a loader).</summary>
    public void Clear()
    {
        _pages.Clear();
        foreach (var h in _harts) h.FlushTlb();
    }

    /// <summary>
    /// The semantics every slot starts with: decode the parcel(s) at this slot, remember the result,
    /// and run it. A 32-bit instruction in the page's last slot straddles two pages and is fetched
    /// afresh each time through the MMU.
    /// </summary>
    internal static int DecodeSlot(Hart h, ref Insn slot, int idx)
    {
        var page = h.CurrentPage!;
        uint low = Unsafe.ReadUnaligned<ushort>(page.Host + idx * 2);
        if (Decoder.IsWide(low))
        {
            if (idx == DecodedPage.SlotCount - 1)
            {
                slot.Exec = &ExecuteStraddling;
                return ExecuteStraddling(h, ref slot, idx);
            }
            low = Unsafe.ReadUnaligned<uint>(page.Host + idx * 2);
        }
        Decoder.Decode(low, ref slot);
        return slot.Exec(h, ref slot, idx);
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
