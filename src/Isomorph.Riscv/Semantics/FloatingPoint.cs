using System.Runtime.CompilerServices;
using Isomorph.Riscv.Float;
using Isomorph.Riscv.Isa;

namespace Isomorph.Riscv.Semantics;

/// <summary>
/// What the F and D extensions share: the FS gate, rounding-mode resolution (static or frm),
/// accrual of exception flags, and NaN-boxing of single-precision values in the 64-bit registers.
/// </summary>
internal static unsafe class FloatingPoint
{
    public const ulong BoxBits = 0xFFFF_FFFF_0000_0000;

    /// <summary>A single-precision value written to an FP register: NaN-boxed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Box(uint value) => BoxBits | value;

    /// <summary>A single-precision operand: an improperly boxed register reads as the canonical NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Unbox(ulong value) => (value & BoxBits) == BoxBits ? (uint)value : SoftFloat.CanonicalNaN32;

    /// <summary>
    /// Checks that FP is enabled and resolves the rounding mode; false when the instruction is
    /// illegal (FS = Off, or a reserved static or dynamic rounding mode).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Begin(Hart h, ref Insn i, out RoundingMode rm)
    {
        uint mode = i.Rm == 7 ? h.Frm : i.Rm;
        rm = (RoundingMode)mode;
        return mode <= 4 && !h.FpDisabled;
    }

    /// <summary>Checks that FP is enabled, for instructions without a rounding mode.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Begin(Hart h) => !h.FpDisabled;

    /// <summary>Accrues exception flags and marks the FP state dirty.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int End(Hart h, ref Insn i, int idx, FFlags flags)
    {
        h.FpFlags |= (uint)flags;
        h.SetFsDirty();
        return idx + i.Slots;
    }

    public static int Illegal(Hart h, ref Insn i, int idx) => h.Raise(ExceptionCause.IllegalInstruction, i.Raw, idx);
}
