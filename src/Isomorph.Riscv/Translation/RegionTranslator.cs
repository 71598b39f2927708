using System.Buffers.Binary;
using System.Diagnostics;
using System.Reflection.Emit;
using System.Runtime.CompilerServices;
using Isomorph.Riscv.Isa;

namespace Isomorph.Riscv.Translation;

/// <summary>
/// Reads a region from a code page and compiles it: the page's code reachable from a start slot,
/// gathered breadth first in straight-line runs (see <see cref="Translate"/>), up to
/// <see cref="MaxInstructions"/>. Branches, jumps and returns to instructions of the region become
/// IL branches, so loops and calls inside a page run without leaving translated code.
/// </summary>
public static class RegionTranslator
{
    /// <summary>Instructions per region: well under RyuJIT's limits for full optimisation (see docs/translator.md).</summary>
    public const int MaxInstructions = 128;

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

    /// <summary>
    /// Translates the region starting at slot <paramref name="start"/> of <paramref name="page"/>
    /// from <paramref name="bytes"/> (<see cref="CopyCode"/>, read at <paramref name="generation"/>);
    /// null when there is nothing to translate. With <paramref name="directMemory"/> (a process VM's
    /// hart, <see cref="Hart.Direct"/>) its loads and stores go through direct memory, not the TLBs.
    /// No slot set in <paramref name="stops"/> (a bitmap of the page's slots) joins the region:
    /// control reaching one leaves it, so a debugger or a hook can act before that instruction.
    /// With <paramref name="executed"/> (<see cref="ExecutedSlots"/>), only slots that have run join
    /// it, the start excepted: code the program has not run leaves the region, for the interpreter.
    /// </summary>
    /// <remarks>
    /// The region is the code of the page reachable from its start, gathered breadth first in
    /// straight-line runs: a run goes in address order until an instruction that does not fall
    /// through (a jump, a return, a state change), an instruction already in the region, or an
    /// encoding that is not an instruction; then the next run starts at a target of the region's
    /// branches and jumps in the page not yet in it (a loop's tail placed after a return, the other
    /// side of an if, a function called with jal and the code after the call, to which its return
    /// comes back: <see cref="RegionEmitter.JumpIndirect"/>), until <see cref="MaxInstructions"/>.
    /// Every slot appears once.
    /// </remarks>
    internal static Region? Translate(DecodedPage page, int start, ReadOnlySpan<byte> bytes, int generation, bool directMemory = false, ulong[]? stops = null, ulong[]? executed = null)
    {
        if (stops is not null && IsSet(stops, start)) return null;
        var code = new List<(int, Insn, InstructionDefinition)>();
        var inRegion = new HashSet<int>();
        var wanted = new Queue<int>();
        int emitted = 0, end = Math.Min(bytes.Length / 2, DecodedPage.SlotCount);
        bool nextParcelKnown = bytes.Length / 2 > DecodedPage.SlotCount;
        wanted.Enqueue(start);
        while (code.Count < MaxInstructions && wanted.TryDequeue(out int idx))
        {
            while (code.Count < MaxInstructions && idx < end && !inRegion.Contains(idx) && (stops is null || !IsSet(stops, idx))
                   && (executed is null || idx == start || IsSet(executed, idx)))
            {
                int at = idx * 2;
                uint raw = BinaryPrimitives.ReadUInt16LittleEndian(bytes[at..]);
                if (Decoder.IsWide(raw))
                {
                    // One that straddles into the next page joins the region only with that page's
                    // parcel known; the region checks it before running it (RegionEmitter.StraddleGuard).
                    if (idx == end - 1 && !nextParcelKnown) break;
                    raw = BinaryPrimitives.ReadUInt32LittleEndian(bytes[at..]);
                }
                var insn = default(Insn);
                Decoder.Decode(raw, ref insn);
                if (insn.Id == ushort.MaxValue) break;
                var def = InstructionSet.Definitions[insn.Id];
                code.Add((idx, insn, def));
                inRegion.Add(idx);
                if (def.Emitter is not null) emitted++;
                int next = idx + insn.Slots;
                if (def.Emitter is not null && def.Flow is ControlFlow.Branch or ControlFlow.Jump)
                {
                    int target = idx + (int)(insn.Imm >> 1);
                    if (target >= 0 && target < end) wanted.Enqueue(target);
                    if (RegionEmitter.IsCall(def, in insn)) wanted.Enqueue(next); // where the call returns
                }
                if (def.Flow is ControlFlow.Jump or ControlFlow.IndirectJump or ControlFlow.ChangesState) break;
                idx = next;
            }
            if (code.Count == 0) return null; // the start itself is not an instruction
        }

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
        int straddle = nextParcelKnown ? BinaryPrimitives.ReadUInt16LittleEndian(bytes[(DecodedPage.SlotCount * 2)..]) : -1;
        new RegionEmitter(il, [.. code], generation, straddle, directMemory).EmitRegion();

        var region = new Region
        {
            Page = page,
            Start = start,
            Length = code.Count,
            Insns = [.. code.Select(c => c.Item2)],
            Emitted = emitted,
            Stops = stops,
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
