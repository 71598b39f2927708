using System.Buffers.Binary;
using System.Numerics;
using Isomorph.Riscv.Isa;

namespace Isomorph.Riscv.Semantics;

/// <summary>Zba: address generation (shift-and-add, unsigned-word forms).</summary>
[IsaExtension("Zba")]
internal static unsafe partial class Zba
{
    private static int Next(ref Insn i, int idx) => idx + i.Slots;

    [Instruction("sh1add", "0010000 ..... ..... 010 ..... 0110011", "xd, xs1, xs2")]
    private static int Sh1add(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs2] + (h.X[i.Rs1] << 1); return Next(ref i, idx); }

    [Instruction("sh2add", "0010000 ..... ..... 100 ..... 0110011", "xd, xs1, xs2")]
    private static int Sh2add(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs2] + (h.X[i.Rs1] << 2); return Next(ref i, idx); }

    [Instruction("sh3add", "0010000 ..... ..... 110 ..... 0110011", "xd, xs1, xs2")]
    private static int Sh3add(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs2] + (h.X[i.Rs1] << 3); return Next(ref i, idx); }

    [Instruction("add.uw", "0000100 ..... ..... 000 ..... 0111011", "xd, xs1, xs2")]
    private static int AddUw(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs2] + (uint)h.X[i.Rs1]; return Next(ref i, idx); }

    [Instruction("sh1add.uw", "0010000 ..... ..... 010 ..... 0111011", "xd, xs1, xs2")]
    private static int Sh1addUw(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs2] + ((ulong)(uint)h.X[i.Rs1] << 1); return Next(ref i, idx); }

    [Instruction("sh2add.uw", "0010000 ..... ..... 100 ..... 0111011", "xd, xs1, xs2")]
    private static int Sh2addUw(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs2] + ((ulong)(uint)h.X[i.Rs1] << 2); return Next(ref i, idx); }

    [Instruction("sh3add.uw", "0010000 ..... ..... 110 ..... 0111011", "xd, xs1, xs2")]
    private static int Sh3addUw(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs2] + ((ulong)(uint)h.X[i.Rs1] << 3); return Next(ref i, idx); }

    [Instruction("slli.uw", "000010 ...... ..... 001 ..... 0011011", "xd, xs1, shamt")]
    private static int SlliUw(Hart h, ref Insn i, int idx) { h.X[i.Rd] = (ulong)(uint)h.X[i.Rs1] << (int)i.Imm; return Next(ref i, idx); }
}

/// <summary>Zbb: basic bit manipulation.</summary>
[IsaExtension("Zbb")]
internal static unsafe partial class Zbb
{
    private static int Next(ref Insn i, int idx) => idx + i.Slots;
    private static ulong SignExtend32(ulong v) => (ulong)(long)(int)v;

    [Instruction("andn", "0100000 ..... ..... 111 ..... 0110011", "xd, xs1, xs2")]
    private static int Andn(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs1] & ~h.X[i.Rs2]; return Next(ref i, idx); }

    [Instruction("orn", "0100000 ..... ..... 110 ..... 0110011", "xd, xs1, xs2")]
    private static int Orn(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs1] | ~h.X[i.Rs2]; return Next(ref i, idx); }

    [Instruction("xnor", "0100000 ..... ..... 100 ..... 0110011", "xd, xs1, xs2")]
    private static int Xnor(Hart h, ref Insn i, int idx) { h.X[i.Rd] = ~(h.X[i.Rs1] ^ h.X[i.Rs2]); return Next(ref i, idx); }

    [Instruction("clz", "0110000 00000 ..... 001 ..... 0010011", "xd, xs1")]
    private static int Clz(Hart h, ref Insn i, int idx) { h.X[i.Rd] = (ulong)BitOperations.LeadingZeroCount(h.X[i.Rs1]); return Next(ref i, idx); }

    [Instruction("clzw", "0110000 00000 ..... 001 ..... 0011011", "xd, xs1")]
    private static int Clzw(Hart h, ref Insn i, int idx) { h.X[i.Rd] = (ulong)BitOperations.LeadingZeroCount((uint)h.X[i.Rs1]); return Next(ref i, idx); }

    [Instruction("ctz", "0110000 00001 ..... 001 ..... 0010011", "xd, xs1")]
    private static int Ctz(Hart h, ref Insn i, int idx) { h.X[i.Rd] = (ulong)BitOperations.TrailingZeroCount(h.X[i.Rs1]); return Next(ref i, idx); }

    [Instruction("ctzw", "0110000 00001 ..... 001 ..... 0011011", "xd, xs1")]
    private static int Ctzw(Hart h, ref Insn i, int idx) { h.X[i.Rd] = (ulong)BitOperations.TrailingZeroCount((uint)h.X[i.Rs1] | (1ul << 32)); return Next(ref i, idx); }

    [Instruction("cpop", "0110000 00010 ..... 001 ..... 0010011", "xd, xs1")]
    private static int Cpop(Hart h, ref Insn i, int idx) { h.X[i.Rd] = (ulong)BitOperations.PopCount(h.X[i.Rs1]); return Next(ref i, idx); }

    [Instruction("cpopw", "0110000 00010 ..... 001 ..... 0011011", "xd, xs1")]
    private static int Cpopw(Hart h, ref Insn i, int idx) { h.X[i.Rd] = (ulong)BitOperations.PopCount((uint)h.X[i.Rs1]); return Next(ref i, idx); }

    [Instruction("max", "0000101 ..... ..... 110 ..... 0110011", "xd, xs1, xs2")]
    private static int Max(Hart h, ref Insn i, int idx) { h.X[i.Rd] = (ulong)Math.Max((long)h.X[i.Rs1], (long)h.X[i.Rs2]); return Next(ref i, idx); }

    [Instruction("maxu", "0000101 ..... ..... 111 ..... 0110011", "xd, xs1, xs2")]
    private static int Maxu(Hart h, ref Insn i, int idx) { h.X[i.Rd] = Math.Max(h.X[i.Rs1], h.X[i.Rs2]); return Next(ref i, idx); }

    [Instruction("min", "0000101 ..... ..... 100 ..... 0110011", "xd, xs1, xs2")]
    private static int Min(Hart h, ref Insn i, int idx) { h.X[i.Rd] = (ulong)Math.Min((long)h.X[i.Rs1], (long)h.X[i.Rs2]); return Next(ref i, idx); }

    [Instruction("minu", "0000101 ..... ..... 101 ..... 0110011", "xd, xs1, xs2")]
    private static int Minu(Hart h, ref Insn i, int idx) { h.X[i.Rd] = Math.Min(h.X[i.Rs1], h.X[i.Rs2]); return Next(ref i, idx); }

    [Instruction("sext.b", "0110000 00100 ..... 001 ..... 0010011", "xd, xs1")]
    private static int SextB(Hart h, ref Insn i, int idx) { h.X[i.Rd] = (ulong)(sbyte)h.X[i.Rs1]; return Next(ref i, idx); }

    [Instruction("sext.h", "0110000 00101 ..... 001 ..... 0010011", "xd, xs1")]
    private static int SextH(Hart h, ref Insn i, int idx) { h.X[i.Rd] = (ulong)(short)h.X[i.Rs1]; return Next(ref i, idx); }

    [Instruction("zext.h", "0000100 00000 ..... 100 ..... 0111011", "xd, xs1")]
    private static int ZextH(Hart h, ref Insn i, int idx) { h.X[i.Rd] = (ushort)h.X[i.Rs1]; return Next(ref i, idx); }

    [Instruction("rol", "0110000 ..... ..... 001 ..... 0110011", "xd, xs1, xs2")]
    private static int Rol(Hart h, ref Insn i, int idx) { h.X[i.Rd] = BitOperations.RotateLeft(h.X[i.Rs1], (int)(h.X[i.Rs2] & 63)); return Next(ref i, idx); }

    [Instruction("rolw", "0110000 ..... ..... 001 ..... 0111011", "xd, xs1, xs2")]
    private static int Rolw(Hart h, ref Insn i, int idx) { h.X[i.Rd] = SignExtend32(BitOperations.RotateLeft((uint)h.X[i.Rs1], (int)(h.X[i.Rs2] & 31))); return Next(ref i, idx); }

    [Instruction("ror", "0110000 ..... ..... 101 ..... 0110011", "xd, xs1, xs2")]
    private static int Ror(Hart h, ref Insn i, int idx) { h.X[i.Rd] = BitOperations.RotateRight(h.X[i.Rs1], (int)(h.X[i.Rs2] & 63)); return Next(ref i, idx); }

    [Instruction("rori", "011000 ...... ..... 101 ..... 0010011", "xd, xs1, shamt")]
    private static int Rori(Hart h, ref Insn i, int idx) { h.X[i.Rd] = BitOperations.RotateRight(h.X[i.Rs1], (int)i.Imm); return Next(ref i, idx); }

    [Instruction("roriw", "0110000 ..... ..... 101 ..... 0011011", "xd, xs1, shamtw")]
    private static int Roriw(Hart h, ref Insn i, int idx) { h.X[i.Rd] = SignExtend32(BitOperations.RotateRight((uint)h.X[i.Rs1], (int)i.Imm)); return Next(ref i, idx); }

    [Instruction("rorw", "0110000 ..... ..... 101 ..... 0111011", "xd, xs1, xs2")]
    private static int Rorw(Hart h, ref Insn i, int idx) { h.X[i.Rd] = SignExtend32(BitOperations.RotateRight((uint)h.X[i.Rs1], (int)(h.X[i.Rs2] & 31))); return Next(ref i, idx); }

    [Instruction("orc.b", "0010100 00111 ..... 101 ..... 0010011", "xd, xs1")]
    private static int OrcB(Hart h, ref Insn i, int idx)
    {
        ulong v = h.X[i.Rs1], r = 0;
        for (int b = 0; b < 64; b += 8)
            if (((v >> b) & 0xFF) != 0) r |= 0xFFul << b;
        h.X[i.Rd] = r;
        return Next(ref i, idx);
    }

    [Instruction("rev8", "0110101 11000 ..... 101 ..... 0010011", "xd, xs1")]
    private static int Rev8(Hart h, ref Insn i, int idx) { h.X[i.Rd] = BinaryPrimitives.ReverseEndianness(h.X[i.Rs1]); return Next(ref i, idx); }
}

/// <summary>Zbs: single-bit instructions.</summary>
[IsaExtension("Zbs")]
internal static unsafe partial class Zbs
{
    private static int Next(ref Insn i, int idx) => idx + i.Slots;

    [Instruction("bclr", "0100100 ..... ..... 001 ..... 0110011", "xd, xs1, xs2")]
    private static int Bclr(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs1] & ~(1ul << (int)(h.X[i.Rs2] & 63)); return Next(ref i, idx); }

    [Instruction("bclri", "010010 ...... ..... 001 ..... 0010011", "xd, xs1, shamt")]
    private static int Bclri(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs1] & ~(1ul << (int)i.Imm); return Next(ref i, idx); }

    [Instruction("bext", "0100100 ..... ..... 101 ..... 0110011", "xd, xs1, xs2")]
    private static int Bext(Hart h, ref Insn i, int idx) { h.X[i.Rd] = (h.X[i.Rs1] >> (int)(h.X[i.Rs2] & 63)) & 1; return Next(ref i, idx); }

    [Instruction("bexti", "010010 ...... ..... 101 ..... 0010011", "xd, xs1, shamt")]
    private static int Bexti(Hart h, ref Insn i, int idx) { h.X[i.Rd] = (h.X[i.Rs1] >> (int)i.Imm) & 1; return Next(ref i, idx); }

    [Instruction("binv", "0110100 ..... ..... 001 ..... 0110011", "xd, xs1, xs2")]
    private static int Binv(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs1] ^ (1ul << (int)(h.X[i.Rs2] & 63)); return Next(ref i, idx); }

    [Instruction("binvi", "011010 ...... ..... 001 ..... 0010011", "xd, xs1, shamt")]
    private static int Binvi(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs1] ^ (1ul << (int)i.Imm); return Next(ref i, idx); }

    [Instruction("bset", "0010100 ..... ..... 001 ..... 0110011", "xd, xs1, xs2")]
    private static int Bset(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs1] | (1ul << (int)(h.X[i.Rs2] & 63)); return Next(ref i, idx); }

    [Instruction("bseti", "001010 ...... ..... 001 ..... 0010011", "xd, xs1, shamt")]
    private static int Bseti(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs1] | (1ul << (int)i.Imm); return Next(ref i, idx); }
}
