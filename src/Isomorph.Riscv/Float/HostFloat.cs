using System.Runtime.CompilerServices;

namespace Isomorph.Riscv.Float;

/// <summary>
/// Where the host's FPU gives exactly what <see cref="SoftFloat"/> gives, and may be used instead.
/// </summary>
/// <remarks>
/// IEEE 754 defines one correctly rounded result for +, -, *, /, sqrt and fused multiply-add, and
/// the host computes it (.NET leaves the x86 and Arm FPUs in round-to-nearest-even, with neither
/// flush-to-zero nor denormals-are-zero). What the host does not give is RISC-V's NaNs (canonical)
/// and the exception flags. So the host is used only when nothing but the value is at stake:
/// <list type="bullet">
/// <item>the rounding mode is RNE;</item>
/// <item>fflags already holds NX, so whether this operation is inexact changes nothing;</item>
/// <item>every operand is finite (no NaN, no infinity: no invalid operation from + - * or FMA);</item>
/// <item>the result is finite and larger in magnitude than the smallest normal number, so it did
/// not overflow, divide by zero, become invalid (0/0, sqrt of a negative are NaN) or underflow
/// (RISC-V detects tininess after rounding; above the smallest normal the exact result was not
/// tiny either).</item>
/// </list>
/// Otherwise the caller computes with <see cref="SoftFloat"/>, which also sets the flags. Programs
/// that compute with floating point set NX at their first inexact operation, so after that
/// nearly every operation takes the host's path.
/// </remarks>
public static class HostFloat
{
    private const double MinNormal64 = 2.2250738585072014E-308; // 2^-1022
    private const float MinNormal32 = 1.17549435E-38f;          // 2^-126

    /// <summary>True when the flags and rounding mode allow the host's result (see the remarks).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Allowed(uint fflags, RoundingMode rm) => rm == RoundingMode.NearestEven && (fflags & (uint)FFlags.Inexact) != 0;

    /// <summary>True for a finite binary64 (not NaN, not infinite).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Finite(ulong bits) => (bits & 0x7FF0_0000_0000_0000) != 0x7FF0_0000_0000_0000;

    /// <summary>True for a finite binary32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Finite(uint bits) => (bits & 0x7F80_0000) != 0x7F80_0000;

    /// <summary>True when <paramref name="r"/> is finite and above the smallest normal in magnitude (NaN is not).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Safe(double r)
    {
        double m = Math.Abs(r);
        return m > MinNormal64 && m <= double.MaxValue;
    }

    /// <summary>True when <paramref name="r"/> is finite and above the smallest normal in magnitude (NaN is not).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Safe(float r)
    {
        float m = MathF.Abs(r);
        return m > MinNormal32 && m <= float.MaxValue;
    }

    // The operations, for the semantics' function pointers.
    public static double Add(double a, double b) => a + b;
    public static double Sub(double a, double b) => a - b;
    public static double Mul(double a, double b) => a * b;
    public static double Div(double a, double b) => a / b;
    public static float Add(float a, float b) => a + b;
    public static float Sub(float a, float b) => a - b;
    public static float Mul(float a, float b) => a * b;
    public static float Div(float a, float b) => a / b;
}
