using Isomorph.Linux.Host;

namespace Isomorph.Linux.Syscalls;

/// <summary>
/// timerfd through the host's: the guest's descriptor is a host timerfd on the same clock (the VM's
/// clocks are the host's), so read() of the expiration count, poll, epoll and select work as for any
/// host descriptor. struct itimerspec is four 64-bit words on riscv64 and the host alike, and
/// TFD_CLOEXEC and TFD_NONBLOCK are O_CLOEXEC and O_NONBLOCK on both.
/// </summary>
internal static unsafe partial class TimerFd
{
    private const int TfdNonblock = 0x800, TfdCloexec = Libc.OCloexec;
    private const int ItimerspecSize = 32;

    [Syscall(85, "timerfd_create", "Kc")]
    private static long Create(LinuxProcess p, in SyscallArgs a)
    {
        int flags = a.Int(1);
        if ((flags & ~(TfdNonblock | TfdCloexec)) != 0) return -Errno.EINVAL;
        long fd = Libc.Check(Libc.timerfd_create(a.Int(0), (flags & TfdNonblock) | Libc.OCloexec));
        return fd < 0 ? fd : p.Files.Add((int)fd, (flags & TfdCloexec) != 0);
    }

    [Syscall(86, "timerfd_settime", "dxxx")]
    private static long SetTime(LinuxProcess p, in SyscallArgs a)
    {
        int fd = p.Files.Host(a.Int(0));
        if (fd < 0) return -Errno.EBADF;
        byte* value = Guest.Readable(p, a.A2, ItimerspecSize);
        if (value == null) return -Errno.EFAULT;
        byte* old = a.A3 == 0 ? null : Guest.Writable(p, a.A3, ItimerspecSize);
        if (a.A3 != 0 && old == null) return -Errno.EFAULT;
        long r = Libc.Check(Libc.timerfd_settime(fd, a.Int(1), value, old));
        if (r == 0 && old != null) p.Memory.NoteWritten(a.A3, ItimerspecSize);
        return r;
    }

    [Syscall(87, "timerfd_gettime", "dx")]
    private static long GetTime(LinuxProcess p, in SyscallArgs a)
    {
        int fd = p.Files.Host(a.Int(0));
        if (fd < 0) return -Errno.EBADF;
        byte* current = Guest.Writable(p, a.A1, ItimerspecSize);
        if (current == null) return -Errno.EFAULT;
        long r = Libc.Check(Libc.timerfd_gettime(fd, current));
        if (r == 0) p.Memory.NoteWritten(a.A1, ItimerspecSize);
        return r;
    }
}
