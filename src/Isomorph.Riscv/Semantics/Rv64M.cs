using Isomorph.Riscv.Isa;

namespace Isomorph.Riscv.Semantics;

/// <summary>RV64M: integer multiplication and division (division by zero and overflow do not trap).</summary>
[IsaExtension("M")]
internal static unsafe class Rv64M
{
    private static int Next(ref Insn i, int idx) => idx + i.Slots;
    private static ulong SignExtend32(ulong v) => (ulong)(long)(int)v;

    [Instruction("mul", "0000001 ..... ..... 000 ..... 0110011", "xd, xs1, xs2")]
    private static int Mul(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs1] * h.X[i.Rs2]; return Next(ref i, idx); }

    [Instruction("mulh", "0000001 ..... ..... 001 ..... 0110011", "xd, xs1, xs2")]
    private static int Mulh(Hart h, ref Insn i, int idx) { h.X[i.Rd] = (ulong)Math.BigMul((long)h.X[i.Rs1], (long)h.X[i.Rs2], out _); return Next(ref i, idx); }

    [Instruction("mulhsu", "0000001 ..... ..... 010 ..... 0110011", "xd, xs1, xs2")]
    private static int Mulhsu(Hart h, ref Insn i, int idx)
    {
        ulong a = h.X[i.Rs1], b = h.X[i.Rs2];
        ulong high = Math.BigMul(a, b, out _);
        if ((long)a < 0) high -= b; // a as signed = a - 2^64
        h.X[i.Rd] = high;
        return Next(ref i, idx);
    }

    [Instruction("mulhu", "0000001 ..... ..... 011 ..... 0110011", "xd, xs1, xs2")]
    private static int Mulhu(Hart h, ref Insn i, int idx) { h.X[i.Rd] = Math.BigMul(h.X[i.Rs1], h.X[i.Rs2], out _); return Next(ref i, idx); }

    [Instruction("div", "0000001 ..... ..... 100 ..... 0110011", "xd, xs1, xs2")]
    private static int Div(Hart h, ref Insn i, int idx)
    {
        long a = (long)h.X[i.Rs1], b = (long)h.X[i.Rs2];
        h.X[i.Rd] = (ulong)(b == 0 ? -1 : b == -1 ? unchecked(-a) : a / b);
        return Next(ref i, idx);
    }

    [Instruction("divu", "0000001 ..... ..... 101 ..... 0110011", "xd, xs1, xs2")]
    private static int Divu(Hart h, ref Insn i, int idx)
    {
        ulong a = h.X[i.Rs1], b = h.X[i.Rs2];
        h.X[i.Rd] = b == 0 ? ulong.MaxValue : a / b;
        return Next(ref i, idx);
    }

    [Instruction("rem", "0000001 ..... ..... 110 ..... 0110011", "xd, xs1, xs2")]
    private static int Rem(Hart h, ref Insn i, int idx)
    {
        long a = (long)h.X[i.Rs1], b = (long)h.X[i.Rs2];
        h.X[i.Rd] = (ulong)(b == 0 ? a : b == -1 ? 0 : a % b);
        return Next(ref i, idx);
    }

    [Instruction("remu", "0000001 ..... ..... 111 ..... 0110011", "xd, xs1, xs2")]
    private static int Remu(Hart h, ref Insn i, int idx)
    {
        ulong a = h.X[i.Rs1], b = h.X[i.Rs2];
        h.X[i.Rd] = b == 0 ? a : a % b;
        return Next(ref i, idx);
    }

    [Instruction("mulw", "0000001 ..... ..... 000 ..... 0111011", "xd, xs1, xs2")]
    private static int Mulw(Hart h, ref Insn i, int idx) { h.X[i.Rd] = SignExtend32(h.X[i.Rs1] * h.X[i.Rs2]); return Next(ref i, idx); }

    [Instruction("divw", "0000001 ..... ..... 100 ..... 0111011", "xd, xs1, xs2")]
    private static int Divw(Hart h, ref Insn i, int idx)
    {
        int a = (int)h.X[i.Rs1], b = (int)h.X[i.Rs2];
        h.X[i.Rd] = (ulong)(long)(b == 0 ? -1 : b == -1 ? unchecked(-a) : a / b);
        return Next(ref i, idx);
    }

    [Instruction("divuw", "0000001 ..... ..... 101 ..... 0111011", "xd, xs1, xs2")]
    private static int Divuw(Hart h, ref Insn i, int idx)
    {
        uint a = (uint)h.X[i.Rs1], b = (uint)h.X[i.Rs2];
        h.X[i.Rd] = SignExtend32(b == 0 ? uint.MaxValue : a / b);
        return Next(ref i, idx);
    }

    [Instruction("remw", "0000001 ..... ..... 110 ..... 0111011", "xd, xs1, xs2")]
    private static int Remw(Hart h, ref Insn i, int idx)
    {
        int a = (int)h.X[i.Rs1], b = (int)h.X[i.Rs2];
        h.X[i.Rd] = (ulong)(long)(b == 0 ? a : b == -1 ? 0 : a % b);
        return Next(ref i, idx);
    }

    [Instruction("remuw", "0000001 ..... ..... 111 ..... 0111011", "xd, xs1, xs2")]
    private static int Remuw(Hart h, ref Insn i, int idx)
    {
        uint a = (uint)h.X[i.Rs1], b = (uint)h.X[i.Rs2];
        h.X[i.Rd] = SignExtend32(b == 0 ? a : a % b);
        return Next(ref i, idx);
    }
}
