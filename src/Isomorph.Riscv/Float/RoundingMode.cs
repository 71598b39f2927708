namespace Isomorph.Riscv.Float;

/// <summary>RISC-V static rounding modes (the <c>rm</c> field / <c>frm</c> CSR encoding 0..4).</summary>
public enum RoundingMode : byte
{
    /// <summary>RNE: round to nearest, ties to even.</summary>
    NearestEven = 0,
    /// <summary>RTZ: round towards zero.</summary>
    TowardZero = 1,
    /// <summary>RDN: round down (towards -infinity).</summary>
    Down = 2,
    /// <summary>RUP: round up (towards +infinity).</summary>
    Up = 3,
    /// <summary>RMM: round to nearest, ties to max magnitude.</summary>
    NearestMaxMagnitude = 4,
}

/// <summary>Accrued exception flags in RISC-V <c>fflags</c> bit order (NV DZ OF UF NX from bit 4 down to bit 0).</summary>
[Flags]
public enum FFlags : byte
{
    None = 0,
    Inexact = 1,
    Underflow = 2,
    Overflow = 4,
    DivideByZero = 8,
    Invalid = 16,
}
