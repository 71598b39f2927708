using System.Reflection.Emit;
using Isomorph.Riscv.Float;
using Isomorph.Riscv.Isa;
using Isomorph.Riscv.Translation;
using static Isomorph.Riscv.Semantics.FloatingPoint;

namespace Isomorph.Riscv.Semantics;

/// <summary>The D extension: IEEE 754 binary64 arithmetic, exactly rounded (see <see cref="SoftFloat"/>).</summary>
[IsaExtension("D")]
internal static unsafe partial class Rv64D
{
    private const ulong Sign = 1ul << 63;

    /// <summary>An arithmetic operation: on the host's FPU where <see cref="HostFloat"/> shows it exact, else in soft-float.</summary>
    private static int Binary(Hart h, ref Insn i, int idx, delegate*<ulong, ulong, RoundingMode, ref FFlags, ulong> op, delegate*<double, double, double> host)
    {
        if (!Begin(h, ref i, out var rm)) return Illegal(h, ref i, idx);
        ulong a = h.F[i.Rs1], b = h.F[i.Rs2];
        if (HostFloat.Allowed(h.FpFlags, rm) && HostFloat.Finite(a) && HostFloat.Finite(b))
        {
            double r = host(BitConverter.UInt64BitsToDouble(a), BitConverter.UInt64BitsToDouble(b));
            if (HostFloat.Safe(r)) return Result(h, ref i, idx, r);
        }
        FFlags flags = 0;
        h.F[i.Rd] = op(a, b, rm, ref flags);
        return End(h, ref i, idx, flags);
    }

    private static int Fused(Hart h, ref Insn i, int idx, ulong negateProduct, ulong negateAddend)
    {
        if (!Begin(h, ref i, out var rm)) return Illegal(h, ref i, idx);
        ulong a = h.F[i.Rs1] ^ negateProduct, b = h.F[i.Rs2], c = h.F[i.Rs3] ^ negateAddend;
        if (HostFloat.Allowed(h.FpFlags, rm) && HostFloat.Finite(a) && HostFloat.Finite(b) && HostFloat.Finite(c))
        {
            double r = Math.FusedMultiplyAdd(BitConverter.UInt64BitsToDouble(a), BitConverter.UInt64BitsToDouble(b), BitConverter.UInt64BitsToDouble(c));
            if (HostFloat.Safe(r)) return Result(h, ref i, idx, r);
        }
        FFlags flags = 0;
        h.F[i.Rd] = SoftFloat.MulAdd(a, b, c, rm, ref flags);
        return End(h, ref i, idx, flags);
    }

    /// <summary>Writes a result the host computed exactly (no flag to accrue: NX is already set).</summary>
    private static int Result(Hart h, ref Insn i, int idx, double r)
    {
        h.F[i.Rd] = BitConverter.DoubleToUInt64Bits(r);
        return End(h, ref i, idx, 0);
    }

    private static int ToInteger(Hart h, ref Insn i, int idx, delegate*<ulong, RoundingMode, ref FFlags, ulong> op)
    {
        if (!Begin(h, ref i, out var rm)) return Illegal(h, ref i, idx);
        FFlags flags = 0;
        h.X[i.Rd] = op(h.F[i.Rs1], rm, ref flags);
        h.FpFlags |= (uint)flags;
        if (flags != 0) h.SetFsDirty();
        return idx + i.Slots;
    }

    private static int FromInteger(Hart h, ref Insn i, int idx, delegate*<ulong, RoundingMode, ref FFlags, ulong> op)
    {
        if (!Begin(h, ref i, out var rm)) return Illegal(h, ref i, idx);
        FFlags flags = 0;
        h.F[i.Rd] = op(h.X[i.Rs1], rm, ref flags);
        return End(h, ref i, idx, flags);
    }

    private static int Compare(Hart h, ref Insn i, int idx, delegate*<ulong, ulong, ref FFlags, bool> op)
    {
        if (!Begin(h)) return Illegal(h, ref i, idx);
        FFlags flags = 0;
        h.X[i.Rd] = op(h.F[i.Rs1], h.F[i.Rs2], ref flags) ? 1ul : 0;
        h.FpFlags |= (uint)flags;
        if (flags != 0) h.SetFsDirty();
        return idx + i.Slots;
    }

    private static int SignInject(Hart h, ref Insn i, int idx, Func<ulong, ulong, ulong> sign)
    {
        if (!Begin(h)) return Illegal(h, ref i, idx);
        ulong a = h.F[i.Rs1], b = h.F[i.Rs2];
        h.F[i.Rd] = (a & ~Sign) | (sign(a, b) & Sign);
        return End(h, ref i, idx, 0);
    }

    // Loads and stores move raw bits.
    [Instruction("fld", "............ ..... 011 ..... 0000111", "fd, imm(xs1)", Flow = ControlFlow.MayTrap)]
    private static int Fld(Hart h, ref Insn i, int idx)
    {
        if (!Begin(h)) return Illegal(h, ref i, idx);
        if (!h.Load(h.X[i.Rs1] + (ulong)i.Imm, out ulong v)) return h.RaisePending(idx);
        h.F[i.Rd] = v;
        return End(h, ref i, idx, 0);
    }
    [Emitter("fld")]
    private static void FldIl(RegionEmitter e, in Insn i) => e.FloatLoad<ulong>(in i);

    [Instruction("fsd", "....... ..... ..... 011 ..... 0100111", "fs2, simm(xs1)", Flow = ControlFlow.MayTrap)]
    private static int Fsd(Hart h, ref Insn i, int idx)
    {
        if (!Begin(h)) return Illegal(h, ref i, idx);
        return h.Store(h.X[i.Rs1] + (ulong)i.Imm, h.F[i.Rs2]) ? idx + i.Slots : h.RaisePending(idx);
    }
    [Emitter("fsd")]
    private static void FsdIl(RegionEmitter e, in Insn i) => e.FloatStore<ulong>(in i);

    [Instruction("fmadd.d", "..... 01 ..... ..... ... ..... 1000011", "fd, fs1, fs2, fs3, rm", Flow = ControlFlow.MayTrap)]
    private static int FmaddD(Hart h, ref Insn i, int idx) => Fused(h, ref i, idx, 0, 0);
    [Emitter("fmadd.d")]
    private static void FmaddDIl(RegionEmitter e, in Insn i) => e.FloatFused(in i, true, negateProduct: false, negateAddend: false);
    [Instruction("fmsub.d", "..... 01 ..... ..... ... ..... 1000111", "fd, fs1, fs2, fs3, rm", Flow = ControlFlow.MayTrap)]
    private static int FmsubD(Hart h, ref Insn i, int idx) => Fused(h, ref i, idx, 0, Sign);
    [Emitter("fmsub.d")]
    private static void FmsubDIl(RegionEmitter e, in Insn i) => e.FloatFused(in i, true, negateProduct: false, negateAddend: true);
    [Instruction("fnmsub.d", "..... 01 ..... ..... ... ..... 1001011", "fd, fs1, fs2, fs3, rm", Flow = ControlFlow.MayTrap)]
    private static int FnmsubD(Hart h, ref Insn i, int idx) => Fused(h, ref i, idx, Sign, 0);
    [Emitter("fnmsub.d")]
    private static void FnmsubDIl(RegionEmitter e, in Insn i) => e.FloatFused(in i, true, negateProduct: true, negateAddend: false);
    [Instruction("fnmadd.d", "..... 01 ..... ..... ... ..... 1001111", "fd, fs1, fs2, fs3, rm", Flow = ControlFlow.MayTrap)]
    private static int FnmaddD(Hart h, ref Insn i, int idx) => Fused(h, ref i, idx, Sign, Sign);
    [Emitter("fnmadd.d")]
    private static void FnmaddDIl(RegionEmitter e, in Insn i) => e.FloatFused(in i, true, negateProduct: true, negateAddend: true);

    [Instruction("fadd.d", "0000001 ..... ..... ... ..... 1010011", "fd, fs1, fs2, rm", Flow = ControlFlow.MayTrap)]
    private static int FaddD(Hart h, ref Insn i, int idx) => Binary(h, ref i, idx, &SoftFloat.Add, &HostFloat.Add);
    [Emitter("fadd.d")]
    private static void FaddDIl(RegionEmitter e, in Insn i) => e.FloatBinary(in i, true, OpCodes.Add);
    [Instruction("fsub.d", "0000101 ..... ..... ... ..... 1010011", "fd, fs1, fs2, rm", Flow = ControlFlow.MayTrap)]
    private static int FsubD(Hart h, ref Insn i, int idx) => Binary(h, ref i, idx, &SoftFloat.Sub, &HostFloat.Sub);
    [Emitter("fsub.d")]
    private static void FsubDIl(RegionEmitter e, in Insn i) => e.FloatBinary(in i, true, OpCodes.Sub);
    [Instruction("fmul.d", "0001001 ..... ..... ... ..... 1010011", "fd, fs1, fs2, rm", Flow = ControlFlow.MayTrap)]
    private static int FmulD(Hart h, ref Insn i, int idx) => Binary(h, ref i, idx, &SoftFloat.Mul, &HostFloat.Mul);
    [Emitter("fmul.d")]
    private static void FmulDIl(RegionEmitter e, in Insn i) => e.FloatBinary(in i, true, OpCodes.Mul);
    [Instruction("fdiv.d", "0001101 ..... ..... ... ..... 1010011", "fd, fs1, fs2, rm", Flow = ControlFlow.MayTrap)]
    private static int FdivD(Hart h, ref Insn i, int idx) => Binary(h, ref i, idx, &SoftFloat.Div, &HostFloat.Div);
    [Emitter("fdiv.d")]
    private static void FdivDIl(RegionEmitter e, in Insn i) => e.FloatBinary(in i, true, OpCodes.Div);

    [Instruction("fsqrt.d", "0101101 00000 ..... ... ..... 1010011", "fd, fs1, rm", Flow = ControlFlow.MayTrap)]
    private static int FsqrtD(Hart h, ref Insn i, int idx)
    {
        if (!Begin(h, ref i, out var rm)) return Illegal(h, ref i, idx);
        ulong a = h.F[i.Rs1];
        if (HostFloat.Allowed(h.FpFlags, rm) && HostFloat.Finite(a))
        {
            double r = Math.Sqrt(BitConverter.UInt64BitsToDouble(a));
            if (HostFloat.Safe(r)) return Result(h, ref i, idx, r);
        }
        FFlags flags = 0;
        h.F[i.Rd] = SoftFloat.Sqrt(a, rm, ref flags);
        return End(h, ref i, idx, flags);
    }
    [Emitter("fsqrt.d")]
    private static void FsqrtDIl(RegionEmitter e, in Insn i) => e.FloatSqrt(in i, true);

    [Instruction("fsgnj.d", "0010001 ..... ..... 000 ..... 1010011", "fd, fs1, fs2", Flow = ControlFlow.MayTrap)]
    private static int FsgnjD(Hart h, ref Insn i, int idx) => SignInject(h, ref i, idx, static (_, b) => b);
    [Emitter("fsgnj.d")]
    private static void FsgnjDIl(RegionEmitter e, in Insn i) => e.FloatSignInject(in i, 0);
    [Instruction("fsgnjn.d", "0010001 ..... ..... 001 ..... 1010011", "fd, fs1, fs2", Flow = ControlFlow.MayTrap)]
    private static int FsgnjnD(Hart h, ref Insn i, int idx) => SignInject(h, ref i, idx, static (_, b) => ~b);
    [Emitter("fsgnjn.d")]
    private static void FsgnjnDIl(RegionEmitter e, in Insn i) => e.FloatSignInject(in i, 1);
    [Instruction("fsgnjx.d", "0010001 ..... ..... 010 ..... 1010011", "fd, fs1, fs2", Flow = ControlFlow.MayTrap)]
    private static int FsgnjxD(Hart h, ref Insn i, int idx) => SignInject(h, ref i, idx, static (a, b) => a ^ b);
    [Emitter("fsgnjx.d")]
    private static void FsgnjxDIl(RegionEmitter e, in Insn i) => e.FloatSignInject(in i, 2);

    [Instruction("fmin.d", "0010101 ..... ..... 000 ..... 1010011", "fd, fs1, fs2", Flow = ControlFlow.MayTrap)]
    private static int FminD(Hart h, ref Insn i, int idx)
    {
        if (!Begin(h)) return Illegal(h, ref i, idx);
        FFlags flags = 0;
        h.F[i.Rd] = SoftFloat.Min(h.F[i.Rs1], h.F[i.Rs2], ref flags);
        return End(h, ref i, idx, flags);
    }

    [Instruction("fmax.d", "0010101 ..... ..... 001 ..... 1010011", "fd, fs1, fs2", Flow = ControlFlow.MayTrap)]
    private static int FmaxD(Hart h, ref Insn i, int idx)
    {
        if (!Begin(h)) return Illegal(h, ref i, idx);
        FFlags flags = 0;
        h.F[i.Rd] = SoftFloat.Max(h.F[i.Rs1], h.F[i.Rs2], ref flags);
        return End(h, ref i, idx, flags);
    }

    [Instruction("fcvt.s.d", "0100000 00001 ..... ... ..... 1010011", "fd, fs1, rm", Flow = ControlFlow.MayTrap)]
    private static int FcvtSD(Hart h, ref Insn i, int idx)
    {
        if (!Begin(h, ref i, out var rm)) return Illegal(h, ref i, idx);
        FFlags flags = 0;
        h.F[i.Rd] = Box(SoftFloat.F64ToF32(h.F[i.Rs1], rm, ref flags));
        return End(h, ref i, idx, flags);
    }

    [Instruction("fcvt.d.s", "0100001 00000 ..... ... ..... 1010011", "fd, fs1, rm", Flow = ControlFlow.MayTrap)]
    private static int FcvtDS(Hart h, ref Insn i, int idx)
    {
        if (!Begin(h, ref i, out _)) return Illegal(h, ref i, idx);
        FFlags flags = 0;
        h.F[i.Rd] = SoftFloat.F32ToF64(Unbox(h.F[i.Rs1]), ref flags);
        return End(h, ref i, idx, flags);
    }

    [Instruction("feq.d", "1010001 ..... ..... 010 ..... 1010011", "xd, fs1, fs2", Flow = ControlFlow.MayTrap)]
    private static int FeqD(Hart h, ref Insn i, int idx) => Compare(h, ref i, idx, &SoftFloat.Eq);
    [Emitter("feq.d")]
    private static void FeqDIl(RegionEmitter e, in Insn i) => e.FloatCompare(in i, true, RegionEmitter.Comparison.Equal);
    [Instruction("flt.d", "1010001 ..... ..... 001 ..... 1010011", "xd, fs1, fs2", Flow = ControlFlow.MayTrap)]
    private static int FltD(Hart h, ref Insn i, int idx) => Compare(h, ref i, idx, &SoftFloat.Lt);
    [Emitter("flt.d")]
    private static void FltDIl(RegionEmitter e, in Insn i) => e.FloatCompare(in i, true, RegionEmitter.Comparison.Less);
    [Instruction("fle.d", "1010001 ..... ..... 000 ..... 1010011", "xd, fs1, fs2", Flow = ControlFlow.MayTrap)]
    private static int FleD(Hart h, ref Insn i, int idx) => Compare(h, ref i, idx, &SoftFloat.Le);
    [Emitter("fle.d")]
    private static void FleDIl(RegionEmitter e, in Insn i) => e.FloatCompare(in i, true, RegionEmitter.Comparison.LessOrEqual);

    [Instruction("fclass.d", "1110001 00000 ..... 001 ..... 1010011", "xd, fs1", Flow = ControlFlow.MayTrap)]
    private static int FclassD(Hart h, ref Insn i, int idx)
    {
        if (!Begin(h)) return Illegal(h, ref i, idx);
        h.X[i.Rd] = SoftFloat.Classify(h.F[i.Rs1]);
        return idx + i.Slots;
    }

    private static ulong ToW(ulong a, RoundingMode rm, ref FFlags f) => (ulong)(long)SoftFloat.F64ToI32(a, rm, ref f);
    private static ulong ToWu(ulong a, RoundingMode rm, ref FFlags f) => (ulong)(long)(int)SoftFloat.F64ToU32(a, rm, ref f);
    private static ulong ToL(ulong a, RoundingMode rm, ref FFlags f) => (ulong)SoftFloat.F64ToI64(a, rm, ref f);
    private static ulong ToLu(ulong a, RoundingMode rm, ref FFlags f) => SoftFloat.F64ToU64(a, rm, ref f);
    private static ulong FromW(ulong a, RoundingMode rm, ref FFlags f) => SoftFloat.I32ToF64((int)a, rm, ref f);
    private static ulong FromWu(ulong a, RoundingMode rm, ref FFlags f) => SoftFloat.U32ToF64((uint)a, rm, ref f);
    private static ulong FromL(ulong a, RoundingMode rm, ref FFlags f) => SoftFloat.I64ToF64((long)a, rm, ref f);
    private static ulong FromLu(ulong a, RoundingMode rm, ref FFlags f) => SoftFloat.U64ToF64(a, rm, ref f);

    [Instruction("fcvt.w.d", "1100001 00000 ..... ... ..... 1010011", "xd, fs1, rm", Flow = ControlFlow.MayTrap)]
    private static int FcvtWD(Hart h, ref Insn i, int idx) => ToInteger(h, ref i, idx, &ToW);
    [Emitter("fcvt.w.d")]
    private static void FcvtWDIl(RegionEmitter e, in Insn i) => e.FloatToInteger(in i, true, signed: true, word: true);
    [Instruction("fcvt.wu.d", "1100001 00001 ..... ... ..... 1010011", "xd, fs1, rm", Flow = ControlFlow.MayTrap)]
    private static int FcvtWuD(Hart h, ref Insn i, int idx) => ToInteger(h, ref i, idx, &ToWu);
    [Emitter("fcvt.wu.d")]
    private static void FcvtWuDIl(RegionEmitter e, in Insn i) => e.FloatToInteger(in i, true, signed: false, word: true);
    [Instruction("fcvt.l.d", "1100001 00010 ..... ... ..... 1010011", "xd, fs1, rm", Flow = ControlFlow.MayTrap)]
    private static int FcvtLD(Hart h, ref Insn i, int idx) => ToInteger(h, ref i, idx, &ToL);
    [Emitter("fcvt.l.d")]
    private static void FcvtLDIl(RegionEmitter e, in Insn i) => e.FloatToInteger(in i, true, signed: true, word: false);
    [Instruction("fcvt.lu.d", "1100001 00011 ..... ... ..... 1010011", "xd, fs1, rm", Flow = ControlFlow.MayTrap)]
    private static int FcvtLuD(Hart h, ref Insn i, int idx) => ToInteger(h, ref i, idx, &ToLu);
    [Emitter("fcvt.lu.d")]
    private static void FcvtLuDIl(RegionEmitter e, in Insn i) => e.FloatToInteger(in i, true, signed: false, word: false);

    [Instruction("fcvt.d.w", "1101001 00000 ..... ... ..... 1010011", "fd, xs1, rm", Flow = ControlFlow.MayTrap)]
    private static int FcvtDW(Hart h, ref Insn i, int idx) => FromInteger(h, ref i, idx, &FromW);
    [Emitter("fcvt.d.w")]
    private static void FcvtDWIl(RegionEmitter e, in Insn i) => e.FloatFromInteger(in i, true, signed: true, word: true);
    [Instruction("fcvt.d.wu", "1101001 00001 ..... ... ..... 1010011", "fd, xs1, rm", Flow = ControlFlow.MayTrap)]
    private static int FcvtDWu(Hart h, ref Insn i, int idx) => FromInteger(h, ref i, idx, &FromWu);
    [Emitter("fcvt.d.wu")]
    private static void FcvtDWuIl(RegionEmitter e, in Insn i) => e.FloatFromInteger(in i, true, signed: false, word: true);
    [Instruction("fcvt.d.l", "1101001 00010 ..... ... ..... 1010011", "fd, xs1, rm", Flow = ControlFlow.MayTrap)]
    private static int FcvtDL(Hart h, ref Insn i, int idx) => FromInteger(h, ref i, idx, &FromL);
    [Emitter("fcvt.d.l")]
    private static void FcvtDLIl(RegionEmitter e, in Insn i) => e.FloatFromInteger(in i, true, signed: true, word: false);
    [Instruction("fcvt.d.lu", "1101001 00011 ..... ... ..... 1010011", "fd, xs1, rm", Flow = ControlFlow.MayTrap)]
    private static int FcvtDLu(Hart h, ref Insn i, int idx) => FromInteger(h, ref i, idx, &FromLu);
    [Emitter("fcvt.d.lu")]
    private static void FcvtDLuIl(RegionEmitter e, in Insn i) => e.FloatFromInteger(in i, true, signed: false, word: false);

    [Emitter("fmv.x.d")]
    private static void FmvXDIl(RegionEmitter e, in Insn i) => e.FloatMoveToInteger(in i, true);

    [Instruction("fmv.x.d", "1110001 00000 ..... 000 ..... 1010011", "xd, fs1", Flow = ControlFlow.MayTrap)]
    private static int FmvXD(Hart h, ref Insn i, int idx)
    {
        if (!Begin(h)) return Illegal(h, ref i, idx);
        h.X[i.Rd] = h.F[i.Rs1];
        return idx + i.Slots;
    }

    [Emitter("fmv.d.x")]
    private static void FmvDXIl(RegionEmitter e, in Insn i) => e.FloatMoveFromInteger(in i, true);

    [Instruction("fmv.d.x", "1111001 00000 ..... 000 ..... 1010011", "fd, xs1", Flow = ControlFlow.MayTrap)]
    private static int FmvDX(Hart h, ref Insn i, int idx)
    {
        if (!Begin(h)) return Illegal(h, ref i, idx);
        h.F[i.Rd] = h.X[i.Rs1];
        return End(h, ref i, idx, 0);
    }
}
