using System.Runtime.CompilerServices;

namespace Isomorph.Riscv.Float;

// binary32 public API. Round-to-nearest-even add/sub/mul/div/sqrt are computed in host binary64 and
// rounded to binary32: double rounding is innocuous for these operations because 53 >= 2*24 + 2, and the
// binary64 intermediate is checked for exactness so Inexact is exact too. Potential underflow/overflow and
// special operands fall back to the integer implementation.
public static partial class SoftFloat
{
    private const uint Abs32 = 0x7FFF_FFFF;
    private const uint Inf32 = 0x7F80_0000;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float F(uint bits) => BitConverter.UInt32BitsToSingle(bits);

    /// <summary>True when the binary32 result <paramref name="r"/> of exact-or-double-rounded value <paramref name="d"/> is
    /// finite and either zero or at least 2^-125 in magnitude (so no underflow can be involved).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool SafeF32Result(float r, double d)
    {
        uint ra = BitConverter.SingleToUInt32Bits(r) & Abs32;
        return ra < Inf32 && (d == 0 || ra >= (2u << 23));
    }

    /// <summary>a + b.</summary>
    public static uint Add(uint a, uint b, RoundingMode rm, ref FFlags flags)
    {
        if (rm == RoundingMode.NearestEven && (a & Abs32) < Inf32 && (b & Abs32) < Inf32)
        {
            double x = F(a), y = F(b);
            double s = x + y;
            double bb = s - x;
            double err = (x - (s - bb)) + (y - bb);
            float r = (float)s;
            if (BitConverter.SingleToUInt32Bits(r) << 1 < Inf32 << 1)
            {
                if (err != 0 || (double)r != s) flags |= FFlags.Inexact;
                return BitConverter.SingleToUInt32Bits(r);
            }
        }
        return (uint)AddG<Binary32>(a, b, rm, ref flags);
    }

    /// <summary>a - b.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Sub(uint a, uint b, RoundingMode rm, ref FFlags flags)
        => Add(a, b ^ 0x8000_0000u, rm, ref flags);

    /// <summary>a * b.</summary>
    public static uint Mul(uint a, uint b, RoundingMode rm, ref FFlags flags)
    {
        if (rm == RoundingMode.NearestEven && (a & Abs32) < Inf32 && (b & Abs32) < Inf32)
        {
            double p = (double)F(a) * F(b); // exact (48-bit product)
            float r = (float)p;
            if (SafeF32Result(r, p))
            {
                if ((double)r != p) flags |= FFlags.Inexact;
                return BitConverter.SingleToUInt32Bits(r);
            }
        }
        return (uint)MulG<Binary32>(a, b, rm, ref flags);
    }

    /// <summary>a / b.</summary>
    public static uint Div(uint a, uint b, RoundingMode rm, ref FFlags flags)
    {
        if (rm == RoundingMode.NearestEven && (a & Abs32) < Inf32 && (b & Abs32) - 1 < Inf32 - 1)
        {
            double x = F(a), y = F(b);
            double q = x / y;
            float r = (float)q;
            if (SafeF32Result(r, q))
            {
                if (Math.FusedMultiplyAdd(-q, y, x) != 0 || (double)r != q) flags |= FFlags.Inexact;
                return BitConverter.SingleToUInt32Bits(r);
            }
        }
        return (uint)DivG<Binary32>(a, b, rm, ref flags);
    }

    /// <summary>sqrt(a).</summary>
    public static uint Sqrt(uint a, RoundingMode rm, ref FFlags flags)
    {
        if (rm == RoundingMode.NearestEven && a < Inf32) // +0 .. largest positive finite
        {
            double x = F(a);
            double s = Math.Sqrt(x);
            float r = (float)s;
            if (Math.FusedMultiplyAdd(-s, s, x) != 0 || (double)r != s) flags |= FFlags.Inexact;
            return BitConverter.SingleToUInt32Bits(r);
        }
        return (uint)SqrtG<Binary32>(a, rm, ref flags);
    }

    /// <summary>Fused a * b + c with a single rounding.</summary>
    public static uint MulAdd(uint a, uint b, uint c, RoundingMode rm, ref FFlags flags)
        => (uint)MulAddG<Binary32>(a, b, c, rm, ref flags);

    /// <summary>feq.s: quiet comparison.</summary>
    public static bool Eq(uint a, uint b, ref FFlags flags) => EqG<Binary32>(a, b, ref flags);

    /// <summary>flt.s: signalling comparison.</summary>
    public static bool Lt(uint a, uint b, ref FFlags flags) => LtG<Binary32>(a, b, ref flags);

    /// <summary>fle.s: signalling comparison.</summary>
    public static bool Le(uint a, uint b, ref FFlags flags) => LeG<Binary32>(a, b, ref flags);

    /// <summary>fmin.s.</summary>
    public static uint Min(uint a, uint b, ref FFlags flags) => (uint)MinMaxG<Binary32>(a, b, false, ref flags);

    /// <summary>fmax.s.</summary>
    public static uint Max(uint a, uint b, ref FFlags flags) => (uint)MinMaxG<Binary32>(a, b, true, ref flags);

    /// <summary>fclass.s 10-bit mask.</summary>
    public static uint Classify(uint a) => ClassifyG<Binary32>(a);
}
