namespace Isomorph.Riscv.Isa;

/// <summary>
/// The operand layouts of the C extension. Each form names where a compressed instruction keeps
/// its registers and immediate; <see cref="CompressedForms.Extract"/> turns them into the operands
/// of the base instruction it expands to.
/// </summary>
public enum CompressedForm
{
    None,
    /// <summary>c.addi4spn: rd' = 4:2, rs1 = sp, nzuimm[5:4|9:6|2|3] = 12:5.</summary>
    Addi4spn,
    /// <summary>c.lw / c.sw / c.flw: rd'/rs2' = 4:2, rs1' = 9:7, uimm[5:3] = 12:10, uimm[2|6] = 6|5.</summary>
    LoadStoreWord,
    /// <summary>c.ld / c.sd / c.fld / c.fsd: uimm[5:3] = 12:10, uimm[7:6] = 6:5.</summary>
    LoadStoreDouble,
    /// <summary>c.addi / c.addiw / c.li / c.andi-like on a full register: rd = 11:7, imm[5|4:0] = 12|6:2.</summary>
    RegImm6,
    /// <summary>c.li: rd = 11:7, rs1 = x0, imm[5|4:0] = 12|6:2.</summary>
    LoadImm,
    /// <summary>c.lui: rd = 11:7, nzimm[17|16:12] = 12|6:2.</summary>
    Lui,
    /// <summary>c.addi16sp: rd = rs1 = sp, nzimm[9|4|6|8:7|5] = 12|6|5|4:3|2.</summary>
    Addi16sp,
    /// <summary>c.srli / c.srai: rd' = rs1' = 9:7, shamt[5|4:0] = 12|6:2.</summary>
    ShiftRight,
    /// <summary>c.andi: rd' = rs1' = 9:7, imm[5|4:0] = 12|6:2.</summary>
    AndImm,
    /// <summary>c.sub/xor/or/and/subw/addw: rd' = rs1' = 9:7, rs2' = 4:2.</summary>
    Arith,
    /// <summary>c.j: rd = x0, offset[11|4|9:8|10|6|7|3:1|5] = 12:2.</summary>
    Jump,
    /// <summary>c.beqz / c.bnez: rs1' = 9:7, rs2 = x0, offset[8|4:3] = 12:10, offset[7:6|2:1|5] = 6:2.</summary>
    Branch,
    /// <summary>c.slli: rd = rs1 = 11:7, shamt[5|4:0] = 12|6:2.</summary>
    ShiftLeft,
    /// <summary>c.lwsp / c.flwsp: rd = 11:7, rs1 = sp, uimm[5] = 12, uimm[4:2|7:6] = 6:2.</summary>
    LoadWordSp,
    /// <summary>c.ldsp / c.fldsp: rd = 11:7, rs1 = sp, uimm[5] = 12, uimm[4:3|8:6] = 6:2.</summary>
    LoadDoubleSp,
    /// <summary>c.swsp / c.fswsp: rs2 = 6:2, rs1 = sp, uimm[5:2|7:6] = 12:9|8:7.</summary>
    StoreWordSp,
    /// <summary>c.sdsp / c.fsdsp: rs2 = 6:2, rs1 = sp, uimm[5:3|8:6] = 12:10|9:7.</summary>
    StoreDoubleSp,
    /// <summary>c.jr: rd = x0, rs1 = 11:7, offset 0.</summary>
    JumpRegister,
    /// <summary>c.jalr: rd = ra, rs1 = 11:7, offset 0.</summary>
    JumpAndLinkRegister,
    /// <summary>c.mv: rd = 11:7, rs1 = x0, rs2 = 6:2 (add rd, x0, rs2).</summary>
    Move,
    /// <summary>c.add: rd = rs1 = 11:7, rs2 = 6:2.</summary>
    Add,
    /// <summary>c.ebreak: no operands.</summary>
    NoOperands,
}

public static class CompressedForms
{
    private static uint Bit(uint raw, int from, int to) => ((raw >> from) & 1) << to;
    private static uint Bits(uint raw, int hi, int lo, int to) => ((raw >> lo) & ((1u << (hi - lo + 1)) - 1)) << to;
    private static long SignExtend(uint value, int bits) => (long)((ulong)value << (64 - bits)) >> (64 - bits);

    /// <summary>
    /// Fills the base-instruction operands of <paramref name="insn"/> from the 16-bit parcel
    /// <paramref name="raw"/>. Returns false for the reserved encodings of the form (for example a
    /// zero immediate in c.addi4spn), which are illegal instructions.
    /// </summary>
    public static bool Extract(CompressedForm form, uint raw, ref Insn insn)
    {
        byte full = (byte)((raw >> 7) & 31), full2 = (byte)((raw >> 2) & 31);
        byte prime1 = (byte)(8 + ((raw >> 7) & 7)), prime2 = (byte)(8 + ((raw >> 2) & 7));
        uint imm6 = Bit(raw, 12, 5) | Bits(raw, 6, 2, 0);
        insn.Rd = insn.Rs1 = insn.Rs2 = 0;
        insn.Imm = 0;
        insn.Rm = 7; // C floating-point loads/stores carry no rounding mode
        switch (form)
        {
            case CompressedForm.Addi4spn:
                insn.Rd = prime2; insn.Rs1 = 2;
                insn.Imm = Bits(raw, 12, 11, 4) | Bits(raw, 10, 7, 6) | Bit(raw, 6, 2) | Bit(raw, 5, 3);
                return insn.Imm != 0;
            case CompressedForm.LoadStoreWord:
                insn.Rd = insn.Rs2 = prime2; insn.Rs1 = prime1;
                insn.Imm = Bits(raw, 12, 10, 3) | Bit(raw, 6, 2) | Bit(raw, 5, 6);
                return true;
            case CompressedForm.LoadStoreDouble:
                insn.Rd = insn.Rs2 = prime2; insn.Rs1 = prime1;
                insn.Imm = Bits(raw, 12, 10, 3) | Bits(raw, 6, 5, 6);
                return true;
            case CompressedForm.RegImm6:
                insn.Rd = insn.Rs1 = full;
                insn.Imm = SignExtend(imm6, 6);
                return true;
            case CompressedForm.LoadImm:
                insn.Rd = full;
                insn.Imm = SignExtend(imm6, 6);
                return true;
            case CompressedForm.Lui:
                insn.Rd = full;
                insn.Imm = SignExtend(imm6, 6) << 12;
                return insn.Imm != 0;
            case CompressedForm.Addi16sp:
                insn.Rd = insn.Rs1 = 2;
                insn.Imm = SignExtend(Bit(raw, 12, 9) | Bit(raw, 6, 4) | Bit(raw, 5, 6) | Bits(raw, 4, 3, 7) | Bit(raw, 2, 5), 10);
                return insn.Imm != 0;
            case CompressedForm.ShiftRight:
                insn.Rd = insn.Rs1 = prime1;
                insn.Imm = imm6;
                return true;
            case CompressedForm.AndImm:
                insn.Rd = insn.Rs1 = prime1;
                insn.Imm = SignExtend(imm6, 6);
                return true;
            case CompressedForm.Arith:
                insn.Rd = insn.Rs1 = prime1; insn.Rs2 = prime2;
                return true;
            case CompressedForm.Jump:
                insn.Imm = SignExtend(Bit(raw, 12, 11) | Bit(raw, 11, 4) | Bits(raw, 10, 9, 8) | Bit(raw, 8, 10)
                    | Bit(raw, 7, 6) | Bit(raw, 6, 7) | Bits(raw, 5, 3, 1) | Bit(raw, 2, 5), 12);
                return true;
            case CompressedForm.Branch:
                insn.Rs1 = prime1;
                insn.Imm = SignExtend(Bit(raw, 12, 8) | Bits(raw, 11, 10, 3) | Bits(raw, 6, 5, 6) | Bits(raw, 4, 3, 1) | Bit(raw, 2, 5), 9);
                return true;
            case CompressedForm.ShiftLeft:
                insn.Rd = insn.Rs1 = full;
                insn.Imm = imm6;
                return true;
            case CompressedForm.LoadWordSp:
                insn.Rd = full; insn.Rs1 = 2;
                insn.Imm = Bit(raw, 12, 5) | Bits(raw, 6, 4, 2) | Bits(raw, 3, 2, 6);
                return true;
            case CompressedForm.LoadDoubleSp:
                insn.Rd = full; insn.Rs1 = 2;
                insn.Imm = Bit(raw, 12, 5) | Bits(raw, 6, 5, 3) | Bits(raw, 4, 2, 6);
                return true;
            case CompressedForm.StoreWordSp:
                insn.Rs2 = full2; insn.Rs1 = 2;
                insn.Imm = Bits(raw, 12, 9, 2) | Bits(raw, 8, 7, 6);
                return true;
            case CompressedForm.StoreDoubleSp:
                insn.Rs2 = full2; insn.Rs1 = 2;
                insn.Imm = Bits(raw, 12, 10, 3) | Bits(raw, 9, 7, 6);
                return true;
            case CompressedForm.JumpRegister:
                insn.Rs1 = full;
                return full != 0;
            case CompressedForm.JumpAndLinkRegister:
                insn.Rd = 1; insn.Rs1 = full;
                return true;
            case CompressedForm.Move:
                insn.Rd = full; insn.Rs2 = full2;
                return true;
            case CompressedForm.Add:
                insn.Rd = insn.Rs1 = full; insn.Rs2 = full2;
                return true;
            case CompressedForm.NoOperands:
                return true;
            default:
                throw new InvalidOperationException(form.ToString());
        }
    }
}
