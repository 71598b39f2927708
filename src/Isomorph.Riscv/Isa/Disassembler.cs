namespace Isomorph.Riscv.Isa;

/// <summary>Renders instructions as assembly text, from the same definitions the decoder uses.</summary>
public static class Disassembler
{
    public static string Disassemble(uint raw, ulong pc = 0)
    {
        var insn = default(Insn);
        Decoder.Decode(raw, ref insn);
        return Disassemble(in insn, pc);
    }

    public static string Disassemble(in Insn insn, ulong pc)
    {
        if (insn.Id == ushort.MaxValue) return insn.Slots == 1 ? $"unknown 0x{insn.Raw:x4}" : $"unknown 0x{insn.Raw:x8}";
        var d = InstructionSet.Definitions[insn.Id];
        string name = d.Name;
        if (d.Syntax.Has(Operand.AqRl) && !d.Compressed)
            name += (insn.Rm & 2) != 0 ? ((insn.Rm & 1) != 0 ? ".aqrl" : ".aq") : (insn.Rm & 1) != 0 ? ".rl" : "";
        string operands = d.Syntax.Format(in insn, pc);
        return operands.Length == 0 ? name : $"{name} {operands}";
    }
}
