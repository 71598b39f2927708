using System.Numerics;
using Isomorph.Riscv.Float;

namespace Isomorph.Tests.Float;

/// <summary>Runs an <see cref="OracleOp"/> through SoftFloat or the BigInteger reference, and generates edge-biased operands.</summary>
public static class FloatDriver
{
    static readonly RefFloat.Fmt F64 = RefFloat.F64, F32 = RefFloat.F32;

    public static bool Is32BitResult(OracleOp op) => op is OracleOp.Add32 or OracleOp.Sub32 or OracleOp.Mul32 or OracleOp.Div32
        or OracleOp.Sqrt32 or OracleOp.Fma32 or OracleOp.F64ToF32 or OracleOp.I64ToF32 or OracleOp.U64ToF32
        or OracleOp.I32ToF32 or OracleOp.U32ToF32 or OracleOp.F64ToI32 or OracleOp.F64ToU32 or OracleOp.F32ToI32 or OracleOp.F32ToU32;

    public static bool IsFloatResult(OracleOp op) => op < OracleOp.F64ToI32;

    /// <summary>Result format of a float-producing op (null for integer results).</summary>
    public static RefFloat.Fmt? ResultFmt(OracleOp op) => !IsFloatResult(op) ? null : Is32BitResult(op) ? F32 : F64;

    public static (ulong r, FFlags f) Soft(OracleOp op, RoundingMode rm, ulong a, ulong b, ulong c)
    {
        FFlags f = 0;
        uint a32 = (uint)a, b32 = (uint)b, c32 = (uint)c;
        ulong r = op switch
        {
            OracleOp.Add64 => SoftFloat.Add(a, b, rm, ref f),
            OracleOp.Sub64 => SoftFloat.Sub(a, b, rm, ref f),
            OracleOp.Mul64 => SoftFloat.Mul(a, b, rm, ref f),
            OracleOp.Div64 => SoftFloat.Div(a, b, rm, ref f),
            OracleOp.Sqrt64 => SoftFloat.Sqrt(a, rm, ref f),
            OracleOp.Fma64 => SoftFloat.MulAdd(a, b, c, rm, ref f),
            OracleOp.Add32 => SoftFloat.Add(a32, b32, rm, ref f),
            OracleOp.Sub32 => SoftFloat.Sub(a32, b32, rm, ref f),
            OracleOp.Mul32 => SoftFloat.Mul(a32, b32, rm, ref f),
            OracleOp.Div32 => SoftFloat.Div(a32, b32, rm, ref f),
            OracleOp.Sqrt32 => SoftFloat.Sqrt(a32, rm, ref f),
            OracleOp.Fma32 => SoftFloat.MulAdd(a32, b32, c32, rm, ref f),
            OracleOp.F64ToF32 => SoftFloat.F64ToF32(a, rm, ref f),
            OracleOp.F32ToF64 => SoftFloat.F32ToF64(a32, ref f),
            OracleOp.I64ToF64 => SoftFloat.I64ToF64((long)a, rm, ref f),
            OracleOp.U64ToF64 => SoftFloat.U64ToF64(a, rm, ref f),
            OracleOp.I64ToF32 => SoftFloat.I64ToF32((long)a, rm, ref f),
            OracleOp.U64ToF32 => SoftFloat.U64ToF32(a, rm, ref f),
            OracleOp.I32ToF32 => SoftFloat.I32ToF32((int)a32, rm, ref f),
            OracleOp.U32ToF32 => SoftFloat.U32ToF32(a32, rm, ref f),
            OracleOp.I32ToF64 => SoftFloat.I32ToF64((int)a32, rm, ref f),
            OracleOp.U32ToF64 => SoftFloat.U32ToF64(a32, rm, ref f),
            OracleOp.F64ToI32 => (uint)SoftFloat.F64ToI32(a, rm, ref f),
            OracleOp.F64ToU32 => SoftFloat.F64ToU32(a, rm, ref f),
            OracleOp.F64ToI64 => (ulong)SoftFloat.F64ToI64(a, rm, ref f),
            OracleOp.F64ToU64 => SoftFloat.F64ToU64(a, rm, ref f),
            OracleOp.F32ToI32 => (uint)SoftFloat.F32ToI32(a32, rm, ref f),
            OracleOp.F32ToU32 => SoftFloat.F32ToU32(a32, rm, ref f),
            OracleOp.F32ToI64 => (ulong)SoftFloat.F32ToI64(a32, rm, ref f),
            OracleOp.F32ToU64 => SoftFloat.F32ToU64(a32, rm, ref f),
            _ => throw new ArgumentOutOfRangeException(nameof(op)),
        };
        return (r, f);
    }

    public static (ulong r, FFlags f) Ref(OracleOp op, RoundingMode rm, ulong a, ulong b, ulong c)
    {
        FFlags f = 0;
        ulong a32 = (uint)a, b32 = (uint)b, c32 = (uint)c;
        ulong r = op switch
        {
            OracleOp.Add64 => RefFloat.Add(F64, a, b, rm, ref f),
            OracleOp.Sub64 => RefFloat.Add(F64, a, b ^ F64.SignBit, rm, ref f),
            OracleOp.Mul64 => RefFloat.Mul(F64, a, b, rm, ref f),
            OracleOp.Div64 => RefFloat.Div(F64, a, b, rm, ref f),
            OracleOp.Sqrt64 => RefFloat.Sqrt(F64, a, rm, ref f),
            OracleOp.Fma64 => RefFloat.MulAdd(F64, a, b, c, rm, ref f),
            OracleOp.Add32 => RefFloat.Add(F32, a32, b32, rm, ref f),
            OracleOp.Sub32 => RefFloat.Add(F32, a32, b32 ^ F32.SignBit, rm, ref f),
            OracleOp.Mul32 => RefFloat.Mul(F32, a32, b32, rm, ref f),
            OracleOp.Div32 => RefFloat.Div(F32, a32, b32, rm, ref f),
            OracleOp.Sqrt32 => RefFloat.Sqrt(F32, a32, rm, ref f),
            OracleOp.Fma32 => RefFloat.MulAdd(F32, a32, b32, c32, rm, ref f),
            OracleOp.F64ToF32 => RefFloat.Convert(F64, F32, a, rm, ref f),
            OracleOp.F32ToF64 => RefFloat.Convert(F32, F64, a32, rm, ref f),
            OracleOp.I64ToF64 => RefFloat.FromInt(F64, (long)a, rm, ref f),
            OracleOp.U64ToF64 => RefFloat.FromInt(F64, a, rm, ref f),
            OracleOp.I64ToF32 => RefFloat.FromInt(F32, (long)a, rm, ref f),
            OracleOp.U64ToF32 => RefFloat.FromInt(F32, a, rm, ref f),
            OracleOp.I32ToF32 => RefFloat.FromInt(F32, (int)a32, rm, ref f),
            OracleOp.U32ToF32 => RefFloat.FromInt(F32, a32, rm, ref f),
            OracleOp.I32ToF64 => RefFloat.FromInt(F64, (int)a32, rm, ref f),
            OracleOp.U32ToF64 => RefFloat.FromInt(F64, a32, rm, ref f),
            OracleOp.F64ToI32 => Raw(RefFloat.ToInt(F64, a, true, 32, rm, ref f), 32),
            OracleOp.F64ToU32 => Raw(RefFloat.ToInt(F64, a, false, 32, rm, ref f), 32),
            OracleOp.F64ToI64 => Raw(RefFloat.ToInt(F64, a, true, 64, rm, ref f), 64),
            OracleOp.F64ToU64 => Raw(RefFloat.ToInt(F64, a, false, 64, rm, ref f), 64),
            OracleOp.F32ToI32 => Raw(RefFloat.ToInt(F32, a32, true, 32, rm, ref f), 32),
            OracleOp.F32ToU32 => Raw(RefFloat.ToInt(F32, a32, false, 32, rm, ref f), 32),
            OracleOp.F32ToI64 => Raw(RefFloat.ToInt(F32, a32, true, 64, rm, ref f), 64),
            OracleOp.F32ToU64 => Raw(RefFloat.ToInt(F32, a32, false, 64, rm, ref f), 64),
            _ => throw new ArgumentOutOfRangeException(nameof(op)),
        };
        return (r, f);
    }

    static ulong Raw(BigInteger v, int bits)
    {
        BigInteger m = (BigInteger.One << bits) - 1;
        return (ulong)(v & m);
    }

    /// <summary>Normalises a host oracle result for comparison with RISC-V semantics (NaN → canonical, width mask).</summary>
    public static ulong NormaliseHost(OracleOp op, ulong r)
    {
        if (Is32BitResult(op)) r &= 0xFFFF_FFFF;
        var fmt = ResultFmt(op);
        if (fmt is { } f && RefFloat.IsNaN(f, r)) r = f.QNaN;
        return r;
    }

    /// <summary>
    /// Host flags adjusted for the one documented x86/RISC-V difference: RISC-V raises Invalid for
    /// inf*0 + qNaN in fused multiply-add, x86 (and IEEE 754, which leaves it optional) does not.
    /// </summary>
    public static FFlags ExpectedFromHost(OracleIn c, ulong hostFlags)
    {
        var fl = (FFlags)hostFlags;
        var op = (OracleOp)c.Op;
        if (op is OracleOp.Fma64 or OracleOp.Fma32)
        {
            var f = op == OracleOp.Fma64 ? F64 : F32;
            ulong a = op == OracleOp.Fma64 ? c.A : (uint)c.A, b = op == OracleOp.Fma64 ? c.B : (uint)c.B;
            if ((RefFloat.IsInf(f, a) && RefFloat.IsZero(f, b)) || (RefFloat.IsZero(f, a) && RefFloat.IsInf(f, b)))
                fl |= FFlags.Invalid;
        }
        return fl;
    }

    // ---------------- operand generation ----------------

    public static ulong RandomF64(Random rng) => RandomFloat(rng, F64);
    public static uint RandomF32(Random rng) => (uint)RandomFloat(rng, F32);

    public static ulong RandomFloat(Random rng, RefFloat.Fmt f)
    {
        ulong sign = rng.Next(2) == 0 ? 0 : f.SignBit;
        ulong mantMask = (1UL << f.MantBits) - 1;
        int expMax = (1 << f.ExpBits) - 1;
        int k = rng.Next(100);
        ulong mant = RandomMant(rng, f.MantBits);
        int be;
        if (k < 8)
        {
            ulong[] specials =
            {
                0, f.InfBits, f.QNaN, f.InfBits | 1, f.InfBits | (mantMask >> 1), f.QNaN | 0x1234,
                1, mantMask, 1UL << f.MantBits, f.InfBits - 1, (ulong)f.Bias << f.MantBits,
                ((ulong)f.Bias << f.MantBits) | 1, ((ulong)(f.Bias - 1) << f.MantBits) | mantMask,
            };
            return sign | specials[rng.Next(specials.Length)];
        }
        if (k < 20) be = 0;                                   // subnormal / zero
        else if (k < 30) be = 1 + rng.Next(f.MantBits + 8);   // just above the subnormal range
        else if (k < 40) be = expMax - 1 - rng.Next(f.MantBits + 8); // near overflow
        else if (k < 75) be = f.Bias - 40 + rng.Next(80);      // moderate values
        else if (k < 95) be = rng.Next(expMax + 1);
        else return (ulong)rng.NextInt64() & (f.SignBit | f.AbsMask);
        if (be == expMax && rng.Next(4) != 0) be--;
        return sign | ((ulong)be << f.MantBits) | mant;
    }

    static ulong RandomMant(Random rng, int bits)
    {
        ulong mask = (1UL << bits) - 1;
        switch (rng.Next(8))
        {
            case 0: return 0;
            case 1: return mask;
            case 2: return (ulong)rng.NextInt64() & mask >> rng.Next(bits);          // trailing zeros when shifted
            case 3: return ((ulong)rng.NextInt64() & mask) << rng.Next(bits) & mask;  // few low bits
            case 4: return (1UL << rng.Next(bits)) | (1UL << rng.Next(bits));
            case 5: return mask ^ (1UL << rng.Next(bits));
            default: return (ulong)rng.NextInt64() & mask;
        }
    }

    /// <summary>A second operand correlated with <paramref name="a"/> (nearby magnitude, cancellation, etc.).</summary>
    public static ulong Related(Random rng, RefFloat.Fmt f, ulong a)
    {
        ulong mantMask = (1UL << f.MantBits) - 1;
        switch (rng.Next(6))
        {
            case 0: return a ^ f.SignBit;                                   // exact cancellation
            case 1: return (a ^ (rng.Next(2) == 0 ? f.SignBit : 0)) + (ulong)rng.Next(-3, 4); // near cancellation
            case 2:
            {
                long be = (long)((a & f.AbsMask) >> f.MantBits) + rng.Next(-(f.MantBits + 3), f.MantBits + 4);
                be = Math.Clamp(be, 0, (1L << f.ExpBits) - 2);
                return (rng.Next(2) == 0 ? 0 : f.SignBit) | ((ulong)be << f.MantBits) | RandomMant(rng, f.MantBits);
            }
            case 3: return (a & ~mantMask) | RandomMant(rng, f.MantBits);  // same exponent
            default: return RandomFloat(rng, f);
        }
    }

    /// <summary>Random integer operand (as raw 64 bits) biased to conversion edges.</summary>
    public static ulong RandomInt(Random rng)
    {
        switch (rng.Next(6))
        {
            case 0: return (ulong)rng.NextInt64(-1000, 1000);
            case 1: return (1UL << rng.Next(64)) + (ulong)rng.NextInt64(-3, 4);
            case 2: return (ulong)(-(long)(1UL << rng.Next(63))) + (ulong)rng.NextInt64(-3, 4);
            case 3: return (ulong)rng.NextInt64() >> rng.Next(64);
            case 4: return ((ulong)rng.NextInt64() >> rng.Next(64)) << rng.Next(64) | (rng.Next(2) == 0 ? 0UL : 1UL);
            default: return (ulong)rng.NextInt64() ^ (rng.Next(2) == 0 ? 0x8000_0000_0000_0000UL : 0);
        }
    }

    /// <summary>Random float operand for float→int conversions: near integers, halves and the conversion limits.</summary>
    public static ulong RandomConvOperand(Random rng, RefFloat.Fmt f)
    {
        if (rng.Next(3) == 0) return RandomFloat(rng, f);
        int[] limitExps = { -1, 0, 1, 31, 32, 63, 64, 20, 52, 23 };
        double v = Math.ScaleB(1, limitExps[rng.Next(limitExps.Length)]);
        if (rng.Next(8) == 0) v = 0;
        v += rng.Next(5) switch { 0 => 0.5, 1 => -0.5, 2 => rng.NextDouble() * 4 - 2, 3 => rng.Next(-3, 4), _ => 0 };
        if (rng.Next(2) == 0) v = -v;
        ulong bits = f.MantBits == 52 ? BitConverter.DoubleToUInt64Bits(v) : BitConverter.SingleToUInt32Bits((float)v);
        if (rng.Next(3) == 0) bits += (ulong)rng.Next(-2, 3);
        return bits;
    }

    public static OracleIn RandomCase(Random rng, OracleOp op, uint rm)
    {
        var f = op switch
        {
            OracleOp.Add32 or OracleOp.Sub32 or OracleOp.Mul32 or OracleOp.Div32 or OracleOp.Sqrt32 or OracleOp.Fma32
                or OracleOp.F32ToF64 or OracleOp.F32ToI32 or OracleOp.F32ToU32 or OracleOp.F32ToI64 or OracleOp.F32ToU64 => F32,
            _ => F64,
        };
        var c = new OracleIn { Op = (uint)op, Rm = rm };
        if (op is >= OracleOp.I64ToF64 and <= OracleOp.U32ToF64) { c.A = RandomInt(rng); return c; }
        if (op >= OracleOp.F64ToI32) { c.A = RandomConvOperand(rng, f); return c; }
        c.A = RandomFloat(rng, f);
        c.B = rng.Next(2) == 0 ? Related(rng, f, c.A) : RandomFloat(rng, f);
        if (op is OracleOp.Fma64 or OracleOp.Fma32)
        {
            if (rng.Next(2) == 0)
            {
                // addend close to -(a*b) to provoke cancellation
                FFlags dummy = 0;
                ulong p = f.MantBits == 52 ? SoftFloat.Mul(c.A, c.B, (RoundingMode)rng.Next(4), ref dummy)
                                           : SoftFloat.Mul((uint)c.A, (uint)c.B, (RoundingMode)rng.Next(4), ref dummy);
                c.C = (p ^ (rng.Next(4) == 0 ? 0 : f.SignBit)) + (ulong)rng.Next(-2, 3);
                c.C &= f.SignBit | f.AbsMask;
            }
            else c.C = rng.Next(2) == 0 ? Related(rng, f, c.A) : RandomFloat(rng, f);
        }
        return c;
    }
}
