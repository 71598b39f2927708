using System.Buffers.Binary;
using System.Numerics;
using System.Reflection;
using Isomorph.Riscv.Isa;
using Isomorph.Riscv.Translation;

namespace Isomorph.Riscv.Semantics;

/// <summary>
/// Zba: address generation (shift-and-add, unsigned-word forms). Each instruction is a pure
/// function of rs1 and rs2 (or its immediate) that its semantics and its IL emitter both call
/// (RyuJIT inlines them into a region).
/// </summary>
[IsaExtension("Zba")]
internal static unsafe partial class Zba
{
    private static int Apply(Hart h, ref Insn i, int idx, ulong value) { h.X[i.Rd] = value; return idx + i.Slots; }
    private static MethodInfo Helper(string name) => typeof(Zba).GetMethod(name, BindingFlags.Static | BindingFlags.NonPublic)!;

    internal static ulong Sh1addOf(ulong a, ulong b) => b + (a << 1);
    [Instruction("sh1add", "0010000 ..... ..... 010 ..... 0110011", "xd, xs1, xs2")]
    private static int Sh1add(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, Sh1addOf(h.X[i.Rs1], h.X[i.Rs2]));
    [Emitter("sh1add")]
    private static void Sh1addIl(RegionEmitter e, in Insn i) => e.CallBinary(in i, Helper(nameof(Sh1addOf)));

    internal static ulong Sh2addOf(ulong a, ulong b) => b + (a << 2);
    [Instruction("sh2add", "0010000 ..... ..... 100 ..... 0110011", "xd, xs1, xs2")]
    private static int Sh2add(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, Sh2addOf(h.X[i.Rs1], h.X[i.Rs2]));
    [Emitter("sh2add")]
    private static void Sh2addIl(RegionEmitter e, in Insn i) => e.CallBinary(in i, Helper(nameof(Sh2addOf)));

    internal static ulong Sh3addOf(ulong a, ulong b) => b + (a << 3);
    [Instruction("sh3add", "0010000 ..... ..... 110 ..... 0110011", "xd, xs1, xs2")]
    private static int Sh3add(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, Sh3addOf(h.X[i.Rs1], h.X[i.Rs2]));
    [Emitter("sh3add")]
    private static void Sh3addIl(RegionEmitter e, in Insn i) => e.CallBinary(in i, Helper(nameof(Sh3addOf)));

    internal static ulong AddUwOf(ulong a, ulong b) => b + (uint)a;
    [Instruction("add.uw", "0000100 ..... ..... 000 ..... 0111011", "xd, xs1, xs2")]
    private static int AddUw(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, AddUwOf(h.X[i.Rs1], h.X[i.Rs2]));
    [Emitter("add.uw")]
    private static void AddUwIl(RegionEmitter e, in Insn i) => e.CallBinary(in i, Helper(nameof(AddUwOf)));

    internal static ulong Sh1addUwOf(ulong a, ulong b) => b + ((ulong)(uint)a << 1);
    [Instruction("sh1add.uw", "0010000 ..... ..... 010 ..... 0111011", "xd, xs1, xs2")]
    private static int Sh1addUw(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, Sh1addUwOf(h.X[i.Rs1], h.X[i.Rs2]));
    [Emitter("sh1add.uw")]
    private static void Sh1addUwIl(RegionEmitter e, in Insn i) => e.CallBinary(in i, Helper(nameof(Sh1addUwOf)));

    internal static ulong Sh2addUwOf(ulong a, ulong b) => b + ((ulong)(uint)a << 2);
    [Instruction("sh2add.uw", "0010000 ..... ..... 100 ..... 0111011", "xd, xs1, xs2")]
    private static int Sh2addUw(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, Sh2addUwOf(h.X[i.Rs1], h.X[i.Rs2]));
    [Emitter("sh2add.uw")]
    private static void Sh2addUwIl(RegionEmitter e, in Insn i) => e.CallBinary(in i, Helper(nameof(Sh2addUwOf)));

    internal static ulong Sh3addUwOf(ulong a, ulong b) => b + ((ulong)(uint)a << 3);
    [Instruction("sh3add.uw", "0010000 ..... ..... 110 ..... 0111011", "xd, xs1, xs2")]
    private static int Sh3addUw(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, Sh3addUwOf(h.X[i.Rs1], h.X[i.Rs2]));
    [Emitter("sh3add.uw")]
    private static void Sh3addUwIl(RegionEmitter e, in Insn i) => e.CallBinary(in i, Helper(nameof(Sh3addUwOf)));

    internal static ulong SlliUwOf(ulong a, ulong b) => (ulong)(uint)a << (int)b;
    [Instruction("slli.uw", "000010 ...... ..... 001 ..... 0011011", "xd, xs1, shamt")]
    private static int SlliUw(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, SlliUwOf(h.X[i.Rs1], (ulong)i.Imm));
    [Emitter("slli.uw")]
    private static void SlliUwIl(RegionEmitter e, in Insn i) => e.CallBinaryImmediate(in i, Helper(nameof(SlliUwOf)));
}

/// <summary>
/// Zbb: basic bit manipulation. Each instruction is a pure function of rs1 and rs2 (or its
/// immediate) that its semantics and its IL emitter both call (RyuJIT inlines them into a region).
/// </summary>
[IsaExtension("Zbb")]
internal static unsafe partial class Zbb
{
    private static int Apply(Hart h, ref Insn i, int idx, ulong value) { h.X[i.Rd] = value; return idx + i.Slots; }
    private static MethodInfo Helper(string name) => typeof(Zbb).GetMethod(name, BindingFlags.Static | BindingFlags.NonPublic)!;
    private static ulong SignExtend32(ulong v) => (ulong)(long)(int)v;

    internal static ulong AndnOf(ulong a, ulong b) => a & ~b;
    [Instruction("andn", "0100000 ..... ..... 111 ..... 0110011", "xd, xs1, xs2")]
    private static int Andn(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, AndnOf(h.X[i.Rs1], h.X[i.Rs2]));
    [Emitter("andn")]
    private static void AndnIl(RegionEmitter e, in Insn i) => e.CallBinary(in i, Helper(nameof(AndnOf)));

    internal static ulong OrnOf(ulong a, ulong b) => a | ~b;
    [Instruction("orn", "0100000 ..... ..... 110 ..... 0110011", "xd, xs1, xs2")]
    private static int Orn(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, OrnOf(h.X[i.Rs1], h.X[i.Rs2]));
    [Emitter("orn")]
    private static void OrnIl(RegionEmitter e, in Insn i) => e.CallBinary(in i, Helper(nameof(OrnOf)));

    internal static ulong XnorOf(ulong a, ulong b) => ~(a ^ b);
    [Instruction("xnor", "0100000 ..... ..... 100 ..... 0110011", "xd, xs1, xs2")]
    private static int Xnor(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, XnorOf(h.X[i.Rs1], h.X[i.Rs2]));
    [Emitter("xnor")]
    private static void XnorIl(RegionEmitter e, in Insn i) => e.CallBinary(in i, Helper(nameof(XnorOf)));

    internal static ulong ClzOf(ulong a) => (ulong)BitOperations.LeadingZeroCount(a);
    [Instruction("clz", "0110000 00000 ..... 001 ..... 0010011", "xd, xs1")]
    private static int Clz(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, ClzOf(h.X[i.Rs1]));
    [Emitter("clz")]
    private static void ClzIl(RegionEmitter e, in Insn i) => e.CallUnary(in i, Helper(nameof(ClzOf)));

    internal static ulong ClzwOf(ulong a) => (ulong)BitOperations.LeadingZeroCount((uint)a);
    [Instruction("clzw", "0110000 00000 ..... 001 ..... 0011011", "xd, xs1")]
    private static int Clzw(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, ClzwOf(h.X[i.Rs1]));
    [Emitter("clzw")]
    private static void ClzwIl(RegionEmitter e, in Insn i) => e.CallUnary(in i, Helper(nameof(ClzwOf)));

    internal static ulong CtzOf(ulong a) => (ulong)BitOperations.TrailingZeroCount(a);
    [Instruction("ctz", "0110000 00001 ..... 001 ..... 0010011", "xd, xs1")]
    private static int Ctz(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, CtzOf(h.X[i.Rs1]));
    [Emitter("ctz")]
    private static void CtzIl(RegionEmitter e, in Insn i) => e.CallUnary(in i, Helper(nameof(CtzOf)));

    internal static ulong CtzwOf(ulong a) => (ulong)BitOperations.TrailingZeroCount((uint)a | (1ul << 32));
    [Instruction("ctzw", "0110000 00001 ..... 001 ..... 0011011", "xd, xs1")]
    private static int Ctzw(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, CtzwOf(h.X[i.Rs1]));
    [Emitter("ctzw")]
    private static void CtzwIl(RegionEmitter e, in Insn i) => e.CallUnary(in i, Helper(nameof(CtzwOf)));

    internal static ulong CpopOf(ulong a) => (ulong)BitOperations.PopCount(a);
    [Instruction("cpop", "0110000 00010 ..... 001 ..... 0010011", "xd, xs1")]
    private static int Cpop(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, CpopOf(h.X[i.Rs1]));
    [Emitter("cpop")]
    private static void CpopIl(RegionEmitter e, in Insn i) => e.CallUnary(in i, Helper(nameof(CpopOf)));

    internal static ulong CpopwOf(ulong a) => (ulong)BitOperations.PopCount((uint)a);
    [Instruction("cpopw", "0110000 00010 ..... 001 ..... 0011011", "xd, xs1")]
    private static int Cpopw(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, CpopwOf(h.X[i.Rs1]));
    [Emitter("cpopw")]
    private static void CpopwIl(RegionEmitter e, in Insn i) => e.CallUnary(in i, Helper(nameof(CpopwOf)));

    internal static ulong MaxOf(ulong a, ulong b) => (ulong)Math.Max((long)a, (long)b);
    [Instruction("max", "0000101 ..... ..... 110 ..... 0110011", "xd, xs1, xs2")]
    private static int Max(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, MaxOf(h.X[i.Rs1], h.X[i.Rs2]));
    [Emitter("max")]
    private static void MaxIl(RegionEmitter e, in Insn i) => e.CallBinary(in i, Helper(nameof(MaxOf)));

    internal static ulong MaxuOf(ulong a, ulong b) => Math.Max(a, b);
    [Instruction("maxu", "0000101 ..... ..... 111 ..... 0110011", "xd, xs1, xs2")]
    private static int Maxu(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, MaxuOf(h.X[i.Rs1], h.X[i.Rs2]));
    [Emitter("maxu")]
    private static void MaxuIl(RegionEmitter e, in Insn i) => e.CallBinary(in i, Helper(nameof(MaxuOf)));

    internal static ulong MinOf(ulong a, ulong b) => (ulong)Math.Min((long)a, (long)b);
    [Instruction("min", "0000101 ..... ..... 100 ..... 0110011", "xd, xs1, xs2")]
    private static int Min(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, MinOf(h.X[i.Rs1], h.X[i.Rs2]));
    [Emitter("min")]
    private static void MinIl(RegionEmitter e, in Insn i) => e.CallBinary(in i, Helper(nameof(MinOf)));

    internal static ulong MinuOf(ulong a, ulong b) => Math.Min(a, b);
    [Instruction("minu", "0000101 ..... ..... 101 ..... 0110011", "xd, xs1, xs2")]
    private static int Minu(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, MinuOf(h.X[i.Rs1], h.X[i.Rs2]));
    [Emitter("minu")]
    private static void MinuIl(RegionEmitter e, in Insn i) => e.CallBinary(in i, Helper(nameof(MinuOf)));

    internal static ulong SextBOf(ulong a) => (ulong)(sbyte)a;
    [Instruction("sext.b", "0110000 00100 ..... 001 ..... 0010011", "xd, xs1")]
    private static int SextB(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, SextBOf(h.X[i.Rs1]));
    [Emitter("sext.b")]
    private static void SextBIl(RegionEmitter e, in Insn i) => e.CallUnary(in i, Helper(nameof(SextBOf)));

    internal static ulong SextHOf(ulong a) => (ulong)(short)a;
    [Instruction("sext.h", "0110000 00101 ..... 001 ..... 0010011", "xd, xs1")]
    private static int SextH(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, SextHOf(h.X[i.Rs1]));
    [Emitter("sext.h")]
    private static void SextHIl(RegionEmitter e, in Insn i) => e.CallUnary(in i, Helper(nameof(SextHOf)));

    internal static ulong ZextHOf(ulong a) => (ushort)a;
    [Instruction("zext.h", "0000100 00000 ..... 100 ..... 0111011", "xd, xs1")]
    private static int ZextH(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, ZextHOf(h.X[i.Rs1]));
    [Emitter("zext.h")]
    private static void ZextHIl(RegionEmitter e, in Insn i) => e.CallUnary(in i, Helper(nameof(ZextHOf)));

    internal static ulong RolOf(ulong a, ulong b) => BitOperations.RotateLeft(a, (int)(b & 63));
    [Instruction("rol", "0110000 ..... ..... 001 ..... 0110011", "xd, xs1, xs2")]
    private static int Rol(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, RolOf(h.X[i.Rs1], h.X[i.Rs2]));
    [Emitter("rol")]
    private static void RolIl(RegionEmitter e, in Insn i) => e.CallBinary(in i, Helper(nameof(RolOf)));

    internal static ulong RolwOf(ulong a, ulong b) => SignExtend32(BitOperations.RotateLeft((uint)a, (int)(b & 31)));
    [Instruction("rolw", "0110000 ..... ..... 001 ..... 0111011", "xd, xs1, xs2")]
    private static int Rolw(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, RolwOf(h.X[i.Rs1], h.X[i.Rs2]));
    [Emitter("rolw")]
    private static void RolwIl(RegionEmitter e, in Insn i) => e.CallBinary(in i, Helper(nameof(RolwOf)));

    internal static ulong RorOf(ulong a, ulong b) => BitOperations.RotateRight(a, (int)(b & 63));
    [Instruction("ror", "0110000 ..... ..... 101 ..... 0110011", "xd, xs1, xs2")]
    private static int Ror(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, RorOf(h.X[i.Rs1], h.X[i.Rs2]));
    [Emitter("ror")]
    private static void RorIl(RegionEmitter e, in Insn i) => e.CallBinary(in i, Helper(nameof(RorOf)));

    internal static ulong RoriOf(ulong a, ulong b) => BitOperations.RotateRight(a, (int)b);
    [Instruction("rori", "011000 ...... ..... 101 ..... 0010011", "xd, xs1, shamt")]
    private static int Rori(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, RoriOf(h.X[i.Rs1], (ulong)i.Imm));
    [Emitter("rori")]
    private static void RoriIl(RegionEmitter e, in Insn i) => e.CallBinaryImmediate(in i, Helper(nameof(RoriOf)));

    internal static ulong RoriwOf(ulong a, ulong b) => SignExtend32(BitOperations.RotateRight((uint)a, (int)b));
    [Instruction("roriw", "0110000 ..... ..... 101 ..... 0011011", "xd, xs1, shamtw")]
    private static int Roriw(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, RoriwOf(h.X[i.Rs1], (ulong)i.Imm));
    [Emitter("roriw")]
    private static void RoriwIl(RegionEmitter e, in Insn i) => e.CallBinaryImmediate(in i, Helper(nameof(RoriwOf)));

    internal static ulong RorwOf(ulong a, ulong b) => SignExtend32(BitOperations.RotateRight((uint)a, (int)(b & 31)));
    [Instruction("rorw", "0110000 ..... ..... 101 ..... 0111011", "xd, xs1, xs2")]
    private static int Rorw(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, RorwOf(h.X[i.Rs1], h.X[i.Rs2]));
    [Emitter("rorw")]
    private static void RorwIl(RegionEmitter e, in Insn i) => e.CallBinary(in i, Helper(nameof(RorwOf)));

    internal static ulong OrcBOf(ulong a)
    {
        ulong r = 0;
        for (int b = 0; b < 64; b += 8)
            if (((a >> b) & 0xFF) != 0) r |= 0xFFul << b;
        return r;
    }
    [Instruction("orc.b", "0010100 00111 ..... 101 ..... 0010011", "xd, xs1")]
    private static int OrcB(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, OrcBOf(h.X[i.Rs1]));
    [Emitter("orc.b")]
    private static void OrcBIl(RegionEmitter e, in Insn i) => e.CallUnary(in i, Helper(nameof(OrcBOf)));

    internal static ulong Rev8Of(ulong a) => BinaryPrimitives.ReverseEndianness(a);
    [Instruction("rev8", "0110101 11000 ..... 101 ..... 0010011", "xd, xs1")]
    private static int Rev8(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, Rev8Of(h.X[i.Rs1]));
    [Emitter("rev8")]
    private static void Rev8Il(RegionEmitter e, in Insn i) => e.CallUnary(in i, Helper(nameof(Rev8Of)));
}

/// <summary>
/// Zbs: single-bit instructions. Each instruction is a pure function of rs1 and rs2 (or its
/// immediate) that its semantics and its IL emitter both call (RyuJIT inlines them into a region).
/// </summary>
[IsaExtension("Zbs")]
internal static unsafe partial class Zbs
{
    private static int Apply(Hart h, ref Insn i, int idx, ulong value) { h.X[i.Rd] = value; return idx + i.Slots; }
    private static MethodInfo Helper(string name) => typeof(Zbs).GetMethod(name, BindingFlags.Static | BindingFlags.NonPublic)!;

    internal static ulong BclrOf(ulong a, ulong b) => a & ~(1ul << (int)(b & 63));
    [Instruction("bclr", "0100100 ..... ..... 001 ..... 0110011", "xd, xs1, xs2")]
    private static int Bclr(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, BclrOf(h.X[i.Rs1], h.X[i.Rs2]));
    [Emitter("bclr")]
    private static void BclrIl(RegionEmitter e, in Insn i) => e.CallBinary(in i, Helper(nameof(BclrOf)));

    internal static ulong BclriOf(ulong a, ulong b) => a & ~(1ul << (int)b);
    [Instruction("bclri", "010010 ...... ..... 001 ..... 0010011", "xd, xs1, shamt")]
    private static int Bclri(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, BclriOf(h.X[i.Rs1], (ulong)i.Imm));
    [Emitter("bclri")]
    private static void BclriIl(RegionEmitter e, in Insn i) => e.CallBinaryImmediate(in i, Helper(nameof(BclriOf)));

    internal static ulong BextOf(ulong a, ulong b) => (a >> (int)(b & 63)) & 1;
    [Instruction("bext", "0100100 ..... ..... 101 ..... 0110011", "xd, xs1, xs2")]
    private static int Bext(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, BextOf(h.X[i.Rs1], h.X[i.Rs2]));
    [Emitter("bext")]
    private static void BextIl(RegionEmitter e, in Insn i) => e.CallBinary(in i, Helper(nameof(BextOf)));

    internal static ulong BextiOf(ulong a, ulong b) => (a >> (int)b) & 1;
    [Instruction("bexti", "010010 ...... ..... 101 ..... 0010011", "xd, xs1, shamt")]
    private static int Bexti(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, BextiOf(h.X[i.Rs1], (ulong)i.Imm));
    [Emitter("bexti")]
    private static void BextiIl(RegionEmitter e, in Insn i) => e.CallBinaryImmediate(in i, Helper(nameof(BextiOf)));

    internal static ulong BinvOf(ulong a, ulong b) => a ^ (1ul << (int)(b & 63));
    [Instruction("binv", "0110100 ..... ..... 001 ..... 0110011", "xd, xs1, xs2")]
    private static int Binv(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, BinvOf(h.X[i.Rs1], h.X[i.Rs2]));
    [Emitter("binv")]
    private static void BinvIl(RegionEmitter e, in Insn i) => e.CallBinary(in i, Helper(nameof(BinvOf)));

    internal static ulong BinviOf(ulong a, ulong b) => a ^ (1ul << (int)b);
    [Instruction("binvi", "011010 ...... ..... 001 ..... 0010011", "xd, xs1, shamt")]
    private static int Binvi(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, BinviOf(h.X[i.Rs1], (ulong)i.Imm));
    [Emitter("binvi")]
    private static void BinviIl(RegionEmitter e, in Insn i) => e.CallBinaryImmediate(in i, Helper(nameof(BinviOf)));

    internal static ulong BsetOf(ulong a, ulong b) => a | (1ul << (int)(b & 63));
    [Instruction("bset", "0010100 ..... ..... 001 ..... 0110011", "xd, xs1, xs2")]
    private static int Bset(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, BsetOf(h.X[i.Rs1], h.X[i.Rs2]));
    [Emitter("bset")]
    private static void BsetIl(RegionEmitter e, in Insn i) => e.CallBinary(in i, Helper(nameof(BsetOf)));

    internal static ulong BsetiOf(ulong a, ulong b) => a | (1ul << (int)b);
    [Instruction("bseti", "001010 ...... ..... 001 ..... 0010011", "xd, xs1, shamt")]
    private static int Bseti(Hart h, ref Insn i, int idx) => Apply(h, ref i, idx, BsetiOf(h.X[i.Rs1], (ulong)i.Imm));
    [Emitter("bseti")]
    private static void BsetiIl(RegionEmitter e, in Insn i) => e.CallBinaryImmediate(in i, Helper(nameof(BsetiOf)));
}
