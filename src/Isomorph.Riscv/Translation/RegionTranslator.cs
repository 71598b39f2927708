using System.Buffers.Binary;
using System.Diagnostics;
using System.Reflection.Emit;
using System.Runtime.CompilerServices;
using Isomorph.Riscv.Isa;

namespace Isomorph.Riscv.Translation;

/// <summary>
/// Reads a region from a code page and compiles it: from a start slot, instructions in address
/// order until <see cref="MaxInstructions"/>, the end of the page, an instruction that does not
/// fall through (<see cref="ControlFlow"/>: a jump, a return, a state change) with no branch of the
/// region leading further, or an encoding that is not an instruction (left to the interpreter). Branches and jumps to instructions of the region become
/// IL branches, so loops inside a page run without leaving translated code.
/// </summary>
public static class RegionTranslator
{
    /// <summary>Instructions per region: well under RyuJIT's limits for full optimisation (see docs/translator.md).</summary>
    public const int MaxInstructions = 128;

    /// <summary>Time spent in RyuJIT compiling regions (all engines, wall time of the compiling thread), for --stats.</summary>
    public static long JitTicks;

    /// <summary>
    /// Copies the bytes a region starting at <paramref name="start"/> may read, on the hart's thread,
    /// where the page is known to be mapped: a background translation must never read guest memory
    /// itself, which may be unmapped (munmap, a process's exit) by the time it runs.
    /// </summary>
    internal static unsafe byte[] CopyCode(DecodedPage page, int start)
    {
        int length = Math.Min(DecodedPage.SlotCount - start, MaxInstructions * 2) * 2;
        return new ReadOnlySpan<byte>(page.Host + start * 2, length).ToArray();
    }

    /// <summary>
    /// Translates the region starting at slot <paramref name="start"/> of <paramref name="page"/>
    /// from <paramref name="bytes"/> (<see cref="CopyCode"/>, read at <paramref name="generation"/>);
    /// null when there is nothing to translate.
    /// </summary>
    internal static Region? Translate(DecodedPage page, int start, ReadOnlySpan<byte> bytes, int generation)
    {
        var code = new List<(int, Insn, InstructionDefinition)>();
        int idx = start, emitted = 0, end = start + bytes.Length / 2;
        int furthestTarget = -1; // the furthest slot ahead that a branch or jump of the region goes to
        while (code.Count < MaxInstructions && idx < end)
        {
            int at = (idx - start) * 2;
            uint raw = BinaryPrimitives.ReadUInt16LittleEndian(bytes[at..]);
            if (Decoder.IsWide(raw))
            {
                if (idx == end - 1) break; // straddles the page (or the copy): the interpreter fetches it
                raw = BinaryPrimitives.ReadUInt32LittleEndian(bytes[at..]);
            }
            var insn = default(Insn);
            Decoder.Decode(raw, ref insn);
            if (insn.Id == ushort.MaxValue) break;
            var def = InstructionSet.Definitions[insn.Id];
            code.Add((idx, insn, def));
            if (def.Emitter is not null) emitted++;
            if (def.Flow is ControlFlow.Branch or ControlFlow.Jump) furthestTarget = Math.Max(furthestTarget, idx + (int)(insn.Imm >> 1));
            idx += insn.Slots;
            // After an instruction that does not simply fall through, the code that follows belongs to
            // the region only if a branch of the region leads there (a loop's tail placed after a return).
            if (def.Flow is ControlFlow.Jump or ControlFlow.IndirectJump or ControlFlow.ChangesState && furthestTarget < idx) break;
        }
        if (code.Count == 0) return null;

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
        new RegionEmitter(il, [.. code], generation).EmitRegion();

        var region = new Region
        {
            Page = page,
            Generation = generation,
            Start = start,
            Length = code.Count,
            Insns = [.. code.Select(c => c.Item2)],
            Emitted = emitted,
        };
        region.Run = method.CreateDelegate<Func<Hart, Region?>>(region);
        long t0 = Stopwatch.GetTimestamp();
        region.Run(null!); // compile now
        Interlocked.Add(ref JitTicks, Stopwatch.GetTimestamp() - t0);
        return region;
    }
}
