using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Isomorph.Riscv.Translation;

/// <summary>
/// A hart's jump cache (QEMU's tb_jmp_cache): the regions it entered last, by virtual pc and
/// translation context. A region's exit looks its next pc up here and, on a hit, returns that region
/// for the engine to run at once, without the dispatcher's fetch-TLB walk and page tables: the way
/// translated code reaches translated code across jumps, returns and page boundaries. An entry
/// holds for as long as the fetch translation it was made under: the hart clears the cache with
/// its fetch TLB (satp writes, sfence.vma, PMP changes, unmapped memory in the process VM), and
/// whenever a page's code changes (a store to it, retirement), by any hart's code cache.
/// </summary>
internal sealed class JumpCache
{
    /// <summary>log2 of the number of entries: 4096, enough for the entry points of an interpreter's dispatch loop and the functions it calls.</summary>
    private const int Bits = 12;

    private struct Entry
    {
        public ulong Pc;
        public ulong Context;
        public Region? Region;
    }

    private readonly Entry[] _entries = new Entry[1 << Bits];

    /// <summary>
    /// Counts whole clears, kept in each entry beside the translation context (which sits in bits 56
    /// and up, <see cref="Hart"/>'s TLB context): an entry of an earlier epoch never matches, so a
    /// clear, as frequent as context switches in a system VM's guest, costs nothing.
    /// </summary>
    private ulong _epoch = 1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int IndexOf(ulong pc) => (int)(((pc >> 1) ^ (pc >> (1 + Bits))) & ((1 << Bits) - 1));

    /// <summary>The region remembered for <paramref name="pc"/> in <paramref name="context"/>, if any.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Region? Find(ulong pc, ulong context)
    {
        ref Entry e = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_entries), IndexOf(pc));
        return e.Pc == pc && e.Context == (context | _epoch) ? e.Region : null;
    }

    public void Remember(ulong pc, ulong context, Region region)
    {
        ref Entry e = ref _entries[IndexOf(pc)];
        e.Region = region;
        e.Context = context | _epoch;
        e.Pc = pc;
    }

    /// <summary>Forgets everything (from any thread: another hart's code cache clears it when a page's code changes).</summary>
    public void Clear() => Interlocked.Increment(ref _epoch);
}
