using System.Reflection;
using System.Reflection.Emit;
using System.Runtime.CompilerServices;

namespace Isomorph.Riscv.Translation;

/// <summary>
/// A hart's jump cache (QEMU's tb_jmp_cache): the regions it entered last, by virtual pc and
/// translation context. A region's exit looks its next pc up here (<see cref="EmitFind"/>, in the
/// region's own code) and, on a hit, enters that region at once, without the dispatcher's fetch-TLB
/// walk and page tables: the way translated code reaches translated code across jumps, returns and
/// page boundaries. An entry holds for as long as the fetch translation it was made under: the hart
/// clears the cache with its fetch TLB (satp writes, sfence.vma, PMP changes, unmapped memory in the
/// process VM), and whenever a page's code changes (a store to it, retirement), by any hart's code cache.
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

    /// <summary>The entries, inside the object: translated code reaches one from the cache's address, with no array bounds to check.</summary>
    [InlineArray(1 << Bits)]
    private struct Entries
    {
        private Entry _first;
    }

    private Entries _entries;

    /// <summary>
    /// Counts whole clears, kept in each entry beside the translation context (which sits in bits 56
    /// and up, <see cref="Hart"/>'s TLB context): an entry of an earlier epoch never matches (nor does
    /// an entry never written, whose context is 0), so a clear, as frequent as context switches in a
    /// system VM's guest, costs nothing.
    /// </summary>
    private ulong _epoch = 1;

    /// <summary>
    /// The leaf translations the entries were remembered under, as a filter of 4,096 bits, each
    /// standing for a hash of a leaf's level and the virtual granule it maps (a 4 KiB page, a 2 MiB
    /// or 1 GiB superpage): a flush of one page (sfence.vma with an address, which Linux issues
    /// after each page fault it fixes: 5,656 in a boot to the prompt) empties the cache only when
    /// an entry may lie under the leaf it fences. Set by <see cref="Remember"/>, emptied only by
    /// <see cref="Reset"/> on the hart's own thread: a bit left set costs at most a needless clear.
    /// </summary>
    private Leaves _leaves;

    [InlineArray(64)]
    private struct Leaves
    {
        private ulong _first;
    }

    /// <summary>The deepest leaf level a filter bit is kept for: Sv57's 256 TiB pages.</summary>
    private const int MaxLevel = 4;

    /// <summary>The filter bit of the leaf at <paramref name="level"/> mapping the granule of virtual page <paramref name="vpn"/>.</summary>
    private static int LeafBit(ulong vpn, int level) =>
        (int)((((vpn >> (9 * level)) << 3 | (uint)level) * 0x9E3779B97F4A7C15ul) >> (64 - Bits));

    /// <summary>The entry of <paramref name="pc"/>: bits of the pc above its halfword bit, folded once (<see cref="EmitFind"/> computes the same).</summary>
    private static int IndexOf(ulong pc) => (int)(((pc >> 1) ^ (pc >> (1 + Bits))) & ((1 << Bits) - 1));

    /// <summary>Remembers <paramref name="region"/> at <paramref name="pc"/>, fetched through a leaf at <paramref name="level"/> (0: a 4 KiB page).</summary>
    public void Remember(ulong pc, ulong context, Region region, int level)
    {
        int bit = LeafBit(pc >> 12, level);
        _leaves[bit >> 6] |= 1ul << bit;
        ref Entry e = ref _entries[IndexOf(pc)];
        e.Region = region;
        e.Context = context | _epoch;
        e.Pc = pc;
    }

    /// <summary>Forgets everything (from any thread: another hart's code cache clears it when a page's code changes).</summary>
    public void Clear() => Interlocked.Increment(ref _epoch);

    /// <summary>Forgets everything and empties the leaf filter: only on the hart's own thread (or while it is stopped).</summary>
    public void Reset()
    {
        Clear();
        _leaves = default;
    }

    /// <summary>
    /// Forgets what was remembered under the leaf that maps virtual page <paramref name="vpn"/>,
    /// whatever its level: everything, when the filter says an entry may be there (the entries are
    /// spread by address, not grouped by page, and a clear is free); nothing otherwise. On the
    /// hart's own thread.
    /// </summary>
    public void ForgetPage(ulong vpn)
    {
        for (int level = 0; level <= MaxLevel; level++)
        {
            int bit = LeafBit(vpn, level);
            if ((_leaves[bit >> 6] & 1ul << bit) != 0)
            {
                Reset();
                return;
            }
        }
    }

    private static readonly FieldInfo EntriesField = typeof(JumpCache).GetField(nameof(_entries), BindingFlags.Instance | BindingFlags.NonPublic)!;
    private static readonly FieldInfo EpochField = typeof(JumpCache).GetField(nameof(_epoch), BindingFlags.Instance | BindingFlags.NonPublic)!;
    private static readonly FieldInfo PcField = typeof(Entry).GetField(nameof(Entry.Pc))!;
    private static readonly FieldInfo ContextField = typeof(Entry).GetField(nameof(Entry.Context))!;
    private static readonly FieldInfo RegionField = typeof(Entry).GetField(nameof(Entry.Region))!;

    /// <summary>
    /// Emits the lookup of <paramref name="pc"/> in the cache on the stack, in the translation
    /// context <paramref name="loadContext"/> pushes: pushes the region remembered for it, or
    /// branches to <paramref name="miss"/> (the cache popped) when there is none. One compare and
    /// no call: a region's exit is the hottest path between regions, and RyuJIT's time grows with
    /// every basic block a region has (an inlined call of a lookup written in C# cost each region
    /// about as much to compile as ten instructions, docs/translator.md).
    /// </summary>
    internal static void EmitFind(ILGenerator il, LocalBuilder pc, Action loadContext, Label miss)
    {
        var cache = il.DeclareLocal(typeof(JumpCache));
        var entry = il.DeclareLocal(typeof(Entry).MakeByRefType());
        il.Emit(OpCodes.Stloc, cache);
        // entry = ref _entries[IndexOf(pc)]
        il.Emit(OpCodes.Ldloc, cache);
        il.Emit(OpCodes.Ldflda, EntriesField);
        il.Emit(OpCodes.Ldloc, pc);
        il.Emit(OpCodes.Ldc_I4_1);
        il.Emit(OpCodes.Shr_Un);
        il.Emit(OpCodes.Ldloc, pc);
        il.Emit(OpCodes.Ldc_I4, 1 + Bits);
        il.Emit(OpCodes.Shr_Un);
        il.Emit(OpCodes.Xor);
        il.Emit(OpCodes.Ldc_I8, (long)((1 << Bits) - 1));
        il.Emit(OpCodes.And);
        il.Emit(OpCodes.Conv_I);
        il.Emit(OpCodes.Sizeof, typeof(Entry));
        il.Emit(OpCodes.Mul);
        il.Emit(OpCodes.Add);
        il.Emit(OpCodes.Stloc, entry);
        // (entry.Pc ^ pc) | (entry.Context ^ (context | _epoch)): zero when it holds pc in this context and epoch
        il.Emit(OpCodes.Ldloc, entry);
        il.Emit(OpCodes.Ldfld, PcField);
        il.Emit(OpCodes.Ldloc, pc);
        il.Emit(OpCodes.Xor);
        il.Emit(OpCodes.Ldloc, entry);
        il.Emit(OpCodes.Ldfld, ContextField);
        loadContext();
        il.Emit(OpCodes.Ldloc, cache);
        il.Emit(OpCodes.Ldfld, EpochField);
        il.Emit(OpCodes.Or);
        il.Emit(OpCodes.Xor);
        il.Emit(OpCodes.Or);
        il.Emit(OpCodes.Brtrue, miss);
        il.Emit(OpCodes.Ldloc, entry);
        il.Emit(OpCodes.Ldfld, RegionField);
    }
}
