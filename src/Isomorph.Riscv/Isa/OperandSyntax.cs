using System.Text;

namespace Isomorph.Riscv.Isa;

/// <summary>An operand of an instruction's assembly syntax, and where its value lives in the encoding.</summary>
public enum Operand
{
    /// <summary>Integer destination, bits 11:7.</summary>
    Xd,
    /// <summary>Integer source 1, bits 19:15.</summary>
    Xs1,
    /// <summary>Integer source 2, bits 24:20.</summary>
    Xs2,
    /// <summary>FP destination, bits 11:7.</summary>
    Fd,
    Fs1,
    Fs2,
    /// <summary>FP source 3, bits 31:27 (fused multiply-add).</summary>
    Fs3,
    /// <summary>I-type immediate, bits 31:20, sign-extended.</summary>
    Imm,
    /// <summary>U-type immediate, bits 31:12, already shifted left by 12 and sign-extended.</summary>
    UImm,
    /// <summary>B-type branch offset (shown as the target).</summary>
    BImm,
    /// <summary>J-type jump offset (shown as the target).</summary>
    JImm,
    /// <summary>6-bit shift amount, bits 25:20.</summary>
    Shamt,
    /// <summary>5-bit shift amount, bits 24:20.</summary>
    ShamtW,
    /// <summary>CSR number, bits 31:20.</summary>
    Csr,
    /// <summary>5-bit unsigned immediate in the rs1 field (CSR immediate forms); kept in <see cref="Insn.Rs1"/>.</summary>
    Zimm,
    /// <summary>Rounding mode, bits 14:12 (shown when not dynamic).</summary>
    Rm,
    /// <summary>Acquire/release bits 26:25 of atomics (shown as a mnemonic suffix).</summary>
    AqRl,
    /// <summary>Fence predecessor/successor sets, bits 27:20.</summary>
    Fence,
    /// <summary><c>imm(xs1)</c>: I-type offset from a base register (loads, jalr).</summary>
    MemImm,
    /// <summary><c>simm(xs1)</c>: S-type offset from a base register (stores).</summary>
    MemSImm,
    /// <summary><c>(xs1)</c>: atomics' address register.</summary>
    MemReg,
}

/// <summary>
/// The operand list of an instruction, parsed from its declaration (for example
/// <c>"xd, xs1, imm"</c> or <c>"fd, imm(xs1)"</c>). It extracts the operands from an encoding
/// and renders them for the disassembler.
/// </summary>
public sealed class OperandSyntax
{
    private static readonly Dictionary<string, Operand> Tokens = new()
    {
        ["xd"] = Operand.Xd, ["xs1"] = Operand.Xs1, ["xs2"] = Operand.Xs2,
        ["fd"] = Operand.Fd, ["fs1"] = Operand.Fs1, ["fs2"] = Operand.Fs2, ["fs3"] = Operand.Fs3,
        ["imm"] = Operand.Imm, ["uimm"] = Operand.UImm, ["bimm"] = Operand.BImm, ["jimm"] = Operand.JImm,
        ["shamt"] = Operand.Shamt, ["shamtw"] = Operand.ShamtW, ["csr"] = Operand.Csr, ["zimm"] = Operand.Zimm,
        ["rm"] = Operand.Rm, ["aqrl"] = Operand.AqRl, ["fence"] = Operand.Fence,
        ["imm(xs1)"] = Operand.MemImm, ["simm(xs1)"] = Operand.MemSImm, ["(xs1)"] = Operand.MemReg,
    };

    public IReadOnlyList<Operand> Operands { get; }
    public string Text { get; }

    public OperandSyntax(string text)
    {
        Text = text;
        Operands = text.Length == 0
            ? []
            : text.Split(',', StringSplitOptions.TrimEntries).Select(t =>
                Tokens.TryGetValue(t, out var op) ? op : throw new FormatException($"unknown operand '{t}' in '{text}'")).ToArray();
    }

    public bool Has(Operand op) => Operands.Contains(op);

    /// <summary>True when the instruction writes an integer register (x0 writes go to the sink).</summary>
    public bool WritesX => Has(Operand.Xd);

    /// <summary>Fills the operand fields of <paramref name="insn"/> from a 32-bit encoding.</summary>
    public void Extract(uint raw, ref Insn insn)
    {
        insn.Rd = (byte)((raw >> 7) & 31);
        insn.Rs1 = (byte)((raw >> 15) & 31);
        insn.Rs2 = (byte)((raw >> 20) & 31);
        insn.Rs3 = (byte)(raw >> 27);
        insn.Rm = (byte)((raw >> 12) & 7);
        foreach (var op in Operands)
        {
            switch (op)
            {
                case Operand.Imm or Operand.MemImm: insn.Imm = (int)raw >> 20; break;
                case Operand.MemSImm: insn.Imm = ((int)raw >> 25 << 5) | (int)((raw >> 7) & 31); break;
                case Operand.UImm: insn.Imm = (int)(raw & 0xFFFF_F000); break;
                case Operand.BImm:
                    insn.Imm = ((int)raw >> 31 << 12) | (int)((raw >> 7) & 1) << 11 | (int)((raw >> 25) & 0x3F) << 5 | (int)((raw >> 8) & 0xF) << 1;
                    break;
                case Operand.JImm:
                    insn.Imm = ((int)raw >> 31 << 20) | (int)((raw >> 12) & 0xFF) << 12 | (int)((raw >> 20) & 1) << 11 | (int)((raw >> 21) & 0x3FF) << 1;
                    break;
                case Operand.Shamt: insn.Imm = (raw >> 20) & 63; break;
                case Operand.ShamtW: insn.Imm = (raw >> 20) & 31; break;
                case Operand.Csr: insn.Imm = (raw >> 20) & 0xFFF; break;
                case Operand.AqRl: insn.Rm = (byte)((raw >> 25) & 3); break;
                case Operand.Fence: insn.Imm = (raw >> 20) & 0xFFF; break;
            }
        }
    }

    private static readonly string[] RoundingModes = ["rne", "rtz", "rdn", "rup", "rmm", "rm5", "rm6", "dyn"];

    /// <summary>Renders the operands of a decoded instruction at <paramref name="pc"/>.</summary>
    public string Format(in Insn insn, ulong pc)
    {
        var sb = new StringBuilder();
        foreach (var op in Operands)
        {
            string? s = op switch
            {
                Operand.Xd => RegisterNames.X(insn.Rd),
                Operand.Xs1 => RegisterNames.X(insn.Rs1),
                Operand.Xs2 => RegisterNames.X(insn.Rs2),
                Operand.Fd => RegisterNames.F(insn.Rd),
                Operand.Fs1 => RegisterNames.F(insn.Rs1),
                Operand.Fs2 => RegisterNames.F(insn.Rs2),
                Operand.Fs3 => RegisterNames.F(insn.Rs3),
                Operand.Imm => insn.Imm.ToString(),
                Operand.UImm => "0x" + ((ulong)insn.Imm >> 12 & 0xFFFFF).ToString("x"),
                Operand.BImm or Operand.JImm => "0x" + (pc + (ulong)insn.Imm).ToString("x"),
                Operand.Shamt or Operand.ShamtW => insn.Imm.ToString(),
                Operand.Zimm => insn.Rs1.ToString(),
                Operand.Csr => Csrs.Name((int)insn.Imm),
                Operand.Rm => insn.Rm == 7 ? null : RoundingModes[insn.Rm],
                Operand.AqRl => null,
                Operand.Fence => FenceSet((int)insn.Imm >> 4 & 0xF) + "," + FenceSet((int)insn.Imm & 0xF),
                Operand.MemImm or Operand.MemSImm => $"{insn.Imm}({RegisterNames.X(insn.Rs1)})",
                Operand.MemReg => $"({RegisterNames.X(insn.Rs1)})",
                _ => throw new InvalidOperationException(op.ToString()),
            };
            if (s is null) continue;
            if (sb.Length > 0) sb.Append(", ");
            sb.Append(s);
        }
        return sb.ToString();
    }

    private static string FenceSet(int bits)
    {
        var s = (bits & 8) != 0 ? "i" : "";
        if ((bits & 4) != 0) s += "o";
        if ((bits & 2) != 0) s += "r";
        if ((bits & 1) != 0) s += "w";
        return s.Length == 0 ? "0" : s;
    }
}

/// <summary>ABI names of registers.</summary>
public static class RegisterNames
{
    private static readonly string[] XNames =
    [
        "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5",
        "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6", "zero",
    ];

    private static readonly string[] FNames =
    [
        "ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7", "fs0", "fs1", "fa0", "fa1", "fa2", "fa3", "fa4", "fa5",
        "fa6", "fa7", "fs2", "fs3", "fs4", "fs5", "fs6", "fs7", "fs8", "fs9", "fs10", "fs11", "ft8", "ft9", "ft10", "ft11",
    ];

    /// <summary>The ABI name of x<paramref name="n"/> (the x0 sink, 32, prints as zero).</summary>
    public static string X(int n) => XNames[n];
    public static string F(int n) => FNames[n];
}
