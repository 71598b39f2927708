using Isomorph.Riscv.Isa;

namespace Isomorph.Riscv.Semantics;

/// <summary>
/// The C extension: each compressed instruction is a 16-bit encoding, an operand layout and the
/// base instruction it expands to (whose semantics it runs). A compressed instruction has no
/// semantics of its own.
/// </summary>
public static class Rv64C
{
    public sealed record Entry(string Name, string Encoding, CompressedForm Form, string Expands, string[] Overrides, bool RdNonZero = false);

    private static Entry E(string name, string encoding, CompressedForm form, string expands, bool rdNonZero = false, params string[] overrides) =>
        new(name, encoding, form, expands, overrides, rdNonZero);

    public static IReadOnlyList<Entry> Table { get; } =
    [
        // Quadrant 0
        E("c.addi4spn", "000 ........ ... 00", CompressedForm.Addi4spn, "addi"),
        E("c.fld", "001 ... ... .. ... 00", CompressedForm.LoadStoreDouble, "fld"),
        E("c.lw", "010 ... ... .. ... 00", CompressedForm.LoadStoreWord, "lw"),
        E("c.ld", "011 ... ... .. ... 00", CompressedForm.LoadStoreDouble, "ld"),
        E("c.fsd", "101 ... ... .. ... 00", CompressedForm.LoadStoreDouble, "fsd"),
        E("c.sw", "110 ... ... .. ... 00", CompressedForm.LoadStoreWord, "sw"),
        E("c.sd", "111 ... ... .. ... 00", CompressedForm.LoadStoreDouble, "sd"),
        // Quadrant 1
        E("c.addi", "000 . ..... ..... 01", CompressedForm.RegImm6, "addi"),
        E("c.addiw", "001 . ..... ..... 01", CompressedForm.RegImm6, "addiw", rdNonZero: true),
        E("c.li", "010 . ..... ..... 01", CompressedForm.LoadImm, "addi"),
        E("c.addi16sp", "011 . 00010 ..... 01", CompressedForm.Addi16sp, "addi", false, "c.lui"),
        E("c.lui", "011 . ..... ..... 01", CompressedForm.Lui, "lui"),
        E("c.srli", "100 . 00 ... ..... 01", CompressedForm.ShiftRight, "srli"),
        E("c.srai", "100 . 01 ... ..... 01", CompressedForm.ShiftRight, "srai"),
        E("c.andi", "100 . 10 ... ..... 01", CompressedForm.AndImm, "andi"),
        E("c.sub", "100 0 11 ... 00 ... 01", CompressedForm.Arith, "sub"),
        E("c.xor", "100 0 11 ... 01 ... 01", CompressedForm.Arith, "xor"),
        E("c.or", "100 0 11 ... 10 ... 01", CompressedForm.Arith, "or"),
        E("c.and", "100 0 11 ... 11 ... 01", CompressedForm.Arith, "and"),
        E("c.subw", "100 1 11 ... 00 ... 01", CompressedForm.Arith, "subw"),
        E("c.addw", "100 1 11 ... 01 ... 01", CompressedForm.Arith, "addw"),
        E("c.j", "101 ........... 01", CompressedForm.Jump, "jal"),
        E("c.beqz", "110 ... ... ..... 01", CompressedForm.Branch, "beq"),
        E("c.bnez", "111 ... ... ..... 01", CompressedForm.Branch, "bne"),
        // Quadrant 2
        E("c.slli", "000 . ..... ..... 10", CompressedForm.ShiftLeft, "slli"),
        E("c.fldsp", "001 . ..... ..... 10", CompressedForm.LoadDoubleSp, "fld"),
        E("c.lwsp", "010 . ..... ..... 10", CompressedForm.LoadWordSp, "lw", rdNonZero: true),
        E("c.ldsp", "011 . ..... ..... 10", CompressedForm.LoadDoubleSp, "ld", rdNonZero: true),
        E("c.jr", "100 0 ..... 00000 10", CompressedForm.JumpRegister, "jalr", false, "c.mv"),
        E("c.mv", "100 0 ..... ..... 10", CompressedForm.Move, "add"),
        E("c.ebreak", "100 1 00000 00000 10", CompressedForm.NoOperands, "ebreak", false, "c.jalr", "c.add"),
        E("c.jalr", "100 1 ..... 00000 10", CompressedForm.JumpAndLinkRegister, "jalr", false, "c.add"),
        E("c.add", "100 1 ..... ..... 10", CompressedForm.Add, "add"),
        E("c.fsdsp", "101 . ..... ..... 10", CompressedForm.StoreDoubleSp, "fsd"),
        E("c.swsp", "110 . ..... ..... 10", CompressedForm.StoreWordSp, "sw"),
        E("c.sdsp", "111 . ..... ..... 10", CompressedForm.StoreDoubleSp, "sd"),
    ];

    private static readonly HashSet<string> RdNonZeroNames = Table.Where(e => e.RdNonZero).Select(e => e.Name).ToHashSet();

    /// <summary>Rejects the reserved register choices of some compressed instructions (e.g. c.lwsp with rd = x0).</summary>
    internal static bool OperandsValid(InstructionDefinition d, in Insn insn) =>
        !RdNonZeroNames.Contains(d.Name) || insn.Rd != 0;
}
