using System.CommandLine;
using Isomorph.Linux;
using Isomorph.Linux.FileSystem;
using Isomorph.Linux.Loading;

namespace Isomorph.Cli;

/// <summary><c>isomorph run [OPTIONS] PROGRAM [ARGS...]</c>: runs a riscv64 Linux program on the host (a process VM).</summary>
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
            parse.GetValue(sysroot), parse.GetValue(root), parse.GetValue(strace), parse.GetValue(env) ?? [], IsomorphCommand.Engine(parse.GetValue(engine)),
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

    private static int Execute(string program, string[] arguments, string? sysroot, string? root, bool strace, string[] env,
        Riscv.Execution.IExecutionEngine? engine, bool allowHostExec, string? argv0, string? gdbPort, bool stats)
    {
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        GdbOption? gdb = null;
        if (gdbPort is not null && (!int.TryParse(gdbPort, out _) || (gdb = GdbOption.Create(gdbPort, engine, wait: true, out var gdbError)) is null))
            return Fail($"-g {gdbPort}: expected a TCP port number");
        if (sysroot is not null && !Directory.Exists(sysroot)) return Fail($"--sysroot {sysroot}: no such directory");
        if (root is not null && !Directory.Exists(root)) return Fail($"--root {root}: no such directory");
        if (root is not null && sysroot is not null) return Fail("--root and --sysroot exclude each other: the root's own /lib serves the interpreter");
        foreach (var e in env)
            if (!e.Contains('=') || e.StartsWith('=')) return Fail($"--env {e}: expected NAME=VALUE");
        // Synchronized: every guest process writes its --strace lines and warnings from its own host thread.
        var stderr = TextWriter.Synchronized(new StreamWriter(Console.OpenStandardError()) { AutoFlush = true });
        var options = new LinuxOptions
        {
            Sysroot = sysroot ?? PathResolver.DefaultSysroot(),
            Root = root,
            Strace = strace ? stderr : null,
            Diagnostics = stderr,
            Environment = env.Length == 0 ? null : WithOverrides(env),
            Engine = (Riscv.Execution.IExecutionEngine?)gdb?.Control ?? engine,
            SignalStop = gdb is null ? null : gdb.Control.StopForSignal,
            AllowHostExec = allowHostExec,
        };
        try
        {
            using var process = LinuxProcess.Start(program, [argv0 ?? program, .. arguments], options);
            if (gdb?.Start(new Linux.Debugging.ProcessDebugTarget(process)) is { } listenError) return Fail(listenError);
            var exit = process.Run();
            gdb?.Ended(exit.Status, exit.Signal);
            if (stats)
            {
                stderr.WriteLine($"isomorph: {System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds:F3} s wall, engine {(engine ?? Riscv.Execution.ExecutionEngines.Default).Name}");
                if ((engine ?? Riscv.Execution.ExecutionEngines.Default) is Riscv.Translation.TranslatingEngine jit) stderr.WriteLine($"isomorph: {jit.Describe()}");
            }
            // Killed by a signal: so is isomorph, so that its parent sees what a native program's would.
            return exit.Signal != 0 ? Linux.Host.HostProcess.DieOf(exit.Signal) : exit.ShellStatus;
        }
        catch (ProgramLoadException e)
        {
            return Fail(e.Message);
        }
        finally
        {
            gdb?.Dispose();
        }
    }

    /// <summary>The host's environment with NAME=VALUE overrides applied.</summary>
    private static List<string> WithOverrides(string[] overrides)
    {
        var list = File.ReadAllText("/proc/self/environ").Split('\0', StringSplitOptions.RemoveEmptyEntries).ToList();
        foreach (var o in overrides)
        {
            string name = o[..(o.IndexOf('=') + 1)];
            int at = list.FindIndex(x => x.StartsWith(name, StringComparison.Ordinal));
            if (at >= 0) list[at] = o;
            else list.Add(o);
        }
        return list;
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"isomorph: {message}");
        return IsomorphCommand.UsageError;
    }
}
