using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Isomorph.Tests.Float;

/// <summary>Operations understood by the host C oracle (and the comparison drivers).</summary>
public enum OracleOp : uint
{
    Add64, Sub64, Mul64, Div64, Sqrt64, Fma64,
    Add32, Sub32, Mul32, Div32, Sqrt32, Fma32,
    F64ToF32, F32ToF64,
    I64ToF64, U64ToF64, I64ToF32, U64ToF32, I32ToF32, U32ToF32, I32ToF64, U32ToF64,
    F64ToI32, F64ToU32, F64ToI64, F64ToU64,
    F32ToI32, F32ToU32, F32ToI64, F32ToU64,
    Count,
}

[StructLayout(LayoutKind.Sequential)]
public struct OracleIn
{
    public uint Op, Rm;
    public ulong A, B, C;
}

[StructLayout(LayoutKind.Sequential)]
public struct OracleOut
{
    public ulong Result, Flags;
}

/// <summary>
/// Independent oracle: the x86-64 (or any C99 IEEE) host FPU driven from C with fesetround/fetestexcept.
/// Supports rounding modes 0..3 only (RNE, RTZ, RDN, RUP). NaN payloads are host-specific: compare
/// NaN results by class only. Integer conversions use rint() under the mode plus the RISC-V saturation table.
/// </summary>
public static class HostOracle
{
    public const string CSource = """
        #include <fenv.h>
        #include <math.h>
        #include <stdint.h>
        #include <stdio.h>
        #include <string.h>
        #pragma STDC FENV_ACCESS ON
        typedef struct { uint32_t op, rm; uint64_t a, b, c; } in_t;
        typedef struct { uint64_t r, f; } out_t;
        static double D(uint64_t x) { double d; memcpy(&d, &x, 8); return d; }
        static float F(uint64_t x) { float f; uint32_t u = (uint32_t)x; memcpy(&f, &u, 4); return f; }
        static uint64_t BD(double d) { uint64_t x; memcpy(&x, &d, 8); return x; }
        static uint64_t BF(float f) { uint32_t x; memcpy(&x, &f, 4); return x; }
        static const int modes[4] = { FE_TONEAREST, FE_TOWARDZERO, FE_DOWNWARD, FE_UPWARD };
        static uint64_t toint(double x, double r, int sgn, int bits, uint64_t *fl) {
            /* r = rint(x) under the current mode; apply RISC-V saturation */
            double lo = sgn ? -ldexp(1.0, bits - 1) : 0.0;
            double hiex = sgn ? ldexp(1.0, bits - 1) : ldexp(1.0, bits); /* exclusive */
            uint64_t maxv = sgn ? ((1ULL << (bits - 1)) - 1) : (bits == 64 ? ~0ULL : ((1ULL << bits) - 1));
            uint64_t minv = sgn ? (uint64_t)(-(int64_t)((bits == 64) ? (1ULL << 63) : (1ULL << (bits - 1)))) : 0;
            if (isnan(x)) { *fl = 16; return maxv; }
            if (r < lo) { *fl = 16; return minv; }
            if (r >= hiex) { *fl = 16; return maxv; }
            *fl = (r != x) ? 1 : 0;
            if (sgn) return (uint64_t)(int64_t)r;
            return r >= 9223372036854775808.0 ? ((uint64_t)(int64_t)(r - 9223372036854775808.0)) + (1ULL << 63) : (uint64_t)(int64_t)r;
        }
        int main(void) {
            in_t in; out_t o;
            setvbuf(stdout, NULL, _IOFBF, 1 << 16);
            while (fread(&in, sizeof in, 1, stdin) == 1) {
                volatile double da = D(in.a), db = D(in.b), dc = D(in.c);
                volatile float fa = F(in.a), fb = F(in.b), fc = F(in.c);
                volatile double dr; volatile float fr;
                uint64_t r = 0, convfl = 0; int conv = 0;
                fesetround(modes[in.rm & 3]);
                feclearexcept(FE_ALL_EXCEPT);
                switch (in.op) {
                case 0: dr = da + db; r = BD(dr); break;
                case 1: dr = da - db; r = BD(dr); break;
                case 2: dr = da * db; r = BD(dr); break;
                case 3: dr = da / db; r = BD(dr); break;
                case 4: dr = sqrt(da); r = BD(dr); break;
                case 5: dr = fma(da, db, dc); r = BD(dr); break;
                case 6: fr = fa + fb; r = BF(fr); break;
                case 7: fr = fa - fb; r = BF(fr); break;
                case 8: fr = fa * fb; r = BF(fr); break;
                case 9: fr = fa / fb; r = BF(fr); break;
                case 10: fr = sqrtf(fa); r = BF(fr); break;
                case 11: fr = fmaf(fa, fb, fc); r = BF(fr); break;
                case 12: fr = (float)da; r = BF(fr); break;
                case 13: dr = (double)fa; r = BD(dr); break;
                case 14: { volatile int64_t v = (int64_t)in.a; dr = (double)v; r = BD(dr); break; }
                case 15: { volatile uint64_t v = in.a; dr = (double)v; r = BD(dr); break; }
                case 16: { volatile int64_t v = (int64_t)in.a; fr = (float)v; r = BF(fr); break; }
                case 17: { volatile uint64_t v = in.a; fr = (float)v; r = BF(fr); break; }
                case 18: { volatile int32_t v = (int32_t)in.a; fr = (float)v; r = BF(fr); break; }
                case 19: { volatile uint32_t v = (uint32_t)in.a; fr = (float)v; r = BF(fr); break; }
                case 20: { volatile int32_t v = (int32_t)in.a; dr = (double)v; r = BD(dr); break; }
                case 21: { volatile uint32_t v = (uint32_t)in.a; dr = (double)v; r = BD(dr); break; }
                case 22: dr = rint(da); r = toint(da, dr, 1, 32, &convfl); conv = 1; break;
                case 23: dr = rint(da); r = toint(da, dr, 0, 32, &convfl); conv = 1; break;
                case 24: dr = rint(da); r = toint(da, dr, 1, 64, &convfl); conv = 1; break;
                case 25: dr = rint(da); r = toint(da, dr, 0, 64, &convfl); conv = 1; break;
                case 26: fr = rintf(fa); r = toint(fa, fr, 1, 32, &convfl); conv = 1; break;
                case 27: fr = rintf(fa); r = toint(fa, fr, 0, 32, &convfl); conv = 1; break;
                case 28: fr = rintf(fa); r = toint(fa, fr, 1, 64, &convfl); conv = 1; break;
                case 29: fr = rintf(fa); r = toint(fa, fr, 0, 64, &convfl); conv = 1; break;
                }
                int e = fetestexcept(FE_ALL_EXCEPT);
                fesetround(FE_TONEAREST);
                o.r = r;
                if (conv) o.f = convfl;
                else o.f = ((e & FE_INEXACT) ? 1 : 0) | ((e & FE_UNDERFLOW) ? 2 : 0) | ((e & FE_OVERFLOW) ? 4 : 0)
                         | ((e & FE_DIVBYZERO) ? 8 : 0) | ((e & FE_INVALID) ? 16 : 0);
                fwrite(&o, sizeof o, 1, stdout);
            }
            return 0;
        }
        """;

    static string? _exe;
    static readonly object Gate = new();

    /// <summary>Compiles the oracle with the host gcc/cc; null if no compiler is available.</summary>
    public static string? Build()
    {
        lock (Gate)
        {
            if (_exe != null) return _exe;
            string dir = Path.Combine(Path.GetTempPath(), "isomorph-fp-oracle-" + Environment.ProcessId);
            Directory.CreateDirectory(dir);
            string src = Path.Combine(dir, "oracle.c"), exe = Path.Combine(dir, "oracle");
            File.WriteAllText(src, CSource);
            foreach (var cc in new[] { "gcc", "cc", "clang" })
            {
                try
                {
                    var psi = new ProcessStartInfo(cc, $"-O1 -frounding-math -fno-builtin -o \"{exe}\" \"{src}\" -lm")
                    { RedirectStandardError = true, RedirectStandardOutput = true };
                    using var p = Process.Start(psi)!;
                    p.StandardOutput.ReadToEnd(); p.StandardError.ReadToEnd();
                    p.WaitForExit();
                    if (p.ExitCode == 0 && File.Exists(exe)) return _exe = exe;
                }
                catch (System.ComponentModel.Win32Exception) { }
            }
            return null;
        }
    }

    /// <summary>Runs a batch through the host oracle.</summary>
    public static OracleOut[] Run(string exe, ReadOnlySpan<OracleIn> inputs)
    {
        string dir = Path.GetDirectoryName(exe)!;
        string inFile = Path.Combine(dir, $"in-{Guid.NewGuid():N}.bin"), outFile = inFile + ".out";
        File.WriteAllBytes(inFile, MemoryMarshal.AsBytes(inputs).ToArray());
        try
        {
            var psi = new ProcessStartInfo("/bin/sh", $"-c \"'{exe}' < '{inFile}' > '{outFile}'\"");
            using (var p = Process.Start(psi)!) p.WaitForExit();
            byte[] bytes = File.ReadAllBytes(outFile);
            return MemoryMarshal.Cast<byte, OracleOut>(bytes).ToArray();
        }
        finally
        {
            File.Delete(inFile);
            File.Delete(outFile);
        }
    }
}
