using Isomorph.Linux.Host;

namespace Isomorph.Linux.Syscalls;

/// <summary>Clocks and sleeping; struct timespec and timeval are two 64-bit words on riscv64 and the host.</summary>
internal static unsafe partial class TimeSyscalls
{
    private const int ClockRealtime = 0, ClockMonotonic = 1;

    [Syscall(113, "clock_gettime", "Kx")]
    private static long ClockGetTime(LinuxProcess p, in SyscallArgs a)
    {
        var time = (HostTimespec*)Guest.Writable(p, a.A1, 16);
        if (time == null) return -Errno.EFAULT;
        long r = Libc.Check(Libc.clock_gettime(a.Int(0), time));
        if (r == 0) p.Memory.NoteWritten(a.A1, 16);
        return r;
    }

    [Syscall(114, "clock_getres", "Kx")]
    private static long ClockGetRes(LinuxProcess p, in SyscallArgs a)
    {
        HostTimespec resolution;
        long r = Libc.Check(Libc.clock_getres(a.Int(0), &resolution));
        if (r == 0 && a.A1 != 0 && !Guest.Put(p, a.A1, resolution)) return -Errno.EFAULT;
        return r;
    }

    [Syscall(169, "gettimeofday", "xx")]
    private static long GetTimeOfDay(LinuxProcess p, in SyscallArgs a)
    {
        HostTimespec now;
        Libc.clock_gettime(ClockRealtime, &now);
        if (a.A0 != 0 && !Guest.Put(p, a.A0, new HostTimespec { Seconds = now.Seconds, Nanoseconds = now.Nanoseconds / 1000 }))
            return -Errno.EFAULT;
        if (a.A1 != 0 && !Guest.Put(p, a.A1, 0ul)) return -Errno.EFAULT; // struct timezone: UTC
        return 0;
    }

    /// <summary>setitimer: ITIMER_REAL (what alarm() uses); the CPU-time timers are not supported.</summary>
    [Syscall(103, "setitimer", "dxx")]
    private static long SetITimer(LinuxProcess p, in SyscallArgs a)
    {
        if (a.Int(0) != 0)
        {
            p.WarnOnce(103_000_000 + a.Int(0), $"setitimer({a.Int(0)}): only ITIMER_REAL is supported");
            return -Errno.EINVAL;
        }
        if (!Guest.Get(p, a.A1, out HostTimespec interval) || !Guest.Get(p, a.A1 + 16, out HostTimespec value)) return -Errno.EFAULT;
        var old = p.SetRealTimer(FromTimeval(interval), FromTimeval(value));
        return a.A2 == 0 || PutItimerval(p, a.A2, old) ? 0 : -Errno.EFAULT;
    }

    [Syscall(102, "getitimer", "dx")]
    private static long GetITimer(LinuxProcess p, in SyscallArgs a) =>
        a.Int(0) != 0 ? -Errno.EINVAL : PutItimerval(p, a.A1, p.RealTimer()) ? 0 : -Errno.EFAULT;

    // struct timeval is two longs, like timespec; the second is microseconds.
    private static TimeSpan FromTimeval(HostTimespec t) => TimeSpan.FromTicks(t.Seconds * TimeSpan.TicksPerSecond + t.Nanoseconds * 10);

    private static bool PutItimerval(LinuxProcess p, ulong address, (TimeSpan Interval, TimeSpan Value) timer)
    {
        static HostTimespec Timeval(TimeSpan t) => new() { Seconds = t.Ticks / TimeSpan.TicksPerSecond, Nanoseconds = t.Ticks % TimeSpan.TicksPerSecond / 10 };
        return Guest.Put(p, address, Timeval(timer.Interval)) && Guest.Put(p, address + 16, Timeval(timer.Value));
    }

    [Syscall(101, "nanosleep", "xx")]
    private static long NanoSleep(LinuxProcess p, in SyscallArgs a) => Sleep(p, ClockMonotonic, 0, a.A0, a.A1);

    [Syscall(115, "clock_nanosleep", "Kdxx")]
    private static long ClockNanoSleep(LinuxProcess p, in SyscallArgs a) => Sleep(p, a.Int(0), a.Int(1), a.A2, a.A3);

    /// <summary>
    /// Sleeps on the thread's wakeup descriptor (<see cref="Blocking.Sleep"/>) rather than in the
    /// host's nanosleep, so that a signal ends the sleep with EINTR (and the time left) as on Linux.
    /// </summary>
    private static long Sleep(LinuxProcess p, int clock, int flags, ulong request, ulong remaining)
    {
        const int TimerAbstime = 1;
        if (!Guest.Get(p, request, out HostTimespec wanted)) return -Errno.EFAULT;
        if (wanted.Nanoseconds is < 0 or >= 1_000_000_000 || wanted.Seconds < 0) return -Errno.EINVAL;
        HostTimespec now;
        if (Libc.clock_gettime(clock, &now) != 0) return -Errno.EINVAL;
        long Nanos(HostTimespec t) => t.Seconds * 1_000_000_000 + t.Nanoseconds;
        long end = (flags & TimerAbstime) != 0 ? Nanos(wanted) : Nanos(now) + Nanos(wanted);
        while (true)
        {
            Libc.clock_gettime(clock, &now);
            long left = end - Nanos(now);
            if (left <= 0) return 0;
            if (p.HasDeliverableSignal())
            {
                if (remaining != 0 && (flags & TimerAbstime) == 0)
                    Guest.Put(p, remaining, new HostTimespec { Seconds = left / 1_000_000_000, Nanoseconds = left % 1_000_000_000 });
                return -Errno.EINTR;
            }
            Blocking.Sleep(p, Math.Min(left, 1_000_000_000));
        }
    }
}
