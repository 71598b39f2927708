namespace Isomorph.Riscv.Float;

// Conversions. Float→integer results saturate per the RISC-V table (NaN → largest positive) and raise
// Invalid instead of Inexact when out of range. 32-bit results are returned as 32-bit values; the
// caller sign-extends them into the destination register (also for the unsigned variants).
public static partial class SoftFloat
{
    public static int F64ToI32(ulong a, RoundingMode rm, ref FFlags flags) => (int)ToIntG<Binary64>(a, rm, ref flags, true, 32);
    public static uint F64ToU32(ulong a, RoundingMode rm, ref FFlags flags) => (uint)ToIntG<Binary64>(a, rm, ref flags, false, 32);
    public static long F64ToI64(ulong a, RoundingMode rm, ref FFlags flags) => (long)ToIntG<Binary64>(a, rm, ref flags, true, 64);
    public static ulong F64ToU64(ulong a, RoundingMode rm, ref FFlags flags) => ToIntG<Binary64>(a, rm, ref flags, false, 64);

    public static int F32ToI32(uint a, RoundingMode rm, ref FFlags flags) => (int)ToIntG<Binary32>(a, rm, ref flags, true, 32);
    public static uint F32ToU32(uint a, RoundingMode rm, ref FFlags flags) => (uint)ToIntG<Binary32>(a, rm, ref flags, false, 32);
    public static long F32ToI64(uint a, RoundingMode rm, ref FFlags flags) => (long)ToIntG<Binary32>(a, rm, ref flags, true, 64);
    public static ulong F32ToU64(uint a, RoundingMode rm, ref FFlags flags) => ToIntG<Binary32>(a, rm, ref flags, false, 64);

    public static ulong I32ToF64(int a, RoundingMode rm, ref FFlags flags)
        => FromIntG<Binary64>(a < 0, (ulong)Math.Abs((long)a), rm, ref flags);
    public static ulong U32ToF64(uint a, RoundingMode rm, ref FFlags flags)
        => FromIntG<Binary64>(false, a, rm, ref flags);
    public static ulong I64ToF64(long a, RoundingMode rm, ref FFlags flags)
        => FromIntG<Binary64>(a < 0, a < 0 ? unchecked(0UL - (ulong)a) : (ulong)a, rm, ref flags);
    public static ulong U64ToF64(ulong a, RoundingMode rm, ref FFlags flags)
        => FromIntG<Binary64>(false, a, rm, ref flags);

    public static uint I32ToF32(int a, RoundingMode rm, ref FFlags flags)
        => (uint)FromIntG<Binary32>(a < 0, (ulong)Math.Abs((long)a), rm, ref flags);
    public static uint U32ToF32(uint a, RoundingMode rm, ref FFlags flags)
        => (uint)FromIntG<Binary32>(false, a, rm, ref flags);
    public static uint I64ToF32(long a, RoundingMode rm, ref FFlags flags)
        => (uint)FromIntG<Binary32>(a < 0, a < 0 ? unchecked(0UL - (ulong)a) : (ulong)a, rm, ref flags);
    public static uint U64ToF32(ulong a, RoundingMode rm, ref FFlags flags)
        => (uint)FromIntG<Binary32>(false, a, rm, ref flags);

    /// <summary>fcvt.d.s: exact; NaN → canonical (Invalid for signalling NaN).</summary>
    public static ulong F32ToF64(uint a, ref FFlags flags) => ConvertG<Binary32, Binary64>(a, RoundingMode.NearestEven, ref flags);

    /// <summary>fcvt.d.s with an (irrelevant, the conversion is exact) rounding mode, for call-site uniformity.</summary>
    public static ulong F32ToF64(uint a, RoundingMode rm, ref FFlags flags) => ConvertG<Binary32, Binary64>(a, rm, ref flags);

    /// <summary>fcvt.s.d: rounds; NaN → canonical (Invalid for signalling NaN).</summary>
    public static uint F64ToF32(ulong a, RoundingMode rm, ref FFlags flags) => (uint)ConvertG<Binary64, Binary32>(a, rm, ref flags);
}
