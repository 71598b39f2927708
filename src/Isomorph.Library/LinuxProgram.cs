using System.IO.Pipes;
using Isomorph.Debugging;
using Isomorph.Linux;
using Isomorph.Linux.Loading;
using Isomorph.Linux.FileSystem;
using Isomorph.Linux.Syscalls;
using Isomorph.Riscv.Execution;

namespace Isomorph;

/// <summary>Which engine runs the guest's instructions.</summary>
public enum ExecutionEngine
{
    /// <summary>The translator to .NET IL, with the interpreter as its first tier (the default).</summary>
    Translator,
    /// <summary>The interpreter alone: the reference, slower.</summary>
    Interpreter,
}

/// <summary>
/// A riscv64 Linux program (an ELF file: static, static-PIE or dynamic) to run in a process VM on
/// this host: its arguments and environment, its standard streams as .NET streams, the directory
/// that confines it, its limits and the system calls it may make or that the host serves itself.
/// Set what it needs, then <see cref="Run"/> it (or <see cref="Start"/> a session to call into it).
/// </summary>
/// <example>
/// <code>
/// var exit = new LinuxProgram("hello", "world") { StandardOutput = Console.OpenStandardOutput() }.Run();
/// </code>
/// </example>
public sealed class LinuxProgram
{
    /// <summary>A program at host path <paramref name="path"/> (under <see cref="Root"/>, a path inside the root) with its arguments.</summary>
    public LinuxProgram(string path, params IEnumerable<string> arguments)
    {
        Path = path;
        Arguments = [.. arguments];
    }

    /// <summary>The program's path: a host path, or with <see cref="Root"/> a path inside the root.</summary>
    public string Path { get; }

    /// <summary>Its arguments, after argv[0].</summary>
    public IReadOnlyList<string> Arguments { get; }

    /// <summary>Its argv[0] (default: <see cref="Path"/>).</summary>
    public string? ArgumentZero { get; init; }

    /// <summary>Its environment (default: empty; nothing of the host's leaks in unless <see cref="InheritEnvironment"/>).</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// True to start from this process's environment as it was given at start-up, in its order,
    /// with <see cref="Environment"/> replacing or adding variables (as a command-line runner does).
    /// </summary>
    public bool InheritEnvironment { get; init; }

    /// <summary>
    /// True to give the program this process's own standard input, output and error — terminals
    /// included — and the other descriptors it inherited without close-on-exec, as a command-line
    /// runner does (<c>isomorph run</c>). <see cref="StandardInput"/>, <see cref="StandardOutput"/>
    /// and <see cref="StandardError"/> must then be null.
    /// </summary>
    public bool InheritStandardStreams { get; init; }

    /// <summary>What it reads on standard input (default: nothing, end of file at once).</summary>
    public Stream? StandardInput { get; init; }

    /// <summary>Where its standard output goes (default: nowhere).</summary>
    public Stream? StandardOutput { get; init; }

    /// <summary>Where its standard error goes (default: nowhere).</summary>
    public Stream? StandardError { get; init; }

    /// <summary>
    /// A host directory that is its whole file system, as after chroot: every path it names
    /// resolves inside (device nodes and the host's abstract sockets refused). Default: the host's
    /// file system, with dynamic programs' libraries from Debian's riscv64 cross sysroot when installed.
    /// </summary>
    public string? Root { get; init; }

    /// <summary>
    /// Where a dynamic program's interpreter and libraries, and the absolute paths it names, are
    /// looked up first, before the host's own (default: Debian's riscv64 cross sysroot when installed).
    /// Not with <see cref="Root"/>: a root's own /lib serves the interpreter.
    /// </summary>
    public string? Sysroot { get; init; }

    /// <summary>Under <see cref="Root"/>, true to let it execve host programs (which see the host's files); without a root they always run, as under qemu-user.</summary>
    public bool AllowHostPrograms { get; init; }

    /// <summary>Where each system call is written, with its arguments and result, as strace writes it (default: nowhere).</summary>
    public TextWriter? SystemCallTrace { get; init; }

    /// <summary>Where the VM writes its warnings, reports of fatal signals and where the gdb stub listens (default: nowhere).</summary>
    public TextWriter? Diagnostics { get; init; }

    /// <summary>
    /// Where a gdb stub listens for the program: <c>tcp:[HOST]:PORT</c>, <c>unix:PATH</c>, or a TCP
    /// port on localhost (docs/gdb.md). <see cref="Start"/> then waits for gdb to connect before the
    /// first instruction, as <c>qemu-riscv64 -g PORT</c> does. Default: no stub.
    /// </summary>
    public string? Gdb { get; init; }

    /// <summary>The most instructions it may run (it ends with SIGXCPU, <see cref="GuestEnd.InstructionLimit"/>). Default: no limit.</summary>
    public long? MaxInstructions { get; init; }

    /// <summary>The most memory it may map, in bytes (mmap and brk fail with ENOMEM past it, as past RLIMIT_AS). Default: no limit.</summary>
    public ulong? MaxMemory { get; init; }

    /// <summary>How long it may run (then it is killed: <see cref="GuestEnd.TimedOut"/>). Default: no limit.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>
    /// The only Linux system calls it may make, by name ("read", "write", "exit_group"…) — with the
    /// numbers of <see cref="SystemCalls"/>, which are always allowed. Any other ends it with SIGSYS
    /// (<see cref="GuestEnd.SystemCallRefused"/>), as a seccomp filter that kills would. Default: all.
    /// </summary>
    public IReadOnlyCollection<string>? AllowedSystemCalls { get; init; }

    /// <summary>System calls the host serves itself, by riscv64 number: asked before Linux's (and instead of them).</summary>
    public IDictionary<long, SystemCallHandler> SystemCalls { get; } = new Dictionary<long, SystemCallHandler>();

    /// <summary>The engine that runs it (default: the one $ISOMORPH_ENGINE names, else the translator).</summary>
    public ExecutionEngine? Engine { get; init; }

    /// <summary>Runs the program to its end on the calling thread.</summary>
    /// <exception cref="InvalidProgramException">The program cannot be loaded (no such file, not a riscv64 ELF program, no interpreter).</exception>
    public GuestExit Run(CancellationToken cancellationToken = default)
    {
        using var session = Start();
        return session.RunToEnd(cancellationToken);
    }

    /// <summary>Runs the program to its end on a thread of its own.</summary>
    /// <exception cref="InvalidProgramException">The program cannot be loaded.</exception>
    public Task<GuestExit> RunAsync(CancellationToken cancellationToken = default)
    {
        var done = new TaskCompletionSource<GuestExit>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                done.SetResult(Run(cancellationToken));
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        }, LinuxSession.HostStack) { IsBackground = true, Name = $"isomorph {System.IO.Path.GetFileName(Path)}" };
        thread.Start();
        return done.Task;
    }

    /// <summary>
    /// Loads the program and returns a session that runs it, until a pause or its end, and calls
    /// into it; with <see cref="Gdb"/>, once gdb has connected.
    /// </summary>
    /// <exception cref="InvalidProgramException">The program cannot be loaded.</exception>
    /// <exception cref="ArgumentException">The options contradict each other (a root and a sysroot, inherited and given streams), or <see cref="Gdb"/> is no endpoint.</exception>
    /// <exception cref="IOException">The gdb stub cannot listen where <see cref="Gdb"/> says.</exception>
    public LinuxSession Start() => new(this);

    /// <summary>Hooks on code and memory (none by default: a program without hooks pays nothing for them).</summary>
    public GuestHooks? Hooks { get; init; }

    /// <summary>The engine an <see cref="ExecutionEngine"/> names (null: the default).</summary>
    internal static IExecutionEngine EngineOf(ExecutionEngine? engine) => engine switch
    {
        ExecutionEngine.Interpreter => InterpreterEngine.Instance,
        ExecutionEngine.Translator => ExecutionEngines.FromName("jit")!,
        _ => ExecutionEngines.Default,
    };

    /// <summary>Throws when options contradict each other, before anything is started.</summary>
    internal void Check()
    {
        if (Root is not null && Sysroot is not null) throw new ArgumentException("a root and a sysroot exclude each other: the root's own /lib serves the interpreter", nameof(Sysroot));
        if (InheritStandardStreams && (StandardInput ?? StandardOutput ?? StandardError) is not null)
            throw new ArgumentException("standard streams are inherited or given, not both", nameof(InheritStandardStreams));
        if (Gdb is not null && !GdbEndpoint.TryParse(Gdb, out _, out string? error)) throw new ArgumentException(error, nameof(Gdb));
    }

    internal LinuxOptions Options(HostStreams? streams, Func<LinuxProcess, SyscallArgs, long, long> serve, Func<Linux.Memory.GuestAddressSpace?> firstProcess, ExecutionControl? debugger)
    {
        var custom = SystemCalls.ToDictionary(kv => kv.Key, kv => (Linux.SystemCallHandler)((LinuxProcess p, in SyscallArgs a) => serve(p, a, kv.Key)));
        HashSet<long>? allowed = null;
        if (AllowedSystemCalls is not null)
        {
            var byName = SyscallNames.Riscv64.ToDictionary(kv => kv.Value, kv => kv.Key);
            allowed = [.. SystemCalls.Keys];
            foreach (var name in AllowedSystemCalls)
                allowed.Add(byName.TryGetValue(name, out long number) ? number : throw new ArgumentException($"no Linux system call is called {name}", nameof(AllowedSystemCalls)));
        }
        IExecutionEngine engine = Hooks is { NeedsNoEngine: false } ? new HookEngine(EngineOf(Engine)) : EngineOf(Engine);
        var trapped = Hooks?.TrapObserver(() => firstProcess() ?? throw new InvalidOperationException("no process yet"));
        return new LinuxOptions
        {
            Root = Root,
            Sysroot = Sysroot ?? PathResolver.DefaultSysroot(),
            Environment = InheritEnvironment ? WithHostEnvironment(Environment) : [.. Environment.Select(kv => $"{kv.Key}={kv.Value}")],
            StandardStreams = streams?.Descriptors,
            Strace = SystemCallTrace,
            Diagnostics = Diagnostics ?? TextWriter.Null,
            AllowHostExec = AllowHostPrograms,
            SystemCalls = custom,
            AllowedSystemCalls = allowed,
            MaxInstructions = MaxInstructions,
            MaxMemory = MaxMemory,
            Engine = (IExecutionEngine?)debugger ?? engine,
            SystemCallObserver = Hooks?.SystemCallObserver,
            // A fault's signal: the hooks see it first, then the debugger (which may discard it).
            SignalStop = debugger is null ? trapped
                : trapped is null ? debugger.StopForSignal
                : (hart, signal) => trapped(hart, signal) is var s && s == 0 ? 0 : debugger.StopForSignal(hart, s),
        };
    }

    /// <summary>This process's environment as it was given at start-up (/proc/self/environ), in its order, with <paramref name="overrides"/> applied.</summary>
    private static List<string> WithHostEnvironment(IReadOnlyDictionary<string, string> overrides)
    {
        var list = File.ReadAllText("/proc/self/environ").Split('\0', StringSplitOptions.RemoveEmptyEntries).ToList();
        foreach (var (name, value) in overrides)
        {
            int at = list.FindIndex(x => x.StartsWith(name + "=", StringComparison.Ordinal));
            if (at >= 0) list[at] = $"{name}={value}";
            else list.Add($"{name}={value}");
        }
        return list;
    }
}

/// <summary>
/// A loaded <see cref="LinuxProgram"/>: runs it until a system call handler pauses it
/// (<see cref="SystemCall.Pause"/>) or it ends, and calls its functions while it is paused, as
/// libriscv's vmcalls do: a plugin's main sets itself up, pauses, and the host calls it from then on.
/// Dispose it to end the program.
/// </summary>
public sealed class LinuxSession : IDisposable
{
    internal const int HostStack = 16 << 20;

    private readonly LinuxProcess _process;
    private readonly HostStreams? _streams;
    /// <summary>The gdb stub (<see cref="LinuxProgram.Gdb"/>): its engine wraps the program's, stopped before the first instruction until gdb connects.</summary>
    private readonly GdbAttachment? _gdb;
    /// <summary>With inherited streams, this process's own 0-2, put back once the guest (which closes them as it ends) is gone.</summary>
    private readonly IDisposable? _hostStandard;
    private readonly LinuxProgram _program;
    private GuestEnd? _cause;
    private ProcessExit? _exit;

    internal LinuxSession(LinuxProgram program)
    {
        _program = program;
        program.Check();
        _streams = program.InheritStandardStreams ? null : new HostStreams(program.StandardInput, program.StandardOutput, program.StandardError);
        if (program.InheritStandardStreams) _hostStandard = Linux.Host.HostProcess.KeepStandardDescriptors();
        if (program.Gdb is { } spec) _gdb = GdbAttachment.Create(spec, LinuxProgram.EngineOf(program.Engine), wait: true, program.Diagnostics, out _); // Check parsed it
        try
        {
            _process = LinuxProcess.Start(program.Path, [program.ArgumentZero ?? program.Path, .. program.Arguments], program.Options(_streams, Serve, () => _process?.Memory, _gdb?.Control));
        }
        catch (ProgramLoadException e)
        {
            _streams?.Dispose();
            _hostStandard?.Dispose();
            throw new InvalidProgramException(e.Message, e);
        }
        _streams?.GuestHasThem();
        if (_gdb is not null && _gdb.Start(new Linux.Debugging.ProcessDebugTarget(_process)) is { } listenError)
        {
            // Stopped before its first instruction until gdb connects, as under qemu-riscv64 -g; no gdb can come.
            _gdb.Control.Release(); // its threads go on to their end without a debugger
            Dispose();
            throw new IOException(listenError);
        }
        Memory = new GuestMemory(_process.Memory);
        if (_process.Options.Engine is HookEngine hooks && program.Hooks is { } wanted)
        {
            try
            {
                wanted.Install(hooks, AddressOf, () => _process.Memory);
            }
            catch
            {
                Dispose();
                throw;
            }
        }
    }

    /// <summary>The program's memory (its first process's).</summary>
    public GuestMemory Memory { get; private set; }

    /// <summary>Whether the program has ended.</summary>
    public bool Ended => _exit is not null;

    private long Serve(LinuxProcess process, SyscallArgs args, long number)
    {
        try
        {
            return _program.SystemCalls[number](new SystemCall(process, number, args));
        }
        catch (GuestMemoryException)
        {
            return -Errno.EFAULT;
        }
    }

    /// <summary>Runs the program until a system call handler pauses it (true) or it ends (false).</summary>
    public bool RunUntilPaused(CancellationToken cancellationToken = default) => Continue(pausable: true, cancellationToken);

    /// <summary>Runs the program to its end and says how it ended.</summary>
    public GuestExit RunToEnd(CancellationToken cancellationToken = default)
    {
        Continue(pausable: false, cancellationToken);
        return Exit!.Value;
    }

    /// <summary>How the program ended; null while it has not.</summary>
    public GuestExit? Exit => _exit is { } e
        ? new GuestExit(_cause ?? (e.Signal switch
        {
            0 => GuestEnd.Exited,
            LinuxProcess.Sigxcpu when _program.MaxInstructions is { } most && _process.Instructions >= most => GuestEnd.InstructionLimit,
            LinuxProcess.Sigsys when _program.AllowedSystemCalls is not null => GuestEnd.SystemCallRefused,
            _ => GuestEnd.Killed,
        }), e.Status, e.Signal, _process.Instructions)
        : null;

    private bool Continue(bool pausable, CancellationToken cancellationToken)
    {
        if (_exit is not null) return false;
        using var timeout = _program.Timeout is { } limit ? new CancellationTokenSource(limit) : null;
        using var onTimeout = timeout?.Token.Register(() => End(GuestEnd.TimedOut));
        using var onCancel = cancellationToken.Register(() => End(GuestEnd.Cancelled));
        _exit = _process.Continue(pausable);
        if (_exit is not { } exit) return true;
        _gdb?.Ended(exit.Status, exit.Signal); // W or X, and a moment for gdb to read it
        _streams?.Drain();
        return false;
    }

    private void End(GuestEnd cause)
    {
        _cause ??= cause;
        _process.Terminate(LinuxProcess.Sigkill);
    }

    /// <summary>
    /// Calls the guest function <paramref name="symbol"/> (a symbol of the program's own ELF
    /// file) with up to eight integer or pointer arguments, as the RISC-V calling convention passes
    /// them, and returns what it returns in a0. The program must be paused (<see cref="RunUntilPaused"/>).
    /// </summary>
    /// <exception cref="KeyNotFoundException">The program has no such symbol.</exception>
    /// <exception cref="InvalidOperationException">The program is not paused, or it ended during the call (a fault, an exit, a limit).</exception>
    public ulong Call(string symbol, params ReadOnlySpan<ulong> arguments) => Call(AddressOf(symbol), arguments);

    /// <summary>The guest address of <paramref name="symbol"/> (a function or a variable of the program's own ELF file).</summary>
    /// <exception cref="KeyNotFoundException">The program has no such symbol.</exception>
    public ulong AddressOf(string symbol)
    {
        var image = _process.Program;
        if (!image.File.TryGetSymbol(symbol, out var found)) throw new KeyNotFoundException($"{_program.Path} has no symbol {symbol}");
        return image.Bias + found.Value;
    }

    /// <summary>Calls the guest function at <paramref name="address"/>, as <see cref="Call(string, ReadOnlySpan{ulong})"/> does.</summary>
    /// <exception cref="InvalidOperationException">The program is not paused, or it ended during the call.</exception>
    public ulong Call(ulong address, params ReadOnlySpan<ulong> arguments)
    {
        if (_exit is not null) throw new InvalidOperationException("the program has ended");
        ulong? result = _process.Call(address, arguments);
        if (result is { } value) return value;
        if (_process.Exited) _exit = _process.Continue(pausable: false); // only finishes: the process has ended
        throw new InvalidOperationException($"the guest function at 0x{address:x} did not return: {Exit?.Reason.ToString() ?? "its instruction budget ran out"}");
    }

    /// <summary>Ends the program if it is still running, and lets go of its streams.</summary>
    public void Dispose()
    {
        if (_exit is null)
        {
            _gdb?.Control.Release();
            End(GuestEnd.Cancelled);
            _exit = _process.Continue(pausable: false);
        }
        _process.Dispose();
        _gdb?.Dispose();
        _streams?.Dispose();
        _hostStandard?.Dispose();
    }
}

/// <summary>
/// The guest's standard streams: a host pipe for each .NET stream the embedder gave (copied on
/// threads of their own), /dev/null for the others.
/// </summary>
internal sealed class HostStreams : IDisposable
{
    private readonly List<IDisposable> _owned = [];
    private readonly List<Thread> _pumps = [];

    public HostStreams(Stream? input, Stream? output, Stream? error)
    {
        Descriptors = (Reader(input), Writer(output), Writer(error));
    }

    public (int Input, int Output, int Error) Descriptors { get; }

    private readonly List<AnonymousPipeServerStream> _pipes = [];

    private int Reader(Stream? source) => source is null ? Null(FileAccess.Read) : Pipe(PipeDirection.Out, pipe =>
    {
        try
        {
            Copy(source, pipe);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException) { } // the guest closed its end, or the session ended
        finally
        {
            pipe.Dispose(); // the guest reads the end of its input
        }
    });

    private int Writer(Stream? destination) => destination is null ? Null(FileAccess.Write) : Pipe(PipeDirection.In, pipe =>
    {
        try
        {
            Copy(pipe, destination);
            destination.Flush();
        }
        // The embedder's stream failed (what the guest writes goes nowhere, as to a closed pipe), or the
        // session was disposed while this thread copied: a copying thread never takes the process down.
        catch (Exception e) when (e is IOException or ObjectDisposedException) { }
    });

    /// <summary>
    /// Copies until the end of <paramref name="from"/>. A read or write that a signal interrupted
    /// (EINTR: the VM signals its host threads) is tried again; .NET's pipe streams do not retry it.
    /// </summary>
    private static void Copy(Stream from, Stream to)
    {
        var buffer = new byte[1 << 16];
        while (true)
        {
            int n;
            try
            {
                n = from.Read(buffer, 0, buffer.Length);
            }
            catch (IOException e) when (Interrupted(e))
            {
                continue;
            }
            if (n == 0) return;
            while (true)
            {
                try
                {
                    to.Write(buffer, 0, n);
                    break;
                }
                catch (IOException e) when (Interrupted(e))
                {
                }
            }
        }
    }

    private static bool Interrupted(IOException e) =>
        e.InnerException is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.Interrupted };

    /// <summary>A pipe whose server end <paramref name="copy"/> serves once the guest holds the client end; returns the client end's descriptor.</summary>
    private int Pipe(PipeDirection direction, Action<AnonymousPipeServerStream> copy)
    {
        var pipe = new AnonymousPipeServerStream(direction, HandleInheritability.None);
        _owned.Add(pipe);
        _pipes.Add(pipe);
        Pump(() => copy(pipe));
        return (int)pipe.ClientSafePipeHandle.DangerousGetHandle();
    }

    private int Null(FileAccess access)
    {
        var file = File.OpenHandle("/dev/null", FileMode.Open, access);
        _owned.Add(file);
        return (int)file.DangerousGetHandle();
    }

    /// <summary>A copy to run once the guest holds its ends (<see cref="GuestHasThem"/>): a pipe's server end closed earlier would take the client's number with it.</summary>
    private void Pump(Action copy) => _pumps.Add(new Thread(() => copy()) { IsBackground = true, Name = "isomorph stream" });

    /// <summary>The guest holds its own duplicates now: ours go, so that the pipes end when the guest's do, and the copying starts.</summary>
    public void GuestHasThem()
    {
        foreach (var pipe in _pipes) pipe.DisposeLocalCopyOfClientHandle();
        _pipes.Clear();
        if (_started) return;
        _started = true;
        foreach (var pump in _pumps) pump.Start();
    }

    private bool _started;

    /// <summary>After the program's end: waits until what it wrote has reached the embedder's streams.</summary>
    public void Drain()
    {
        if (!_started) return;
        foreach (var pump in _pumps) pump.Join(TimeSpan.FromSeconds(10));
    }

    public void Dispose()
    {
        GuestHasThem();
        foreach (var o in _owned) o.Dispose();
    }
}
