using Isomorph.Riscv.Semantics;

namespace Isomorph.Riscv.Isa;

/// <summary>
/// Decodes encodings into <see cref="Insn"/>s through buckets built from <see cref="InstructionSet"/>:
/// 32-bit instructions by major opcode, compressed ones by quadrant and funct3.
/// </summary>
public static unsafe class Decoder
{
    private static readonly InstructionDefinition[][] Wide = BuildBuckets(false);
    private static readonly InstructionDefinition[][] Compressed = BuildBuckets(true);

    private static int BucketOf(uint raw, bool compressed) =>
        compressed ? (int)((raw & 3) | ((raw >> 13) & 7) << 2) : (int)(raw & 0x7F);

    private static InstructionDefinition[][] BuildBuckets(bool compressed)
    {
        var buckets = new List<InstructionDefinition>[compressed ? 32 : 128];
        for (int i = 0; i < buckets.Length; i++) buckets[i] = [];
        foreach (var d in InstructionSet.Definitions) // already most-specific first
        {
            if (d.Compressed != compressed) continue;
            uint bucketMask = compressed ? 0xE003u : 0x7Fu;
            if ((d.Mask & bucketMask) != bucketMask)
                throw new InvalidOperationException($"{d.Name}: the bucket bits must be fixed");
            buckets[BucketOf(d.Match, compressed)].Add(d);
        }
        return buckets.Select(b => b.ToArray()).ToArray();
    }

    /// <summary>True when a parcel starts a 32-bit instruction (its low two bits are 11).</summary>
    public static bool IsWide(uint firstParcel) => (firstParcel & 3) == 3;

    /// <summary>Finds the definition matching <paramref name="raw"/>, or null.</summary>
    public static InstructionDefinition? Find(uint raw)
    {
        bool compressed = !IsWide(raw);
        if (compressed) raw &= 0xFFFF;
        foreach (var d in (compressed ? Compressed : Wide)[BucketOf(raw, compressed)])
            if (d.Matches(raw)) return d;
        return null;
    }

    /// <summary>
    /// Decodes <paramref name="raw"/> (a 32-bit instruction, or a compressed one in the low 16 bits)
    /// into <paramref name="insn"/>. An encoding that is not a valid instruction decodes to the
    /// illegal-instruction semantics, so executing it raises the trap.
    /// </summary>
    public static void Decode(uint raw, ref Insn insn)
    {
        bool compressed = !IsWide(raw);
        if (compressed) raw &= 0xFFFF;
        insn.Raw = raw;
        insn.Slots = (byte)(compressed ? 1 : 2);
        var d = Find(raw);
        bool ok = d is not null;
        if (d is not null)
        {
            if (compressed)
                ok = CompressedForms.Extract(d.Form, raw, ref insn) && Rv64C.OperandsValid(d, in insn);
            else
                d.Syntax.Extract(raw, ref insn);
        }
        if (!ok)
        {
            insn = default;
            insn.Raw = raw;
            insn.Slots = (byte)(compressed ? 1 : 2);
            insn.Exec = &Privileged.IllegalInstruction;
            insn.Id = ushort.MaxValue;
            return;
        }
        insn.Id = d!.Id;
        insn.Exec = d.Exec;
        if (d.Syntax.WritesX && insn.Rd == 0) insn.Rd = Hart.ZeroSink;
    }
}
