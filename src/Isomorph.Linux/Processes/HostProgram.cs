using System.Buffers.Binary;
using System.Text;
using Isomorph.Linux.Host;

namespace Isomorph.Linux.Processes;

/// <summary>
/// A guest's execve of a host executable: an ELF for another machine than RISC-V (or a script
/// whose interpreter is one) is handed to the host kernel, as qemu-user does, and runs natively
/// as a host child process that stands in for the guest process (<see cref="LinuxProcess.ExecHost"/>).
/// What Linux's execve carries over, the child gets: the descriptors not marked close-on-exec at
/// the same numbers (and no others), the working directory, the environment the guest passed,
/// the calling thread's signal mask, signals ignored stay ignored and every other disposition is
/// the default, and the process's umask. Resource limits and the process group are the VM's own
/// (the host process's), as the guests' are.
/// </summary>
internal static unsafe class HostProgram
{
    /// <summary>e_machine of a RISC-V ELF: every other machine is the host kernel's to run or refuse.</summary>
    public const ushort RiscvMachine = 243;

    /// <summary>
    /// The signals whose host disposition is briefly set to SIG_IGN while a program is started, when
    /// the guest ignores them (posix_spawn cannot ask for an ignored signal, only inherit one).
    /// Not SIGCHLD (the host would reap children on its own), nor the signals the .NET runtime
    /// needs for itself (SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV), nor SIGKILL and SIGSTOP.
    /// </summary>
    private static bool MayIgnoreWhileSpawning(int signal) => signal is >= 1 and <= 31 and not (4 or 5 or 6 or 7 or 8 or 9 or 11 or 17 or 19);

    /// <summary>One program started at a time: the host umask and signal dispositions are the process's, set for the start and put back.</summary>
    private static readonly Lock s_spawning = new();

    /// <summary>Whether the first bytes of a file are an ELF header for another machine than RISC-V.</summary>
    public static bool IsForeignElf(ReadOnlySpan<byte> head)
    {
        if (head.Length < 20 || !head.StartsWith("\x7F"u8 + "ELF"u8)) return false;
        ushort machine = head[5] == 2 ? BinaryPrimitives.ReadUInt16BigEndian(head[18..]) : BinaryPrimitives.ReadUInt16LittleEndian(head[18..]);
        return machine != RiscvMachine;
    }

    /// <summary>
    /// Starts <paramref name="hostPath"/> with <paramref name="argv"/> and <paramref name="envp"/>
    /// as <paramref name="p"/>'s new program. The host process id, or -errno (the host kernel's
    /// answer: ENOEXEC for a file it cannot run either).
    /// </summary>
    public static long Spawn(LinuxProcess p, string hostPath, IReadOnlyList<string> argv, IReadOnlyList<string> envp, ulong blockedSignals,
        Func<int, bool> ignored)
    {
        var inherited = p.Files.Inherited();
        int top = Math.Max(3, inherited.Count == 0 ? 0 : inherited.Max(e => e.Fd) + 1);
        // Copies above every guest number first, so that no dup2 overwrites a descriptor a later one reads.
        var copies = new List<int>(inherited.Count);
        byte* actions = stackalloc byte[Libc.SpawnOpaqueSize], attributes = stackalloc byte[Libc.SpawnOpaqueSize];
        byte* mask = stackalloc byte[Libc.SigsetSize], defaults = stackalloc byte[Libc.SigsetSize];
        Libc.posix_spawn_file_actions_init(actions);
        Libc.posix_spawnattr_init(attributes);
        try
        {
            if (p.Files.WorkingDirectory >= 0) Libc.posix_spawn_file_actions_addfchdir_np(actions, p.Files.WorkingDirectory);
            var numbers = new HashSet<int>();
            foreach (var (fd, host) in inherited)
            {
                int copy = Libc.fcntl(host, Libc.FDupfdCloexec, top);
                if (copy < 0) return -Errno.EMFILE;
                copies.Add(copy);
                numbers.Add(fd);
                Libc.posix_spawn_file_actions_adddup2(actions, copy, fd);
            }
            for (int fd = 0; fd < top; fd++)
                if (!numbers.Contains(fd)) Libc.posix_spawn_file_actions_addclose(actions, fd);
            Libc.posix_spawn_file_actions_addclosefrom_np(actions, top);

            new Span<byte>(mask, Libc.SigsetSize).Clear();
            *(ulong*)mask = blockedSignals;
            new Span<byte>(defaults, Libc.SigsetSize).Clear();
            ulong toDefault = 0;
            for (int signal = 1; signal <= 64; signal++)
                if (!ignored(signal)) toDefault |= 1ul << (signal - 1);
            *(ulong*)defaults = toDefault;
            Libc.posix_spawnattr_setsigmask(attributes, mask);
            Libc.posix_spawnattr_setsigdefault(attributes, defaults);
            Libc.posix_spawnattr_setflags(attributes, Libc.PosixSpawnSetSigmask | Libc.PosixSpawnSetSigdef);

            var strings = new List<nint>();
            try
            {
                byte* path = Utf8(hostPath, strings);
                byte** args = Array(argv, strings), env = Array(envp, strings);
                int pid, error;
                lock (s_spawning) error = SpawnWithHostState(&pid, path, actions, attributes, args, env, p.Umask, ignored);
                return error != 0 ? -error : pid;
            }
            finally
            {
                foreach (var s in strings) System.Runtime.InteropServices.NativeMemory.Free((void*)s);
            }
        }
        finally
        {
            foreach (int copy in copies) Libc.close(copy);
            Libc.posix_spawn_file_actions_destroy(actions);
            Libc.posix_spawnattr_destroy(attributes);
        }
    }

    /// <summary>
    /// posix_spawn with the host's umask set to the guest's and the signals the guest ignores
    /// ignored, both put back at once. The host's umask is 0 otherwise, and the VM applies each
    /// guest's by hand; a file another guest thread creates during these microseconds gets this
    /// umask too (only ever a narrower mode, and guests of one run nearly always share one umask).
    /// </summary>
    private static int SpawnWithHostState(int* pid, byte* path, byte* actions, byte* attributes, byte** argv, byte** envp, uint umask,
        Func<int, bool> ignored)
    {
        byte* ignore = stackalloc byte[Libc.SigactionSize];
        new Span<byte>(ignore, Libc.SigactionSize).Clear();
        *(nint*)ignore = Libc.SigIgn;
        var saved = new Dictionary<int, byte[]>();
        Libc.umask(umask);
        try
        {
            for (int signal = 1; signal <= 31; signal++)
            {
                if (!MayIgnoreWhileSpawning(signal) || !ignored(signal)) continue;
                var old = new byte[Libc.SigactionSize];
                fixed (byte* at = old)
                    if (Libc.sigaction(signal, ignore, at) == 0) saved[signal] = old;
            }
            return Libc.posix_spawn(pid, path, actions, attributes, argv, envp);
        }
        finally
        {
            foreach (var (signal, old) in saved)
                fixed (byte* at = old) Libc.sigaction(signal, at, null);
            Libc.umask(0);
        }
    }

    private static byte* Utf8(string s, List<nint> owned)
    {
        int n = Encoding.UTF8.GetByteCount(s);
        var at = (byte*)System.Runtime.InteropServices.NativeMemory.Alloc((nuint)n + 1);
        owned.Add((nint)at);
        Encoding.UTF8.GetBytes(s, new Span<byte>(at, n));
        at[n] = 0;
        return at;
    }

    private static byte** Array(IReadOnlyList<string> strings, List<nint> owned)
    {
        var at = (byte**)System.Runtime.InteropServices.NativeMemory.Alloc((nuint)(strings.Count + 1), (nuint)sizeof(nint));
        owned.Add((nint)at);
        for (int i = 0; i < strings.Count; i++) at[i] = Utf8(strings[i], owned);
        at[strings.Count] = null;
        return at;
    }

    /// <summary>
    /// Waits until host process <paramref name="pid"/> ends, leaving it unreaped (so that its
    /// pid is not reused while signals may still be sent to it); then <paramref name="ended"/>,
    /// and then reaps it. Its wait status (exit code or terminating signal, as waitpid gives it).
    /// </summary>
    public static int Wait(int pid, Action ended)
    {
        const int PPid = 1, WExited = 4, WNoWait = 0x0100_0000;
        byte* info = stackalloc byte[128];
        while (Libc.waitid(PPid, pid, info, WExited | WNoWait) < 0 && System.Runtime.InteropServices.Marshal.GetLastPInvokeError() == Errno.EINTR) { }
        ended();
        int status = 0;
        while (Libc.waitpid(pid, &status, 0) < 0 && System.Runtime.InteropServices.Marshal.GetLastPInvokeError() == Errno.EINTR) { }
        return status;
    }
}
