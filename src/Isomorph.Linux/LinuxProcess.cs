using Isomorph.Devices.HostIo;
using Isomorph.Devices.Bus;
using Isomorph.Elf;
using Isomorph.Linux.FileSystem;
using Isomorph.Linux.Loading;
using Isomorph.Linux.Host;
using Isomorph.Linux.Memory;
using Isomorph.Linux.Processes;
using Isomorph.Linux.Signals;
using Isomorph.Linux.Syscalls;
using Isomorph.Linux.Threads;
using Isomorph.Riscv;
using Isomorph.Riscv.Execution;
using Isomorph.Riscv.Isa;

namespace Isomorph.Linux;

/// <summary>Options of a process VM run.</summary>
public sealed record LinuxOptions
{
    /// <summary>Where the program interpreter and absolute paths are looked up first (null: only the host).</summary>
    public string? Sysroot { get; init; } = PathResolver.DefaultSysroot();
    /// <summary>
    /// A directory that is the guest's whole file system, as after chroot (null: the host's, through
    /// the sysroot). With a root the sysroot does not apply: the root's own /lib serves the interpreter.
    /// </summary>
    public string? Root { get; init; }
    /// <summary>The guest's environment, NAME=VALUE strings (null: the host's, in its order).</summary>
    public IReadOnlyList<string>? Environment { get; init; }
    /// <summary>Where --strace lines go, or null.</summary>
    public TextWriter? Strace { get; init; }
    /// <summary>Where warnings and fatal-signal reports go.</summary>
    public TextWriter Diagnostics { get; init; } = TextWriter.Null;
    /// <summary>
    /// Whether a guest confined with --root may execve a host program (which sees the host's files,
    /// not the root's). Without --root host programs always run, as under qemu-user.
    /// </summary>
    public bool AllowHostExec { get; init; }
    /// <summary>The engine that runs the guest's harts (null: <see cref="ExecutionEngines.Default"/>).</summary>
    public IExecutionEngine? Engine { get; init; }
    /// <summary>
    /// Asked before a fault's signal acts on a thread (a debugger reports it and waits): returns the
    /// signal to go on with, 0 to discard it and run the faulting instruction again. Null: none.
    /// </summary>
    public Func<Hart, int, int>? SignalStop { get; init; }
    /// <summary>
    /// Host descriptors the guest gets as its standard input, output and error (duplicated; the
    /// caller keeps its own). Null: the host process's own 0, 1 and 2, and every other descriptor it
    /// was given that is not close-on-exec, as a program keeps them across execve.
    /// </summary>
    public (int Input, int Output, int Error)? StandardStreams { get; init; }
    /// <summary>Told of every system call a guest thread makes, before the allow-list and the handlers see it (a hook's view). Null: none.</summary>
    public SystemCallObserver? SystemCallObserver { get; init; }
    /// <summary>System calls the embedder serves itself, by riscv64 number: asked before the VM's own (and instead of them).</summary>
    public IReadOnlyDictionary<long, SystemCallHandler>? SystemCalls { get; init; }
    /// <summary>
    /// The only system calls the guest may make, by riscv64 number (custom ones included); any
    /// other ends its process with SIGSYS, as seccomp's SECCOMP_RET_KILL_PROCESS does. Null: every one.
    /// </summary>
    public IReadOnlySet<long>? AllowedSystemCalls { get; init; }
    /// <summary>The most instructions a process (all its threads) may run; then it ends with SIGXCPU, as past RLIMIT_CPU. Null: no limit.</summary>
    public long? MaxInstructions { get; init; }
    /// <summary>The most memory a process may map, in bytes (RLIMIT_AS): past it mmap, brk and the stack's growth fail with ENOMEM. Null: no limit.</summary>
    public ulong? MaxMemory { get; init; }
}

/// <summary>Told of a system call before it is served: the process, the calling thread's hart, the number and the arguments.</summary>
public delegate void SystemCallObserver(LinuxProcess process, Hart hart, long number, in SyscallArgs args);

/// <summary>A system call the embedder serves: the result, or -errno.</summary>
public delegate long SystemCallHandler(LinuxProcess process, in SyscallArgs args);

/// <summary>How a guest process ended: an exit status, or the signal that killed it (and whether it dumped core).</summary>
public readonly record struct ProcessExit(int Status, int Signal, bool CoreDumped = false)
{
    /// <summary>The status word wait4 stores: the exit status in bits 8-15, or the signal with WCOREDUMP's bit 0x80.</summary>
    public int WaitStatus => Signal != 0 ? Signal | (CoreDumped ? 0x80 : 0) : (Status & 0xFF) << 8;

    /// <summary>The status a shell reports: the exit status, or 128 + the signal number.</summary>
    public int ShellStatus => Signal != 0 ? 128 + Signal : Status & 0xFF;
}

/// <summary>
/// One riscv64 Linux process on the host: its threads (<see cref="GuestThread"/>, each a hart in
/// U-mode on a host thread of its own) over one <see cref="GuestAddressSpace"/>, the ELF images
/// loaded into it, and the kernel state that system calls act on (descriptors, working directory,
/// program break, signal dispositions). ecall and faults reach it through the harts' trap hook,
/// on the host thread of the guest thread that made them. Every guest process of a run lives in
/// the one host process; fork copies the address space into a new one, execve replaces the image
/// in place, clone with CLONE_THREAD adds a thread (LinuxProcess.Threads.cs).
/// </summary>
public sealed unsafe partial class LinuxProcess : IDisposable
{
    public const int Sigill = 4, Sigtrap = 5, Sigbus = 7, Sigkill = 9, Sigsegv = 11, Sigpipe = 13, Sigchld = 17, Sigxcpu = 24, Sigsys = 31;

    /// <summary>Host stack of the threads that run child processes (the interpreter recurses little, but glibc-sized margins are cheap).</summary>
    private const int HostThreadStack = 16 << 20;

    private readonly SyscallTable _syscalls = SyscallTable.Instance;
    private readonly HashSet<long> _warned = [];
    private readonly object _warnLock = new();
    private volatile object? _exit;
    private long _instructions;

    /// <summary>The instructions the process's threads have run (counted between slices of each thread's run).</summary>
    public long Instructions => Interlocked.Read(ref _instructions);
    private Signals.CoreDump.Registers? _dying;
    private Image? _pendingImage;
    /// <summary>The thread whose execve loaded <see cref="_pendingImage"/>: it runs the new image.</summary>
    private GuestThread? _execThread;
    private bool _disposed;
    /// <summary>Set when a vfork child execs or ends, so its parent resumes.</summary>
    private ManualResetEventSlim? _vforkDone;
    /// <summary>True while this process runs in its vfork parent's address space (until it execs or ends).</summary>
    private bool _borrowedMemory;

    /// <summary>What execve replaces: the address space, the hart that runs in it, and where the images lie.</summary>
    private sealed record Image(GuestAddressSpace Memory, Hart Hart, ProcessLayout Layout, ElfImage Program, ElfImage? Interpreter,
        ulong BrkStart, string ExecutablePath, ulong SigreturnTrampoline);

    /// <summary>The hart of the calling guest thread (<see cref="Current"/>).</summary>
    public Hart Hart => Current.Hart;
    public GuestAddressSpace Memory { get; private set; } = null!;
    public ProcessLayout Layout { get; private set; } = null!;
    public FileTable Files { get; }
    public PathResolver Paths { get; }
    public LinuxOptions Options { get; }
    public ProcessTable Table { get; }
    /// <summary>The host path of the program (what /proc/self/exe names).</summary>
    public string ExecutablePath { get; private set; } = "";
    /// <summary>The program's path as the guest sees it (inside the root under --root).</summary>
    public string GuestExecutablePath => Root?.GuestPathOfHost(ExecutablePath) ?? ExecutablePath;
    /// <summary>
    /// The directory the guest is confined to: the process's own after chroot (inherited by its
    /// children), else --root's, shared by every process of the run; null when the guest sees the host's files.
    /// </summary>
    public GuestRoot? Root => _changedRoot ?? Table.Root;

    private GuestRoot? _changedRoot;

    /// <summary>chroot: from now on this process (and the children it makes) resolve every path inside <paramref name="root"/>.</summary>
    public void ChangeRoot(GuestRoot root) => _changedRoot = root;
    public ElfImage Program { get; private set; } = null!;
    public ElfImage? Interpreter { get; private set; }

    /// <summary>The program break: where brk's heap starts, and its current end.</summary>
    public ulong BrkStart { get; private set; }
    public ulong Brk { get; set; }

    /// <summary>Signal dispositions (raw riscv64 struct sigaction: handler, flags, mask), shared by the threads.</summary>
    public Dictionary<int, (ulong Handler, ulong Flags, ulong Mask)> SignalActions { get; } = [];
    /// <summary>The calling thread's blocked mask.</summary>
    public ulong BlockedSignals { get => Current.BlockedSignals; set => Current.BlockedSignals = value; }
    /// <summary>The calling thread's clear-child-tid word (set_tid_address).</summary>
    public ulong ClearChildTid { get => Current.ClearChildTid; set => Current.ClearChildTid = value; }

    public int Pid { get; }
    /// <summary>
    /// The file mode creation mask. The host's is per host process, so the VM sets it to 0 and
    /// applies each guest process's own where files are created.
    /// </summary>
    public uint Umask { get; set; }

    /// <summary>The parent process inside the VM; null for the first process (whose parent is the host's) and orphans.</summary>
    public LinuxProcess? Parent { get; internal set; }
    public int ProcessGroup { get; set; }
    public int Session { get; set; }
    /// <summary>Children not yet reaped (guarded by the process table's lock).</summary>
    internal List<LinuxProcess> Children { get; } = [];
    /// <summary>True once the process has ended and closed its descriptors (guarded by the process table's lock).</summary>
    public bool IsZombie { get; internal set; }
    /// <summary>struct rusage of the children this process has reaped (and theirs), for getrusage(RUSAGE_CHILDREN) and times.</summary>
    public byte[] ChildrenUsage { get; } = new byte[Syscalls.ResourceUsage.RusageSize];
    /// <summary>What this process used, its own and its reaped children's, taken as it ends; its parent adds it up when reaping it.</summary>
    public byte[] FinalUsage { get; } = new byte[Syscalls.ResourceUsage.RusageSize];

    /// <summary>prctl PR_SET_DUMPABLE: whether the process may be core-dumped and ptraced (set again by execve).</summary>
    public bool Dumpable { get; set; } = true;

    /// <summary>prctl PR_SET_PDEATHSIG: the signal this process gets when its parent ends (0: none; not inherited by a fork).</summary>
    public int ParentDeathSignal { get; set; }

    /// <summary>The signal the parent gets when this process ends (clone's CSIGNAL bits; SIGCHLD for fork).</summary>
    public int ExitSignal { get; set; } = Sigchld;
    /// <summary>True for the process the run started with, whose parent is outside the VM.</summary>
    public bool IsFirst { get; private set; }

    private LinuxProcess(LinuxOptions options, ProcessTable table, FileTable files, LinuxProcess? parent)
    {
        Options = options;
        Table = table;
        Paths = new PathResolver(options.Root is null ? options.Sysroot : null);
        Files = files;
        Parent = parent;
        Pid = table.Add(this, parent);
    }

    /// <summary>Loads <paramref name="program"/> for a run with arguments <paramref name="argv"/> (argv[0] included).</summary>
    public static LinuxProcess Start(string program, IReadOnlyList<string> argv, LinuxOptions options)
    {
        var paths = new PathResolver(options.Root is null ? options.Sysroot : null);
        GuestRoot? root = null;
        if (options.Root is not null)
        {
            try
            {
                root = GuestRoot.Open(options.Root);
            }
            catch (DirectoryNotFoundException e)
            {
                throw new ProgramLoadException($"--root {e.Message}");
            }
        }
        Image image;
        try
        {
            // The command line's program is a host path, or under --root a path inside the root.
            long fd = OpenProgram(root, new PathResolver(null), root?.Descriptor ?? Libc.AtFdCwd, program);
            if (fd < 0) throw new ProgramLoadException($"{program}: {fd switch
            {
                -Errno.ENOENT => "no such file",
                -Errno.EACCES => "not a regular file, or not readable (EACCES)",
                _ => Errno.Name(-fd),
            }}{(root is null ? "" : $" in {root.HostPath}")}");
            try
            {
                image = Load((int)fd, program, argv, options.Environment ?? HostEnvironment(), paths, root);
            }
            finally
            {
                Libc.close((int)fd);
            }
        }
        catch
        {
            root?.Dispose();
            throw;
        }
        // Under --root the guest starts in the root, as chroot(1) leaves it.
        FileTable files;
        if (options.StandardStreams is { } streams)
        {
            // An embedder's streams, and nothing else of the host process's descriptors.
            files = new FileTable(root is null ? Libc.OpenDirectory(Libc.AtFdCwd, ".") : Libc.fcntl(root.Descriptor, Libc.FDupfdCloexec, 0), standardStreams: false);
            files.Replace(0, Libc.fcntl(streams.Input, Libc.FDupfdCloexec, 3), closeOnExec: false);
            files.Replace(1, Libc.fcntl(streams.Output, Libc.FDupfdCloexec, 3), closeOnExec: false);
            files.Replace(2, Libc.fcntl(streams.Error, Libc.FDupfdCloexec, 3), closeOnExec: false);
        }
        else
        {
            files = root is null ? new FileTable() : new FileTable(Libc.fcntl(root.Descriptor, Libc.FDupfdCloexec, 0), standardStreams: true);
            files.InheritFromHost();
        }
        var process = new LinuxProcess(options, new ProcessTable(Environment.ProcessId) { Root = root }, files, null);
        process.IsFirst = true;
        if (options.StandardStreams is null) process.InheritIgnoredSignals();
        process.Umask = Libc.umask(0);
        process.ProcessGroup = Libc.getpgid(0);
        process.Session = Libc.getsid(0);
        process.Install(image);
        return process;
    }

    /// <summary>
    /// Builds a new image: the program (and its interpreter) mapped into a fresh address space,
    /// the initial stack, and a hart about to enter the entry point in U-mode.
    /// </summary>
    private static Image Load(int programFd, string execFn, IReadOnlyList<string> argv, IReadOnlyList<string> envp, PathResolver paths,
        GuestRoot? root)
    {
        var (elf, hostPath) = ReadProgram(programFd);
        string? interpreterName = ElfImage.InterpreterOf(elf);
        ElfFile? interpreterElf = null;
        if (interpreterName is not null && root is not null)
        {
            long fd = root.Open(interpreterName.StartsWith('/') ? interpreterName : "/" + interpreterName, Libc.ORdonly, 0);
            if (fd < 0)
                throw new ProgramLoadException($"{execFn}: program interpreter {interpreterName} not found in the root {root.HostPath}", (int)-fd);
            try
            {
                interpreterElf = ReadProgram((int)fd, interpreter: true).Elf;
            }
            finally
            {
                Libc.close((int)fd);
            }
        }
        else if (interpreterName is not null)
        {
            var tried = paths.Candidates(interpreterName).ToList();
            string? found = tried.FirstOrDefault(File.Exists);
            if (found is null)
            {
                string hint = paths.Sysroot is null
                    ? "; pass --sysroot DIR with the riscv64 libraries (e.g. Debian's /usr/riscv64-linux-gnu)"
                    : "; pass --sysroot DIR with the riscv64 libraries";
                throw new ProgramLoadException(
                    $"{execFn}: program interpreter {interpreterName} not found (tried {string.Join(", ", tried)}){hint}", Errno.ENOENT);
            }
            interpreterElf = LoadElf(found);
        }

        // 2^40 bytes each: room for the 2^38-byte Sv39 task size and for a few hundred processes in the host's 2^47.
        var memory = GuestAddressSpace.Reserve(maxBits: 40);
        try
        {
            var layout = ProcessLayout.For(memory);
            ulong bias = elf.Type == ElfType.SharedObject ? layout.DynamicBase - ElfImage.Extent(elf).Low : 0;
            var program = ElfImage.Map(elf, memory, bias, layout.TaskSize);
            ElfImage? interpreter = null;
            if (interpreterElf is not null)
            {
                // Linux answers an interpreter's impossible segments with ENOMEM (load_elf_interp).
                var (low, high) = ElfImage.Extent(interpreterElf);
                ulong at = memory.FindFree(high - low, layout.MmapTop);
                if (at == 0) throw new ProgramLoadException($"{interpreterElf.Path}: no room for the program interpreter", Errno.ENOMEM);
                interpreter = ElfImage.Map(interpreterElf, memory, at - low, layout.TaskSize, Errno.ENOMEM);
            }
            // As Linux, only the entry point the hart jumps to must lie in the task's space (EINVAL).
            var entered = interpreter ?? program;
            if (entered.Entry >= layout.TaskSize)
                throw new ProgramLoadException($"{entered.File.Path}: entry point 0x{entered.Entry:x} lies outside the guest address space", Errno.EINVAL);
            ulong brkStart = GuestAddressSpace.PageUp(program.End);
            ulong trampoline = MapTrampoline(memory, layout.MmapTop);

            if (memory.Map(layout.StackBottom, ProcessLayout.StackSize, PageFlags.Read | PageFlags.Write) != 0)
                throw new ProgramLoadException("cannot map the initial stack");
            var auxv = new List<(ulong, ulong)>
            {
                (Auxv.Phdr, program.ProgramHeaders), (Auxv.Phent, ElfImage.ProgramHeaderSize), (Auxv.Phnum, (ulong)program.ProgramHeaderCount),
                (Auxv.Pagesz, GuestAddressSpace.PageSize), (Auxv.Base, interpreter?.Bias ?? 0), (Auxv.Flags, 0), (Auxv.Entry, program.Entry),
                (Auxv.Uid, Libc.getuid()), (Auxv.Euid, Libc.geteuid()), (Auxv.Gid, Libc.getgid()), (Auxv.Egid, Libc.getegid()),
                (Auxv.Hwcap, Auxv.HwcapImafdc), (Auxv.Hwcap2, 0), (Auxv.Clktck, 100), (Auxv.Secure, 0), (Auxv.MinSigStkSz, Auxv.MinimumSignalStack),
            };
            ulong sp = InitialStack.Build(memory, layout.StackTop, argv, envp, execFn, auxv);
            var hart = NewHart(memory);
            hart.X[2] = sp;
            hart.EnterUserMode(interpreter?.Entry ?? program.Entry);
            return new Image(memory, hart, layout, program, interpreter, brkStart, hostPath, trampoline);
        }
        catch
        {
            memory.Dispose();
            throw;
        }
    }

    private static Hart NewHart(GuestAddressSpace memory)
    {
        var bus = new PhysicalBus();
        bus.AddRam(new Ram(0, memory.Limit, memory.HostBase));
        var hart = new Hart(bus) { PageProtection = memory, Direct = memory.Direct };
        hart.Code.Direct = memory.Direct;
        return hart;
    }

    /// <summary>The decoded code of the current image, shared by the harts of all threads.</summary>
    public CodeCache Code { get; private set; } = null!;

    /// <summary>
    /// Makes <paramref name="image"/> the process's: its hart (that of <paramref name="thread"/>, by
    /// default the main thread) traps to this process, its memory reports to the hart.
    /// </summary>
    private void Install(Image image, GuestThread? thread = null)
    {
        lock (MapLock) // process_vm_readv/writev from other processes copy under it
        {
            if (Memory is not null) Release(Memory);
            Memory = image.Memory;
            Memory.MappedLimit = Options.MaxMemory;
        }
        if (MainThread is null)
        {
            MainThread = new GuestThread(this, Pid, image.Hart);
            AddThread(MainThread);
        }
        else
        {
            (thread ?? MainThread).Hart = image.Hart;
        }
        Code = image.Hart.Code;
        Layout = image.Layout;
        Program = image.Program;
        Interpreter = image.Interpreter;
        BrkStart = Brk = image.BrkStart;
        ExecutablePath = image.ExecutablePath;
        SigreturnTrampoline = image.SigreturnTrampoline;
        // As execve sets comm: the program file's name, at most 15 bytes; a fork keeps its parent's.
        (thread ?? MainThread).Name = Syscalls.Prctl.CommOf(Path.GetFileName(image.ExecutablePath));
        Dumpable = true;
        PrepareHart(image.Hart);
        Memory.ProtectionReduced += ForgetTranslations;
        Memory.WrittenByHost += InvalidateCode;
    }

    /// <summary>Connects a hart to this process: its traps come here, its clock is the run's.</summary>
    private void PrepareHart(Hart hart)
    {
        hart.TrapHook = OnTrap;
        var clock = Table.Clock;
        hart.TimeSource = () => (ulong)clock.Elapsed.Ticks; // 10 MHz, the timebase riscv64 boards commonly report
    }

    /// <summary>
    /// fork, vfork and clone without CLONE_VM: a child with a copy of this process's memory,
    /// registers, descriptors and signal state, returning 0 from the system call on its own host
    /// thread. <paramref name="stack"/>, when not 0, becomes its stack pointer; <paramref name="tls"/> its tp.
    /// </summary>
    public LinuxProcess Fork(ulong stack, ulong? tls, bool vfork, bool shareMemory = false)
    {
        // A copy first: when the host has no room left, nothing else has happened. A vfork child
        // with CLONE_VM runs in the parent's own memory while the parent waits, as on Linux.
        var memory = shareMemory ? Memory : Memory.Fork();
        var caller = Current;
        var child = new LinuxProcess(Options, Table, Files.Clone(), this)
        {
            ProcessGroup = ProcessGroup,
            Session = Session,
            Umask = Umask,
            _changedRoot = _changedRoot,
        };
        lock (SignalLock)
            foreach (var (signal, action) in SignalActions) child.SignalActions[signal] = action;
        var hart = NewHart(memory);
        hart.EnterUserMode(Hart.Pc);
        for (int i = 1; i < 32; i++) hart.X[i] = Hart.X[i];
        for (int i = 0; i < 32; i++) hart.F[i] = Hart.F[i];
        if (Hart.TryReadCsr(CsrNumber.Fcsr, out ulong fcsr)) hart.TryWriteCsr(CsrNumber.Fcsr, fcsr);
        hart.X[10] = 0;
        if (stack != 0) hart.X[2] = stack;
        if (tls is { } tp) hart.X[4] = tp;
        child.Install(new Image(memory, hart, Layout, Program, Interpreter, BrkStart, ExecutablePath, SigreturnTrampoline));
        child.MainThread.BlockedSignals = caller.BlockedSignals;
        child.MainThread.Name = caller.Name;
        child.MainThread.AltStack = caller.AltStack;
        Affinity.Inherit(caller, child.MainThread);
        child.Brk = Brk;
        if (vfork) child._vforkDone = new ManualResetEventSlim();
        child._borrowedMemory = shareMemory;
        return child;
    }

    /// <summary>Runs a forked child on a host thread of its own; a vfork parent waits here until the child execs or ends.</summary>
    public void StartChild(LinuxProcess child)
    {
        var done = child._vforkDone;
        var thread = new Thread(() => child.Run(), HostThreadStack) { IsBackground = true, Name = $"guest pid {child.Pid}" };
        child.MainThread.HostThread = thread;
        thread.Start();
        done?.Wait();
    }

    /// <summary>
    /// execve: loads the program open as <paramref name="programFd"/> into a new image, which replaces the current one
    /// when the system call returns (the current hart is still running it). Returns 0 or -errno;
    /// on failure the process carries on unchanged.
    /// </summary>
    public long Exec(int programFd, string execFn, IReadOnlyList<string> argv, IReadOnlyList<string> envp)
    {
        Image image;
        try
        {
            image = Load(programFd, execFn, argv, envp, Paths, Root);
        }
        catch (ProgramLoadException e)
        {
            return -e.Errno;
        }
        catch (InsufficientMemoryException)
        {
            return -Errno.ENOMEM;
        }
        EndOtherThreads();
        _execThread = Current;
        _pendingImage = image;
        Hart.RequestStop();
        Files.CloseOnExecAll();
        foreach (var signal in SignalActions.Keys.ToList())
            if (SignalActions[signal].Handler > 1) SignalActions.Remove(signal); // handlers reset, SIG_IGN stays
        ClearChildTid = 0;
        Current.RobustList = 0; // the old image's list means nothing in the new one
        AltStack = (0, SsDisable, 0);
        return 0;
    }

    /// <summary>
    /// Opens the program a guest names (execve, or the command line) for reading: under --root
    /// inside the root (relative paths from <paramref name="cwd"/>, a host directory descriptor),
    /// otherwise through the sysroot. A host descriptor or -errno.
    /// </summary>
    public static long OpenProgram(GuestRoot? root, PathResolver paths, int cwd, string guestPath)
    {
        long fd;
        if (root is not null)
        {
            var absolute = root.Absolute(cwd, guestPath);
            fd = absolute is null ? -Errno.ENOENT : root.Open(absolute, Libc.ORdonly | Libc.ONonblock, 0);
        }
        else
        {
            string host = guestPath.StartsWith('/') ? paths.Resolve(guestPath) : guestPath;
            var bytes = System.Text.Encoding.UTF8.GetBytes(host + "\0");
            // Non-blocking: opening a FIFO would wait for a writer; it is refused below instead.
            fixed (byte* at = bytes) fd = Libc.Check(Libc.openat(cwd, at, Libc.ORdonly | Libc.OCloexec | Libc.ONonblock, 0));
        }
        if (fd >= 0 && HostFile.Kind((int)fd) != HostFileKind.Regular)
        {
            Libc.close((int)fd);
            return -Errno.EACCES; // as execve(2) answers for anything but a regular file
        }
        return fd;
    }

    /// <summary>
    /// The ELF file open at host descriptor <paramref name="fd"/>, and its host path. A file that is
    /// not one gets Linux's errno: ENOEXEC for malformed headers, EIO for a short file, EINVAL for
    /// impossible segments, and ELIBBAD for any fault of a program interpreter's.
    /// </summary>
    private static (ElfFile Elf, string HostPath) ReadProgram(int fd, bool interpreter = false)
    {
        string magic = $"/proc/self/fd/{fd}";
        string hostPath = new FileInfo(magic).LinkTarget ?? magic;
        try
        {
            return (ElfFile.Parse(hostPath, File.ReadAllBytes(magic)), hostPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ProgramLoadException($"{hostPath}: {e.Message}", Errno.EIO);
        }
        catch (ElfFormatException e)
        {
            throw new ProgramLoadException(e.Message, interpreter ? Errno.ELIBBAD : ErrnoOf(e.Problem));
        }
    }

    private static int ErrnoOf(ElfProblem problem) => problem switch
    {
        ElfProblem.Truncated => Errno.EIO,
        ElfProblem.BadLayout => Errno.EINVAL,
        _ => Errno.ENOEXEC,
    };

    /// <summary>A program interpreter found through the sysroot.</summary>
    private static ElfFile LoadElf(string path)
    {
        if (!File.Exists(path)) throw new ProgramLoadException($"{path}: no such file", Errno.ENOENT);
        try
        {
            return ElfFile.Load(path);
        }
        catch (ElfFormatException e)
        {
            throw new ProgramLoadException(e.Message, Errno.ELIBBAD);
        }
    }

    /// <summary>The host's environment in its original order (from /proc/self/environ).</summary>
    private static IReadOnlyList<string> HostEnvironment()
    {
        try
        {
            return File.ReadAllText("/proc/self/environ").Split('\0', StringSplitOptions.RemoveEmptyEntries);
        }
        catch (IOException)
        {
            return [.. Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>().Select(e => $"{e.Key}={e.Value}")];
        }
    }

    /// <summary>
    /// Runs the process's main thread until the process exits or a signal kills it; then, once its
    /// other threads have ended, closes its descriptors and tells its parent.
    /// </summary>
    public ProcessExit Run() => Continue(pausable: false)!.Value;

    /// <summary>
    /// Runs the process's main thread as <see cref="Run"/> does, or, when <paramref name="pausable"/>,
    /// until an embedder's system call handler asks for a pause (<see cref="RequestPause"/>): null
    /// then, and the process may be called into (<see cref="Call"/>) and continued. Its other
    /// threads run on through a pause.
    /// </summary>
    public ProcessExit? Continue(bool pausable)
    {
        var main = MainThread;
        main.Enter();
        main.HostThread ??= Thread.CurrentThread;
        bool paused = false;
        try
        {
            paused = RunGuest(main, pausable);
        }
        catch (Exception e)
        {
            Options.Diagnostics.WriteLine($"isomorph: internal error in guest process {Pid}: {e}");
            Terminate(Sigkill);
        }
        finally
        {
            if (!paused) Finish(main);
        }
        return paused ? null : (ProcessExit)_exit!;
    }

    /// <summary>Asks the calling thread's run to pause once the system call being made returns (<see cref="Continue"/>).</summary>
    public void RequestPause()
    {
        Volatile.Write(ref _pauseRequested, 1);
        Current.Hart.RequestStop();
    }

    private int _pauseRequested;

    /// <summary>The system call number of the return from a function the host called (li a7, -1 in the trampoline).</summary>
    private const long CallReturnNumber = -1;
    private int _callDepth;
    private bool _callReturned;

    /// <summary>
    /// Calls the guest function at <paramref name="function"/> on the paused main thread with up to
    /// eight integer <paramref name="arguments"/> (a0-a7, as the RISC-V calling convention passes
    /// them) and returns a0. The thread's registers are the same afterwards; its stack below the
    /// stack pointer is the function's to use. Returns null when the process ended during the call
    /// (a fault, an exit, a limit), or the call ran <paramref name="maxInstructions"/> steps.
    /// </summary>
    public unsafe ulong? Call(ulong function, ReadOnlySpan<ulong> arguments, long maxInstructions = long.MaxValue)
    {
        if (arguments.Length > 8) throw new ArgumentException("at most eight arguments go in registers", nameof(arguments));
        if (_exit is not null) return null;
        var t = MainThread;
        t.Enter();
        var hart = t.Hart;
        Span<ulong> saved = stackalloc ulong[32];
        new ReadOnlySpan<ulong>(hart.X, 32).CopyTo(saved);
        ulong pc = hart.Pc;
        for (int i = 0; i < arguments.Length; i++) hart.X[10 + i] = arguments[i];
        hart.X[1] = SigreturnTrampoline + SignalFrame.CallReturnOffset;
        hart.X[2] &= ~15ul;
        hart.Pc = function;
        _callDepth++;
        bool returned;
        try
        {
            var engine = Options.Engine ?? ExecutionEngines.Default;
            _callReturned = false;
            long left = maxInstructions;
            while (!_callReturned && _exit is null && left > 0)
            {
                long before = hart.Instret;
                var stop = engine.Run(hart, Math.Min(left, 1L << 26));
                long ran = hart.Instret - before;
                left -= Math.Max(ran, 1);
                Interlocked.Add(ref _instructions, ran);
                if (stop == HartStop.WaitingForInterrupt && _exit is null) Kill(Sigill, "wfi with nothing to wake it");
                if (!_callReturned && SignalsPending(t)) DeliverPendingSignals(t);
            }
            returned = _callReturned;
        }
        finally
        {
            _callDepth--;
        }
        ulong result = hart.X[10];
        saved.CopyTo(new Span<ulong>(hart.X, 32));
        hart.Pc = pc;
        return returned && _exit is null ? result : null;
    }

    /// <summary>The process has ended (or its main thread has): once its other threads have, closes its descriptors and tells its parent.</summary>
    private void Finish(GuestThread main)
    {
        {
            // The main thread may end alone (exit, not exit_group): the process lives on in its other threads.
            ThreadEnds(main);
            main.Stopped = true;
            WaitForOtherThreads(main);
            SetExit(new ProcessExit(MainThread.ExitCode & 0xFF, 0)); // the leader's, which another thread's execve may have made it
            if (_exit is ProcessExit { Signal: not 0 } killed && _dying is { } registers && Dumpable
                && Signals.CoreDump.Write(this, killed.Signal, registers))
                _exit = killed with { CoreDumped = true };
            fixed (byte* usage = FinalUsage) Libc.getrusage(1 /* RUSAGE_THREAD */, usage);
            Syscalls.ResourceUsage.Accumulate(FinalUsage, ChildrenUsage);
            SetRealTimer(TimeSpan.Zero, TimeSpan.Zero);
            Files.CloseAll();
            CloseServedFiles();
            main.CloseWakeup();
            if (main != MainThread) main.Hart.Dispose();
            // The address space goes now, not when the run ends (a shell runs thousands of
            // commands), and before a vfork parent whose memory it is resumes.
            Dispose();
            _vforkDone?.Set();
            // The parent's signal and the process becoming reapable are one step, as on Linux: a
            // parent that has reaped it never sees its SIGCHLD arrive later, and one woken by its
            // SIGCHLD always finds it reapable.
            Table.Ended(this, parent =>
            {
                if (ExitSignal == 0) return;
                var end = (ProcessExit)_exit!;
                parent.SendSignal(ExitSignal, new SignalInfo(ExitSignal, end.CoreDumped ? SignalInfo.CldDumped : end.Signal != 0 ? SignalInfo.CldKilled : SignalInfo.CldExited,
                    Pid, Libc.getuid(), Status: end.Signal != 0 ? end.Signal : end.Status));
            });
            NotifyPidFds();
        }
    }

    /// <summary>
    /// Runs guest thread <paramref name="t"/> until it or its process ends, taking in a new image
    /// after execve and delivering signals; true when it stopped instead for a pause (<paramref name="pausable"/>).
    /// </summary>
    private bool RunGuest(GuestThread t, bool pausable = false)
    {
        while (_exit is null && !t.Exiting)
        {
            // A bounded slice, so that a signal another thread sends is seen even if its stop request was missed.
            long slice = 1L << 26;
            if (Options.MaxInstructions is { } most)
            {
                long left = most - Interlocked.Read(ref _instructions);
                if (left <= 0)
                {
                    Kill(Sigxcpu, $"the limit of {most} instructions is reached");
                    break;
                }
                slice = Math.Min(slice, left);
            }
            t.RunningGuest = true;
            long before = t.Hart.Instret;
            var stop = (Options.Engine ?? ExecutionEngines.Default).Run(t.Hart, slice);
            t.RunningGuest = false;
            Interlocked.Add(ref _instructions, t.Hart.Instret - before);
            if (_pendingImage is { } next && t == _execThread)
            {
                _pendingImage = null;
                _execThread = null;
                var oldHart = t.Hart;
                Install(next, t);
                if (t != MainThread) BecomeLeader(t);
                oldHart.Code.Detach(oldHart);
                oldHart.Dispose();
                _vforkDone?.Set(); // a vfork parent resumes once the child no longer uses its memory
                continue;
            }
            if (stop == HartStop.WaitingForInterrupt && _exit is null)
                Kill(Sigill, "wfi with nothing to wake it");
            if (SignalsPending(t)) DeliverPendingSignals(t);
            if (t == MainThread && Interlocked.Exchange(ref _pauseRequested, 0) != 0 && pausable && _exit is null && !t.Exiting) return true;
        }
        return false;
    }

    public bool Exited => _exit is not null;

    /// <summary>Records how the process ends; the first thread to say so wins.</summary>
#pragma warning disable CS0420 // an interlocked operation on a volatile field is still atomic
    private void SetExit(ProcessExit exit) => Interlocked.CompareExchange(ref _exit, exit, null);
#pragma warning restore CS0420

    /// <summary>How the process ended, once it has.</summary>
    public ProcessExit? ExitStatus => (ProcessExit?)_exit;

    /// <summary>Ends the process with an exit status (exit_group): every thread stops.</summary>
    public void Exit(int status)
    {
        SetExit(new ProcessExit(status & 0xFF, 0));
        StopAllThreads();
    }

    /// <summary>Ends the process as killed by <paramref name="signal"/>, saying why on the diagnostics writer.</summary>
    public void Kill(int signal, string why)
    {
        Options.Diagnostics.WriteLine($"isomorph: guest killed by {SignalName(signal)}: {why}");
        Terminate(signal);
    }

    /// <summary>Ends the process as killed by <paramref name="signal"/> without a message (a signal's default action).</summary>
    public void Terminate(int signal)
    {
        // A signal that dumps core: the registers of the thread it ends the process on, as they are now.
        if (_exit is null && Signals.CoreDump.DumpsCore(signal) && GuestThread.Current is { } t && t.Process == this)
            _dying ??= Signals.CoreDump.Registers.Of(t.Hart, t.Tid);
        SetExit(new ProcessExit(0, signal));
        StopAllThreads();
    }

    /// <summary>The parent's process id as the guest sees it (1 for an orphan, as if init had adopted it).</summary>
    public int ParentPid => Parent?.Pid ?? (IsFirst ? Libc.getppid() : 1);

    public static string SignalName(int signal) => signal switch
    {
        Sigill => "SIGILL", Sigtrap => "SIGTRAP", Sigbus => "SIGBUS", Sigsegv => "SIGSEGV", 6 => "SIGABRT", 9 => "SIGKILL",
        _ => $"signal {signal}",
    };

    /// <summary>Prints a warning once per key (an unimplemented system call, say).</summary>
    public void WarnOnce(long key, string message)
    {
        lock (_warnLock)
            if (!_warned.Add(key)) return;
        Options.Diagnostics.WriteLine($"isomorph: warning: {message}");
    }

    private bool OnTrap(Hart hart, ulong cause, ulong epc)
    {
        ulong tval = hart.PendingTval;
        switch ((ExceptionCause)cause)
        {
            case ExceptionCause.EnvironmentCallFromU:
                hart.Pc = epc + 4;
                var t = Current;
                t.RunningGuest = false;
                SystemCall(t, epc);
                // A stop requested just before this hart entered its run loop is forgotten there;
                // a thread that must end (exit, exit_group, another thread's execve) asks again.
                if (Exited || t.Exiting)
                {
                    hart.RequestStop();
                    return true;
                }
                if (SignalsPending(t) && _pendingImage is null) DeliverPendingSignals(t);
                t.RunningGuest = true;
                return true;
            case ExceptionCause.IllegalInstruction:
                var insn = hart.PeekInstruction(epc);
                Fault(Sigill, SignalInfo.IllIllopc, epc, epc, $"illegal instruction {(insn is { } i ? $"0x{i:x8} " : "")}at pc 0x{epc:x}");
                return true;
            case ExceptionCause.Breakpoint:
                Fault(Sigtrap, SignalInfo.TrapBrkpt, epc, epc, $"breakpoint at pc 0x{epc:x}");
                return true;
            case ExceptionCause.LoadAddressMisaligned or ExceptionCause.StoreAddressMisaligned or ExceptionCause.InstructionAddressMisaligned:
                Fault(Sigbus, SignalInfo.BusAdraln, tval, epc, $"misaligned access to 0x{tval:x} at pc 0x{epc:x}");
                return true;
            case ExceptionCause.InstructionPageFault or ExceptionCause.InstructionAccessFault:
                Fault(Sigsegv, SegvCode(epc), epc, epc, $"cannot execute at 0x{epc:x}");
                return true;
            case ExceptionCause.LoadPageFault or ExceptionCause.LoadAccessFault
                or ExceptionCause.StorePageFault or ExceptionCause.StoreAccessFault:
                bool store = cause is (ulong)ExceptionCause.StorePageFault or (ulong)ExceptionCause.StoreAccessFault;
                GuestAddressSpace.Fault fault;
                lock (MapLock) fault = Memory.FaultIn(tval, StackLimit());
                if (fault == GuestAddressSpace.Fault.Retry)
                    hart.Pc = epc;
                else if (fault == GuestAddressSpace.Fault.Bus)
                    Fault(Sigbus, SignalInfo.BusAdrerr, tval, epc, $"{(store ? "write to" : "read of")} 0x{tval:x} past the end of its file at pc 0x{epc:x}");
                else
                    Fault(Sigsegv, SegvCode(tval), tval, epc, $"invalid {(store ? "write to" : "read of")} 0x{tval:x} at pc 0x{epc:x}");
                return true;
            default:
                Kill(Sigill, $"unexpected trap cause {cause} at pc 0x{epc:x}");
                return true;
        }
    }

    /// <summary>RLIMIT_STACK (the host's, which the VM's processes share): how far a MAP_GROWSDOWN stack may grow.</summary>
    private static unsafe ulong StackLimit()
    {
        const int RlimitStack = 3;
        ulong* limit = stackalloc ulong[2];
        return Libc.prlimit(0, RlimitStack, null, (byte*)limit) == 0 ? limit[0] : 8 << 20;
    }

    /// <summary>SEGV_MAPERR for an address nothing is mapped at, SEGV_ACCERR for one the protection forbids.</summary>
    private int SegvCode(ulong address) =>
        Memory.FlagsAt(address) == PageFlags.None ? SignalInfo.SegvMaperr : SignalInfo.SegvAccerr;

    private unsafe void SystemCall(GuestThread t, ulong ecallPc)
    {
        ulong* x = t.Hart.X;
        long number = (long)x[17];
        var args = new SyscallArgs(x[10], x[11], x[12], x[13], x[14], x[15]);
        var entry = _syscalls.Find(number);
        long result;
        t.InSystemCall = true;
        if (number == CallReturnNumber && _callDepth > 0 && t == MainThread)
        {
            // A function the host called has returned (Call): its result stays in a0.
            t.InSystemCall = false;
            _callReturned = true;
            t.Hart.RequestStop();
            return;
        }
        Options.SystemCallObserver?.Invoke(this, t.Hart, number, args);
        if (Options.AllowedSystemCalls is { } allowed && !allowed.Contains(number))
        {
            t.InSystemCall = false;
            Options.Strace?.WriteLine($"{t.Tid} {_syscalls.Format(this, number, args, null)}");
            Kill(Sigsys, $"system call {number} ({_syscalls.NameOf(number)}) is not allowed");
            return;
        }
        if (Options.SystemCalls is { } custom && custom.TryGetValue(number, out var handler))
        {
            result = handler(this, args);
        }
        else if (entry is null)
        {
            WarnOnce(number, $"unsupported system call {number} ({_syscalls.NameOf(number)}); returning ENOSYS");
            result = -Errno.ENOSYS;
        }
        else if (ChangesAddressSpace(number))
        {
            lock (MapLock) result = entry.Handler(this, args);
        }
        else
        {
            result = entry.Handler(this, args);
        }
        t.InSystemCall = false;
        bool ended = Exited || t.Exiting;
        Options.Strace?.WriteLine($"{t.Tid} {_syscalls.Format(this, number, args, ended ? null : result)}");
        if (!ended) x[10] = (ulong)result;
        NoteSystemCall(t, ecallPc, args, number, result);
    }

    /// <summary>The system calls that change the address space, which the threads make one at a time (<see cref="MapLock"/>).</summary>
    private static bool ChangesAddressSpace(long number) =>
        number is 214 /* brk */ or 215 /* munmap */ or 216 /* mremap */ or 222 /* mmap */ or 226 /* mprotect */ or 233 /* madvise */
            or 196 /* shmat */ or 197 /* shmdt */ or (>= 228 and <= 231) /* mlock, munlock, mlockall, munlockall */ or 284 /* mlock2 */;

    /// <summary>
    /// After an unmap or protection change: every thread's TLBs forget the pages (the others' before
    /// this returns, <see cref="ShootDownTlbs"/>), the shared code cache code that is gone.
    /// </summary>
    private void ForgetTranslations(ulong start, ulong length)
    {
        var code = Code;
        if (code.PageCount != 0)
        {
            for (ulong page = start; page < start + length; page += GuestAddressSpace.PageSize)
            {
                if (!code.IsCode(page)) continue;
                code.Clear();
                break;
            }
        }
        ShootDownTlbs();
    }

    private unsafe void InvalidateCode(ulong start, ulong length)
    {
        var code = Code;
        if (code.PageCount == 0) return;
        for (ulong page = GuestAddressSpace.PageDown(start); page < start + length; page += GuestAddressSpace.PageSize)
        {
            if (!code.IsCode(page)) continue;
            ulong from = Math.Max(page, start), to = Math.Min(page + GuestAddressSpace.PageSize, start + length);
            code.InvalidateStore(from, (int)(to - from));
        }
    }

    /// <summary>Lets go of an address space: disposes it, unless it is a vfork parent's, which only stops reporting to this process.</summary>
    private void Release(GuestAddressSpace memory)
    {
        memory.ProtectionReduced -= ForgetTranslations;
        memory.WrittenByHost -= InvalidateCode;
        if (_borrowedMemory) _borrowedMemory = false;
        else if (!_stranded) memory.Dispose();
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        MainThread.Hart.Dispose();
        lock (MapLock) Release(Memory); // process_vm_readv/writev from other processes copy under it
    }
}
