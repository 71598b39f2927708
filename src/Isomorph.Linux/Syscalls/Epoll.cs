using System.Runtime.InteropServices;
using Isomorph.Linux.Host;

namespace Isomorph.Linux.Syscalls;

/// <summary>
/// epoll through the host's: each guest epoll instance is a host one watching host descriptors.
/// The guest's 64-bit data word passes through untouched; only struct epoll_event's layout is
/// converted (riscv64 aligns it to 16 bytes, x86-64 packs it into 12).
/// </summary>
internal static unsafe partial class Epoll
{
    private const int GuestEventSize = 16;
    private const int MaxEvents = 1 << 16;
    private static readonly int HostEventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;

    [Syscall(20, "epoll_create1", "x")]
    private static long Create1(LinuxProcess p, in SyscallArgs a)
    {
        int flags = a.Int(0);
        if ((flags & ~Libc.OCloexec) != 0) return -Errno.EINVAL;
        long fd = Libc.Check(Libc.epoll_create1(Libc.OCloexec));
        return fd < 0 ? fd : p.Files.Add((int)fd, (flags & Libc.OCloexec) != 0);
    }

    [Syscall(21, "epoll_ctl", "dddx")]
    private static long Ctl(LinuxProcess p, in SyscallArgs a)
    {
        const int Del = 2;
        int epfd = p.Files.Host(a.Int(0)), fd = p.Files.Host(a.Int(2));
        if (epfd < 0 || fd < 0) return -Errno.EBADF;
        byte* host = stackalloc byte[16];
        if (a.Int(1) != Del)
        {
            byte* guest = Guest.Readable(p, a.A3, GuestEventSize);
            if (guest == null) return -Errno.EFAULT;
            *(uint*)host = *(uint*)guest;
            *(ulong*)(host + HostEventSize - 8) = *(ulong*)(guest + 8);
        }
        return Libc.Check(Libc.epoll_ctl(epfd, a.Int(1), fd, host));
    }

    /// <summary>epoll_pwait: waits on the epoll descriptor and the wakeup eventfd together, so that a signal ends it with EINTR.</summary>
    [Syscall(22, "epoll_pwait", "dxddxu")]
    private static long PWait(LinuxProcess p, in SyscallArgs a)
    {
        int epfd = p.Files.Host(a.Int(0)), max = a.Int(2), timeout = a.Int(3);
        if (epfd < 0) return -Errno.EBADF;
        if (max is <= 0 or > MaxEvents) return -Errno.EINVAL;
        // As Linux: the array must lie in user space, but is only written (and so must be mapped) when events are ready.
        if (!p.Memory.InRange(a.A1, (ulong)max * GuestEventSize)) return -Errno.EFAULT;
        var host = new byte[max * HostEventSize];
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var polls = stackalloc HostPollfd[2];
        while (true)
        {
            long n;
            fixed (byte* h = host) n = Libc.Check(Libc.epoll_wait(epfd, h, max, 0));
            if (n != 0)
            {
                if (n < 0) return n;
                byte* guest = Guest.Writable(p, a.A1, (ulong)n * GuestEventSize);
                if (guest == null) return -Errno.EFAULT;
                fixed (byte* h = host)
                    for (int i = 0; i < n; i++)
                    {
                        *(ulong*)(guest + i * GuestEventSize) = *(uint*)(h + i * HostEventSize);
                        *(ulong*)(guest + i * GuestEventSize + 8) = *(ulong*)(h + i * HostEventSize + HostEventSize - 8);
                    }
                p.Memory.NoteWritten(a.A1, (ulong)n * GuestEventSize);
                return n;
            }
            if (p.HasDeliverableSignal()) return -Errno.EINTR;
            long left = timeout < 0 ? -1 : Math.Max(0, timeout - (long)clock.Elapsed.TotalMilliseconds);
            if (left == 0) return 0;
            polls[0] = new HostPollfd { Fd = epfd, Events = Blocking.PollIn };
            polls[1] = new HostPollfd { Fd = p.WakeupFd, Events = Blocking.PollIn };
            var wait = new HostTimespec { Seconds = left / 1000, Nanoseconds = left % 1000 * 1_000_000 };
            long r;
            using (p.Current.Asleep()) r = Libc.Check(Libc.ppoll(polls, 2, left < 0 ? null : &wait, null));
            if (r < 0) return r;
            if (polls[1].Revents != 0) p.DrainWakeup();
        }
    }
}
