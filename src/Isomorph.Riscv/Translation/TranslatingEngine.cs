using Isomorph.Riscv.Execution;

namespace Isomorph.Riscv.Translation;

/// <summary>The translator to .NET IL (issue 9): for now the interpreter, until regions are translated.</summary>
public sealed class TranslatingEngine : IExecutionEngine
{
    public static TranslatingEngine Shared { get; } = new();

    public string Name => "jit";

    public HartStop Run(Hart hart, long maxInstructions) => hart.Run(maxInstructions);
}
