using Isomorph.Riscv.Float;

namespace Isomorph.Tests.Float;

public class SoftFloatTests
{
    const ulong S64 = 0x8000_0000_0000_0000;
    const uint S32 = 0x8000_0000;
    const ulong One64 = 0x3FF0_0000_0000_0000, Two64 = 0x4000_0000_0000_0000, Inf64 = 0x7FF0_0000_0000_0000;
    const ulong SNaN64 = 0x7FF0_0000_0000_0001, QNaN64 = 0x7FF8_0000_0000_1234;
    const uint One32 = 0x3F80_0000, Inf32 = 0x7F80_0000, SNaN32 = 0x7F80_0001, QNaN32 = 0x7FC0_1234;

    static readonly RoundingMode[] Modes =
    {
        RoundingMode.NearestEven, RoundingMode.TowardZero, RoundingMode.Down, RoundingMode.Up, RoundingMode.NearestMaxMagnitude,
    };

    static string Describe(OracleOp op, RoundingMode rm, ulong a, ulong b, ulong c)
        => $"{op} rm={rm} a=0x{a:X} b=0x{b:X} c=0x{c:X}";

    [Fact]
    public void KnownCasesMatch()
    {
        foreach (var k in KnownCases.All)
        {
            var (r, f) = FloatDriver.Soft(k.Op, k.Rm, k.A, k.B, k.C);
            Assert.True(r == k.Result && f == k.Flags,
                $"{Describe(k.Op, k.Rm, k.A, k.B, k.C)}: got 0x{r:X} {f}, expected 0x{k.Result:X} {k.Flags}");
        }
    }

    [Fact]
    public void KnownCasesMatchReferenceModel()
    {
        foreach (var k in KnownCases.All)
        {
            var (r, f) = FloatDriver.Ref(k.Op, k.Rm, k.A, k.B, k.C);
            Assert.True(r == k.Result && f == k.Flags, $"reference model disagrees: {Describe(k.Op, k.Rm, k.A, k.B, k.C)}");
        }
    }

    /// <summary>Random edge-biased operands, every operation, all five modes, against the BigInteger reference.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void RandomAgainstReferenceModel(int seed)
    {
        var rng = new Random(seed);
        const int perOpAndMode = 1500;
        var failures = new List<string>();
        for (var op = (OracleOp)0; op < OracleOp.Count; op++)
            foreach (var rm in Modes)
                for (int i = 0; i < perOpAndMode; i++)
                {
                    var c = FloatDriver.RandomCase(rng, op, (uint)rm);
                    var (r, f) = FloatDriver.Soft(op, rm, c.A, c.B, c.C);
                    var (er, ef) = FloatDriver.Ref(op, rm, c.A, c.B, c.C);
                    if ((r != er || f != ef) && failures.Count < 20)
                        failures.Add($"{Describe(op, rm, c.A, c.B, c.C)}: got 0x{r:X} {f}, expected 0x{er:X} {ef}");
                }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    /// <summary>
    /// If a C compiler is available, compiles a host-FPU oracle (fesetround/fetestexcept) and compares
    /// random cases in the four x86 rounding modes. Silently passes when no compiler is present.
    /// </summary>
    [Fact]
    public void RandomAgainstHostFpuOracle()
    {
        string? exe = HostOracle.Build();
        if (exe == null) return;
        var rng = new Random(7);
        const int perOpAndMode = 40_000;
        var failures = new List<string>();
        long compared = 0;
        for (var op = (OracleOp)0; op < OracleOp.Count; op++)
            for (uint rm = 0; rm < 4; rm++)
            {
                var cases = new OracleIn[perOpAndMode];
                for (int i = 0; i < cases.Length; i++) cases[i] = FloatDriver.RandomCase(rng, op, rm);
                var host = HostOracle.Run(exe, cases);
                Assert.Equal(cases.Length, host.Length);
                for (int i = 0; i < cases.Length; i++)
                {
                    var c = cases[i];
                    var (r, f) = FloatDriver.Soft(op, (RoundingMode)rm, c.A, c.B, c.C);
                    ulong er = FloatDriver.NormaliseHost(op, host[i].Result);
                    FFlags ef = FloatDriver.ExpectedFromHost(c, host[i].Flags);
                    compared++;
                    if ((r != er || f != ef) && failures.Count < 20)
                        failures.Add($"{Describe(op, (RoundingMode)rm, c.A, c.B, c.C)}: got 0x{r:X} {f}, host 0x{er:X} {ef}");
                }
            }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.True(compared > 0);
    }

    [Fact]
    public void ExactZeroSigns()
    {
        foreach (var rm in Modes)
        {
            ulong z = rm == RoundingMode.Down ? S64 : 0;
            uint z32 = rm == RoundingMode.Down ? S32 : 0;
            FFlags f = 0;
            Assert.Equal(z, SoftFloat.Add(One64, One64 ^ S64, rm, ref f));
            Assert.Equal(z, SoftFloat.Sub(One64, One64, rm, ref f));
            Assert.Equal(z32, SoftFloat.Add(One32, One32 ^ S32, rm, ref f));
            Assert.Equal(z, SoftFloat.Add(0, S64, rm, ref f));
            Assert.Equal(S64, SoftFloat.Add(S64, S64, rm, ref f));
            Assert.Equal(0UL, SoftFloat.Add(0, 0, rm, ref f));
            // fma: 1*1 + (-1) = exact zero; fnmadd = (-a)*b + (-c)
            Assert.Equal(z, SoftFloat.MulAdd(One64, One64, One64 ^ S64, rm, ref f));
            Assert.Equal(z, SoftFloat.MulAdd(One64 ^ S64, One64, One64, rm, ref f));
            Assert.Equal(z32, SoftFloat.MulAdd(One32 ^ S32, One32, One32, rm, ref f));
            // zero product plus zero addend
            Assert.Equal(S64, SoftFloat.MulAdd(S64, One64, S64, rm, ref f));
            Assert.Equal(z, SoftFloat.MulAdd(S64, One64, 0, rm, ref f));
            Assert.Equal(0UL, SoftFloat.MulAdd(0, One64, 0, rm, ref f));
            Assert.Equal(FFlags.None, f);
        }
    }

    [Fact]
    public void FusedVariantsBySignFlips()
    {
        // a=3, b=5, c=2 → fmadd 17, fmsub 13, fnmsub -13, fnmadd -17
        ulong a = 0x4008_0000_0000_0000, b = 0x4014_0000_0000_0000, c = Two64;
        FFlags f = 0;
        Assert.Equal(17.0, BitConverter.UInt64BitsToDouble(SoftFloat.MulAdd(a, b, c, RoundingMode.NearestEven, ref f)));
        Assert.Equal(13.0, BitConverter.UInt64BitsToDouble(SoftFloat.MulAdd(a, b, c ^ S64, RoundingMode.NearestEven, ref f)));
        Assert.Equal(-13.0, BitConverter.UInt64BitsToDouble(SoftFloat.MulAdd(a ^ S64, b, c, RoundingMode.NearestEven, ref f)));
        Assert.Equal(-17.0, BitConverter.UInt64BitsToDouble(SoftFloat.MulAdd(a ^ S64, b, c ^ S64, RoundingMode.NearestEven, ref f)));
        Assert.Equal(FFlags.None, f);
        // single rounding: (1+2^-52)*(1-2^-52) - 1 = -2^-104 exactly
        f = 0;
        ulong r = SoftFloat.MulAdd(One64 + 1, 0x3FEF_FFFF_FFFF_FFFE, One64 ^ S64, RoundingMode.NearestEven, ref f);
        Assert.Equal(-Math.ScaleB(1, -104), BitConverter.UInt64BitsToDouble(r));
        Assert.Equal(FFlags.None, f);
    }

    [Fact]
    public void FmaInfinityTimesZeroIsInvalidEvenWithQuietNaNAddend()
    {
        FFlags f = 0;
        Assert.Equal(SoftFloat.CanonicalNaN64, SoftFloat.MulAdd(Inf64, 0, QNaN64, RoundingMode.NearestEven, ref f));
        Assert.Equal(FFlags.Invalid, f);
        f = 0;
        Assert.Equal(SoftFloat.CanonicalNaN32, SoftFloat.MulAdd(0u, Inf32, QNaN32, RoundingMode.NearestEven, ref f));
        Assert.Equal(FFlags.Invalid, f);
        f = 0;
        Assert.Equal(SoftFloat.CanonicalNaN64, SoftFloat.MulAdd(One64, QNaN64, One64, RoundingMode.NearestEven, ref f));
        Assert.Equal(FFlags.None, f);
        Assert.Equal(SoftFloat.CanonicalNaN64, SoftFloat.MulAdd(One64, One64, SNaN64, RoundingMode.NearestEven, ref f));
        Assert.Equal(FFlags.Invalid, f);
    }

    [Fact]
    public void TininessIsDetectedAfterRounding()
    {
        // 2^-1022 * (1 - 2^-53): exactly representable with unbounded exponent (tiny), ties up to 2^-1022 → UF|NX
        FFlags f = 0;
        ulong r = SoftFloat.Mul(0x0010_0000_0000_0000, 0x3FEF_FFFF_FFFF_FFFF, RoundingMode.NearestEven, ref f);
        Assert.Equal(0x0010_0000_0000_0000UL, r);
        Assert.Equal(FFlags.Inexact | FFlags.Underflow, f);
        // largest subnormal * (1 + 2^-52) = 2^-1022 * (1 - 2^-104): rounds (unbounded exponent) to 2^-1022 → not tiny → NX only
        f = 0;
        r = SoftFloat.Mul(0x000F_FFFF_FFFF_FFFF, 0x3FF0_0000_0000_0001, RoundingMode.NearestEven, ref f);
        Assert.Equal(0x0010_0000_0000_0000UL, r);
        Assert.Equal(FFlags.Inexact, f);
        // exact subnormal result: no flags
        f = 0;
        Assert.Equal(1UL, SoftFloat.Mul(2, 0x3FE0_0000_0000_0000, RoundingMode.NearestEven, ref f));
        Assert.Equal(FFlags.None, f);
    }

    [Fact]
    public void OverflowFollowsRoundingMode()
    {
        ulong max = 0x7FEF_FFFF_FFFF_FFFF;
        (RoundingMode rm, ulong pos, ulong neg)[] expect =
        {
            (RoundingMode.NearestEven, Inf64, Inf64 | S64),
            (RoundingMode.TowardZero, max, max | S64),
            (RoundingMode.Down, max, Inf64 | S64),
            (RoundingMode.Up, Inf64, max | S64),
            (RoundingMode.NearestMaxMagnitude, Inf64, Inf64 | S64),
        };
        foreach (var (rm, pos, neg) in expect)
        {
            FFlags f = 0;
            Assert.Equal(pos, SoftFloat.Mul(max, Two64, rm, ref f));
            Assert.Equal(FFlags.Overflow | FFlags.Inexact, f);
            f = 0;
            Assert.Equal(neg, SoftFloat.Mul(max | S64, Two64, rm, ref f));
            Assert.Equal(FFlags.Overflow | FFlags.Inexact, f);
        }
    }

    [Fact]
    public void RoundToNearestMaxMagnitudeTies()
    {
        FFlags f = 0;
        // 1 + 2^-53 is a tie: RNE → 1, RMM → 1 + 2^-52
        Assert.Equal(One64, SoftFloat.Add(One64, 0x3CA0_0000_0000_0000, RoundingMode.NearestEven, ref f));
        Assert.Equal(One64 + 1, SoftFloat.Add(One64, 0x3CA0_0000_0000_0000, RoundingMode.NearestMaxMagnitude, ref f));
        Assert.Equal((One64 + 1) | S64, SoftFloat.Add(One64 | S64, 0xBCA0_0000_0000_0000, RoundingMode.NearestMaxMagnitude, ref f));
        Assert.Equal(FFlags.Inexact, f);
        f = 0;
        Assert.Equal(3, SoftFloat.F64ToI32(0x4004_0000_0000_0000, RoundingMode.NearestMaxMagnitude, ref f)); // 2.5 → 3
        Assert.Equal(2, SoftFloat.F64ToI32(0x4004_0000_0000_0000, RoundingMode.NearestEven, ref f));         // 2.5 → 2
        Assert.Equal(-3, SoftFloat.F64ToI32(0xC004_0000_0000_0000, RoundingMode.NearestMaxMagnitude, ref f));
        Assert.Equal(FFlags.Inexact, f);
    }

    [Fact]
    public void NaNResultsAreCanonical()
    {
        FFlags f = 0;
        Assert.Equal(SoftFloat.CanonicalNaN64, SoftFloat.Add(QNaN64 | S64, One64, RoundingMode.NearestEven, ref f));
        Assert.Equal(FFlags.None, f);
        Assert.Equal(SoftFloat.CanonicalNaN64, SoftFloat.Sqrt(One64 | S64, RoundingMode.NearestEven, ref f));
        Assert.Equal(FFlags.Invalid, f);
        f = 0;
        Assert.Equal(SoftFloat.CanonicalNaN32, SoftFloat.F64ToF32(QNaN64, RoundingMode.NearestEven, ref f));
        Assert.Equal(FFlags.None, f);
        Assert.Equal(SoftFloat.CanonicalNaN64, SoftFloat.F32ToF64(SNaN32, ref f));
        Assert.Equal(FFlags.Invalid, f);
        f = 0;
        Assert.Equal(S64, SoftFloat.Sqrt(S64, RoundingMode.NearestEven, ref f)); // sqrt(-0) = -0
        Assert.Equal(Inf64 | S64, SoftFloat.Div(One64 | S64, 0, RoundingMode.NearestEven, ref f));
        Assert.Equal(FFlags.DivideByZero, f);
    }

    [Fact]
    public void Comparisons()
    {
        FFlags f = 0;
        Assert.True(SoftFloat.Eq(0UL, S64, ref f));
        Assert.False(SoftFloat.Lt(S64, 0UL, ref f));
        Assert.True(SoftFloat.Le(S64, 0UL, ref f));
        Assert.True(SoftFloat.Lt(One64 | S64, S64, ref f));
        Assert.True(SoftFloat.Lt(Two64 | S64, One64 | S64, ref f));
        Assert.True(SoftFloat.Lt(0x7FEF_FFFF_FFFF_FFFFUL, Inf64, ref f));
        Assert.False(SoftFloat.Lt(One32, One32, ref f));
        Assert.True(SoftFloat.Le(One32, One32, ref f));
        Assert.Equal(FFlags.None, f);
        Assert.False(SoftFloat.Eq(QNaN64, QNaN64, ref f));
        Assert.Equal(FFlags.None, f);
        Assert.False(SoftFloat.Eq(SNaN64, One64, ref f));
        Assert.Equal(FFlags.Invalid, f);
        f = 0;
        Assert.False(SoftFloat.Lt(QNaN32, One32, ref f));
        Assert.Equal(FFlags.Invalid, f);
        f = 0;
        Assert.False(SoftFloat.Le(One64, QNaN64, ref f));
        Assert.Equal(FFlags.Invalid, f);
    }

    [Fact]
    public void ComparisonsAgreeWithHostOrdering()
    {
        var rng = new Random(3);
        for (int i = 0; i < 200_000; i++)
        {
            ulong a = FloatDriver.RandomF64(rng), b = rng.Next(2) == 0 ? FloatDriver.Related(rng, RefFloat.F64, a) : FloatDriver.RandomF64(rng);
            double x = BitConverter.UInt64BitsToDouble(a), y = BitConverter.UInt64BitsToDouble(b);
            bool anyNaN = double.IsNaN(x) || double.IsNaN(y);
            bool anySNaN = RefFloat.IsSNaN(RefFloat.F64, a) || RefFloat.IsSNaN(RefFloat.F64, b);
            FFlags f = 0;
            Assert.Equal(x == y, SoftFloat.Eq(a, b, ref f));
            Assert.Equal(anySNaN ? FFlags.Invalid : FFlags.None, f);
            f = 0;
            Assert.Equal(x < y, SoftFloat.Lt(a, b, ref f));
            Assert.Equal(x <= y, SoftFloat.Le(a, b, ref f));
            Assert.Equal(anyNaN ? FFlags.Invalid : FFlags.None, f);

            uint a32 = FloatDriver.RandomF32(rng), b32 = rng.Next(2) == 0 ? (uint)FloatDriver.Related(rng, RefFloat.F32, a32) : FloatDriver.RandomF32(rng);
            float x32 = BitConverter.UInt32BitsToSingle(a32), y32 = BitConverter.UInt32BitsToSingle(b32);
            f = 0;
            Assert.Equal(x32 == y32, SoftFloat.Eq(a32, b32, ref f));
            Assert.Equal(x32 < y32, SoftFloat.Lt(a32, b32, ref f));
            Assert.Equal(x32 <= y32, SoftFloat.Le(a32, b32, ref f));

            // min/max: RISC-V 2.2 (IEEE 754-2019 minimumNumber/maximumNumber with -0 < +0)
            f = 0;
            ulong mn = SoftFloat.Min(a, b, ref f), mx = SoftFloat.Max(a, b, ref f);
            Assert.Equal(anySNaN ? FFlags.Invalid : FFlags.None, f);
            if (double.IsNaN(x) && double.IsNaN(y)) { Assert.Equal(SoftFloat.CanonicalNaN64, mn); Assert.Equal(SoftFloat.CanonicalNaN64, mx); }
            else if (double.IsNaN(x)) { Assert.Equal(b, mn); Assert.Equal(b, mx); }
            else if (double.IsNaN(y)) { Assert.Equal(a, mn); Assert.Equal(a, mx); }
            else
            {
                bool aLess = x < y || (x == y && (a & S64) != 0 && (b & S64) == 0);
                Assert.Equal(aLess ? a : b, mn);
                Assert.Equal(aLess ? b : a, mx);
                Assert.Equal(BitConverter.DoubleToUInt64Bits(Math.Min(x, y)), mn);
                Assert.Equal(BitConverter.DoubleToUInt64Bits(Math.Max(x, y)), mx);
            }
        }
    }

    [Fact]
    public void MinMaxSpecialCases()
    {
        FFlags f = 0;
        Assert.Equal(S64, SoftFloat.Min(0UL, S64, ref f));
        Assert.Equal(0UL, SoftFloat.Max(S64, 0UL, ref f));
        Assert.Equal(One64, SoftFloat.Min(QNaN64, One64, ref f));
        Assert.Equal(One32, SoftFloat.Max(One32, QNaN32, ref f));
        Assert.Equal(FFlags.None, f);
        Assert.Equal(One64, SoftFloat.Max(SNaN64, One64, ref f));
        Assert.Equal(FFlags.Invalid, f);
        f = 0;
        Assert.Equal(SoftFloat.CanonicalNaN32, SoftFloat.Min(QNaN32, QNaN32 | S32, ref f));
        Assert.Equal(FFlags.None, f);
    }

    [Fact]
    public void Classify()
    {
        Assert.Equal(1u << 0, SoftFloat.Classify(Inf64 | S64));
        Assert.Equal(1u << 1, SoftFloat.Classify(One64 | S64));
        Assert.Equal(1u << 2, SoftFloat.Classify(1UL | S64));
        Assert.Equal(1u << 3, SoftFloat.Classify(S64));
        Assert.Equal(1u << 4, SoftFloat.Classify(0UL));
        Assert.Equal(1u << 5, SoftFloat.Classify(0x000F_FFFF_FFFF_FFFFUL));
        Assert.Equal(1u << 6, SoftFloat.Classify(0x0010_0000_0000_0000UL));
        Assert.Equal(1u << 7, SoftFloat.Classify(Inf64));
        Assert.Equal(1u << 8, SoftFloat.Classify(SNaN64 | S64));
        Assert.Equal(1u << 9, SoftFloat.Classify(QNaN64));
        Assert.Equal(1u << 0, SoftFloat.Classify(Inf32 | S32));
        Assert.Equal(1u << 2, SoftFloat.Classify(0x807F_FFFFu));
        Assert.Equal(1u << 3, SoftFloat.Classify(S32));
        Assert.Equal(1u << 6, SoftFloat.Classify(One32));
        Assert.Equal(1u << 8, SoftFloat.Classify(SNaN32));
        Assert.Equal(1u << 9, SoftFloat.Classify(0x7FC0_0000u));
    }

    [Fact]
    public void IntegerConversionSaturation()
    {
        FFlags f = 0;
        var rne = RoundingMode.NearestEven;
        Assert.Equal(int.MaxValue, SoftFloat.F64ToI32(QNaN64 | S64, rne, ref f));
        Assert.Equal(FFlags.Invalid, f);
        f = 0;
        Assert.Equal(int.MinValue, SoftFloat.F64ToI32(Inf64 | S64, rne, ref f));
        Assert.Equal(uint.MaxValue, SoftFloat.F64ToU32(Inf64, rne, ref f));
        Assert.Equal(0u, SoftFloat.F64ToU32(One64 | S64, rne, ref f));
        Assert.Equal(ulong.MaxValue, SoftFloat.F32ToU64(SNaN32, rne, ref f));
        Assert.Equal(long.MaxValue, SoftFloat.F64ToI64(0x43E0_0000_0000_0000, rne, ref f)); // 2^63
        Assert.Equal(FFlags.Invalid, f);
        f = 0;
        Assert.Equal(long.MinValue, SoftFloat.F64ToI64(0xC3E0_0000_0000_0000, rne, ref f));  // -2^63 exact
        Assert.Equal(0x8000_0000_0000_0000UL, SoftFloat.F64ToU64(0x43E0_0000_0000_0000, rne, ref f));
        Assert.Equal(FFlags.None, f);
        // negative values that round to zero are merely inexact for unsigned targets
        Assert.Equal(0u, SoftFloat.F64ToU32(0xBFE0_0000_0000_0000, rne, ref f));          // -0.5 → -0
        Assert.Equal(0UL, SoftFloat.F32ToU64(0xBE99_999Au, RoundingMode.TowardZero, ref f)); // -0.3
        Assert.Equal(FFlags.Inexact, f);
        f = 0;
        Assert.Equal(0u, SoftFloat.F64ToU32(0xBFE0_0000_0000_0000, RoundingMode.Down, ref f)); // -0.5 → -1: invalid
        Assert.Equal(FFlags.Invalid, f);
        f = 0;
        // 2^31 - 0.5 rounds to 2^31 under RNE → out of range; RTZ → 2^31 - 1 inexact
        Assert.Equal(int.MaxValue, SoftFloat.F64ToI32(0x41DF_FFFF_FFE0_0000, rne, ref f));
        Assert.Equal(FFlags.Invalid, f);
        f = 0;
        Assert.Equal(int.MaxValue, SoftFloat.F64ToI32(0x41DF_FFFF_FFE0_0000, RoundingMode.TowardZero, ref f));
        Assert.Equal(FFlags.Inexact, f);
    }

    [Fact]
    public void IntegerToFloat()
    {
        FFlags f = 0;
        Assert.Equal(0xC3E0_0000_0000_0000UL, SoftFloat.I64ToF64(long.MinValue, RoundingMode.NearestEven, ref f));
        Assert.Equal(0x43F0_0000_0000_0000UL, SoftFloat.U64ToF64(ulong.MaxValue, RoundingMode.NearestEven, ref f));
        Assert.Equal(FFlags.Inexact, f);
        f = 0;
        Assert.Equal(0x43EF_FFFF_FFFF_FFFFUL, SoftFloat.U64ToF64(ulong.MaxValue, RoundingMode.TowardZero, ref f));
        Assert.Equal(0xC1E0_0000_0000_0000UL, SoftFloat.I32ToF64(int.MinValue, RoundingMode.NearestEven, ref f));
        Assert.Equal(0x4F80_0000u, SoftFloat.U32ToF32(uint.MaxValue, RoundingMode.NearestEven, ref f));
        Assert.Equal(0x4F7F_FFFFu, SoftFloat.U32ToF32(uint.MaxValue, RoundingMode.Down, ref f));
        Assert.Equal(0u, SoftFloat.I32ToF32(0, RoundingMode.Down, ref f));
    }
}
