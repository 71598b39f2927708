using System.Numerics;
using System.Runtime.CompilerServices;

namespace Isomorph.Riscv.Float;

/// <summary>Compile-time description of an IEEE 754 binary interchange format (specialised per struct by the JIT).</summary>
internal interface IFloatFormat
{
    /// <summary>Number of explicit significand (trailing) bits: 52 or 23.</summary>
    static abstract int MantBits { get; }
    /// <summary>Exponent bias: 1023 or 127.</summary>
    static abstract int Bias { get; }
    /// <summary>All-ones biased exponent (infinity/NaN): 2047 or 255.</summary>
    static abstract int ExpMax { get; }
    /// <summary>Bit index of the sign: 63 or 31.</summary>
    static abstract int SignShift { get; }
}

internal struct Binary64 : IFloatFormat
{
    public static int MantBits => 52;
    public static int Bias => 1023;
    public static int ExpMax => 2047;
    public static int SignShift => 63;
}

internal struct Binary32 : IFloatFormat
{
    public static int MantBits => 23;
    public static int Bias => 127;
    public static int ExpMax => 255;
    public static int SignShift => 31;
}

/// <summary>
/// Exact IEEE 754 binary32/binary64 arithmetic with RISC-V F/D semantics: canonical NaN results,
/// tininess detected after rounding, fflags accumulated into <c>flags</c>.
/// Values are raw bit patterns (binary64 in <see cref="ulong"/>, binary32 in <see cref="uint"/>).
/// </summary>
/// <remarks>
/// Internal representation of a finite non-zero operand: (sign, exp, sig) with
/// value = sig * 2^(exp - 62) and sig in [2^62, 2^63); bits below the rounding position
/// carry a sticky bit in bit 0 ("jamming").
/// </remarks>
public static partial class SoftFloat
{
    public const ulong CanonicalNaN64 = 0x7FF8_0000_0000_0000;
    public const uint CanonicalNaN32 = 0x7FC0_0000;

    // ---- format-derived constants (folded by the JIT per instantiation) ----
    private static ulong SignMask<F>() where F : struct, IFloatFormat => 1UL << F.SignShift;
    private static ulong AbsMask<F>() where F : struct, IFloatFormat => (1UL << F.SignShift) - 1;
    private static ulong InfBits<F>() where F : struct, IFloatFormat => (ulong)F.ExpMax << F.MantBits;
    private static ulong QuietBit<F>() where F : struct, IFloatFormat => 1UL << (F.MantBits - 1);
    private static ulong DefaultNaN<F>() where F : struct, IFloatFormat => InfBits<F>() | QuietBit<F>();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsNaN<F>(ulong a) where F : struct, IFloatFormat => (a & AbsMask<F>()) > InfBits<F>();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsSNaN<F>(ulong a) where F : struct, IFloatFormat
        => (a & AbsMask<F>()) > InfBits<F>() && (a & QuietBit<F>()) == 0;

    /// <summary>Returns the canonical NaN, raising Invalid if either input is a signalling NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong PropagateNaN<F>(ulong a, ulong b, ref FFlags flags) where F : struct, IFloatFormat
    {
        if (IsSNaN<F>(a) || IsSNaN<F>(b)) flags |= FFlags.Invalid;
        return DefaultNaN<F>();
    }

    /// <summary>Unpacks a finite non-zero value into exp/sig with sig normalised to bit 62.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Unpack<F>(ulong a, out int exp, out ulong sig) where F : struct, IFloatFormat
    {
        int be = (int)(a >> F.MantBits) & F.ExpMax;
        ulong m = a & ((1UL << F.MantBits) - 1);
        if (be != 0)
        {
            sig = (m | (1UL << F.MantBits)) << (62 - F.MantBits);
            exp = be - F.Bias;
        }
        else
        {
            int lz = BitOperations.LeadingZeroCount(m);
            sig = m << (lz - 1);
            exp = 64 - F.Bias - F.MantBits - lz;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong ShiftRightJam(ulong x, int n)
    {
        if (n <= 0) return x;
        if (n >= 64) return x != 0 ? 1UL : 0UL;
        return (x >> n) | ((x << (64 - n)) != 0 ? 1UL : 0UL);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static UInt128 ShiftRightJam(UInt128 x, int n)
    {
        if (n <= 0) return x;
        if (n >= 128) return x != UInt128.Zero ? UInt128.One : UInt128.Zero;
        return (x >> n) | ((x << (128 - n)) != UInt128.Zero ? UInt128.One : UInt128.Zero);
    }

    /// <summary>Whether truncated magnitude <paramref name="q"/> with non-zero remainder <paramref name="rem"/>
    /// (half-way point <paramref name="half"/>) must be incremented.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool RoundIncrement(RoundingMode rm, bool sign, ulong q, ulong rem, ulong half)
    {
        switch (rm)
        {
            case RoundingMode.TowardZero: return false;
            case RoundingMode.Down: return sign;
            case RoundingMode.Up: return !sign;
            case RoundingMode.NearestMaxMagnitude: return rem >= half;
            default: return rem > half || (rem == half && (q & 1) != 0);
        }
    }

    private static ulong OverflowResult<F>(bool sign, RoundingMode rm, ref FFlags flags) where F : struct, IFloatFormat
    {
        flags |= FFlags.Overflow | FFlags.Inexact;
        bool toInf = rm switch
        {
            RoundingMode.TowardZero => false,
            RoundingMode.Down => sign,
            RoundingMode.Up => !sign,
            _ => true,
        };
        ulong mag = toInf ? InfBits<F>() : InfBits<F>() - 1;
        return sign ? mag | SignMask<F>() : mag;
    }

    /// <summary>
    /// Rounds value = sig * 2^(exp-62), sig in [2^62, 2^63) (bit 0 sticky) to format F and packs it with its sign.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong RoundPack<F>(bool sign, int exp, ulong sig, RoundingMode rm, ref FFlags flags) where F : struct, IFloatFormat
    {
        int shift = 62 - F.MantBits;
        ulong mask = (1UL << shift) - 1;
        ulong half = 1UL << (shift - 1);
        ulong signBit = sign ? SignMask<F>() : 0;
        int be = exp + F.Bias;
        if (be > 0)
        {
            ulong q = sig >> shift, rem = sig & mask;
            if (rem != 0)
            {
                flags |= FFlags.Inexact;
                if (RoundIncrement(rm, sign, q, rem, half))
                {
                    q++;
                    if ((q >> (F.MantBits + 1)) != 0) { q >>= 1; be++; }
                }
            }
            if (be >= F.ExpMax) return OverflowResult<F>(sign, rm, ref flags);
            return signBit | (((ulong)(be - 1) << F.MantBits) + q);
        }
        return signBit | RoundSubnormal<F>(sign, be, sig, rm, ref flags);
    }

    private static ulong RoundSubnormal<F>(bool sign, int be, ulong sig, RoundingMode rm, ref FFlags flags) where F : struct, IFloatFormat
    {
        int shift = 62 - F.MantBits;
        // Tininess after rounding: not tiny only if rounding to full precision with unbounded exponent reaches 2^emin.
        bool tiny = true;
        if (be == 0)
        {
            ulong q0 = sig >> shift, rem0 = sig & ((1UL << shift) - 1);
            if (rem0 != 0 && RoundIncrement(rm, sign, q0, rem0, 1UL << (shift - 1)) && ((q0 + 1) >> (F.MantBits + 1)) != 0)
                tiny = false;
        }
        int s = shift + 1 - be;
        ulong q, rem, h;
        if (s < 64) { q = sig >> s; rem = sig & ((1UL << s) - 1); h = 1UL << (s - 1); }
        else { q = 0; rem = sig; h = ulong.MaxValue; } // value < half the smallest subnormal
        if (rem != 0)
        {
            flags |= tiny ? FFlags.Inexact | FFlags.Underflow : FFlags.Inexact;
            if (RoundIncrement(rm, sign, q, rem, h)) q++; // may carry into the minimum normal encoding
        }
        return q;
    }

    private static ulong ZeroResultSign<F>(RoundingMode rm) where F : struct, IFloatFormat
        => rm == RoundingMode.Down ? SignMask<F>() : 0UL;
}
