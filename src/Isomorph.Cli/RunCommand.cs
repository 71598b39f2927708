using System.CommandLine;
using Isomorph.Linux.FileSystem;

namespace Isomorph.Cli;

/// <summary>
/// <c>isomorph run [OPTIONS] PROGRAM [ARGS...]</c>: runs a riscv64 Linux program on the host (a
/// process VM), through the library's <see cref="LinuxProgram"/> with the host's standard streams and environment.
/// </summary>
public static class RunCommand
{
    private static readonly string[] OptionsWithValues = ["--sysroot", "-L", "--env", "-E", "--root", "--engine", "--argv0", "-0", "-g"];

    public static Command Create()
    {
        var program = new Argument<string>("PROGRAM") { Description = "a riscv64 Linux ELF program (static, static-PIE or dynamic)" };
        var arguments = new Argument<string[]>("ARGS") { Description = "the program's arguments", Arity = ArgumentArity.ZeroOrMore };
        var sysroot = new Option<string?>("--sysroot", "-L")
        {
            Description = $"look up the program interpreter and absolute paths here first (default: {PathResolver.DebianSysroot} when it exists)",
        };
        var root = new Option<string?>("--root")
        {
            Description = "confine the guest to this directory, as chroot does: every path it names resolves inside (no sysroot)",
        };
        var strace = new Option<bool>("--strace") { Description = "print each system call with its arguments and result (stderr)" };
        var env = new Option<string[]>("--env", "-E") { Description = "set NAME=VALUE in the guest's environment (repeatable)" };
        var allowHostExec = new Option<bool>("--allow-host-exec")
        {
            Description = "under --root, let the guest execve host programs (which see the host's files); without --root they always run",
        };
        var argv0 = new Option<string?>("--argv0", "-0") { Description = "the guest's argv[0] (default: PROGRAM), as qemu-user's -0" };

        var stats = new Option<bool>("--stats") { Description = "print the wall time and the execution engine's work on stderr at the end" };
        var gdb = new Option<string?>("-g") { Description = "wait for gdb on TCP port PORT (localhost) before the first instruction, as qemu-user's -g" };

        var engine = IsomorphCommand.EngineOption();
        var command = new Command("run", "Run a riscv64 Linux program (like qemu-user)") { sysroot, root, strace, env, allowHostExec, argv0, engine, stats, gdb, program, arguments };
        command.SetAction(parse => Execute(parse.GetValue(program)!, parse.GetValue(arguments) ?? [],
            parse.GetValue(sysroot), parse.GetValue(root), parse.GetValue(strace), parse.GetValue(env) ?? [], parse.GetValue(engine),
            parse.GetValue(allowHostExec), parse.GetValue(argv0), parse.GetValue(gdb), parse.GetValue(stats)));
        return command;
    }

    /// <summary>
    /// Inserts "--" after PROGRAM so that the guest's own options (<c>ls -l</c>) reach the guest
    /// rather than isomorph's parser.
    /// </summary>
    public static string[] SeparateGuestArguments(string[] args)
    {
        if (args.Length == 0 || args[0] != "run") return args;
        for (int i = 1; i < args.Length; i++)
        {
            string a = args[i];
            if (a == "--") return args;
            if (OptionsWithValues.Contains(a)) { i++; continue; }
            if (a.StartsWith('-')) continue;
            return [.. args[..(i + 1)], "--", .. args[(i + 1)..]];
        }
        return args;
    }

    /// <summary>Runs the program through the library's <see cref="LinuxProgram"/>, as an embedder would: the CLI adds only its options' checks and its exit status.</summary>
    private static int Execute(string program, string[] arguments, string? sysroot, string? root, bool strace, string[] env,
        string? engine, bool allowHostExec, string? argv0, string? gdbPort, bool stats)
    {
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        if (stats) IsomorphCommand.CountRegionExits(IsomorphCommand.Engine(engine));
        // A word before the program that names no option of run's reaches here as the program (the
        // parser gives PROGRAM whatever it does not know): an unknown option, as qemu-user says.
        if (program.StartsWith('-')) return Fail($"unknown option {program} (a program whose name starts with '-': ./{program})");
        if (gdbPort is not null && (!int.TryParse(gdbPort, out int port) || port is < 0 or > 65535)) return Fail($"-g {gdbPort}: expected a TCP port number");
        if (sysroot is not null && !Directory.Exists(sysroot)) return Fail($"--sysroot {sysroot}: no such directory");
        if (root is not null && !Directory.Exists(root)) return Fail($"--root {root}: no such directory");
        if (root is not null && sysroot is not null) return Fail("--root and --sysroot exclude each other: the root's own /lib serves the interpreter");
        var overrides = new Dictionary<string, string>();
        foreach (var e in env)
        {
            if (!e.Contains('=') || e.StartsWith('=')) return Fail($"--env {e}: expected NAME=VALUE");
            overrides[e[..e.IndexOf('=')]] = e[(e.IndexOf('=') + 1)..];
        }
        // Synchronized: every guest process writes its --strace lines and warnings from its own host thread.
        var stderr = TextWriter.Synchronized(new StreamWriter(Console.OpenStandardError()) { AutoFlush = true });
        var guest = new LinuxProgram(program, arguments)
        {
            ArgumentZero = argv0,
            InheritStandardStreams = true,
            InheritEnvironment = true,
            Environment = overrides,
            Sysroot = sysroot,
            Root = root,
            AllowHostPrograms = allowHostExec,
            SystemCallTrace = strace ? stderr : null,
            Diagnostics = stderr,
            Engine = IsomorphCommand.LibraryEngine(engine),
            Gdb = gdbPort,
        };
        GuestExit exit;
        try
        {
            exit = guest.Run();
        }
        catch (Exception e) when (e is InvalidProgramException or ArgumentException or IOException)
        {
            return Fail(IsomorphCommand.Reason(e));
        }
        if (stats)
        {
            var used = engine is null ? Riscv.Execution.ExecutionEngines.Default : Riscv.Execution.ExecutionEngines.FromName(engine)!;
            stderr.WriteLine($"isomorph: {System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds:F3} s wall, engine {used.Name}");
            if (used is Riscv.Translation.TranslatingEngine jit) stderr.WriteLine($"isomorph: {jit.Describe()}");
        }
        // Killed by a signal: so is isomorph, so that its parent sees what a native program's would.
        return exit.Signal != 0 ? Linux.Host.HostProcess.DieOf(exit.Signal) : exit.ExitStatus & 0xFF;
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"isomorph: {message}");
        return IsomorphCommand.UsageError;
    }
}
