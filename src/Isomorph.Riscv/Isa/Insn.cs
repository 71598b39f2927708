using System.Runtime.InteropServices;

namespace Isomorph.Riscv.Isa;

/// <summary>
/// A decoded instruction, as cached per code page: the semantics to run and its operands
/// already extracted. Semantics return the slot index (in halfwords, within the code page) of the
/// next instruction, or <see cref="Hart.Exit"/> when they have set <see cref="Hart.Pc"/> themselves.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct Insn
{
    /// <summary>The semantics of this instruction.</summary>
    public delegate*<Hart, ref Insn, int, int> Exec;
    /// <summary>The immediate, sign-extended (or the CSR number, shift amount, fence bits).</summary>
    public long Imm;
    /// <summary>The raw encoding (the 16-bit parcel for compressed instructions).</summary>
    public uint Raw;
    /// <summary>Register numbers. An integer destination x0 is redirected to <see cref="Hart.ZeroSink"/>.</summary>
    public byte Rd, Rs1, Rs2, Rs3;
    /// <summary>Length in 16-bit parcels: 1 (compressed) or 2.</summary>
    public byte Slots;
    /// <summary>The rm field of FP instructions; the aq/rl bits of atomics (aq = 2, rl = 1).</summary>
    public byte Rm;
    /// <summary>Index of the definition in <see cref="InstructionSet.Definitions"/>.</summary>
    public ushort Id;

    public readonly int Length => Slots * 2;
}
