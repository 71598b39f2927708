namespace Isomorph.Riscv.Isa;

/// <summary>One instruction of the ISA: everything the decoder, disassembler and interpreter need.</summary>
public sealed unsafe class InstructionDefinition
{
    public required string Name { get; init; }
    public required string Extension { get; init; }
    /// <summary>Bits that must equal <see cref="Match"/> under <see cref="Mask"/>.</summary>
    public required uint Match { get; init; }
    public required uint Mask { get; init; }
    /// <summary>True for 16-bit (C extension) encodings.</summary>
    public required bool Compressed { get; init; }
    /// <summary>The operand syntax (for compressed forms, that of the instruction they expand to).</summary>
    public required OperandSyntax Syntax { get; init; }
    /// <summary>The semantics.</summary>
    public required delegate*<Hart, ref Insn, int, int> Exec { get; init; }
    /// <summary>For a compressed instruction: how its operands are laid out.</summary>
    public CompressedForm Form { get; init; }
    /// <summary>For a compressed instruction: the base instruction it expands to.</summary>
    public string? Expands { get; init; }
    /// <summary>More general encodings this one takes precedence over (e.g. c.addi16sp over c.lui).</summary>
    public IReadOnlyList<string> Overrides { get; init; } = [];
    /// <summary>What the instruction does to control flow (a compressed one: that of the instruction it expands to).</summary>
    public ControlFlow Flow { get; init; }
    /// <summary>The semantics method (<see cref="Exec"/>'s target), which translated code calls for instructions without an emitter.</summary>
    public required System.Reflection.MethodInfo Semantics { get; init; }
    /// <summary>The IL emitter declared beside the semantics (<see cref="EmitterAttribute"/>), or null: translated code calls <see cref="Semantics"/>.</summary>
    public InstructionEmitter? Emitter { get; internal set; }
    public ushort Id { get; set; }

    public bool Matches(uint raw) => (raw & Mask) == Match;

    public override string ToString() => Name;
}
