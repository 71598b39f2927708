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
    /// <summary>The class that declares the semantics method.</summary>
    public required Type SemanticsType { get; init; }
    /// <summary>The semantics method's name in <see cref="SemanticsType"/>.</summary>
    public required string SemanticsName { get; init; }

    /// <summary>
    /// The semantics method (<see cref="Exec"/>'s target), which translated code calls for instructions
    /// without an emitter: looked up when first asked for (the translator's thread), not at start-up.
    /// </summary>
    public System.Reflection.MethodInfo Semantics => _semantics ??=
        SemanticsType.GetMethod(SemanticsName, System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic,
            [typeof(Hart), typeof(Insn).MakeByRefType(), typeof(int)])
        ?? throw new InvalidOperationException($"{SemanticsType.Name}.{SemanticsName}: no semantics method");
    private System.Reflection.MethodInfo? _semantics;
    /// <summary>The IL emitter declared beside the semantics (<see cref="EmitterAttribute"/>), or null: translated code calls <see cref="Semantics"/>.</summary>
    public InstructionEmitter? Emitter { get; internal set; }
    public ushort Id { get; set; }

    public bool Matches(uint raw) => (raw & Mask) == Match;

    public override string ToString() => Name;
}
