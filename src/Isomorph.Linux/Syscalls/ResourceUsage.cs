using Isomorph.Linux.Host;

namespace Isomorph.Linux.Syscalls;

/// <summary>
/// What a process has used and what the system has: getrusage, times, sysinfo. Each guest process
/// is one host thread, so its own usage is the host's RUSAGE_THREAD; its children's is what the
/// children it reaped had used. struct rusage, struct tms and struct sysinfo are laid out alike on
/// riscv64 and the 64-bit hosts.
/// </summary>
internal static unsafe partial class ResourceUsage
{
    private const int RusageSelf = 0, RusageChildren = -1, RusageThread = 1;
    public const int RusageSize = 144;
    private const int SysinfoSize = 112;
    private const long TicksPerSecond = 100; // AT_CLKTCK

    [Syscall(165, "getrusage", "dx")]
    private static long GetRusage(LinuxProcess p, in SyscallArgs a)
    {
        int who = a.Int(0);
        if (who is not (RusageSelf or RusageChildren or RusageThread)) return -Errno.EINVAL;
        byte* usage = Guest.Writable(p, a.A1, RusageSize);
        if (usage == null) return -Errno.EFAULT;
        if (who == RusageChildren) p.ChildrenUsage.CopyTo(new Span<byte>(usage, RusageSize));
        else Libc.getrusage(RusageThread, usage);
        p.Memory.NoteWritten(a.A1, RusageSize);
        return 0;
    }

    [Syscall(153, "times", "x")]
    private static long Times(LinuxProcess p, in SyscallArgs a)
    {
        long now = Libc.times(null);
        if (a.A0 == 0) return now;
        byte* tms = Guest.Writable(p, a.A0, 32);
        if (tms == null) return -Errno.EFAULT;
        byte* own = stackalloc byte[RusageSize];
        Libc.getrusage(RusageThread, own);
        fixed (byte* children = p.ChildrenUsage)
        {
            long* t = (long*)tms;
            t[0] = Ticks(own);
            t[1] = Ticks(own + 16);
            t[2] = Ticks(children);
            t[3] = Ticks(children + 16);
        }
        p.Memory.NoteWritten(a.A0, 32);
        return now;
    }

    private static long Ticks(byte* timeval) => *(long*)timeval * TicksPerSecond + *(long*)(timeval + 8) * TicksPerSecond / 1_000_000;

    [Syscall(179, "sysinfo", "x")]
    private static long SysInfo(LinuxProcess p, in SyscallArgs a)
    {
        byte* info = Guest.Writable(p, a.A0, SysinfoSize);
        if (info == null) return -Errno.EFAULT;
        long r = Libc.Check(Libc.sysinfo(info));
        if (r == 0) p.Memory.NoteWritten(a.A0, SysinfoSize);
        return r;
    }

    /// <summary>Adds a reaped child's usage (its own and its children's) to its parent's: the times, and the largest resident set.</summary>
    public static void Accumulate(byte[] into, ReadOnlySpan<byte> usage)
    {
        fixed (byte* to = into)
        fixed (byte* from = usage)
        {
            for (int tv = 0; tv < 32; tv += 16)
            {
                long* t = (long*)(to + tv), f = (long*)(from + tv);
                t[0] += f[0];
                t[1] += f[1];
                if (t[1] >= 1_000_000) { t[0]++; t[1] -= 1_000_000; }
            }
            long* maxRss = (long*)(to + 32);
            *maxRss = Math.Max(*maxRss, *(long*)(from + 32));
        }
    }
}
