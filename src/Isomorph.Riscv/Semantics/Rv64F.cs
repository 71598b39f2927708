using System.Reflection.Emit;
using Isomorph.Riscv.Float;
using Isomorph.Riscv.Isa;
using Isomorph.Riscv.Translation;
using static Isomorph.Riscv.Semantics.FloatingPoint;

namespace Isomorph.Riscv.Semantics;

/// <summary>
/// The F extension: IEEE 754 binary32 arithmetic, exactly rounded (see <see cref="SoftFloat"/>).
/// Operands are unboxed (an improperly NaN-boxed register reads as the canonical NaN) and results
/// are NaN-boxed.
/// </summary>
[IsaExtension("F")]
internal static unsafe partial class Rv64F
{
    private const uint Sign = 1u << 31;

    /// <summary>An arithmetic operation: on the host's FPU where <see cref="HostFloat"/> shows it exact, else in soft-float.</summary>
    private static int Binary(Hart h, ref Insn i, int idx, delegate*<uint, uint, RoundingMode, ref FFlags, uint> op, delegate*<float, float, float> host)
    {
        if (!Begin(h, ref i, out var rm)) return Illegal(h, ref i, idx);
        uint a = Unbox(h.F[i.Rs1]), b = Unbox(h.F[i.Rs2]);
        if (HostFloat.Allowed(h.FpFlags, rm) && HostFloat.Finite(a) && HostFloat.Finite(b))
        {
            float r = host(BitConverter.UInt32BitsToSingle(a), BitConverter.UInt32BitsToSingle(b));
            if (HostFloat.Safe(r)) return Result(h, ref i, idx, r);
        }
        FFlags flags = 0;
        h.F[i.Rd] = Box(op(a, b, rm, ref flags));
        return End(h, ref i, idx, flags);
    }

    private static int Fused(Hart h, ref Insn i, int idx, uint negateProduct, uint negateAddend)
    {
        if (!Begin(h, ref i, out var rm)) return Illegal(h, ref i, idx);
        uint a = Unbox(h.F[i.Rs1]) ^ negateProduct, b = Unbox(h.F[i.Rs2]), c = Unbox(h.F[i.Rs3]) ^ negateAddend;
        if (HostFloat.Allowed(h.FpFlags, rm) && HostFloat.Finite(a) && HostFloat.Finite(b) && HostFloat.Finite(c))
        {
            float r = MathF.FusedMultiplyAdd(BitConverter.UInt32BitsToSingle(a), BitConverter.UInt32BitsToSingle(b), BitConverter.UInt32BitsToSingle(c));
            if (HostFloat.Safe(r)) return Result(h, ref i, idx, r);
        }
        FFlags flags = 0;
        h.F[i.Rd] = Box(SoftFloat.MulAdd(a, b, c, rm, ref flags));
        return End(h, ref i, idx, flags);
    }

    /// <summary>Writes a result the host computed exactly (no flag to accrue: NX is already set).</summary>
    private static int Result(Hart h, ref Insn i, int idx, float r)
    {
        h.F[i.Rd] = Box(BitConverter.SingleToUInt32Bits(r));
        return End(h, ref i, idx, 0);
    }

    private static int ToInteger(Hart h, ref Insn i, int idx, delegate*<uint, RoundingMode, ref FFlags, ulong> op)
    {
        if (!Begin(h, ref i, out var rm)) return Illegal(h, ref i, idx);
        FFlags flags = 0;
        h.X[i.Rd] = op(Unbox(h.F[i.Rs1]), rm, ref flags);
        h.FpFlags |= (uint)flags;
        if (flags != 0) h.SetFsDirty();
        return idx + i.Slots;
    }

    private static int FromInteger(Hart h, ref Insn i, int idx, delegate*<ulong, RoundingMode, ref FFlags, uint> op)
    {
        if (!Begin(h, ref i, out var rm)) return Illegal(h, ref i, idx);
        FFlags flags = 0;
        h.F[i.Rd] = Box(op(h.X[i.Rs1], rm, ref flags));
        return End(h, ref i, idx, flags);
    }

    private static int Compare(Hart h, ref Insn i, int idx, delegate*<uint, uint, ref FFlags, bool> op)
    {
        if (!Begin(h)) return Illegal(h, ref i, idx);
        FFlags flags = 0;
        h.X[i.Rd] = op(Unbox(h.F[i.Rs1]), Unbox(h.F[i.Rs2]), ref flags) ? 1ul : 0;
        h.FpFlags |= (uint)flags;
        if (flags != 0) h.SetFsDirty();
        return idx + i.Slots;
    }

    private static int SignInject(Hart h, ref Insn i, int idx, Func<uint, uint, uint> sign)
    {
        if (!Begin(h)) return Illegal(h, ref i, idx);
        uint a = Unbox(h.F[i.Rs1]), b = Unbox(h.F[i.Rs2]);
        h.F[i.Rd] = Box((a & ~Sign) | (sign(a, b) & Sign));
        return End(h, ref i, idx, 0);
    }

    [Instruction("flw", "............ ..... 010 ..... 0000111", "fd, imm(xs1)", Flow = ControlFlow.MayTrap)]
    private static int Flw(Hart h, ref Insn i, int idx)
    {
        if (!Begin(h)) return Illegal(h, ref i, idx);
        if (!h.Load(h.X[i.Rs1] + (ulong)i.Imm, out uint v)) return h.RaisePending(idx);
        h.F[i.Rd] = Box(v);
        return End(h, ref i, idx, 0);
    }
    [Emitter("flw")]
    private static void FlwIl(RegionEmitter e, in Insn i) => e.FloatLoad<uint>(in i);

    [Instruction("fsw", "....... ..... ..... 010 ..... 0100111", "fs2, simm(xs1)", Flow = ControlFlow.MayTrap)]
    private static int Fsw(Hart h, ref Insn i, int idx)
    {
        if (!Begin(h)) return Illegal(h, ref i, idx);
        return h.Store(h.X[i.Rs1] + (ulong)i.Imm, (uint)h.F[i.Rs2]) ? idx + i.Slots : h.RaisePending(idx);
    }
    [Emitter("fsw")]
    private static void FswIl(RegionEmitter e, in Insn i) => e.FloatStore<uint>(in i);

    [Instruction("fmadd.s", "..... 00 ..... ..... ... ..... 1000011", "fd, fs1, fs2, fs3, rm", Flow = ControlFlow.MayTrap)]
    private static int FmaddS(Hart h, ref Insn i, int idx) => Fused(h, ref i, idx, 0, 0);
    [Emitter("fmadd.s")]
    private static void FmaddSIl(RegionEmitter e, in Insn i) => e.FloatFused(in i, false, negateProduct: false, negateAddend: false);
    [Instruction("fmsub.s", "..... 00 ..... ..... ... ..... 1000111", "fd, fs1, fs2, fs3, rm", Flow = ControlFlow.MayTrap)]
    private static int FmsubS(Hart h, ref Insn i, int idx) => Fused(h, ref i, idx, 0, Sign);
    [Emitter("fmsub.s")]
    private static void FmsubSIl(RegionEmitter e, in Insn i) => e.FloatFused(in i, false, negateProduct: false, negateAddend: true);
    [Instruction("fnmsub.s", "..... 00 ..... ..... ... ..... 1001011", "fd, fs1, fs2, fs3, rm", Flow = ControlFlow.MayTrap)]
    private static int FnmsubS(Hart h, ref Insn i, int idx) => Fused(h, ref i, idx, Sign, 0);
    [Emitter("fnmsub.s")]
    private static void FnmsubSIl(RegionEmitter e, in Insn i) => e.FloatFused(in i, false, negateProduct: true, negateAddend: false);
    [Instruction("fnmadd.s", "..... 00 ..... ..... ... ..... 1001111", "fd, fs1, fs2, fs3, rm", Flow = ControlFlow.MayTrap)]
    private static int FnmaddS(Hart h, ref Insn i, int idx) => Fused(h, ref i, idx, Sign, Sign);
    [Emitter("fnmadd.s")]
    private static void FnmaddSIl(RegionEmitter e, in Insn i) => e.FloatFused(in i, false, negateProduct: true, negateAddend: true);

    [Instruction("fadd.s", "0000000 ..... ..... ... ..... 1010011", "fd, fs1, fs2, rm", Flow = ControlFlow.MayTrap)]
    private static int FaddS(Hart h, ref Insn i, int idx) => Binary(h, ref i, idx, &SoftFloat.Add, &HostFloat.Add);
    [Emitter("fadd.s")]
    private static void FaddSIl(RegionEmitter e, in Insn i) => e.FloatBinary(in i, false, OpCodes.Add);
    [Instruction("fsub.s", "0000100 ..... ..... ... ..... 1010011", "fd, fs1, fs2, rm", Flow = ControlFlow.MayTrap)]
    private static int FsubS(Hart h, ref Insn i, int idx) => Binary(h, ref i, idx, &SoftFloat.Sub, &HostFloat.Sub);
    [Emitter("fsub.s")]
    private static void FsubSIl(RegionEmitter e, in Insn i) => e.FloatBinary(in i, false, OpCodes.Sub);
    [Instruction("fmul.s", "0001000 ..... ..... ... ..... 1010011", "fd, fs1, fs2, rm", Flow = ControlFlow.MayTrap)]
    private static int FmulS(Hart h, ref Insn i, int idx) => Binary(h, ref i, idx, &SoftFloat.Mul, &HostFloat.Mul);
    [Emitter("fmul.s")]
    private static void FmulSIl(RegionEmitter e, in Insn i) => e.FloatBinary(in i, false, OpCodes.Mul);
    [Instruction("fdiv.s", "0001100 ..... ..... ... ..... 1010011", "fd, fs1, fs2, rm", Flow = ControlFlow.MayTrap)]
    private static int FdivS(Hart h, ref Insn i, int idx) => Binary(h, ref i, idx, &SoftFloat.Div, &HostFloat.Div);
    [Emitter("fdiv.s")]
    private static void FdivSIl(RegionEmitter e, in Insn i) => e.FloatBinary(in i, false, OpCodes.Div);

    [Instruction("fsqrt.s", "0101100 00000 ..... ... ..... 1010011", "fd, fs1, rm", Flow = ControlFlow.MayTrap)]
    private static int FsqrtS(Hart h, ref Insn i, int idx)
    {
        if (!Begin(h, ref i, out var rm)) return Illegal(h, ref i, idx);
        uint a = Unbox(h.F[i.Rs1]);
        if (HostFloat.Allowed(h.FpFlags, rm) && HostFloat.Finite(a))
        {
            float r = MathF.Sqrt(BitConverter.UInt32BitsToSingle(a));
            if (HostFloat.Safe(r)) return Result(h, ref i, idx, r);
        }
        FFlags flags = 0;
        h.F[i.Rd] = Box(SoftFloat.Sqrt(a, rm, ref flags));
        return End(h, ref i, idx, flags);
    }
    [Emitter("fsqrt.s")]
    private static void FsqrtSIl(RegionEmitter e, in Insn i) => e.FloatSqrt(in i, false);

    [Instruction("fsgnj.s", "0010000 ..... ..... 000 ..... 1010011", "fd, fs1, fs2", Flow = ControlFlow.MayTrap)]
    private static int FsgnjS(Hart h, ref Insn i, int idx) => SignInject(h, ref i, idx, static (_, b) => b);
    [Instruction("fsgnjn.s", "0010000 ..... ..... 001 ..... 1010011", "fd, fs1, fs2", Flow = ControlFlow.MayTrap)]
    private static int FsgnjnS(Hart h, ref Insn i, int idx) => SignInject(h, ref i, idx, static (_, b) => ~b);
    [Instruction("fsgnjx.s", "0010000 ..... ..... 010 ..... 1010011", "fd, fs1, fs2", Flow = ControlFlow.MayTrap)]
    private static int FsgnjxS(Hart h, ref Insn i, int idx) => SignInject(h, ref i, idx, static (a, b) => a ^ b);

    [Instruction("fmin.s", "0010100 ..... ..... 000 ..... 1010011", "fd, fs1, fs2", Flow = ControlFlow.MayTrap)]
    private static int FminS(Hart h, ref Insn i, int idx)
    {
        if (!Begin(h)) return Illegal(h, ref i, idx);
        FFlags flags = 0;
        h.F[i.Rd] = Box(SoftFloat.Min(Unbox(h.F[i.Rs1]), Unbox(h.F[i.Rs2]), ref flags));
        return End(h, ref i, idx, flags);
    }

    [Instruction("fmax.s", "0010100 ..... ..... 001 ..... 1010011", "fd, fs1, fs2", Flow = ControlFlow.MayTrap)]
    private static int FmaxS(Hart h, ref Insn i, int idx)
    {
        if (!Begin(h)) return Illegal(h, ref i, idx);
        FFlags flags = 0;
        h.F[i.Rd] = Box(SoftFloat.Max(Unbox(h.F[i.Rs1]), Unbox(h.F[i.Rs2]), ref flags));
        return End(h, ref i, idx, flags);
    }

    [Instruction("feq.s", "1010000 ..... ..... 010 ..... 1010011", "xd, fs1, fs2", Flow = ControlFlow.MayTrap)]
    private static int FeqS(Hart h, ref Insn i, int idx) => Compare(h, ref i, idx, &SoftFloat.Eq);
    [Emitter("feq.s")]
    private static void FeqSIl(RegionEmitter e, in Insn i) => e.FloatCompare(in i, false, RegionEmitter.Comparison.Equal);
    [Instruction("flt.s", "1010000 ..... ..... 001 ..... 1010011", "xd, fs1, fs2", Flow = ControlFlow.MayTrap)]
    private static int FltS(Hart h, ref Insn i, int idx) => Compare(h, ref i, idx, &SoftFloat.Lt);
    [Emitter("flt.s")]
    private static void FltSIl(RegionEmitter e, in Insn i) => e.FloatCompare(in i, false, RegionEmitter.Comparison.Less);
    [Instruction("fle.s", "1010000 ..... ..... 000 ..... 1010011", "xd, fs1, fs2", Flow = ControlFlow.MayTrap)]
    private static int FleS(Hart h, ref Insn i, int idx) => Compare(h, ref i, idx, &SoftFloat.Le);
    [Emitter("fle.s")]
    private static void FleSIl(RegionEmitter e, in Insn i) => e.FloatCompare(in i, false, RegionEmitter.Comparison.LessOrEqual);

    [Instruction("fclass.s", "1110000 00000 ..... 001 ..... 1010011", "xd, fs1", Flow = ControlFlow.MayTrap)]
    private static int FclassS(Hart h, ref Insn i, int idx)
    {
        if (!Begin(h)) return Illegal(h, ref i, idx);
        h.X[i.Rd] = SoftFloat.Classify(Unbox(h.F[i.Rs1]));
        return idx + i.Slots;
    }

    private static ulong ToW(uint a, RoundingMode rm, ref FFlags f) => (ulong)(long)SoftFloat.F32ToI32(a, rm, ref f);
    private static ulong ToWu(uint a, RoundingMode rm, ref FFlags f) => (ulong)(long)(int)SoftFloat.F32ToU32(a, rm, ref f);
    private static ulong ToL(uint a, RoundingMode rm, ref FFlags f) => (ulong)SoftFloat.F32ToI64(a, rm, ref f);
    private static ulong ToLu(uint a, RoundingMode rm, ref FFlags f) => SoftFloat.F32ToU64(a, rm, ref f);
    private static uint FromW(ulong a, RoundingMode rm, ref FFlags f) => SoftFloat.I32ToF32((int)a, rm, ref f);
    private static uint FromWu(ulong a, RoundingMode rm, ref FFlags f) => SoftFloat.U32ToF32((uint)a, rm, ref f);
    private static uint FromL(ulong a, RoundingMode rm, ref FFlags f) => SoftFloat.I64ToF32((long)a, rm, ref f);
    private static uint FromLu(ulong a, RoundingMode rm, ref FFlags f) => SoftFloat.U64ToF32(a, rm, ref f);

    [Instruction("fcvt.w.s", "1100000 00000 ..... ... ..... 1010011", "xd, fs1, rm", Flow = ControlFlow.MayTrap)]
    private static int FcvtWS(Hart h, ref Insn i, int idx) => ToInteger(h, ref i, idx, &ToW);
    [Emitter("fcvt.w.s")]
    private static void FcvtWSIl(RegionEmitter e, in Insn i) => e.FloatToInteger(in i, false, signed: true, word: true);
    [Instruction("fcvt.wu.s", "1100000 00001 ..... ... ..... 1010011", "xd, fs1, rm", Flow = ControlFlow.MayTrap)]
    private static int FcvtWuS(Hart h, ref Insn i, int idx) => ToInteger(h, ref i, idx, &ToWu);
    [Emitter("fcvt.wu.s")]
    private static void FcvtWuSIl(RegionEmitter e, in Insn i) => e.FloatToInteger(in i, false, signed: false, word: true);
    [Instruction("fcvt.l.s", "1100000 00010 ..... ... ..... 1010011", "xd, fs1, rm", Flow = ControlFlow.MayTrap)]
    private static int FcvtLS(Hart h, ref Insn i, int idx) => ToInteger(h, ref i, idx, &ToL);
    [Emitter("fcvt.l.s")]
    private static void FcvtLSIl(RegionEmitter e, in Insn i) => e.FloatToInteger(in i, false, signed: true, word: false);
    [Instruction("fcvt.lu.s", "1100000 00011 ..... ... ..... 1010011", "xd, fs1, rm", Flow = ControlFlow.MayTrap)]
    private static int FcvtLuS(Hart h, ref Insn i, int idx) => ToInteger(h, ref i, idx, &ToLu);
    [Emitter("fcvt.lu.s")]
    private static void FcvtLuSIl(RegionEmitter e, in Insn i) => e.FloatToInteger(in i, false, signed: false, word: false);

    [Instruction("fcvt.s.w", "1101000 00000 ..... ... ..... 1010011", "fd, xs1, rm", Flow = ControlFlow.MayTrap)]
    private static int FcvtSW(Hart h, ref Insn i, int idx) => FromInteger(h, ref i, idx, &FromW);
    [Emitter("fcvt.s.w")]
    private static void FcvtSWIl(RegionEmitter e, in Insn i) => e.FloatFromInteger(in i, false, signed: true, word: true);
    [Instruction("fcvt.s.wu", "1101000 00001 ..... ... ..... 1010011", "fd, xs1, rm", Flow = ControlFlow.MayTrap)]
    private static int FcvtSWu(Hart h, ref Insn i, int idx) => FromInteger(h, ref i, idx, &FromWu);
    [Emitter("fcvt.s.wu")]
    private static void FcvtSWuIl(RegionEmitter e, in Insn i) => e.FloatFromInteger(in i, false, signed: false, word: true);
    [Instruction("fcvt.s.l", "1101000 00010 ..... ... ..... 1010011", "fd, xs1, rm", Flow = ControlFlow.MayTrap)]
    private static int FcvtSL(Hart h, ref Insn i, int idx) => FromInteger(h, ref i, idx, &FromL);
    [Emitter("fcvt.s.l")]
    private static void FcvtSLIl(RegionEmitter e, in Insn i) => e.FloatFromInteger(in i, false, signed: true, word: false);
    [Instruction("fcvt.s.lu", "1101000 00011 ..... ... ..... 1010011", "fd, xs1, rm", Flow = ControlFlow.MayTrap)]
    private static int FcvtSLu(Hart h, ref Insn i, int idx) => FromInteger(h, ref i, idx, &FromLu);
    [Emitter("fcvt.s.lu")]
    private static void FcvtSLuIl(RegionEmitter e, in Insn i) => e.FloatFromInteger(in i, false, signed: false, word: false);

    /// <summary>fmv.x.w moves the low 32 bits, sign-extended, whatever the boxing.</summary>
    [Emitter("fmv.x.w")]
    private static void FmvXWIl(RegionEmitter e, in Insn i) => e.FloatMoveToInteger(in i, false);

    [Instruction("fmv.x.w", "1110000 00000 ..... 000 ..... 1010011", "xd, fs1", Flow = ControlFlow.MayTrap)]
    private static int FmvXW(Hart h, ref Insn i, int idx)
    {
        if (!Begin(h)) return Illegal(h, ref i, idx);
        h.X[i.Rd] = (ulong)(long)(int)h.F[i.Rs1];
        return idx + i.Slots;
    }

    [Emitter("fmv.w.x")]
    private static void FmvWXIl(RegionEmitter e, in Insn i) => e.FloatMoveFromInteger(in i, false);

    [Instruction("fmv.w.x", "1111000 00000 ..... 000 ..... 1010011", "fd, xs1", Flow = ControlFlow.MayTrap)]
    private static int FmvWX(Hart h, ref Insn i, int idx)
    {
        if (!Begin(h)) return Illegal(h, ref i, idx);
        h.F[i.Rd] = Box((uint)h.X[i.Rs1]);
        return End(h, ref i, idx, 0);
    }
}
