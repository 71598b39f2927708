namespace Isomorph.Riscv.Isa;

/// <summary>
/// Declares the method it is placed on as the IL emitter of the instruction named
/// <paramref name="name"/>, beside that instruction's semantics: a <c>static void (RegionEmitter, in Insn)</c>
/// that emits what the semantics do, on the translator's register locals
/// (<see cref="Translation.RegionEmitter"/>). Instructions without one are translated as calls to
/// their semantics. A compressed instruction uses the emitter of the instruction it expands to.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
public sealed class EmitterAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}

/// <summary>The shape of an <see cref="EmitterAttribute"/> method.</summary>
public delegate void InstructionEmitter(Translation.RegionEmitter e, in Insn insn);
