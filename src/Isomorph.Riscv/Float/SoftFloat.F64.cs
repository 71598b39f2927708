using System.Runtime.CompilerServices;

namespace Isomorph.Riscv.Float;

// binary64 public API. Round-to-nearest-even add/sub/mul/div/sqrt use the host FPU (which is
// IEEE-correct for these operations under the default round-to-nearest environment) together with an
// exact error term to derive Inexact; every case where Underflow/Overflow/NaN could arise falls back
// to the integer implementation.
public static partial class SoftFloat
{
    private const ulong Abs64 = 0x7FFF_FFFF_FFFF_FFFF;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double D(ulong bits) => BitConverter.UInt64BitsToDouble(bits);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong B(double d) => BitConverter.DoubleToUInt64Bits(d);

    /// <summary>a + b.</summary>
    public static ulong Add(ulong a, ulong b, RoundingMode rm, ref FFlags flags)
    {
        // |a|,|b| < 2^1021: no overflow anywhere in TwoSum; sums with subnormal results are always exact.
        if (rm == RoundingMode.NearestEven && (a & Abs64) < (2044UL << 52) && (b & Abs64) < (2044UL << 52))
        {
            double x = D(a), y = D(b);
            double s = x + y;
            double bb = s - x;
            double err = (x - (s - bb)) + (y - bb);
            if (err != 0) flags |= FFlags.Inexact;
            return B(s);
        }
        return AddG<Binary64>(a, b, rm, ref flags);
    }

    /// <summary>a - b.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Sub(ulong a, ulong b, RoundingMode rm, ref FFlags flags)
        => Add(a, b ^ 0x8000_0000_0000_0000, rm, ref flags);

    /// <summary>a * b.</summary>
    public static ulong Mul(ulong a, ulong b, RoundingMode rm, ref FFlags flags)
    {
        if (rm == RoundingMode.NearestEven)
        {
            double x = D(a), y = D(b);
            double p = x * y;
            ulong pa = B(p) & Abs64;
            // |p| >= 2^-960 and finite: no underflow/overflow and a*b - p, if non-zero, does not flush to zero in the FMA.
            if (pa - (63UL << 52) < (2047UL << 52) - (63UL << 52))
            {
                if (Math.FusedMultiplyAdd(x, y, -p) != 0) flags |= FFlags.Inexact;
                return B(p);
            }
        }
        return MulG<Binary64>(a, b, rm, ref flags);
    }

    /// <summary>a / b.</summary>
    public static ulong Div(ulong a, ulong b, RoundingMode rm, ref FFlags flags)
    {
        if (rm == RoundingMode.NearestEven)
        {
            ulong aa = a & Abs64, ba = b & Abs64;
            // 2^-900 <= |a| finite, b finite non-zero
            if (aa - (123UL << 52) < (2047UL << 52) - (123UL << 52) && ba - 1 < (2047UL << 52) - 1)
            {
                double x = D(a), y = D(b);
                double q = x / y;
                ulong qa = B(q) & Abs64;
                // 2^-1000 <= |q| finite: no underflow/overflow; remainder x - q*y is exact and non-flushing.
                if (qa - (23UL << 52) < (2047UL << 52) - (23UL << 52))
                {
                    if (Math.FusedMultiplyAdd(-q, y, x) != 0) flags |= FFlags.Inexact;
                    return B(q);
                }
            }
        }
        return DivG<Binary64>(a, b, rm, ref flags);
    }

    /// <summary>sqrt(a).</summary>
    public static ulong Sqrt(ulong a, RoundingMode rm, ref FFlags flags)
    {
        // positive, 2^-923 <= a finite
        if (rm == RoundingMode.NearestEven && a - (100UL << 52) < (2047UL << 52) - (100UL << 52))
        {
            double x = D(a);
            double s = Math.Sqrt(x);
            if (Math.FusedMultiplyAdd(-s, s, x) != 0) flags |= FFlags.Inexact;
            return B(s);
        }
        return SqrtG<Binary64>(a, rm, ref flags);
    }

    /// <summary>Fused a * b + c with a single rounding. fmsub/fnmsub/fnmadd: flip sign bits of the inputs.</summary>
    public static ulong MulAdd(ulong a, ulong b, ulong c, RoundingMode rm, ref FFlags flags)
        => MulAddG<Binary64>(a, b, c, rm, ref flags);

    /// <summary>feq.d: quiet comparison (Invalid only for signalling NaN).</summary>
    public static bool Eq(ulong a, ulong b, ref FFlags flags) => EqG<Binary64>(a, b, ref flags);

    /// <summary>flt.d: signalling comparison (Invalid for any NaN).</summary>
    public static bool Lt(ulong a, ulong b, ref FFlags flags) => LtG<Binary64>(a, b, ref flags);

    /// <summary>fle.d: signalling comparison (Invalid for any NaN).</summary>
    public static bool Le(ulong a, ulong b, ref FFlags flags) => LeG<Binary64>(a, b, ref flags);

    /// <summary>fmin.d (RISC-V 2.2+: -0 &lt; +0, minimumNumber NaN handling).</summary>
    public static ulong Min(ulong a, ulong b, ref FFlags flags) => MinMaxG<Binary64>(a, b, false, ref flags);

    /// <summary>fmax.d (RISC-V 2.2+: -0 &lt; +0, maximumNumber NaN handling).</summary>
    public static ulong Max(ulong a, ulong b, ref FFlags flags) => MinMaxG<Binary64>(a, b, true, ref flags);

    /// <summary>fclass.d 10-bit mask.</summary>
    public static uint Classify(ulong a) => ClassifyG<Binary64>(a);
}
