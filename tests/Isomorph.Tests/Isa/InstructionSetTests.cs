using StringBuilder = System.Text.StringBuilder;
using Isomorph.Riscv.Isa;
using Isomorph.Tests.Support;
using Xunit.Abstractions;

namespace Isomorph.Tests.Isa;

/// <summary>The instruction table itself: no ambiguous encodings, and a decoder and disassembler that agree with binutils.</summary>
public sealed class InstructionSetTests(ITestOutputHelper output)
{
    private static bool Overlap(InstructionDefinition a, InstructionDefinition b) =>
        a.Compressed == b.Compressed && ((a.Match ^ b.Match) & a.Mask & b.Mask) == 0;

    /// <summary>
    /// The table start-up builds (generated from the attributes at compile time, Isomorph.Generators)
    /// is the attributes, read here by reflection: every [Instruction] is one definition of its
    /// extension, with its method as the semantics and its pattern, flow and overrides; every [Emitter]
    /// is its instruction's emitter; nothing else is in the table.
    /// </summary>
    [Fact]
    public unsafe void TheTableIsTheAttributesOnTheSemantics()
    {
        const System.Reflection.BindingFlags all = System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic;
        var instructions = 0;
        foreach (var type in typeof(InstructionSet).Assembly.GetTypes())
        {
            if (System.Reflection.CustomAttributeExtensions.GetCustomAttribute<IsaExtensionAttribute>(type) is not { } extension) continue;
            foreach (var method in type.GetMethods(all))
            {
                foreach (var a in System.Reflection.CustomAttributeExtensions.GetCustomAttributes<InstructionAttribute>(method))
                {
                    instructions++;
                    var d = InstructionSet.Get(a.Name);
                    Assert.Equal((extension.Name, method), (d.Extension, d.Semantics));
                    Assert.Equal(InstructionSet.ParsePattern(a.Encoding, 32), (d.Match, d.Mask));
                    Assert.Equal((a.Flow, a.Operands), (d.Flow, d.Syntax.Text));
                    Assert.Equal(a.Overrides, d.Overrides);
                    Assert.Equal(method.MethodHandle.GetFunctionPointer(), (nint)d.Exec);
                }
                foreach (var a in System.Reflection.CustomAttributeExtensions.GetCustomAttributes<EmitterAttribute>(method))
                    Assert.Equal(method, InstructionSet.Get(a.Name).Emitter?.Method);
            }
        }
        Assert.Equal(instructions, InstructionSet.Definitions.Count(d => !d.Compressed));
        Assert.True(instructions > 200);
    }

    [Fact]
    public void NoTwoInstructionsShareAnEncoding()
    {
        var defs = InstructionSet.Definitions;
        var problems = new List<string>();
        for (int i = 0; i < defs.Count; i++)
            for (int j = i + 1; j < defs.Count; j++)
            {
                var (a, b) = (defs[i], defs[j]);
                if (!Overlap(a, b)) continue;
                // A declared specialisation is allowed: it must be strictly more specific than what it overrides.
                bool aOverridesB = a.Overrides.Contains(b.Name) && (a.Mask & b.Mask) == b.Mask && a.Mask != b.Mask;
                bool bOverridesA = b.Overrides.Contains(a.Name) && (a.Mask & b.Mask) == a.Mask && a.Mask != b.Mask;
                if (!aOverridesB && !bOverridesA) problems.Add($"{a.Name} and {b.Name} overlap");
            }
        Assert.Empty(problems);
    }

    [Theory]
    [InlineData("add", ControlFlow.Next)]
    [InlineData("c.add", ControlFlow.Next)]
    [InlineData("ld", ControlFlow.MayTrap)]
    [InlineData("c.sdsp", ControlFlow.MayTrap)]
    [InlineData("amoadd.w", ControlFlow.MayTrap)]
    [InlineData("fadd.d", ControlFlow.MayTrap)]
    [InlineData("bne", ControlFlow.Branch)]
    [InlineData("c.beqz", ControlFlow.Branch)]
    [InlineData("jal", ControlFlow.Jump)]
    [InlineData("c.j", ControlFlow.Jump)]
    [InlineData("jalr", ControlFlow.IndirectJump)]
    [InlineData("c.jr", ControlFlow.IndirectJump)]
    [InlineData("ecall", ControlFlow.ChangesState)]
    [InlineData("csrrw", ControlFlow.ChangesState)]
    [InlineData("fence.i", ControlFlow.ChangesState)]
    [InlineData("sfence.vma", ControlFlow.ChangesState)]
    public void EachDefinitionDeclaresItsControlFlow(string name, ControlFlow flow) =>
        Assert.Equal(flow, InstructionSet.Get(name).Flow);

    [Fact]
    public void EveryNameIsUnique() =>
        Assert.Equal(InstructionSet.Definitions.Count, InstructionSet.Definitions.Select(d => d.Name).Distinct().Count());

    [Fact]
    public void TheTableCoversRv64gcZihintpauseAndZbaZbbZbs()
    {
        var byExtension = InstructionSet.Definitions.GroupBy(d => d.Extension).ToDictionary(g => g.Key, g => g.Count());
        foreach (var (ext, count) in byExtension.OrderBy(kv => kv.Key)) output.WriteLine($"{ext}: {count}");
        Assert.Equal(50, byExtension["I"]);   // RV64I incl. fence (ecall/ebreak are listed as privileged)
        Assert.Equal(13, byExtension["M"]);
        Assert.Equal(22, byExtension["A"]);
        Assert.Equal(30, byExtension["F"]);
        Assert.Equal(32, byExtension["D"]);
        Assert.Equal(36, byExtension["C"]);
        Assert.Equal(6, byExtension["Zicsr"]);
        Assert.Equal(1, byExtension["Zifencei"]);
        Assert.Equal(1, byExtension["Zihintpause"]);
        Assert.Equal(8, byExtension["Zba"]);
        Assert.Equal(24, byExtension["Zbb"]);
        Assert.Equal(8, byExtension["Zbs"]);
    }

    [Fact]
    public void EveryDefinitionDecodesItsOwnEncoding()
    {
        foreach (var d in InstructionSet.Definitions)
        {
            var found = Decoder.Find(d.Match);
            Assert.NotNull(found);
            if (found != d) Assert.Contains(d.Name, found!.Overrides);
        }
    }

    [Theory]
    [InlineData(0x00000013u, "addi zero, zero, 0")]
    [InlineData(0xfff50513u, "addi a0, a0, -1")]
    [InlineData(0x00b50533u, "add a0, a0, a1")]
    [InlineData(0x0005b503u, "ld a0, 0(a1)")]
    [InlineData(0x00a5b423u, "sd a0, 8(a1)")]
    [InlineData(0x123452b7u, "lui t0, 0x12345")]
    [InlineData(0x3400a073u, "csrs mscratch, ra")]
    [InlineData(0x4529u, "c.li a0, 10")]
    [InlineData(0x8082u, "c.jr ra")]
    public void DisassemblesReadably(uint raw, string expected)
    {
        // csrs is how binutils names csrrs with rd = x0; Isomorph prints the base mnemonic.
        expected = expected.Replace("csrs mscratch, ra", "csrrs zero, mscratch, ra").Replace("c.jr ra", "c.jr zero, 0(ra)")
            .Replace("c.li a0, 10", "c.li a0, zero, 10");
        Assert.Equal(expected, Disassembler.Disassemble(raw));
    }

    [Fact]
    public void IllegalEncodingsDecodeToTheIllegalInstructionTrap()
    {
        foreach (uint raw in new uint[] { 0x0000u, 0xFFFFFFFFu, 0x0000000Bu, 0x00000000u })
        {
            var insn = default(Insn);
            Decoder.Decode(raw, ref insn);
            Assert.Equal(ushort.MaxValue, insn.Id);
        }
    }

    /// <summary>
    /// Random encodings of every instruction, disassembled by binutils' objdump (an independent
    /// decoder): the mnemonic must match for every one that Isomorph decodes as valid.
    /// </summary>
    [Fact]
    public void MnemonicsAgreeWithObjdump()
    {
        Assert.True(Repository.HasTool("riscv64-unknown-elf-objdump"), "riscv64-unknown-elf-objdump is missing: run the README's test command");
        var random = new Random(1234);
        var cases = new List<(uint Raw, string Name, int Length)>();
        foreach (var d in InstructionSet.Definitions)
        {
            for (int n = 0; n < 24; n++)
            {
                uint raw = d.Match | ((uint)random.NextInt64() & ~d.Mask);
                if (d.Compressed) raw &= 0xFFFF;
                if (d.Syntax.Has(Operand.Rm) && !d.Compressed && ((raw >> 12) & 7) is 5 or 6) raw &= ~(7u << 12);
                // binutils accepts only rm = 0 for the exact conversions; the ISA (and QEMU) accept any rm.
                if (d.Name is "fcvt.d.w" or "fcvt.d.wu" or "fcvt.d.s") raw &= ~(7u << 12);
                // The reserved fields of the fences are ignored by the ISA (and QEMU); binutils wants them zero.
                if (d.Name == "fence.i") raw &= 0x7F | (7u << 12);
                if (d.Name == "fence") raw &= 0x0FF0_707Fu;
                var insn = default(Insn);
                Decoder.Decode(raw, ref insn);
                if (insn.Id == ushort.MaxValue || InstructionSet.Definitions[insn.Id] != d) continue;
                cases.Add((raw, Disassembler.Disassemble(raw).Split(' ')[0], d.Compressed ? 2 : 4));
            }
        }
        var dir = Directory.CreateTempSubdirectory("isomorph-objdump");
        try
        {
            var asm = new StringBuilder();
            foreach (var c in cases) asm.AppendLine($".insn {c.Length}, 0x{c.Raw:x}");
            File.WriteAllText(Path.Combine(dir.FullName, "t.s"), asm.ToString());
            var a = Repository.Run("riscv64-unknown-elf-as", ["-march=rv64gc_h_zihintpause_zba_zbb_zbs", "-o", "t.o", "t.s"], TimeSpan.FromMinutes(1), dir.FullName);
            Assert.True(a.ExitCode == 0, a.Stderr);
            var d = Repository.Run("riscv64-unknown-elf-objdump", ["-d", "-M", "no-aliases", "t.o"], TimeSpan.FromMinutes(1), dir.FullName);
            var lines = d.Stdout.Split('\n').Where(l => l.Length > 0 && l.StartsWith(' ') && l.Contains(":\t")).ToList();
            Assert.Equal(cases.Count, lines.Count);
            var mismatches = new List<string>();
            for (int i = 0; i < cases.Count; i++)
            {
                var fields = lines[i].Split('\t');
                string theirs = fields.Length > 2 ? fields[2].Trim() : "?";
                // binutils names the shamt = 0 HINTs of RV64 c.slli/c.srli/c.srai "c.slli64" and so on.
                if (theirs is "c.slli64" or "c.srli64" or "c.srai64") theirs = theirs[..^2];
                if (theirs != cases[i].Name) mismatches.Add($"0x{cases[i].Raw:x}: isomorph {cases[i].Name}, objdump {theirs}");
            }
            output.WriteLine($"{cases.Count} encodings compared");
            Assert.True(mismatches.Count == 0, string.Join("\n", mismatches.Distinct().Take(40)));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
