using System.Diagnostics;
using Isomorph.Devices.Bus;
using Isomorph.Elf;
using Isomorph.Linux.FileSystem;
using Isomorph.Linux.Loading;
using Isomorph.Linux.Memory;
using Isomorph.Linux.Syscalls;
using Isomorph.Riscv;

namespace Isomorph.Linux;

/// <summary>Options of a process VM run.</summary>
public sealed record LinuxOptions
{
    /// <summary>Where the program interpreter and absolute paths are looked up first (null: only the host).</summary>
    public string? Sysroot { get; init; } = PathResolver.DefaultSysroot();
    /// <summary>The guest's environment, NAME=VALUE strings (null: the host's, in its order).</summary>
    public IReadOnlyList<string>? Environment { get; init; }
    /// <summary>Where --strace lines go, or null.</summary>
    public TextWriter? Strace { get; init; }
    /// <summary>Where warnings and fatal-signal reports go.</summary>
    public TextWriter Diagnostics { get; init; } = TextWriter.Null;
}

/// <summary>How a guest process ended: an exit status, or the signal that killed it.</summary>
public readonly record struct ProcessExit(int Status, int Signal)
{
    /// <summary>The status a shell reports: the exit status, or 128 + the signal number.</summary>
    public int ShellStatus => Signal != 0 ? 128 + Signal : Status & 0xFF;
}

/// <summary>
/// One riscv64 Linux process on the host: a hart in U-mode over a <see cref="GuestAddressSpace"/>,
/// the ELF images loaded into it, and the kernel state that system calls act on (descriptors,
/// program break, signal dispositions). ecall and faults reach it through the hart's trap hook.
/// </summary>
public sealed unsafe class LinuxProcess : IDisposable
{
    public const int Sigill = 4, Sigtrap = 5, Sigbus = 7, Sigsegv = 11;

    private readonly PhysicalBus _bus = new();
    private readonly SyscallTable _syscalls = SyscallTable.Instance;
    private readonly HashSet<long> _warned = [];
    private ProcessExit? _exit;

    public Hart Hart { get; }
    public GuestAddressSpace Memory { get; }
    public ProcessLayout Layout { get; }
    public FileTable Files { get; } = new();
    public PathResolver Paths { get; }
    public LinuxOptions Options { get; }
    /// <summary>The host path of the program (what /proc/self/exe names).</summary>
    public string ExecutablePath { get; }
    public ElfImage Program { get; }
    public ElfImage? Interpreter { get; }

    /// <summary>The program break: where brk's heap starts, and its current end.</summary>
    public ulong BrkStart { get; }
    public ulong Brk { get; set; }

    /// <summary>Signal dispositions (raw riscv64 struct sigaction: handler, flags, mask) and the blocked mask.</summary>
    public Dictionary<int, (ulong Handler, ulong Flags, ulong Mask)> SignalActions { get; } = [];
    public ulong BlockedSignals { get; set; }
    public ulong ClearChildTid { get; set; }

    public int Pid { get; } = Environment.ProcessId;

    private LinuxProcess(string program, IReadOnlyList<string> argv, LinuxOptions options)
    {
        Options = options;
        Paths = new PathResolver(options.Sysroot);
        ExecutablePath = Path.GetFullPath(program);
        var elf = LoadElf(program);
        string? interpreterName = ElfImage.InterpreterOf(elf);
        ElfFile? interpreterElf = null;
        if (interpreterName is not null)
        {
            var tried = Paths.Candidates(interpreterName).ToList();
            string? found = tried.FirstOrDefault(File.Exists);
            if (found is null)
            {
                string hint = Paths.Sysroot is null
                    ? "; pass --sysroot DIR with the riscv64 libraries (e.g. Debian's /usr/riscv64-linux-gnu)"
                    : "; pass --sysroot DIR with the riscv64 libraries";
                throw new ProgramLoadException(
                    $"{program}: program interpreter {interpreterName} not found (tried {string.Join(", ", tried)}){hint}");
            }
            interpreterElf = LoadElf(found);
        }

        Memory = GuestAddressSpace.Reserve();
        Layout = ProcessLayout.For(Memory);
        _bus.AddRam(new Ram(0, Memory.Limit, Memory.HostBase));
        Hart = new Hart(_bus);
        Hart.PageProtection = Memory;
        Hart.TrapHook = OnTrap;
        var clock = Stopwatch.StartNew();
        Hart.TimeSource = () => (ulong)(clock.Elapsed.Ticks); // 10 MHz, the timebase riscv64 boards commonly report
        Memory.ProtectionReduced += ForgetTranslations;
        Memory.WrittenByHost += InvalidateCode;

        ulong bias = elf.Type == ElfType.SharedObject ? Layout.DynamicBase - ElfImage.Extent(elf).Low : 0;
        Program = ElfImage.Map(elf, Memory, bias);
        if (interpreterElf is not null)
        {
            var (low, high) = ElfImage.Extent(interpreterElf);
            ulong at = Memory.FindFree(high - low, Layout.MmapTop);
            if (at == 0) throw new ProgramLoadException($"{interpreterElf.Path}: no room for the program interpreter");
            Interpreter = ElfImage.Map(interpreterElf, Memory, at - low);
        }
        BrkStart = Brk = GuestAddressSpace.PageUp(Program.End);

        if (Memory.Map(Layout.StackBottom, ProcessLayout.StackSize, PageFlags.Read | PageFlags.Write) != 0)
            throw new ProgramLoadException("cannot map the initial stack");
        var auxv = new List<(ulong, ulong)>
        {
            (Auxv.Phdr, Program.ProgramHeaders), (Auxv.Phent, ElfImage.ProgramHeaderSize), (Auxv.Phnum, (ulong)Program.ProgramHeaderCount),
            (Auxv.Pagesz, GuestAddressSpace.PageSize), (Auxv.Base, Interpreter?.Bias ?? 0), (Auxv.Flags, 0), (Auxv.Entry, Program.Entry),
            (Auxv.Uid, Host.Libc.getuid()), (Auxv.Euid, Host.Libc.geteuid()), (Auxv.Gid, Host.Libc.getgid()), (Auxv.Egid, Host.Libc.getegid()),
            (Auxv.Hwcap, Auxv.HwcapImafdc), (Auxv.Hwcap2, 0), (Auxv.Clktck, 100), (Auxv.Secure, 0), (Auxv.MinSigStkSz, Auxv.MinimumSignalStack),
        };
        var envp = options.Environment ?? HostEnvironment();
        ulong sp = InitialStack.Build(Memory, Layout.StackTop, argv, envp, argv.Count > 0 ? argv[0] : program, auxv);
        Hart.X[2] = sp;
        Hart.EnterUserMode(Interpreter?.Entry ?? Program.Entry);
    }

    /// <summary>Loads <paramref name="program"/> for a run with arguments <paramref name="argv"/> (argv[0] included).</summary>
    public static LinuxProcess Start(string program, IReadOnlyList<string> argv, LinuxOptions options) => new(program, argv, options);

    private static ElfFile LoadElf(string path)
    {
        if (!File.Exists(path)) throw new ProgramLoadException($"{path}: no such file");
        try
        {
            return ElfFile.Load(path);
        }
        catch (ElfFormatException e)
        {
            throw new ProgramLoadException(e.Message);
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

    /// <summary>Runs the process until it exits or a signal kills it.</summary>
    public ProcessExit Run()
    {
        while (_exit is null)
        {
            if (Hart.Run(1L << 40) == HartStop.WaitingForInterrupt && _exit is null)
                Kill(Sigill, "wfi with nothing to wake it");
        }
        return _exit.Value;
    }

    public bool Exited => _exit is not null;

    /// <summary>Ends the process with an exit status (exit_group).</summary>
    public void Exit(int status)
    {
        _exit = new ProcessExit(status & 0xFF, 0);
        Hart.RequestStop();
    }

    /// <summary>Ends the process as killed by <paramref name="signal"/> (no guest handlers are run yet).</summary>
    public void Kill(int signal, string why)
    {
        Options.Diagnostics.WriteLine($"isomorph: guest killed by {SignalName(signal)}: {why}");
        _exit = new ProcessExit(0, signal);
        Hart.RequestStop();
    }

    public static string SignalName(int signal) => signal switch
    {
        Sigill => "SIGILL", Sigtrap => "SIGTRAP", Sigbus => "SIGBUS", Sigsegv => "SIGSEGV", 6 => "SIGABRT", 9 => "SIGKILL",
        _ => $"signal {signal}",
    };

    /// <summary>Prints a warning once per key (an unimplemented system call, say).</summary>
    public void WarnOnce(long key, string message)
    {
        if (_warned.Add(key)) Options.Diagnostics.WriteLine($"isomorph: warning: {message}");
    }

    private bool OnTrap(Hart hart, ulong cause, ulong epc)
    {
        switch ((ExceptionCause)cause)
        {
            case ExceptionCause.EnvironmentCallFromU:
                hart.Pc = epc + 4;
                SystemCall();
                return true;
            case ExceptionCause.IllegalInstruction:
                var insn = hart.PeekInstruction(epc);
                Kill(Sigill, $"illegal instruction {(insn is { } i ? $"0x{i:x8} " : "")}at pc 0x{epc:x}");
                return true;
            case ExceptionCause.Breakpoint:
                Kill(Sigtrap, $"breakpoint at pc 0x{epc:x}");
                return true;
            case ExceptionCause.LoadAddressMisaligned or ExceptionCause.StoreAddressMisaligned or ExceptionCause.InstructionAddressMisaligned:
                Kill(Sigbus, $"misaligned access to 0x{hart.PendingTval:x} at pc 0x{epc:x}");
                return true;
            case ExceptionCause.InstructionPageFault or ExceptionCause.InstructionAccessFault:
                Kill(Sigsegv, $"cannot execute at 0x{epc:x}");
                return true;
            case ExceptionCause.LoadPageFault or ExceptionCause.LoadAccessFault
                or ExceptionCause.StorePageFault or ExceptionCause.StoreAccessFault:
                bool store = cause is (ulong)ExceptionCause.StorePageFault or (ulong)ExceptionCause.StoreAccessFault;
                Kill(Sigsegv, $"invalid {(store ? "write to" : "read of")} 0x{hart.PendingTval:x} at pc 0x{epc:x}");
                return true;
            default:
                Kill(Sigill, $"unexpected trap cause {cause} at pc 0x{epc:x}");
                return true;
        }
    }

    private unsafe void SystemCall()
    {
        ulong* x = Hart.X;
        long number = (long)x[17];
        var args = new SyscallArgs(x[10], x[11], x[12], x[13], x[14], x[15]);
        var entry = _syscalls.Find(number);
        long result;
        if (entry is null)
        {
            WarnOnce(number, $"unsupported system call {number} ({_syscalls.NameOf(number)}); returning ENOSYS");
            result = -Errno.ENOSYS;
        }
        else
        {
            result = entry.Handler(this, args);
        }
        Options.Strace?.WriteLine($"{Pid} {_syscalls.Format(this, number, args, Exited ? null : result)}");
        if (!Exited) x[10] = (ulong)result;
    }

    /// <summary>After an unmap or protection change: the TLBs forget the pages, the code cache code that is gone.</summary>
    private void ForgetTranslations(ulong start, ulong length)
    {
        Hart.FlushTlb();
        var code = Hart.Code;
        if (code.PageCount == 0) return;
        for (ulong page = start; page < start + length; page += GuestAddressSpace.PageSize)
        {
            if (!code.IsCode(page)) continue;
            code.Clear();
            return;
        }
    }

    private unsafe void InvalidateCode(ulong start, ulong length)
    {
        var code = Hart.Code;
        if (code.PageCount == 0) return;
        for (ulong page = GuestAddressSpace.PageDown(start); page < start + length; page += GuestAddressSpace.PageSize)
        {
            if (!code.IsCode(page)) continue;
            ulong from = Math.Max(page, start), to = Math.Min(page + GuestAddressSpace.PageSize, start + length);
            code.InvalidateStore(from, (int)(to - from));
        }
    }

    public void Dispose()
    {
        Hart.Dispose();
        Memory.Dispose();
    }
}
