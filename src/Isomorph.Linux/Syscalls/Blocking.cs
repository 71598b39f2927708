using Isomorph.Linux.Host;

namespace Isomorph.Linux.Syscalls;

/// <summary>
/// Blocking on host descriptors so that signals still get through: before a read or write that
/// could block (a pipe, a terminal, a socket), the process waits in the host's ppoll on the
/// descriptor and on its wakeup eventfd together, and a signal ends the wait with EINTR.
/// </summary>
internal static unsafe class Blocking
{
    public const short PollIn = 0x1, PollOut = 0x4;
    private const int FGetfl = 3, ONonblock = 0x800, OAccmode = 3, ORdonly = 0, OWronly = 1, OPath = 0x200000;

    /// <summary>
    /// Sleeps for up to <paramref name="nanoseconds"/>, or until something wakes the thread (a signal,
    /// the process's end): the host's ppoll on the thread's wakeup eventfd, to the nanosecond and
    /// without spinning (Go's scheduler sleeps 20 us at a time). The caller looks at what woke it.
    /// </summary>
    public static void Sleep(LinuxProcess p, long nanoseconds)
    {
        var poll = new HostPollfd { Fd = p.WakeupFd, Events = PollIn };
        var timeout = new HostTimespec { Seconds = nanoseconds / 1_000_000_000, Nanoseconds = nanoseconds % 1_000_000_000 };
        int n;
        using (p.Current.Asleep()) n = Libc.ppoll(&poll, 1, &timeout, null);
        if (n > 0) p.DrainWakeup();
    }

    /// <summary>0 once <paramref name="hostFd"/> is ready for <paramref name="events"/> (or will not block, or errs); -EINTR on a signal.</summary>
    public static long WaitReady(LinuxProcess p, int hostFd, short events)
    {
        var polls = stackalloc HostPollfd[2];
        polls[0] = new HostPollfd { Fd = hostFd, Events = events };
        var zero = new HostTimespec();
        if (Libc.ppoll(polls, 1, &zero, null) != 0) return 0;      // ready, or an error the real call will report
        int flags = Libc.fcntl(hostFd, FGetfl, 0);
        if (flags < 0 || (flags & ONonblock) != 0) return 0;
        // A descriptor not open for this direction (a pipe's read end written to) never becomes
        // ready: the call itself answers EBADF.
        int access = flags & OAccmode;
        if ((events == PollOut && access == ORdonly) || (events == PollIn && access == OWronly) || (flags & OPath) != 0) return 0;
        while (true)
        {
            if (p.HasDeliverableSignal()) return -Errno.EINTR;
            polls[0].Revents = 0;
            polls[1] = new HostPollfd { Fd = p.WakeupFd, Events = PollIn };
            int n;
            using (p.Current.Asleep()) n = Libc.ppoll(polls, 2, null, null);
            if (n < 0 || polls[0].Revents != 0) return 0;
            if (polls[1].Revents != 0) p.DrainWakeup();
        }
    }
}
