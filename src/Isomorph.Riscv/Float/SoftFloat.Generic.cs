using System.Numerics;
using System.Runtime.CompilerServices;

namespace Isomorph.Riscv.Float;

// Format-generic exact implementations. F32 values are passed zero-extended in a ulong.
public static partial class SoftFloat
{
    private static ulong AddG<F>(ulong a, ulong b, RoundingMode rm, ref FFlags flags) where F : struct, IFloatFormat
    {
        ulong abs = AbsMask<F>(), inf = InfBits<F>();
        ulong absA = a & abs, absB = b & abs;
        bool sA = (a & SignMask<F>()) != 0, sB = (b & SignMask<F>()) != 0;
        if (absA >= inf || absB >= inf)
        {
            if (absA > inf || absB > inf) return PropagateNaN<F>(a, b, ref flags);
            if (absA == inf)
            {
                if (absB == inf && sA != sB) { flags |= FFlags.Invalid; return DefaultNaN<F>(); }
                return a;
            }
            return b;
        }
        if (absB == 0)
        {
            if (absA == 0) return sA == sB ? a : ZeroResultSign<F>(rm);
            return a;
        }
        if (absA == 0) return b;

        Unpack<F>(a, out int eA, out ulong sigA);
        Unpack<F>(b, out int eB, out ulong sigB);
        if (absA < absB)
        {
            (eA, eB) = (eB, eA);
            (sigA, sigB) = (sigB, sigA);
            (sA, sB) = (sB, sA);
        }
        sigB = ShiftRightJam(sigB, eA - eB);
        ulong sig;
        int e = eA;
        if (sA == sB)
        {
            sig = sigA + sigB;
            if ((sig >> 63) != 0) { sig = (sig >> 1) | (sig & 1); e++; }
        }
        else
        {
            sig = sigA - sigB;
            if (sig == 0) return ZeroResultSign<F>(rm);
            int lz = BitOperations.LeadingZeroCount(sig) - 1;
            sig <<= lz;
            e -= lz;
        }
        return RoundPack<F>(sA, e, sig, rm, ref flags);
    }

    private static ulong MulG<F>(ulong a, ulong b, RoundingMode rm, ref FFlags flags) where F : struct, IFloatFormat
    {
        ulong abs = AbsMask<F>(), inf = InfBits<F>();
        ulong absA = a & abs, absB = b & abs;
        bool sign = ((a ^ b) & SignMask<F>()) != 0;
        if (absA >= inf || absB >= inf)
        {
            if (absA > inf || absB > inf) return PropagateNaN<F>(a, b, ref flags);
            if (absA == 0 || absB == 0) { flags |= FFlags.Invalid; return DefaultNaN<F>(); }
            return sign ? inf | SignMask<F>() : inf;
        }
        if (absA == 0 || absB == 0) return sign ? SignMask<F>() : 0;

        Unpack<F>(a, out int eA, out ulong sigA);
        Unpack<F>(b, out int eB, out ulong sigB);
        ulong hi = Math.BigMul(sigA, sigB << 1, out ulong lo); // in [2^61, 2^63)
        int e = eA + eB + 1;
        if (hi < (1UL << 62)) { hi = (hi << 1) | (lo >> 63); lo <<= 1; e--; }
        if (lo != 0) hi |= 1;
        return RoundPack<F>(sign, e, hi, rm, ref flags);
    }

    private static ulong DivG<F>(ulong a, ulong b, RoundingMode rm, ref FFlags flags) where F : struct, IFloatFormat
    {
        ulong abs = AbsMask<F>(), inf = InfBits<F>();
        ulong absA = a & abs, absB = b & abs;
        bool sign = ((a ^ b) & SignMask<F>()) != 0;
        ulong signBit = sign ? SignMask<F>() : 0;
        if (absA >= inf || absB >= inf)
        {
            if (absA > inf || absB > inf) return PropagateNaN<F>(a, b, ref flags);
            if (absA == inf)
            {
                if (absB == inf) { flags |= FFlags.Invalid; return DefaultNaN<F>(); }
                return signBit | inf;
            }
            return signBit; // finite / inf
        }
        if (absB == 0)
        {
            if (absA == 0) { flags |= FFlags.Invalid; return DefaultNaN<F>(); }
            flags |= FFlags.DivideByZero;
            return signBit | inf;
        }
        if (absA == 0) return signBit;

        Unpack<F>(a, out int eA, out ulong sigA);
        Unpack<F>(b, out int eB, out ulong sigB);
        // q = sigA * 2^63 / sigB in (2^62, 2^64)
        UInt128 num = (UInt128)sigA << 63;
        ulong q = (ulong)(num / sigB);
        ulong rem = (ulong)(num - (UInt128)q * sigB);
        int e = eA - eB - 1;
        if ((q >> 63) != 0) { q = (q >> 1) | (q & 1); e++; }
        if (rem != 0) q |= 1;
        return RoundPack<F>(sign, e, q, rm, ref flags);
    }

    private static ulong SqrtG<F>(ulong a, RoundingMode rm, ref FFlags flags) where F : struct, IFloatFormat
    {
        ulong abs = AbsMask<F>(), inf = InfBits<F>();
        ulong absA = a & abs;
        if (absA > inf) return PropagateNaN<F>(a, a, ref flags);
        if (absA == 0) return a;
        if ((a & SignMask<F>()) != 0) { flags |= FFlags.Invalid; return DefaultNaN<F>(); }
        if (absA == inf) return a;

        Unpack<F>(a, out int e, out ulong sig);
        int s = (e & 1) == 0 ? 64 : 63;          // make (e - 62 - s) even
        UInt128 n = (UInt128)sig << s;            // in [2^125, 2^127)
        ulong r = ISqrt(n, out bool exact);       // in [2^62, 2^63.5)
        int re = (e - 62 - s) / 2 + 62;
        if ((r >> 63) != 0) { r = (r >> 1) | (r & 1); re++; }
        if (!exact) r |= 1;
        return RoundPack<F>(false, re, r, rm, ref flags);
    }

    /// <summary>floor(sqrt(n)) for n in [2^124, 2^128); <paramref name="exact"/> when n is a perfect square.</summary>
    private static ulong ISqrt(UInt128 n, out bool exact)
    {
        ulong r = (ulong)Math.Sqrt((double)n);     // within ~2^12 of the true root
        r = (ulong)(((UInt128)r + n / r) >> 1);     // Newton step (from above or below, ends >= floor)
        UInt128 sq = (UInt128)r * r;
        while (sq > n) { r--; sq = (UInt128)r * r; }
        while (true)
        {
            UInt128 next = sq + 2 * (UInt128)r + 1;
            if (next > n) break;
            r++; sq = next;
        }
        exact = sq == n;
        return r;
    }

    private static ulong MulAddG<F>(ulong a, ulong b, ulong c, RoundingMode rm, ref FFlags flags) where F : struct, IFloatFormat
    {
        ulong abs = AbsMask<F>(), inf = InfBits<F>(), sm = SignMask<F>();
        ulong absA = a & abs, absB = b & abs, absC = c & abs;
        bool sP = ((a ^ b) & sm) != 0, sC = (c & sm) != 0;
        if (absA >= inf || absB >= inf || absC >= inf)
        {
            // RISC-V: inf * 0 raises Invalid even when the addend is a quiet NaN.
            if ((absA == inf && absB == 0) || (absA == 0 && absB == inf))
            {
                flags |= FFlags.Invalid;
                return DefaultNaN<F>();
            }
            if (absA > inf || absB > inf || absC > inf)
            {
                if (IsSNaN<F>(a) || IsSNaN<F>(b) || IsSNaN<F>(c)) flags |= FFlags.Invalid;
                return DefaultNaN<F>();
            }
            if (absA == inf || absB == inf)
            {
                if (absC == inf && sC != sP) { flags |= FFlags.Invalid; return DefaultNaN<F>(); }
                return sP ? inf | sm : inf;
            }
            return c; // finite product + inf
        }
        if (absA == 0 || absB == 0)
        {
            if (absC == 0) return sP == sC ? c : ZeroResultSign<F>(rm);
            return c;
        }
        if (absC == 0) return MulG<F>(a, b, rm, ref flags); // exact zero addend never changes a non-zero product

        Unpack<F>(a, out int eA, out ulong sigA);
        Unpack<F>(b, out int eB, out ulong sigB);
        Unpack<F>(c, out int eC, out ulong sigC);
        // Normalised 128-bit form: value = x * 2^(e - 126), x in [2^126, 2^127).
        UInt128 p = (UInt128)sigA * sigB;          // in [2^124, 2^126)
        int eP;
        if ((p >> 125) != UInt128.Zero) { p <<= 1; eP = eA + eB + 1; }
        else { p <<= 2; eP = eA + eB; }
        UInt128 x = (UInt128)sigC << 64;
        int eX = eC;

        bool sign = sP;
        UInt128 big = p, small = x;
        int eBig = eP, eSmall = eX;
        bool sSmall = sC;
        if (eX > eP || (eX == eP && x > p))
        {
            big = x; small = p; eBig = eX; eSmall = eP; sign = sC; sSmall = sP;
        }
        small = ShiftRightJam(small, eBig - eSmall);
        UInt128 r;
        int e = eBig;
        if (sign == sSmall)
        {
            r = big + small;
            if ((r >> 127) != UInt128.Zero) { r = (r >> 1) | (r & UInt128.One); e++; }
        }
        else
        {
            r = big - small;
            if (r == UInt128.Zero) return ZeroResultSign<F>(rm);
            int lz = (int)UInt128.LeadingZeroCount(r) - 1;
            r <<= lz;
            e -= lz;
        }
        ulong sig = (ulong)(r >> 64) | ((ulong)r != 0 ? 1UL : 0UL);
        return RoundPack<F>(sign, e, sig, rm, ref flags);
    }

    // ---- comparisons ----
    private static bool EqG<F>(ulong a, ulong b, ref FFlags flags) where F : struct, IFloatFormat
    {
        if (IsNaN<F>(a) || IsNaN<F>(b))
        {
            if (IsSNaN<F>(a) || IsSNaN<F>(b)) flags |= FFlags.Invalid;
            return false;
        }
        return a == b || ((a | b) & AbsMask<F>()) == 0;
    }

    private static bool LtG<F>(ulong a, ulong b, ref FFlags flags) where F : struct, IFloatFormat
    {
        if (IsNaN<F>(a) || IsNaN<F>(b)) { flags |= FFlags.Invalid; return false; }
        bool sA = (a & SignMask<F>()) != 0, sB = (b & SignMask<F>()) != 0;
        if (sA != sB) return sA && ((a | b) & AbsMask<F>()) != 0;
        return sA ? a > b : a < b;
    }

    private static bool LeG<F>(ulong a, ulong b, ref FFlags flags) where F : struct, IFloatFormat
    {
        if (IsNaN<F>(a) || IsNaN<F>(b)) { flags |= FFlags.Invalid; return false; }
        bool sA = (a & SignMask<F>()) != 0, sB = (b & SignMask<F>()) != 0;
        if (sA != sB) return sA || ((a | b) & AbsMask<F>()) == 0;
        return sA ? a >= b : a <= b;
    }

    private static ulong MinMaxG<F>(ulong a, ulong b, bool max, ref FFlags flags) where F : struct, IFloatFormat
    {
        bool nA = IsNaN<F>(a), nB = IsNaN<F>(b);
        if (nA || nB)
        {
            if (IsSNaN<F>(a) || IsSNaN<F>(b)) flags |= FFlags.Invalid;
            if (nA && nB) return DefaultNaN<F>();
            return nA ? b : a;
        }
        bool sA = (a & SignMask<F>()) != 0, sB = (b & SignMask<F>()) != 0;
        bool aLess = sA != sB ? sA : (sA ? a > b : a < b); // total order on non-NaN with -0 < +0
        return aLess ^ max ? a : b;
    }

    private static uint ClassifyG<F>(ulong a) where F : struct, IFloatFormat
    {
        bool sign = (a & SignMask<F>()) != 0;
        ulong absA = a & AbsMask<F>(), inf = InfBits<F>();
        if (absA == inf) return sign ? 1u << 0 : 1u << 7;
        if (absA > inf) return (a & QuietBit<F>()) != 0 ? 1u << 9 : 1u << 8;
        if (absA == 0) return sign ? 1u << 3 : 1u << 4;
        if ((absA >> F.MantBits) == 0) return sign ? 1u << 2 : 1u << 5;
        return sign ? 1u << 1 : 1u << 6;
    }

    // ---- conversions ----

    /// <summary>Float → integer with RISC-V saturation. Returns the raw result (low <paramref name="bits"/> bits significant).</summary>
    private static ulong ToIntG<F>(ulong a, RoundingMode rm, ref FFlags flags, bool signed, int bits) where F : struct, IFloatFormat
    {
        ulong maxPos = signed ? (1UL << (bits - 1)) - 1 : (bits == 64 ? ulong.MaxValue : (1UL << bits) - 1);
        ulong minNeg = signed ? unchecked(0UL - (1UL << (bits - 1))) : 0UL;
        ulong absA = a & AbsMask<F>(), inf = InfBits<F>();
        bool sign = (a & SignMask<F>()) != 0;
        if (absA >= inf)
        {
            flags |= FFlags.Invalid;
            return absA > inf || !sign ? maxPos : minNeg;
        }
        if (absA == 0) return 0;
        Unpack<F>(a, out int e, out ulong sig);
        if (e >= 64)
        {
            flags |= FFlags.Invalid;
            return sign ? minNeg : maxPos;
        }
        ulong mag;
        bool inexact = false;
        if (e >= 62) mag = sig << (e - 62);
        else
        {
            int s = 62 - e;
            ulong q, rem, h;
            if (s < 64) { q = sig >> s; rem = sig & ((1UL << s) - 1); h = 1UL << (s - 1); }
            else { q = 0; rem = sig; h = ulong.MaxValue; }
            if (rem != 0)
            {
                inexact = true;
                if (RoundIncrement(rm, sign, q, rem, h)) q++;
            }
            mag = q;
        }
        ulong result;
        if (!sign)
        {
            if (mag > maxPos) { flags |= FFlags.Invalid; return maxPos; }
            result = mag;
        }
        else if (signed)
        {
            if (mag > (1UL << (bits - 1))) { flags |= FFlags.Invalid; return minNeg; }
            result = unchecked(0UL - mag);
        }
        else
        {
            if (mag != 0) { flags |= FFlags.Invalid; return 0; }
            result = 0;
        }
        if (inexact) flags |= FFlags.Inexact;
        return result;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong FromIntG<F>(bool sign, ulong mag, RoundingMode rm, ref FFlags flags) where F : struct, IFloatFormat
    {
        if (mag == 0) return 0;
        int lz = BitOperations.LeadingZeroCount(mag);
        ulong sig = lz == 0 ? (mag >> 1) | (mag & 1) : mag << (lz - 1);
        return RoundPack<F>(sign, 63 - lz, sig, rm, ref flags);
    }

    private static ulong ConvertG<TFrom, TTo>(ulong a, RoundingMode rm, ref FFlags flags)
        where TFrom : struct, IFloatFormat where TTo : struct, IFloatFormat
    {
        ulong absA = a & AbsMask<TFrom>(), inf = InfBits<TFrom>();
        bool sign = (a & SignMask<TFrom>()) != 0;
        ulong signBit = sign ? SignMask<TTo>() : 0;
        if (absA > inf)
        {
            if (IsSNaN<TFrom>(a)) flags |= FFlags.Invalid;
            return DefaultNaN<TTo>();
        }
        if (absA == inf) return signBit | InfBits<TTo>();
        if (absA == 0) return signBit;
        Unpack<TFrom>(a, out int e, out ulong sig);
        return RoundPack<TTo>(sign, e, sig, rm, ref flags);
    }
}
