namespace Isomorph.Riscv.Isa;

/// <summary>
/// Collects the instruction declarations: each semantics class's generated <c>DeclareInstructions</c>
/// (Isomorph.Generators, from its <see cref="IsaExtensionAttribute"/>, <see cref="InstructionAttribute"/>s
/// and <see cref="EmitterAttribute"/>s as written) hands them over here, with the semantics as a
/// function pointer the compiler checked against <c>static int (Hart, ref Insn, int)</c>.
/// </summary>
internal sealed unsafe partial class InstructionSetBuilder
{
    private readonly List<InstructionDefinition> _instructions = [];
    private readonly List<(string Extension, Type Class, EmitterAttribute Attribute, InstructionEmitter Emitter)> _emitters = [];
    private Type _class = null!;
    private string _extension = null!;

    /// <summary>Every declared instruction, each with its emitter when it has one, in declaration order.</summary>
    public List<InstructionDefinition> Build()
    {
        DeclareAll();
        var byName = _instructions.ToDictionary(d => d.Name);
        foreach (var (extension, type, attribute, emitter) in _emitters)
        {
            if (!byName.TryGetValue(attribute.Name, out var d) || d.Extension != extension)
                throw new InvalidOperationException($"{type.Name}: [Emitter(\"{attribute.Name}\")] names no instruction of its class's extension");
            if (d.Emitter is not null) throw new InvalidOperationException($"{attribute.Name}: two emitters");
            d.Emitter = emitter;
        }
        return _instructions;
    }

    private partial void DeclareAll();

    /// <summary>The declarations that follow are the semantics class <paramref name="type"/>'s, of extension <paramref name="extension"/>.</summary>
    internal void Extension(Type type, IsaExtensionAttribute extension) => (_class, _extension) = (type, extension.Name);

    internal void Instruction(InstructionAttribute attribute, delegate*<Hart, ref Insn, int, int> semantics, string method)
    {
        var (match, mask) = InstructionSet.ParsePattern(attribute.Encoding, 32);
        _instructions.Add(new InstructionDefinition
        {
            Name = attribute.Name,
            Extension = _extension,
            Match = match,
            Mask = mask,
            Compressed = false,
            Syntax = new OperandSyntax(attribute.Operands),
            Exec = semantics,
            Overrides = attribute.Overrides,
            Flow = attribute.Flow,
            SemanticsType = _class,
            SemanticsName = method,
        });
    }

    internal void Emitter(EmitterAttribute attribute, InstructionEmitter emitter) => _emitters.Add((_extension, _class, attribute, emitter));
}
