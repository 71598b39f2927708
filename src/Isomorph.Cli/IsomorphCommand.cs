using System.CommandLine;
using System.CommandLine.Parsing;
using Isomorph.Riscv.Execution;

namespace Isomorph.Cli;

/// <summary>
/// The <c>isomorph</c> command line. Usage errors and bad input files print one line on stderr and
/// exit with status 2.
/// </summary>
public static class IsomorphCommand
{
    public const int UsageError = 2;

    public static int Run(string[] args)
    {
        BuildTablesInBackground();
        // Only the command named first is built when one is (its options are all the parse needs):
        // building the others costs a short `isomorph run` start-up time.
        bool named = args.Length > 0 && Commands.Any(c => c.Name == args[0]);
        // RootCommand brings --help, --version and the [suggest] directive; their descriptions come
        // through a ResourceManager, whose first use costs about 8 ms. A command line that names a
        // command and asks for neither help nor the version is parsed by a plain root without them.
        Command root = named && !args.Any(IsHelpOrVersion) ? new Command(RootCommand.ExecutableName, Description) : new RootCommand(Description);
        foreach (var (name, create) in Commands)
            if (!named || name == args[0]) root.Subcommands.Add(create());
        var parse = root.Parse(RunCommand.SeparateGuestArguments(args));
        if (parse.Errors.Count > 0)
        {
            // The most specific complaint first: an unknown word says more than a missing command.
            var error = parse.Errors.FirstOrDefault(e => e.Message.StartsWith("Unrecognized", StringComparison.Ordinal)) ?? parse.Errors[0];
            Console.Error.WriteLine($"isomorph: {error.Message}");
            return UsageError;
        }
        return parse.Invoke();
    }

    private const string Description = "Isomorph: a RISC-V virtualization toolkit";

    /// <summary>The words RootCommand's help and version options answer to (System.CommandLine's).</summary>
    private static bool IsHelpOrVersion(string word) => word is "-h" or "--help" or "-?" or "/h" or "/?" or "--version";

    /// <summary>The subcommands, in the order help lists them.</summary>
    private static readonly (string Name, Func<Command> Create)[] Commands =
    [
        ("bare", BareCommand.Create),
        ("boot", BootCommand.Create),
        ("receive", ReceiveCommand.Create),
        ("run", RunCommand.Create),
        ("vm", Vm.VmCommand.Create),
        ("binfmt", BinfmtCommand.Create),
    ];

    /// <summary>--hypervisor: whether the harts have the hypervisor extension (H); on unless given false, as on QEMU's rv64.</summary>
    public static Option<bool> HypervisorOption() => new("--hypervisor")
    {
        Description = "the harts' hypervisor extension (H 1.0: VS and VU modes, two-stage translation); on by default as on QEMU's rv64, --hypervisor false leaves it out",
        DefaultValueFactory = _ => true,
    };

    /// <summary>The <c>--engine interp|jit</c> option of run, bare and boot (default: ISOMORPH_ENGINE's, else jit).</summary>
    public static Option<string?> EngineOption() => new("--engine")
    {
        Description = $"the execution engine: {string.Join(" or ", ExecutionEngines.Names)} (default: ${ExecutionEngines.EnvironmentVariable}, else jit)",
        Validators = { r => { if (r.GetValueOrDefault<string?>() is { } n && ExecutionEngines.FromName(n) is null) r.AddError($"invalid --engine '{n}': expected {string.Join(" or ", ExecutionEngines.Names)}"); } },
    };

    /// <summary>The <c>--gdb tcp:[HOST]:PORT|unix:PATH</c> and <c>--wait-gdb</c> options of bare and boot (QEMU's -gdb and -S).</summary>
    public static (Option<string?> Gdb, Option<bool> Wait) GdbOptions() => (
        new Option<string?>("--gdb") { Description = "serve gdb's remote protocol at tcp:[HOST]:PORT (HOST: localhost by default) or unix:PATH" },
        new Option<bool>("--wait-gdb") { Description = "stop before the first instruction until gdb connects and continues (QEMU's -S)" });

    /// <summary>The engine an <see cref="EngineOption"/> names, or null for the default.</summary>
    public static IExecutionEngine? Engine(string? name) => name is null ? null : ExecutionEngines.FromName(name);

    /// <summary>For --stats: the translator (when it is the engine) counts its regions' exits by kind from now on.</summary>
    public static void CountRegionExits(IExecutionEngine? engine)
    {
        if ((engine ?? ExecutionEngines.Default) is Riscv.Translation.TranslatingEngine jit) jit.CountExits = true;
    }

    /// <summary>
    /// What the library's exception says, as the one line the CLI prints: an <see cref="ArgumentException"/>'s
    /// message without the " (Parameter 'X')" that .NET appends (the user gave an option, not a parameter).
    /// </summary>
    public static string Reason(Exception e) =>
        e is ArgumentException { ParamName: { } name } a ? a.Message.Replace($" (Parameter '{name}')", "") : e.Message;

    /// <summary>The library's name for the engine an <see cref="EngineOption"/> names (null: the default), for run and boot, which go through the library.</summary>
    public static ExecutionEngine? LibraryEngine(string? name) => name switch
    {
        null => null,
        "interp" => ExecutionEngine.Interpreter,
        _ => ExecutionEngine.Translator,
    };

    /// <summary>
    /// The most RAM a machine is given: 1 TiB. RAM is reserved, not committed, so a large machine
    /// costs only what its guest touches; past 1 TiB a typo (1024T) is likelier than a need.
    /// </summary>
    public const ulong MaxMemory = 1ul << 40;

    /// <summary>
    /// Parses --memory: 256M, 1G, 1T, 64MiB, 4096 (bytes); a positive multiple of 4 KiB up to
    /// <see cref="MaxMemory"/>. Null, or one line saying what is wrong.
    /// </summary>
    public static string? ParseMemory(string text, string example, out ulong bytes)
    {
        bytes = 0;
        var t = text.Trim();
        ulong scale = 1;
        string[] suffixes = ["KiB", "MiB", "GiB", "TiB", "KB", "MB", "GB", "TB", "K", "M", "G", "T"];
        foreach (var s in suffixes)
        {
            if (!t.EndsWith(s, StringComparison.OrdinalIgnoreCase)) continue;
            scale = char.ToUpperInvariant(s[0]) switch { 'K' => 1ul << 10, 'M' => 1ul << 20, 'G' => 1ul << 30, _ => 1ul << 40 };
            t = t[..^s.Length];
            break;
        }
        if (t.Length == 0 || !t.All(char.IsAsciiDigit) || t.TrimStart('0').Length == 0)
            return $"invalid --memory '{text}': expected a size such as {example}";
        if (!ulong.TryParse(t, out ulong n) || n > MaxMemory / scale)
            return $"invalid --memory '{text}': at most {MaxMemory >> 40} TiB";
        bytes = n * scale;
        return bytes % 4096 == 0 ? null : $"invalid --memory '{text}': not a multiple of 4 KiB";
    }

    /// <summary>Writes a file atomically: a temporary file beside it, then a rename.</summary>
    public static void WriteAtomically(string path, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        var temp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <summary>
    /// The instruction set and the system-call table are built from their generated declarations
    /// (about 20 ms of cold code: 250 definitions, their operand syntaxes, 125 emitter delegates): built on another core while the command line is parsed and the
    /// program loaded, instead of on the way to the first instruction. Whoever needs a table first
    /// waits for its type initializer to finish, as the runtime guarantees.
    /// </summary>
    private static void BuildTablesInBackground() =>
        new Thread(() =>
        {
            System.Runtime.CompilerServices.RuntimeHelpers.RunClassConstructor(typeof(Riscv.Isa.Decoder).TypeHandle);
            _ = Linux.Syscalls.SyscallTable.Instance;
        }) { IsBackground = true, Name = "isomorph tables" }.Start();
}
