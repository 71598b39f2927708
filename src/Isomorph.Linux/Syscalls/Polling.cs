using Isomorph.Linux.Host;

namespace Isomorph.Linux.Syscalls;

/// <summary>Waiting for descriptors: ppoll and pselect6, both on the host's ppoll with guest descriptors translated.</summary>
internal static unsafe partial class Polling
{
    private const short PollIn = 0x1, PollPri = 0x2, PollOut = 0x4, PollErr = 0x8, PollHup = 0x10, PollNval = 0x20;
    private const int MaxDescriptors = 4096;

    /// <summary>ppoll; struct pollfd (int fd, short events, short revents) is the same everywhere.</summary>
    [Syscall(73, "ppoll", "xuxxu")]
    private static long PPoll(LinuxProcess p, in SyscallArgs a)
    {
        ulong count = a.A1;
        if (count > MaxDescriptors) return -Errno.EINVAL;
        var guest = (HostPollfd*)Guest.Writable(p, a.A0, count * 8);
        if (guest == null && count > 0) return -Errno.EFAULT;
        long timeoutResult = ReadTimeout(p, a.A2, out HostTimespec timeout, out bool hasTimeout);
        if (timeoutResult < 0) return timeoutResult;
        var host = new HostPollfd[count + 1]; // and one for the wakeup eventfd
        for (ulong i = 0; i < count; i++)
        {
            // A negative fd is skipped, as the kernel does; an unknown one reports POLLNVAL.
            int fd = guest[i].Fd < 0 ? -1 : p.Files.Host(guest[i].Fd);
            host[i] = new HostPollfd { Fd = guest[i].Fd < 0 ? -1 : fd < 0 ? int.MaxValue : fd, Events = guest[i].Events };
        }
        long n = Wait(p, host, (int)count, hasTimeout ? &timeout : null);
        if (n < 0) return n;
        for (ulong i = 0; i < count; i++) guest[i].Revents = host[i].Revents;
        if (count > 0) p.Memory.NoteWritten(a.A0, count * 8);
        return n;
    }

    /// <summary>pselect6: the three fd_sets become one pollfd array and back.</summary>
    [Syscall(72, "pselect6", "dxxxxx")]
    private static long PSelect6(LinuxProcess p, in SyscallArgs a)
    {
        int nfds = a.Int(0);
        if (nfds is < 0 or > 1024) return -Errno.EINVAL;
        ulong bytes = (ulong)((nfds + 63) / 64 * 8);
        var sets = new ulong*[3];
        for (int s = 0; s < 3; s++)
        {
            ulong address = s switch { 0 => a.A1, 1 => a.A2, _ => a.A3 };
            if (address == 0) continue;
            sets[s] = (ulong*)Guest.Writable(p, address, bytes);
            if (sets[s] == null) return -Errno.EFAULT;
        }
        long timeoutResult = ReadTimeout(p, a.A4, out HostTimespec timeout, out bool hasTimeout);
        if (timeoutResult < 0) return timeoutResult;
        var polls = new List<HostPollfd>();
        var guestFds = new List<int>();
        for (int fd = 0; fd < nfds; fd++)
        {
            short events = 0;
            if (IsSet(sets[0], fd)) events |= PollIn;
            if (IsSet(sets[1], fd)) events |= PollOut;
            if (IsSet(sets[2], fd)) events |= PollPri;
            if (events == 0) continue;
            int host = p.Files.Host(fd);
            if (host < 0) return -Errno.EBADF;
            polls.Add(new HostPollfd { Fd = host, Events = events });
            guestFds.Add(fd);
        }
        polls.Add(default);
        var array = polls.ToArray();
        long n = Wait(p, array, array.Length - 1, hasTimeout ? &timeout : null);
        if (n < 0) return n;
        for (int s = 0; s < 3; s++)
            if (sets[s] != null) new Span<byte>(sets[s], (int)bytes).Clear();
        int ready = 0;
        for (int i = 0; i < array.Length - 1; i++)
        {
            short r = array[i].Revents;
            int fd = guestFds[i];
            if ((r & (PollIn | PollHup | PollErr)) != 0 && Set(sets[0], fd)) ready++;
            if ((r & (PollOut | PollErr)) != 0 && Set(sets[1], fd)) ready++;
            if ((r & PollPri) != 0 && Set(sets[2], fd)) ready++;
        }
        for (int s = 0; s < 3; s++)
            if (sets[s] != null) p.Memory.NoteWritten(s switch { 0 => a.A1, 1 => a.A2, _ => a.A3 }, bytes);
        return ready;
    }

    /// <summary>
    /// The host's ppoll on the first <paramref name="count"/> entries of <paramref name="polls"/> (which
    /// has one spare entry at the end), with the process's wakeup eventfd in the spare one, so that a
    /// signal ends the wait with EINTR. The number of ready guest entries, or -errno.
    /// </summary>
    private static long Wait(LinuxProcess p, HostPollfd[] polls, int count, HostTimespec* timeout)
    {
        fixed (HostPollfd* h = polls)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            long limit = timeout == null ? -1 : timeout->Seconds * 1_000_000_000 + timeout->Nanoseconds;
            while (true)
            {
                if (p.HasDeliverableSignal()) return -Errno.EINTR;
                h[count] = new HostPollfd { Fd = p.WakeupFd, Events = Blocking.PollIn };
                HostTimespec left = default;
                if (limit >= 0)
                {
                    long remaining = Math.Max(0, limit - (long)clock.Elapsed.TotalNanoseconds);
                    left = new HostTimespec { Seconds = remaining / 1_000_000_000, Nanoseconds = remaining % 1_000_000_000 };
                }
                long n;
                using (p.Current.Asleep()) n = Libc.Check(Libc.ppoll(h, (nuint)count + 1, limit >= 0 ? &left : null, null));
                if (n < 0) return n;
                bool woken = h[count].Revents != 0;
                if (woken) p.DrainWakeup();
                long ready = n - (woken ? 1 : 0);
                if (ready > 0 || (limit >= 0 && (long)clock.Elapsed.TotalNanoseconds >= limit)) return ready;
                if (!woken && limit >= 0) return ready;
            }
        }
    }

    private static bool IsSet(ulong* set, int fd) => set != null && (set[fd / 64] & (1ul << (fd % 64))) != 0;

    private static bool Set(ulong* set, int fd)
    {
        if (set == null) return false;
        set[fd / 64] |= 1ul << (fd % 64);
        return true;
    }

    private static long ReadTimeout(LinuxProcess p, ulong address, out HostTimespec timeout, out bool present)
    {
        timeout = default;
        present = address != 0;
        if (!present) return 0;
        if (!Guest.Get(p, address, out timeout)) return -Errno.EFAULT;
        return timeout.Nanoseconds is < 0 or >= 1_000_000_000 || timeout.Seconds < 0 ? -Errno.EINVAL : 0;
    }
}
