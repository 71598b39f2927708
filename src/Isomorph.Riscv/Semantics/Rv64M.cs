using System.Reflection;
using System.Reflection.Emit;
using Isomorph.Riscv.Isa;
using Isomorph.Riscv.Translation;

namespace Isomorph.Riscv.Semantics;

/// <summary>
/// RV64M: integer multiplication and division (division by zero and overflow do not trap). Each
/// instruction is a pure function of rs1 and rs2 that its semantics and its IL emitter both call
/// (mul and mulw the emitter writes as IL arithmetic).
/// </summary>
[IsaExtension("M")]
internal static unsafe partial class Rv64M
{
    private static int Next(ref Insn i, int idx) => idx + i.Slots;
    private static ulong SignExtend32(ulong v) => (ulong)(long)(int)v;

    private static int Apply(Hart h, ref Insn i, int idx, ulong value) { h.X[i.Rd] = value; return Next(ref i, idx); }

    private static void CallIl(RegionEmitter e, in Insn i, string function) =>
        e.CallBinary(in i, typeof(Rv64M).GetMethod(function, BindingFlags.Static | BindingFlags.NonPublic)!);

    internal static ulong MulOf(ulong a, ulong b) => a * b;
    [Instruction("mul", "0000001 ..... ..... 000 ..... 0110011", "xd, xs1, xs2")]
    private static int Mul(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, MulOf(h.X[i.Rs1], h.X[i.Rs2]));
    [Emitter("mul")]
    private static void MulIl(RegionEmitter e, in Insn i) => e.Binary(in i, OpCodes.Mul);

    internal static ulong MulhOf(ulong a, ulong b) => (ulong)Math.BigMul((long)a, (long)b, out _);
    [Instruction("mulh", "0000001 ..... ..... 001 ..... 0110011", "xd, xs1, xs2")]
    private static int Mulh(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, MulhOf(h.X[i.Rs1], h.X[i.Rs2]));
    [Emitter("mulh")]
    private static void MulhIl(RegionEmitter e, in Insn i) => CallIl(e, in i, nameof(MulhOf));

    internal static ulong MulhsuOf(ulong a, ulong b)
    {
        ulong high = Math.BigMul(a, b, out _);
        if ((long)a < 0) high -= b; // a as signed = a - 2^64
        return high;
    }
    [Instruction("mulhsu", "0000001 ..... ..... 010 ..... 0110011", "xd, xs1, xs2")]
    private static int Mulhsu(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, MulhsuOf(h.X[i.Rs1], h.X[i.Rs2]));
    [Emitter("mulhsu")]
    private static void MulhsuIl(RegionEmitter e, in Insn i) => CallIl(e, in i, nameof(MulhsuOf));

    internal static ulong MulhuOf(ulong a, ulong b) => Math.BigMul(a, b, out _);
    [Instruction("mulhu", "0000001 ..... ..... 011 ..... 0110011", "xd, xs1, xs2")]
    private static int Mulhu(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, MulhuOf(h.X[i.Rs1], h.X[i.Rs2]));
    [Emitter("mulhu")]
    private static void MulhuIl(RegionEmitter e, in Insn i) => CallIl(e, in i, nameof(MulhuOf));

    internal static ulong DivOf(ulong x, ulong y)
    {
        long a = (long)x, b = (long)y;
        return (ulong)(b == 0 ? -1 : b == -1 ? unchecked(-a) : a / b);
    }
    [Instruction("div", "0000001 ..... ..... 100 ..... 0110011", "xd, xs1, xs2")]
    private static int Div(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, DivOf(h.X[i.Rs1], h.X[i.Rs2]));
    [Emitter("div")]
    private static void DivIl(RegionEmitter e, in Insn i) => CallIl(e, in i, nameof(DivOf));

    internal static ulong DivuOf(ulong a, ulong b) => b == 0 ? ulong.MaxValue : a / b;
    [Instruction("divu", "0000001 ..... ..... 101 ..... 0110011", "xd, xs1, xs2")]
    private static int Divu(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, DivuOf(h.X[i.Rs1], h.X[i.Rs2]));
    [Emitter("divu")]
    private static void DivuIl(RegionEmitter e, in Insn i) => CallIl(e, in i, nameof(DivuOf));

    internal static ulong RemOf(ulong x, ulong y)
    {
        long a = (long)x, b = (long)y;
        return (ulong)(b == 0 ? a : b == -1 ? 0 : a % b);
    }
    [Instruction("rem", "0000001 ..... ..... 110 ..... 0110011", "xd, xs1, xs2")]
    private static int Rem(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, RemOf(h.X[i.Rs1], h.X[i.Rs2]));
    [Emitter("rem")]
    private static void RemIl(RegionEmitter e, in Insn i) => CallIl(e, in i, nameof(RemOf));

    internal static ulong RemuOf(ulong a, ulong b) => b == 0 ? a : a % b;
    [Instruction("remu", "0000001 ..... ..... 111 ..... 0110011", "xd, xs1, xs2")]
    private static int Remu(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, RemuOf(h.X[i.Rs1], h.X[i.Rs2]));
    [Emitter("remu")]
    private static void RemuIl(RegionEmitter e, in Insn i) => CallIl(e, in i, nameof(RemuOf));

    internal static ulong MulwOf(ulong a, ulong b) => SignExtend32(a * b);
    [Instruction("mulw", "0000001 ..... ..... 000 ..... 0111011", "xd, xs1, xs2")]
    private static int Mulw(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, MulwOf(h.X[i.Rs1], h.X[i.Rs2]));
    [Emitter("mulw")]
    private static void MulwIl(RegionEmitter e, in Insn i) => e.Binary(in i, OpCodes.Mul, word: true);

    internal static ulong DivwOf(ulong x, ulong y)
    {
        int a = (int)x, b = (int)y;
        return (ulong)(long)(b == 0 ? -1 : b == -1 ? unchecked(-a) : a / b);
    }
    [Instruction("divw", "0000001 ..... ..... 100 ..... 0111011", "xd, xs1, xs2")]
    private static int Divw(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, DivwOf(h.X[i.Rs1], h.X[i.Rs2]));
    [Emitter("divw")]
    private static void DivwIl(RegionEmitter e, in Insn i) => CallIl(e, in i, nameof(DivwOf));

    internal static ulong DivuwOf(ulong x, ulong y)
    {
        uint a = (uint)x, b = (uint)y;
        return SignExtend32(b == 0 ? uint.MaxValue : a / b);
    }
    [Instruction("divuw", "0000001 ..... ..... 101 ..... 0111011", "xd, xs1, xs2")]
    private static int Divuw(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, DivuwOf(h.X[i.Rs1], h.X[i.Rs2]));
    [Emitter("divuw")]
    private static void DivuwIl(RegionEmitter e, in Insn i) => CallIl(e, in i, nameof(DivuwOf));

    internal static ulong RemwOf(ulong x, ulong y)
    {
        int a = (int)x, b = (int)y;
        return (ulong)(long)(b == 0 ? a : b == -1 ? 0 : a % b);
    }
    [Instruction("remw", "0000001 ..... ..... 110 ..... 0111011", "xd, xs1, xs2")]
    private static int Remw(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, RemwOf(h.X[i.Rs1], h.X[i.Rs2]));
    [Emitter("remw")]
    private static void RemwIl(RegionEmitter e, in Insn i) => CallIl(e, in i, nameof(RemwOf));

    internal static ulong RemuwOf(ulong x, ulong y)
    {
        uint a = (uint)x, b = (uint)y;
        return SignExtend32(b == 0 ? a : a % b);
    }
    [Instruction("remuw", "0000001 ..... ..... 111 ..... 0111011", "xd, xs1, xs2")]
    private static int Remuw(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, RemuwOf(h.X[i.Rs1], h.X[i.Rs2]));
    [Emitter("remuw")]
    private static void RemuwIl(RegionEmitter e, in Insn i) => CallIl(e, in i, nameof(RemuwOf));
}
