namespace Isomorph.Riscv.Isa;

/// <summary>
/// Declares the method it is placed on as the semantics of one instruction:
/// its mnemonic, its 32-bit encoding as a bit pattern and its operand syntax.
/// The decoder, the disassembler and the interpreter are all built from these declarations.
/// </summary>
/// <param name="name">The mnemonic, as in the ISA manual (lower case).</param>
/// <param name="encoding">
/// 32 characters, most significant bit first, of <c>0</c>, <c>1</c> (fixed bits) and <c>.</c>
/// (operand bits); spaces are ignored and may group fields.
/// </param>
/// <param name="operands">The operand syntax; see <see cref="OperandSyntax"/> for the tokens.</param>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
public sealed class InstructionAttribute(string name, string encoding, string operands) : Attribute
{
    public string Name { get; } = name;
    public string Encoding { get; } = encoding;
    public string Operands { get; } = operands;

    /// <summary>Instructions whose encodings this one specialises (a hint carved out of a more general form, e.g. pause out of fence).</summary>
    public string[] Overrides { get; init; } = [];

    /// <summary>What the instruction does to control flow (by default it always continues with the next one).</summary>
    public ControlFlow Flow { get; init; } = ControlFlow.Next;
}

/// <summary>Names the ISA extension that the instructions of a semantics class belong to.</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class IsaExtensionAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}
