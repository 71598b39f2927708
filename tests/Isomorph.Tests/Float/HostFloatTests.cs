using Isomorph.Riscv.Float;

namespace Isomorph.Tests.Float;

/// <summary>
/// The F and D semantics use the host's FPU where <see cref="HostFloat"/> says its result is the
/// soft-float's (RNE, NX already accrued, finite operands, a finite result above the smallest
/// normal). Every case the rules accept must give soft-float's value and no flag but NX.
/// </summary>
public class HostFloatTests
{
    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    public void WhereTheRulesAcceptTheHostResultIsTheSoftFloatResult(int seed)
    {
        var rng = new Random(seed);
        var failures = new List<string>();
        OracleOp[] ops = [OracleOp.Add64, OracleOp.Sub64, OracleOp.Mul64, OracleOp.Div64, OracleOp.Sqrt64, OracleOp.Fma64,
            OracleOp.Add32, OracleOp.Sub32, OracleOp.Mul32, OracleOp.Div32, OracleOp.Sqrt32, OracleOp.Fma32];
        foreach (var op in ops)
        {
            int accepted = 0, refused = 0;
            for (int n = 0; n < 20_000; n++)
            {
                var c = FloatDriver.RandomCase(rng, op, (uint)RoundingMode.NearestEven);
                if (!Host(op, c.A, c.B, c.C, out ulong host))
                {
                    refused++;
                    continue;
                }
                accepted++;
                var (soft, flags) = FloatDriver.Soft(op, RoundingMode.NearestEven, c.A, c.B, c.C);
                if ((soft != host || (flags & ~FFlags.Inexact) != 0) && failures.Count < 20)
                    failures.Add($"{op} a=0x{c.A:X} b=0x{c.B:X} c=0x{c.C:X}: host 0x{host:X}, soft-float 0x{soft:X} {flags}");
            }
            // The edge-biased operands exercise both sides of the rules.
            Assert.True(accepted > 1000 && refused > 100, $"{op}: {accepted} accepted, {refused} refused");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    /// <summary>The host's result, when the rules accept it (as the semantics apply them).</summary>
    private static bool Host(OracleOp op, ulong a, ulong b, ulong c, out ulong result)
    {
        result = 0;
        bool wide = op <= OracleOp.Fma64;
        bool unary = op is OracleOp.Sqrt64 or OracleOp.Sqrt32, fused = op is OracleOp.Fma64 or OracleOp.Fma32;
        if (wide)
        {
            if (!HostFloat.Finite(a) || (!unary && !HostFloat.Finite(b)) || (fused && !HostFloat.Finite(c))) return false;
            double x = BitConverter.UInt64BitsToDouble(a), y = BitConverter.UInt64BitsToDouble(b), z = BitConverter.UInt64BitsToDouble(c);
            double r = op switch
            {
                OracleOp.Add64 => HostFloat.Add(x, y),
                OracleOp.Sub64 => HostFloat.Sub(x, y),
                OracleOp.Mul64 => HostFloat.Mul(x, y),
                OracleOp.Div64 => HostFloat.Div(x, y),
                OracleOp.Sqrt64 => Math.Sqrt(x),
                _ => Math.FusedMultiplyAdd(x, y, z),
            };
            result = BitConverter.DoubleToUInt64Bits(r);
            return HostFloat.Safe(r);
        }
        uint a32 = (uint)a, b32 = (uint)b, c32 = (uint)c;
        if (!HostFloat.Finite(a32) || (!unary && !HostFloat.Finite(b32)) || (fused && !HostFloat.Finite(c32))) return false;
        float p = BitConverter.UInt32BitsToSingle(a32), q = BitConverter.UInt32BitsToSingle(b32), s = BitConverter.UInt32BitsToSingle(c32);
        float f = op switch
        {
            OracleOp.Add32 => HostFloat.Add(p, q),
            OracleOp.Sub32 => HostFloat.Sub(p, q),
            OracleOp.Mul32 => HostFloat.Mul(p, q),
            OracleOp.Div32 => HostFloat.Div(p, q),
            OracleOp.Sqrt32 => MathF.Sqrt(p),
            _ => MathF.FusedMultiplyAdd(p, q, s),
        };
        result = BitConverter.SingleToUInt32Bits(f);
        return HostFloat.Safe(f);
    }
}
