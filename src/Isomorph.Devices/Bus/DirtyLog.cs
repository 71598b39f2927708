namespace Isomorph.Devices.Bus;

/// <summary>
/// Which pages of a <see cref="Ram"/> were written since they were last collected: one bit per
/// 4 KiB page, set from any thread. What writes RAM marks it — a hart when a page enters its write
/// TLB and on every slow-path store, the page walker when it sets A/D bits, a device after its DMA —
/// and whoever copies RAM while it changes (a live migration) collects the bits round by round.
/// Writes through a hart's write TLB are not marked one by one: the machine flushes the harts'
/// write TLBs when it collects (<c>IMachine.CollectDirtyPages</c>), so that a page written after a
/// collection enters a TLB, and is marked, again.
/// </summary>
public sealed class DirtyLog
{
    private readonly ulong[] _bits;

    public DirtyLog(ulong pages)
    {
        Pages = pages;
        _bits = new ulong[(pages + 63) / 64];
    }

    /// <summary>The number of pages the log covers.</summary>
    public ulong Pages { get; }

    /// <summary>The length of a bitmap that <see cref="Collect"/> fills.</summary>
    public int Words => _bits.Length;

    /// <summary>Marks the pages holding [offset, offset + length) of RAM as written.</summary>
    public void Mark(ulong offset, ulong length)
    {
        if (length == 0) return;
        ulong first = offset >> Ram.PageShift, last = (offset + length - 1) >> Ram.PageShift;
        if (last >= Pages) last = Pages - 1;
        for (ulong page = first; page <= last; page++)
        {
            ulong bit = 1ul << (int)(page & 63);
            ref ulong word = ref _bits[page >> 6];
            if ((Volatile.Read(ref word) & bit) == 0) Interlocked.Or(ref word, bit);
        }
    }

    /// <summary>Marks every page (a log that starts knows nothing of what was sent before).</summary>
    public void MarkAll()
    {
        for (int i = 0; i < _bits.Length; i++) Volatile.Write(ref _bits[i], ulong.MaxValue);
        ulong tail = Pages & 63;
        if (tail != 0) Volatile.Write(ref _bits[^1], (1ul << (int)tail) - 1);
    }

    /// <summary>Moves the marks into <paramref name="bitmap"/> (bit p of word p/64: page p) and clears them; returns how many pages were marked.</summary>
    public long Collect(ulong[] bitmap)
    {
        if (bitmap.Length < _bits.Length) throw new ArgumentException($"a bitmap of {_bits.Length} words is needed", nameof(bitmap));
        long count = 0;
        for (int i = 0; i < _bits.Length; i++)
        {
            ulong word = Volatile.Read(ref _bits[i]) == 0 ? 0 : Interlocked.Exchange(ref _bits[i], 0);
            bitmap[i] = word;
            count += System.Numerics.BitOperations.PopCount(word);
        }
        return count;
    }
}
