namespace Isomorph.Riscv.Execution;

/// <summary>
/// What runs a hart's instructions. The machines (the process VM, bare, virt) call
/// <see cref="Run"/> and nothing else to make a hart progress; the interpreter is one engine, the
/// translator to .NET IL (<see cref="Translation.TranslatingEngine"/>) another. Every engine has the
/// contract of <see cref="Hart.Run"/>: it returns after at most maxInstructions
/// steps (retired instructions plus exceptions taken), at a stop request, or when the hart waits
/// for an interrupt, with the same architectural state the interpreter would have reached.
/// </summary>
public interface IExecutionEngine
{
    /// <summary>The engine's name on the command line (<c>--engine NAME</c>).</summary>
    string Name { get; }

    /// <summary>Runs <paramref name="hart"/> for at most <paramref name="maxInstructions"/> steps.</summary>
    HartStop Run(Hart hart, long maxInstructions);
}

/// <summary>The interpreter: the reference engine and tier 0 of the translator.</summary>
public sealed class InterpreterEngine : IExecutionEngine
{
    public static InterpreterEngine Instance { get; } = new();

    private InterpreterEngine() { }

    public string Name => "interp";

    public HartStop Run(Hart hart, long maxInstructions) => hart.Run(maxInstructions);
}

/// <summary>The engines by name, and the default one (the environment variable ISOMORPH_ENGINE, else the translator).</summary>
public static class ExecutionEngines
{
    public const string EnvironmentVariable = "ISOMORPH_ENGINE";

    public static IReadOnlyList<string> Names { get; } = ["interp", "jit"];

    /// <summary>The engine called <paramref name="name"/>, or null when there is none.</summary>
    public static IExecutionEngine? FromName(string name) => name switch
    {
        "interp" => InterpreterEngine.Instance,
        "jit" => Translation.TranslatingEngine.Shared,
        _ => null,
    };

    /// <summary>The engine machines use when their options name none: ISOMORPH_ENGINE's, else the translator (which interprets code until it is hot).</summary>
    public static IExecutionEngine Default { get; } =
        Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } name
            ? FromName(name) ?? throw new InvalidOperationException($"{EnvironmentVariable}={name}: expected one of {string.Join(", ", Names)}")
            : Translation.TranslatingEngine.Shared;
}
