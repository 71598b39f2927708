using System.Text;
using Isomorph.Linux.Host;

namespace Isomorph.Linux.Syscalls;

/// <summary>The process itself: exit, identity, limits, the thread bookkeeping glibc sets up, system information.</summary>
internal static unsafe partial class ProcessSyscalls
{
    /// <summary>exit: ends the calling thread; the process ends with its last thread.</summary>
    [Syscall(93, "exit", "d")]
    private static long Exit(LinuxProcess p, in SyscallArgs a)
    {
        p.ExitThread(a.Int(0));
        return 0;
    }

    /// <summary>exit_group: ends every thread of the process.</summary>
    [Syscall(94, "exit_group", "d")]
    private static long ExitGroup(LinuxProcess p, in SyscallArgs a)
    {
        p.Exit(a.Int(0));
        return 0;
    }

    /// <summary>getpid: the thread group's id, which is the main thread's thread id.</summary>
    [Syscall(172, "getpid")]
    private static long GetPid(LinuxProcess p, in SyscallArgs a) => p.Pid;

    [Syscall(178, "gettid")]
    private static long GetTid(LinuxProcess p, in SyscallArgs a) => p.Current.Tid;

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

    /// <summary>rseq is optional: glibc carries on without it.</summary>
    [Syscall(293, "rseq", "xuxx")]
    private static long Rseq(LinuxProcess p, in SyscallArgs a) => -Errno.ENOSYS;

    [Syscall(261, "prlimit64", "ddxx")]
    private static long Prlimit(LinuxProcess p, in SyscallArgs a)
    {
        // struct rlimit64 is two 64-bit words everywhere; only this process's own limits.
        if (a.A0 != 0 && (long)a.A0 != p.Pid) return -Errno.ESRCH;
        byte* newLimit = a.A2 == 0 ? null : Guest.Readable(p, a.A2, 16);
        byte* oldLimit = a.A3 == 0 ? null : Guest.Writable(p, a.A3, 16);
        if ((a.A2 != 0 && newLimit == null) || (a.A3 != 0 && oldLimit == null)) return -Errno.EFAULT;
        if (a.Int(1) == RlimitNofile) return DescriptorLimit(p, a, (ulong*)newLimit, (ulong*)oldLimit);
        long r = Libc.Check(Libc.prlimit(0, a.Int(1), newLimit, oldLimit));
        if (r == 0 && oldLimit != null) p.Memory.NoteWritten(a.A3, 16);
        return r;
    }

    private const int RlimitNofile = 7;

    /// <summary>RLIMIT_NOFILE is the process's own (<see cref="FileSystem.FileTable.Limits"/>), as the kernel keeps it: the host's is the whole VM's.</summary>
    private static long DescriptorLimit(LinuxProcess p, in SyscallArgs a, ulong* newLimit, ulong* oldLimit)
    {
        var old = p.Files.Limits;
        if (newLimit != null)
        {
            ulong soft = newLimit[0], hard = newLimit[1];
            if (soft > hard) return -Errno.EINVAL;
            if (hard > (ulong)FileSystem.FileTable.MaxDescriptors) return -Errno.EPERM; // above nr_open
            if (hard > old.Hard && Libc.geteuid() != 0) return -Errno.EPERM;       // raising it takes CAP_SYS_RESOURCE
            p.Files.Limits = (soft, hard);
        }
        if (oldLimit != null)
        {
            oldLimit[0] = old.Soft;
            oldLimit[1] = old.Hard;
            p.Memory.NoteWritten(a.A3, 16);
        }
        return 0;
    }

    /// <summary>
    /// personality: the execution domain is the calling task's on Linux (copied to the tasks it
    /// creates), so the calling host thread's is the guest thread's. Its flags that matter to a
    /// guest are the ones the host applies for the VM: UNAME26 (uname's release reads 2.6.x).
    /// 0xffffffff only asks.
    /// </summary>
    [Syscall(92, "personality", "x")]
    private static long Personality(LinuxProcess p, in SyscallArgs a) =>
        Libc.Check(Libc.syscall(135 /* x86-64 personality */, (nint)(uint)a.A0, 0, 0, 0, 0));

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

    [Syscall(124, "sched_yield")]
    private static long SchedYield(LinuxProcess p, in SyscallArgs a)
    {
        Thread.Yield();
        return 0;
    }
}
