using System.Buffers.Binary;
using System.Diagnostics;
using System.Reflection.Emit;
using System.Runtime.CompilerServices;
using Isomorph.Riscv.Isa;

namespace Isomorph.Riscv.Translation;

/// <summary>
/// Gathers a region and compiles it: the code reachable from a start slot, gathered breadth first
/// in straight-line runs on the hart's thread (see <see cref="Gather"/>), up to
/// <see cref="MaxInstructions"/> on up to <see cref="MaxPages"/> pages, then compiled on the
/// translator's (<see cref="Compile"/>). Branches, jumps and returns to instructions of the region
/// become IL branches, so loops, calls and an interpreter's jumps back to its dispatch run without
/// leaving translated code.
/// </summary>
public static class RegionTranslator
{
    /// <summary>Instructions per region: well under RyuJIT's limits for full optimisation (see docs/translator.md).</summary>
    public const int MaxInstructions = 128;

    /// <summary>
    /// The page a region's slot is on, in virtual pages from the start's: slots are numbered from
    /// the start page's base, <see cref="DecodedPage.SlotCount"/> a page, so those of earlier pages
    /// are negative (and round down).
    /// </summary>
    internal static int PageOffset(int idx) => idx >> 11;

    /// <summary>True when slot <paramref name="idx"/> is set in <paramref name="slots"/>, a bitmap of a page's slots (its stops, or the slots that have run).</summary>
    internal static bool IsSet(ulong[] slots, int idx) => (slots[idx >> 6] & (1ul << idx)) != 0;

    /// <summary>
    /// A bitmap of the slots of <paramref name="page"/> that have run (slots are decoded the first
    /// time they run, <see cref="DecodedPage"/>): read on the hart's thread when a region is asked
    /// for, so that the region leaves out the code that never ran (error paths, the rest of a
    /// function the program does not call, data after code) instead of compiling it.
    /// </summary>
    internal static unsafe ulong[] ExecutedSlots(DecodedPage page)
    {
        var bits = new ulong[DecodedPage.SlotCount / 64];
        nint undecoded = (nint)(delegate*<Hart, ref Insn, int, int>)&CodeCache.DecodeSlot;
        for (int i = 0; i < DecodedPage.SlotCount; i++)
            if ((nint)page.Slots[i].Exec != undecoded) bits[i >> 6] |= 1ul << i;
        return bits;
    }

    /// <summary>Time spent in RyuJIT compiling regions (all engines, wall time of the compiling thread), for --stats.</summary>
    public static long JitTicks;

    /// <summary>
    /// Copies the page a region of <paramref name="page"/> may read, on the hart's thread,
    /// where the page is known to be mapped: a background translation must never read guest memory
    /// itself, which may be unmapped (munmap, a process's exit) by the time it runs. The whole page,
    /// as a region follows jumps and calls anywhere in it, and then <paramref name="nextParcel"/>
    /// (the first parcel of the virtual page after it, <see cref="Hart.PeekParcel"/>) when known,
    /// for an instruction that straddles into that page.
    /// </summary>
    internal static unsafe byte[] CopyCode(DecodedPage page, int nextParcel)
    {
        var bytes = new byte[DecodedPage.SlotCount * 2 + (nextParcel >= 0 ? 2 : 0)];
        new ReadOnlySpan<byte>(page.Host, DecodedPage.SlotCount * 2).CopyTo(bytes);
        if (nextParcel >= 0) BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(DecodedPage.SlotCount * 2), (ushort)nextParcel);
        return bytes;
    }

    /// <summary>Pages a region may span: the start's and up to three more, each checked as control enters it (<see cref="RegionEmitter"/>).</summary>
    public const int MaxPages = 4;

    /// <summary>The most instructions of a function on another page that a region takes in with its calls (<see cref="Gather"/>).</summary>
    public const int SmallLeaf = 16;

    /// <summary>
    /// Translates the region starting at slot <paramref name="start"/> of <paramref name="page"/>
    /// from <paramref name="bytes"/> (<see cref="CopyCode"/>, read at <paramref name="generation"/>),
    /// within that page alone (the tests' entry; the engine gathers with <see cref="Gather"/>, whose
    /// regions may span pages, and compiles with <see cref="Compile"/>).
    /// </summary>
    internal static Region? Translate(DecodedPage page, int start, byte[] bytes, int generation, bool directMemory = false, ulong[]? stops = null, ulong[]? executed = null)
    {
        var only = new CodePage(page, generation, bytes, executed);
        return Gather(offset => offset == 0 ? only : null, start, stops) is { } plan ? Compile(plan, directMemory) : null;
    }

    /// <summary>
    /// Gathers the region starting at slot <paramref name="start"/> of the page
    /// <paramref name="pageAt"/> gives for offset 0; null when there is nothing to translate.
    /// <paramref name="pageAt"/> gives the code page at a number of virtual pages from the start's
    /// (null where the region may not go: not mapped executable, not known without walking page
    /// tables, or not wanted), so that the region follows fall-throughs, jumps
    /// (<see cref="GoesAcross"/>) and calls of small leaf functions (<see cref="SmallLeaf"/>) into
    /// up to <see cref="MaxPages"/> pages. No slot of the start's page set in
    /// <paramref name="stops"/> joins the region: control reaching one leaves it, so a debugger or
    /// a hook can act before that instruction. Where a page has its <see cref="CodePage.Executed"/>
    /// slots, only those join, the start excepted: code the program has not run leaves the region,
    /// for the interpreter.
    /// </summary>
    /// <remarks>
    /// The region is the code reachable from its start, gathered breadth first in straight-line
    /// runs: a run goes in address order until an instruction that does not fall through (a jump, a
    /// return, a state change), an instruction already in the region, or an encoding that is not an
    /// instruction; then the next run starts at a target of the region's branches and jumps not yet
    /// in it (a loop's tail placed after a return, the other side of an if, a function called with
    /// jal and the code after the call, to which its return comes back:
    /// <see cref="RegionEmitter.JumpIndirect"/>), until <see cref="MaxInstructions"/>. Every slot
    /// appears once. Slots are numbered from the start page's base: those of the pages after it go
    /// on past <see cref="DecodedPage.SlotCount"/>, those of the pages before it are negative.
    /// </remarks>
    internal static RegionPlan? Gather(Func<int, CodePage?> pageAt, int start, ulong[]? stops = null)
    {
        var code = new List<(int, Insn, InstructionDefinition)>();
        var inRegion = new HashSet<int>();
        var wanted = new Queue<int>();
        var pages = new List<(int Offset, CodePage Page)>();
        var refused = new HashSet<int>();
        CodePage? PageOf(int idx, out int slot)
        {
            int offset = PageOffset(idx);
            slot = idx & (DecodedPage.SlotCount - 1);
            foreach (var (o, p) in pages) if (o == offset) return p;
            if (pages.Count == MaxPages || refused.Contains(offset)) return null;
            if (pageAt(offset) is not { } page)
            {
                refused.Add(offset);
                return null;
            }
            pages.Add((offset, page));
            return page;
        }
        if (PageOf(start, out _) is null || (stops is not null && IsSet(stops, start))) return null;
        wanted.Enqueue(start);
        while (code.Count < MaxInstructions && wanted.TryDequeue(out int idx))
        {
            while (code.Count < MaxInstructions && !inRegion.Contains(idx) && PageOf(idx, out int slot) is { } page
                   && (stops is null || PageOffset(idx) != 0 || !IsSet(stops, slot))
                   && (page.Executed is null || idx == start || IsSet(page.Executed, slot)))
            {
                if (!TryDecode(page, slot, out var insn, out var def)) break;
                code.Add((idx, insn, def));
                inRegion.Add(idx);
                int next = idx + insn.Slots;
                if (def.Emitter is not null && def.Flow is ControlFlow.Branch or ControlFlow.Jump)
                {
                    // Into another page only by a jump without a link (see GoesAcross).
                    int target = idx + (int)(insn.Imm >> 1);
                    if (PageOffset(target) == PageOffset(idx) || GoesAcross(def, in insn)
                        || (RegionEmitter.IsCall(def, in insn) && IsSmallLeaf(target))) wanted.Enqueue(target);
                    if (RegionEmitter.IsCall(def, in insn)) wanted.Enqueue(next); // where the call returns
                }
                if (def.Flow is ControlFlow.Jump or ControlFlow.IndirectJump or ControlFlow.ChangesState) break;
                idx = next;
            }
            if (code.Count == 0) return null; // the start itself is not an instruction
        }
        // A function called on another page joins the region when it is a small leaf: straight-line
        // code of at most SmallLeaf instructions, all run before, that ends with a return (a byte
        // swap, a getter): the call and the return then stay in the region.
        bool IsSmallLeaf(int at)
        {
            for (int n = 0; n < SmallLeaf; n++)
            {
                if (PageOf(at, out int slot) is not { } page || (page.Executed is not null && !IsSet(page.Executed, slot))
                    || !TryDecode(page, slot, out var insn, out var def) || def.Emitter is null) return false;
                if (def.Flow == ControlFlow.IndirectJump) return RegionEmitter.IsReturn(def, in insn);
                if (def.Flow is not (ControlFlow.Next or ControlFlow.MayTrap)) return false;
                at += insn.Slots;
            }
            return false;
        }
        // The pages the region's instructions are on, the start's first.
        var used = pages.Where(p => p.Offset == 0 || code.Any(c => PageOffset(c.Item1) == p.Offset)).ToArray();
        return new RegionPlan([.. code], [.. used.Select(p => p.Offset)], [.. used.Select(p => p.Page)], stops);
    }

    /// <summary>
    /// Decodes the instruction at <paramref name="slot"/> of a copied page; false where the copy
    /// ends first (a page copied short, the tests'; one that straddles into the next page joins a
    /// region only with that page's parcel known, which the region checks before running it:
    /// RegionEmitter.StraddleGuard) or the bytes are not an instruction.
    /// </summary>
    private static bool TryDecode(CodePage page, int slot, out Insn insn, out InstructionDefinition def)
    {
        insn = default;
        def = null!;
        var bytes = page.Bytes.AsSpan();
        int at = slot * 2;
        if (at + 2 > bytes.Length) return false;
        uint raw = BinaryPrimitives.ReadUInt16LittleEndian(bytes[at..]);
        if (Decoder.IsWide(raw))
        {
            if (at + 4 > bytes.Length) return false;
            raw = BinaryPrimitives.ReadUInt32LittleEndian(bytes[at..]);
        }
        Decoder.Decode(raw, ref insn);
        if (insn.Id == ushort.MaxValue) return false;
        def = InstructionSet.Definitions[insn.Id];
        return true;
    }

    /// <summary>
    /// Whether the region follows this branch or jump when its target is on another page: only a
    /// <c>j</c> (a jump without a link; and a call of a small leaf function, which <see cref="Gather"/>
    /// looks at first), as an interpreter's handlers end with the jump back to its
    /// dispatch, a loop's tail jumps to its head, a function's early exit jumps to its epilogue.
    /// Following calls and conditional branches into other pages too cut region runs further, but
    /// pulled callees into every caller's region: RyuJIT's time rose by half to double (Lua
    /// strings 0.77 -> 1.19 s, trees 0.29 -> 0.53 s), translation fell behind and more code ran
    /// interpreted meanwhile (docs/translator.md).
    /// </summary>
    private static bool GoesAcross(InstructionDefinition def, in Insn insn) =>
        def.Flow == ControlFlow.Jump && !RegionEmitter.IsCall(def, in insn);

    /// <summary>Compiles a gathered region (on the translator's thread); with <paramref name="directMemory"/> (a process VM's hart, <see cref="Hart.Direct"/>) its loads and stores go through direct memory, not the TLBs.</summary>
    internal static Region Compile(RegionPlan plan, bool directMemory, bool countExits = false)
    {
        var code = plan.Code;
        var page = plan.Pages[0].Page;
        int start = code[0].Idx;
        var method = new DynamicMethod($"region_{page.PhysicalBase + (ulong)start * 2:x}", typeof(Region),
            [typeof(Region), typeof(Hart)], typeof(Region).Module, skipVisibility: true);
        var il = method.GetILGenerator();
        // Called with no hart, the method only gets compiled (on the translator's thread, not the hart's).
        var run = il.DefineLabel();
        il.Emit(OpCodes.Ldarg_1);
        il.Emit(OpCodes.Brtrue, run);
        il.Emit(OpCodes.Ldnull);
        il.Emit(OpCodes.Ret);
        il.MarkLabel(run);
        var emitter = new RegionEmitter(il, code, plan.Offsets, [.. plan.Pages.Select(p => p.Generation)], directMemory, plan.FixedBase, countExits);
        emitter.EmitRegion();

        var region = new Region
        {
            Pages = [.. plan.Pages.Select(p => p.Page)],
            Generations = [.. plan.Pages.Select(p => p.Generation)],
            Start = start,
            Length = code.Length,
            Insns = [.. code.Select(c => c.Insn)],
            InterpreterExits = emitter.InterpreterExits,
            Emitted = code.Count(c => c.Def.Emitter is not null),
            Stops = plan.Stops,
            FixedBase = plan.FixedBase,
        };
        long t0 = Stopwatch.GetTimestamp();
        method.CreateDelegate<Func<Hart, Region?>>(region)(null!); // compile now
        Interlocked.Add(ref JitTicks, Stopwatch.GetTimestamp() - t0);
        // Made once the method is compiled, the delegate calls its code directly; one made before
        // calls it through the method's precode stub, an extra indirect jump at every region entry
        // (4% of Lua fib's time).
        region.Run = method.CreateDelegate<Func<Hart, Region?>>(region);
        return region;
    }
}

/// <summary>
/// A code page as a region is gathered from it, taken on the hart's thread: the page, the
/// generation its bytes were read at (read before them: a store's slow path bumps it after its
/// bytes land), a copy of its bytes (and the next virtual page's first parcel when known, for an
/// instruction that straddles into it), and the slots that have run (null: all may join).
/// </summary>
internal sealed record CodePage(DecodedPage Page, int Generation, byte[] Bytes, ulong[]? Executed);

/// <summary>
/// A gathered region, ready to compile: its instructions by slot (numbered from the start page's
/// base), the pages they are on (the start's first) with their offsets in virtual pages from it,
/// and the stops of the start's page it was gathered around.
/// </summary>
internal sealed record RegionPlan((int Idx, Insn Insn, InstructionDefinition Def)[] Code, int[] Offsets, CodePage[] Pages, ulong[]? Stops)
{
    /// <summary>The one virtual address the start page can be entered at, when there is one (a process VM's: <see cref="RegionEmitter"/> makes its pcs constants).</summary>
    public ulong? FixedBase { get; init; }

    /// <summary>
    /// Instructions the hart ran interpreted from the region's start while the request waited on
    /// the translator's queue (written by the hart, read by the translator: an estimate).
    /// </summary>
    public long Waited;

    /// <summary>True while no page of the region has changed (or been retired) since it was read.</summary>
    public bool Current => Pages.All(p => p.Page.Unchanged(p.Generation));
}
