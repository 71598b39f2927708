namespace Isomorph.Riscv.Isa;

/// <summary>
/// What an instruction does to control flow, declared with its definition
/// (<see cref="InstructionAttribute.Flow"/>): the translator forms regions from it.
/// </summary>
public enum ControlFlow : byte
{
    /// <summary>Always continues with the next instruction (register arithmetic).</summary>
    Next,
    /// <summary>Continues with the next instruction or traps (loads, stores, atomics, FP with FS off).</summary>
    MayTrap,
    /// <summary>Continues with the next instruction or at pc + imm (conditional branches).</summary>
    Branch,
    /// <summary>Continues at pc + imm (jal).</summary>
    Jump,
    /// <summary>Continues at an address computed from a register (jalr): translated code leaves there.</summary>
    IndirectJump,
    /// <summary>
    /// May change state that code runs under (privilege, CSRs, TLBs, WFI, environment calls) or
    /// continue anywhere: translated code calls its semantics and leaves unless they continue at
    /// the next instruction.
    /// </summary>
    ChangesState,
}
