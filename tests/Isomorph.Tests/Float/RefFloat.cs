using System.Numerics;
using Isomorph.Riscv.Float;

namespace Isomorph.Tests.Float;

/// <summary>
/// Slow, independent reference model: every finite result is computed as an exact rational with
/// <see cref="BigInteger"/> and rounded by a straightforward textbook procedure. Used as an oracle for
/// all five rounding modes (including RMM, which the x86 host cannot check).
/// </summary>
public static class RefFloat
{
    public readonly record struct Fmt(int MantBits, int ExpBits)
    {
        public int P => MantBits + 1;
        public int Bias => (1 << (ExpBits - 1)) - 1;
        public int EMin => 1 - Bias;
        public int EMax => Bias;
        public ulong SignBit => 1UL << (MantBits + ExpBits);
        public ulong InfBits => ((1UL << ExpBits) - 1) << MantBits;
        public ulong QNaN => InfBits | (1UL << (MantBits - 1));
        public ulong AbsMask => SignBit - 1;
    }

    public static readonly Fmt F64 = new(52, 11);
    public static readonly Fmt F32 = new(23, 8);

    public static bool IsNaN(Fmt f, ulong a) => (a & f.AbsMask) > f.InfBits;
    public static bool IsSNaN(Fmt f, ulong a) => IsNaN(f, a) && (a & (1UL << (f.MantBits - 1))) == 0;
    public static bool IsInf(Fmt f, ulong a) => (a & f.AbsMask) == f.InfBits;
    public static bool IsZero(Fmt f, ulong a) => (a & f.AbsMask) == 0;
    public static bool Neg(Fmt f, ulong a) => (a & f.SignBit) != 0;

    /// <summary>|a| = m * 2^e for finite a.</summary>
    public static (BigInteger m, int e) Decode(Fmt f, ulong a)
    {
        ulong abs = a & f.AbsMask;
        int be = (int)(abs >> f.MantBits);
        ulong frac = abs & ((1UL << f.MantBits) - 1);
        if (be == 0) return (frac, f.EMin - f.MantBits);
        return (frac | (1UL << f.MantBits), be - f.Bias - f.MantBits);
    }

    static BigInteger Pow2(int n) => BigInteger.One << n;

    /// <summary>Rounds the exact non-zero value (-1)^neg * num/den * 2^scale (num, den > 0).</summary>
    public static ulong Round(Fmt f, bool neg, BigInteger num, BigInteger den, int scale, RoundingMode rm, ref FFlags flags)
    {
        // E with 2^E <= num/den*2^scale < 2^(E+1)
        int E = (int)(num.GetBitLength() - den.GetBitLength()) + scale;
        if (Cmp(num, den, scale, E) < 0) E--;
        ulong sign = neg ? f.SignBit : 0;
        // tininess after rounding: round to P bits with unbounded exponent
        var (q0, inexact0) = RoundAt(num, den, scale, E - f.P + 1, rm, neg);
        int Er = E + (q0 == Pow2(f.P) ? 1 : 0);
        bool tiny = Er < f.EMin;

        int Q = Math.Max(E, f.EMin) - f.P + 1;
        var (q, inexact) = RoundAt(num, den, scale, Q, rm, neg);
        if (q == Pow2(f.P)) { q >>= 1; Q++; }
        if (inexact) flags |= FFlags.Inexact;
        if (inexact && tiny) flags |= FFlags.Underflow;
        if (q == 0) return sign;
        if (q >= Pow2(f.P - 1) && Q + f.P - 1 > f.EMax)
        {
            flags |= FFlags.Overflow | FFlags.Inexact;
            bool toInf = rm switch
            {
                RoundingMode.TowardZero => false,
                RoundingMode.Down => neg,
                RoundingMode.Up => !neg,
                _ => true,
            };
            return sign | (toInf ? f.InfBits : f.InfBits - 1);
        }
        if (q < Pow2(f.P - 1)) return sign | (ulong)q; // subnormal
        int biased = Q + f.P - 1 + f.Bias;
        return sign | ((ulong)biased << f.MantBits) | ((ulong)(q - Pow2(f.P - 1)));
    }

    // compares num/den*2^scale with 2^E
    static int Cmp(BigInteger num, BigInteger den, int scale, int E)
    {
        int k = E - scale;
        return k >= 0 ? num.CompareTo(den << k) : (num << -k).CompareTo(den);
    }

    /// <summary>Rounds num/den*2^scale / 2^Q to an integer under rm.</summary>
    public static (BigInteger q, bool inexact) RoundAt(BigInteger num, BigInteger den, int scale, int Q, RoundingMode rm, bool neg)
    {
        int k = scale - Q;
        BigInteger n = k >= 0 ? num << k : num, d = k >= 0 ? den : den << -k;
        BigInteger q = BigInteger.DivRem(n, d, out BigInteger r);
        if (r.IsZero) return (q, false);
        int c = (r * 2).CompareTo(d);
        bool up = rm switch
        {
            RoundingMode.TowardZero => false,
            RoundingMode.Down => neg,
            RoundingMode.Up => !neg,
            RoundingMode.NearestMaxMagnitude => c >= 0,
            _ => c > 0 || (c == 0 && !q.IsEven),
        };
        return (up ? q + 1 : q, true);
    }

    static ulong NaNResult(Fmt f, ref FFlags flags, params ulong[] ops)
    {
        foreach (var o in ops) if (IsSNaN(f, o)) flags |= FFlags.Invalid;
        return f.QNaN;
    }

    static ulong ExactZero(Fmt f, RoundingMode rm) => rm == RoundingMode.Down ? f.SignBit : 0;

    /// <summary>Exact signed value as (integer, exponent).</summary>
    static (BigInteger v, int e) Val(Fmt f, ulong a)
    {
        var (m, e) = Decode(f, a);
        return (Neg(f, a) ? -m : m, e);
    }

    static ulong FromExact(Fmt f, BigInteger v, int e, RoundingMode rm, ref FFlags flags, bool zeroSignNeg)
    {
        if (v.IsZero) return zeroSignNeg ? f.SignBit : 0;
        return Round(f, v.Sign < 0, BigInteger.Abs(v), BigInteger.One, e, rm, ref flags);
    }

    public static ulong Add(Fmt f, ulong a, ulong b, RoundingMode rm, ref FFlags flags)
    {
        if (IsNaN(f, a) || IsNaN(f, b)) return NaNResult(f, ref flags, a, b);
        if (IsInf(f, a) && IsInf(f, b) && Neg(f, a) != Neg(f, b)) { flags |= FFlags.Invalid; return f.QNaN; }
        if (IsInf(f, a)) return a;
        if (IsInf(f, b)) return b;
        var (va, ea) = Val(f, a);
        var (vb, eb) = Val(f, b);
        int e = Math.Min(ea, eb);
        BigInteger s = (va << (ea - e)) + (vb << (eb - e));
        bool zeroNeg = IsZero(f, a) && IsZero(f, b) && Neg(f, a) == Neg(f, b) ? Neg(f, a) : rm == RoundingMode.Down;
        return FromExact(f, s, e, rm, ref flags, zeroNeg);
    }

    public static ulong Mul(Fmt f, ulong a, ulong b, RoundingMode rm, ref FFlags flags)
    {
        if (IsNaN(f, a) || IsNaN(f, b)) return NaNResult(f, ref flags, a, b);
        bool neg = Neg(f, a) != Neg(f, b);
        if ((IsInf(f, a) && IsZero(f, b)) || (IsInf(f, b) && IsZero(f, a))) { flags |= FFlags.Invalid; return f.QNaN; }
        if (IsInf(f, a) || IsInf(f, b)) return (neg ? f.SignBit : 0) | f.InfBits;
        var (ma, ea) = Decode(f, a);
        var (mb, eb) = Decode(f, b);
        BigInteger p = ma * mb;
        if (p.IsZero) return neg ? f.SignBit : 0;
        return Round(f, neg, p, BigInteger.One, ea + eb, rm, ref flags);
    }

    public static ulong Div(Fmt f, ulong a, ulong b, RoundingMode rm, ref FFlags flags)
    {
        if (IsNaN(f, a) || IsNaN(f, b)) return NaNResult(f, ref flags, a, b);
        bool neg = Neg(f, a) != Neg(f, b);
        ulong sign = neg ? f.SignBit : 0;
        if ((IsInf(f, a) && IsInf(f, b)) || (IsZero(f, a) && IsZero(f, b))) { flags |= FFlags.Invalid; return f.QNaN; }
        if (IsInf(f, a)) return sign | f.InfBits;
        if (IsInf(f, b)) return sign;
        if (IsZero(f, b)) { flags |= FFlags.DivideByZero; return sign | f.InfBits; }
        if (IsZero(f, a)) return sign;
        var (ma, ea) = Decode(f, a);
        var (mb, eb) = Decode(f, b);
        return Round(f, neg, ma, mb, ea - eb, rm, ref flags);
    }

    public static ulong Sqrt(Fmt f, ulong a, RoundingMode rm, ref FFlags flags)
    {
        if (IsNaN(f, a)) return NaNResult(f, ref flags, a);
        if (IsZero(f, a)) return a;
        if (Neg(f, a)) { flags |= FFlags.Invalid; return f.QNaN; }
        if (IsInf(f, a)) return a;
        var (m, e) = Decode(f, a);
        // scale to an even exponent with plenty of extra bits
        int k = 2 * f.P + 8;
        if (((e - k) & 1) != 0) k++;
        BigInteger n = m << k;
        int ee = e - k; // value = n * 2^ee, ee even
        BigInteger s = ISqrt(n);
        bool exact = s * s == n;
        // sqrt = (s + frac) * 2^(ee/2); encode as (2s + sticky)/2
        BigInteger num = 2 * s + (exact ? 0 : 1);
        return Round(f, false, num, 2, ee / 2, rm, ref flags);
    }

    public static BigInteger ISqrt(BigInteger n)
    {
        if (n.IsZero) return 0;
        BigInteger x = BigInteger.One << (int)((n.GetBitLength() + 1) / 2);
        while (true)
        {
            BigInteger y = (x + n / x) >> 1;
            if (y >= x) return x;
            x = y;
        }
    }

    public static ulong MulAdd(Fmt f, ulong a, ulong b, ulong c, RoundingMode rm, ref FFlags flags)
    {
        bool infTimesZero = (IsInf(f, a) && IsZero(f, b)) || (IsZero(f, a) && IsInf(f, b));
        if (infTimesZero) { NaNResult(f, ref flags, a, b, c); flags |= FFlags.Invalid; return f.QNaN; }
        if (IsNaN(f, a) || IsNaN(f, b) || IsNaN(f, c)) return NaNResult(f, ref flags, a, b, c);
        bool pneg = Neg(f, a) != Neg(f, b);
        if (IsInf(f, a) || IsInf(f, b))
        {
            if (IsInf(f, c) && Neg(f, c) != pneg) { flags |= FFlags.Invalid; return f.QNaN; }
            return (pneg ? f.SignBit : 0) | f.InfBits;
        }
        if (IsInf(f, c)) return c;
        var (ma, ea) = Decode(f, a);
        var (mb, eb) = Decode(f, b);
        var (vc, ec) = Val(f, c);
        BigInteger p = ma * mb;
        if (pneg) p = -p;
        int ep = ea + eb;
        int e = Math.Min(ep, ec);
        BigInteger s = (p << (ep - e)) + (vc << (ec - e));
        bool zeroNeg;
        if (p.IsZero && IsZero(f, c)) zeroNeg = pneg == Neg(f, c) ? pneg : rm == RoundingMode.Down;
        else zeroNeg = rm == RoundingMode.Down;
        return FromExact(f, s, e, rm, ref flags, zeroNeg);
    }

    public static ulong Convert(Fmt from, Fmt to, ulong a, RoundingMode rm, ref FFlags flags)
    {
        if (IsNaN(from, a)) return NaNResult(from, ref flags, a) == 0 ? 0 : to.QNaN;
        ulong sign = Neg(from, a) ? to.SignBit : 0;
        if (IsInf(from, a)) return sign | to.InfBits;
        if (IsZero(from, a)) return sign;
        var (m, e) = Decode(from, a);
        return Round(to, Neg(from, a), m, 1, e, rm, ref flags);
    }

    public static ulong FromInt(Fmt f, BigInteger v, RoundingMode rm, ref FFlags flags)
        => v.IsZero ? 0 : Round(f, v.Sign < 0, BigInteger.Abs(v), 1, 0, rm, ref flags);

    /// <summary>Float → integer of the given width/signedness with RISC-V saturation; returns the exact integer result.</summary>
    public static BigInteger ToInt(Fmt f, ulong a, bool signed, int bits, RoundingMode rm, ref FFlags flags)
    {
        BigInteger max = signed ? Pow2(bits - 1) - 1 : Pow2(bits) - 1;
        BigInteger min = signed ? -Pow2(bits - 1) : 0;
        if (IsNaN(f, a)) { flags |= FFlags.Invalid; return max; }
        if (IsInf(f, a)) { flags |= FFlags.Invalid; return Neg(f, a) ? min : max; }
        if (IsZero(f, a)) return 0;
        var (m, e) = Decode(f, a);
        bool neg = Neg(f, a);
        var (q, inexact) = RoundAt(m, 1, e, 0, rm, neg);
        BigInteger v = neg ? -q : q;
        if (v > max) { flags |= FFlags.Invalid; return max; }
        if (v < min) { flags |= FFlags.Invalid; return min; }
        if (inexact) flags |= FFlags.Inexact;
        return v;
    }
}
