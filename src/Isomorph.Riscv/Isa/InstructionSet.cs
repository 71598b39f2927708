using System.Numerics;
using Isomorph.Riscv.Semantics;

namespace Isomorph.Riscv.Isa;

/// <summary>
/// Every instruction Isomorph knows, gathered once from the <see cref="InstructionAttribute"/>
/// declarations on the semantics classes (through <see cref="InstructionSetBuilder"/>) and the
/// compressed-instruction table (<see cref="Rv64C.Table"/>). The decoder and disassembler read this and nothing else.
/// </summary>
public static unsafe class InstructionSet
{
    public static IReadOnlyList<InstructionDefinition> Definitions { get; } = Build();

    private static readonly Dictionary<string, InstructionDefinition> ByName =
        Definitions.ToDictionary(d => d.Name);

    public static InstructionDefinition Get(string name) => ByName[name];

    public static bool TryGet(string name, out InstructionDefinition definition) => ByName.TryGetValue(name, out definition!);

    /// <summary>Parses an encoding pattern of 0, 1 and '.' characters (spaces ignored) into match and mask.</summary>
    public static (uint Match, uint Mask) ParsePattern(string pattern, int bits)
    {
        var p = pattern.Replace(" ", "");
        if (p.Length != bits) throw new FormatException($"pattern '{pattern}' has {p.Length} bits, expected {bits}");
        uint match = 0, mask = 0;
        foreach (char c in p)
        {
            match <<= 1; mask <<= 1;
            switch (c)
            {
                case '1': match |= 1; mask |= 1; break;
                case '0': mask |= 1; break;
                case '.': break;
                default: throw new FormatException($"bad character '{c}' in pattern '{pattern}'");
            }
        }
        return (match, mask);
    }

    private static List<InstructionDefinition> Build()
    {
        var list = new InstructionSetBuilder().Build();
        var bases = list.ToDictionary(d => d.Name);
        foreach (var c in Rv64C.Table)
        {
            var (match, mask) = ParsePattern(c.Encoding, 16);
            var target = bases[c.Expands];
            list.Add(new InstructionDefinition
            {
                Name = c.Name,
                Extension = "C",
                Match = match,
                Mask = mask,
                Compressed = true,
                Syntax = target.Syntax,
                Exec = target.Exec,
                Form = c.Form,
                Expands = c.Expands,
                Overrides = c.Overrides,
                Flow = target.Flow,
                SemanticsType = target.SemanticsType,
                SemanticsName = target.SemanticsName,
                Emitter = target.Emitter,
            });
        }
        // Most specific encodings first, so that a declared specialisation wins over the general form.
        list.Sort((a, b) => BitOperations.PopCount(b.Mask).CompareTo(BitOperations.PopCount(a.Mask)));
        for (int i = 0; i < list.Count; i++) list[i].Id = (ushort)i;
        return list;
    }
}
