using System.Diagnostics;
using System.Reflection.Emit;
using System.Runtime.CompilerServices;
using Isomorph.Riscv.Isa;

namespace Isomorph.Riscv.Translation;

/// <summary>
/// Reads a region from a code page and compiles it: from a start slot, instructions in address
/// order until <see cref="MaxInstructions"/>, the end of the page, an instruction whose
/// <see cref="ControlFlow"/> ends a region (kept as the last one), or an encoding that is not an
/// instruction (left to the interpreter). Branches and jumps to instructions of the region become
/// IL branches, so loops inside a page run without leaving translated code.
/// </summary>
public static class RegionTranslator
{
    /// <summary>Instructions per region: well under RyuJIT's limits for full optimisation (see docs/translator.md).</summary>
    public const int MaxInstructions = 128;

    /// <summary>Translates the region starting at <paramref name="start"/> of <paramref name="page"/>, read at <paramref name="generation"/>; null when there is nothing to translate.</summary>
    internal static unsafe Region? Translate(DecodedPage page, int start, int generation)
    {
        var code = new List<(int, Insn, InstructionDefinition)>();
        int idx = start, emitted = 0;
        while (code.Count < MaxInstructions && idx < DecodedPage.SlotCount)
        {
            uint raw = Unsafe.ReadUnaligned<ushort>(page.Host + idx * 2);
            if (Decoder.IsWide(raw))
            {
                if (idx == DecodedPage.SlotCount - 1) break; // straddles the page: the interpreter fetches it
                raw = Unsafe.ReadUnaligned<uint>(page.Host + idx * 2);
            }
            var insn = default(Insn);
            Decoder.Decode(raw, ref insn);
            if (insn.Id == ushort.MaxValue) break;
            var def = InstructionSet.Definitions[insn.Id];
            code.Add((idx, insn, def));
            if (def.Emitter is not null) emitted++;
            idx += insn.Slots;
            if (def.Flow is ControlFlow.IndirectJump or ControlFlow.EndsRegion) break;
        }
        if (code.Count == 0) return null;

        var method = new DynamicMethod($"region_{page.PhysicalBase + (ulong)start * 2:x}", typeof(void),
            [typeof(Region), typeof(Hart)], typeof(Region).Module, skipVisibility: true);
        var il = method.GetILGenerator();
        // Called with no hart, the method only gets compiled (on the translator's thread, not the hart's).
        var run = il.DefineLabel();
        il.Emit(OpCodes.Ldarg_1);
        il.Emit(OpCodes.Brtrue, run);
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
        region.Run = method.CreateDelegate<Action<Hart>>(region);
        region.Run(null!); // compile now
        return region;
    }
}
