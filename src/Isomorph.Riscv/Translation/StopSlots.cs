namespace Isomorph.Riscv.Translation;

/// <summary>
/// Addresses execution must stop before (a debugger's breakpoints, a hook's instructions) as
/// <see cref="TranslatingEngine.RunUntil"/> and <see cref="Hart.RunInPage"/> take them: by virtual
/// page, a bitmap of its 2,048 two-byte slots.
/// </summary>
public static class StopSlots
{
    /// <summary>
    /// The bitmaps of <paramref name="addresses"/> by virtual page. A page whose bitmap equals the
    /// one in <paramref name="seen"/> (the last made for it) gets that same array: regions are
    /// translated for a bitmap (<see cref="Region.Stops"/>) and kept while it is the one in use.
    /// </summary>
    public static Dictionary<ulong, ulong[]> ByPage(IEnumerable<ulong> addresses, Dictionary<ulong, ulong[]> seen)
    {
        var pages = new Dictionary<ulong, ulong[]>();
        foreach (ulong address in addresses)
        {
            if (!pages.TryGetValue(address >> 12, out var slots)) pages[address >> 12] = slots = new ulong[DecodedPage.SlotCount / 64];
            int slot = (int)(address & 0xFFF) >> 1;
            slots[slot >> 6] |= 1ul << slot;
        }
        lock (seen)
            foreach (var (page, slots) in pages.ToList())
            {
                if (seen.TryGetValue(page, out var before) && before.AsSpan().SequenceEqual(slots)) pages[page] = before;
                else seen[page] = slots;
            }
        return pages;
    }
}
