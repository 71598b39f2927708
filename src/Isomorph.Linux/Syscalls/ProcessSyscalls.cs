using System.Text;
using Isomorph.Linux.Host;

namespace Isomorph.Linux.Syscalls;

/// <summary>The process itself: exit, identity, limits, the thread bookkeeping glibc sets up, system information.</summary>
internal static unsafe class ProcessSyscalls
{
    [Syscall(93, "exit", "d")]
    [Syscall(94, "exit_group", "d")]
    private static long Exit(LinuxProcess p, in SyscallArgs a)
    {
        p.Exit(a.Int(0));
        return 0;
    }

    [Syscall(172, "getpid")]
    [Syscall(178, "gettid")]
    private static long GetPid(LinuxProcess p, in SyscallArgs a) => p.Pid;

    [Syscall(173, "getppid")]
    private static long GetPpid(LinuxProcess p, in SyscallArgs a) => p.ParentPid;

    [Syscall(174, "getuid")]
    private static long GetUid(LinuxProcess p, in SyscallArgs a) => Libc.getuid();

    [Syscall(175, "geteuid")]
    private static long GetEuid(LinuxProcess p, in SyscallArgs a) => Libc.geteuid();

    [Syscall(176, "getgid")]
    private static long GetGid(LinuxProcess p, in SyscallArgs a) => Libc.getgid();

    [Syscall(177, "getegid")]
    private static long GetEgid(LinuxProcess p, in SyscallArgs a) => Libc.getegid();

    [Syscall(96, "set_tid_address", "x")]
    private static long SetTidAddress(LinuxProcess p, in SyscallArgs a)
    {
        p.ClearChildTid = a.A0;
        return p.Pid;
    }

    [Syscall(99, "set_robust_list", "xu")]
    private static long SetRobustList(LinuxProcess p, in SyscallArgs a) => a.A1 == 24 ? 0 : -Errno.EINVAL;

    /// <summary>rseq is optional: glibc carries on without it.</summary>
    [Syscall(293, "rseq", "xuxx")]
    private static long Rseq(LinuxProcess p, in SyscallArgs a) => -Errno.ENOSYS;

    /// <summary>riscv_hwprobe: not yet; glibc and others fall back to AT_HWCAP.</summary>
    [Syscall(258, "riscv_hwprobe", "xuuxx")]
    private static long HwProbe(LinuxProcess p, in SyscallArgs a) => -Errno.ENOSYS;

    [Syscall(259, "riscv_flush_icache", "xxx")]
    private static long FlushIcache(LinuxProcess p, in SyscallArgs a) => 0; // stores to code pages already invalidate it

    [Syscall(261, "prlimit64", "ddxx")]
    private static long Prlimit(LinuxProcess p, in SyscallArgs a)
    {
        // struct rlimit64 is two 64-bit words everywhere; only this process's own limits.
        if (a.A0 != 0 && (long)a.A0 != p.Pid) return -Errno.ESRCH;
        byte* newLimit = a.A2 == 0 ? null : Guest.Readable(p, a.A2, 16);
        byte* oldLimit = a.A3 == 0 ? null : Guest.Writable(p, a.A3, 16);
        if ((a.A2 != 0 && newLimit == null) || (a.A3 != 0 && oldLimit == null)) return -Errno.EFAULT;
        long r = Libc.Check(Libc.prlimit(0, a.Int(1), newLimit, oldLimit));
        if (r == 0 && oldLimit != null) p.Memory.NoteWritten(a.A3, 16);
        return r;
    }

    [Syscall(160, "uname", "x")]
    private static long Uname(LinuxProcess p, in SyscallArgs a)
    {
        const int Field = 65;
        byte* buffer = Guest.Writable(p, a.A0, 6 * Field);
        if (buffer == null) return -Errno.EFAULT;
        long r = Libc.Check(Libc.uname(buffer));
        if (r < 0) return r;
        var machine = new Span<byte>(buffer + 4 * Field, Field);
        machine.Clear();
        Encoding.ASCII.GetBytes("riscv64").CopyTo(machine);
        p.Memory.NoteWritten(a.A0, 6 * Field);
        return 0;
    }

    [Syscall(278, "getrandom", "xux")]
    private static long GetRandom(LinuxProcess p, in SyscallArgs a)
    {
        byte* buffer = Guest.Writable(p, a.A0, a.A1);
        if (buffer == null) return -Errno.EFAULT;
        long n = Libc.Check(Libc.getrandom(buffer, (nuint)a.A1, (uint)a.A2));
        if (n > 0) p.Memory.NoteWritten(a.A0, (ulong)n);
        return n;
    }

    [Syscall(123, "sched_getaffinity", "dux")]
    private static long SchedGetAffinity(LinuxProcess p, in SyscallArgs a)
    {
        // One guest thread runs at a time for now: report one CPU.
        ulong size = Math.Min(a.A1, 128);
        if (size < 8 || (size & 7) != 0) return -Errno.EINVAL;
        byte* mask = Guest.Writable(p, a.A2, size);
        if (mask == null) return -Errno.EFAULT;
        new Span<byte>(mask, (int)size).Clear();
        mask[0] = 1;
        p.Memory.NoteWritten(a.A2, size);
        return (long)size;
    }

    [Syscall(124, "sched_yield")]
    private static long SchedYield(LinuxProcess p, in SyscallArgs a) => 0;
}
