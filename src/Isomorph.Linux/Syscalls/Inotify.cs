using System.Text;
using Isomorph.Linux.Host;

namespace Isomorph.Linux.Syscalls;

/// <summary>
/// inotify through the host's: the guest's descriptor is a host inotify instance, so events are
/// read with their names (struct inotify_event is the same everywhere), polled and epolled like any
/// descriptor. Watched paths go through the VM's view of the file system — the sysroot for absolute
/// paths, the process's working directory for relative ones, and under --root a lookup confined to
/// the root, the watch then naming the object found (or, with IN_DONT_FOLLOW, the link itself).
/// </summary>
internal static unsafe partial class Inotify
{
    private const int InNonblock = 0x800, InCloexec = Libc.OCloexec;
    private const uint InDontFollow = 0x0200_0000;

    [Syscall(26, "inotify_init1", "c")]
    private static long Init1(LinuxProcess p, in SyscallArgs a)
    {
        int flags = a.Int(0);
        if ((flags & ~(InNonblock | InCloexec)) != 0) return -Errno.EINVAL;
        long fd = Libc.Check(Libc.inotify_init1((flags & InNonblock) | Libc.OCloexec));
        return fd < 0 ? fd : p.Files.Add((int)fd, (flags & InCloexec) != 0);
    }

    [Syscall(27, "inotify_add_watch", "dsx")]
    private static long AddWatch(LinuxProcess p, in SyscallArgs a)
    {
        int fd = p.Files.Host(a.Int(0));
        if (fd < 0) return -Errno.EBADF;
        uint mask = (uint)a.A2;
        if (p.Memory.ReadCString(a.A1) is "") return -Errno.ENOENT;
        using var t = Guest.Lookup(p, unchecked((ulong)Libc.AtFdCwd), a.A1, follow: (mask & InDontFollow) == 0);
        if (t.Error < 0) return t.Error;
        // The host call takes a path alone: a directory descriptor is reached through its /proc/self/fd link.
        byte[] path = t.Dir == Libc.AtFdCwd ? t.Path : Encoding.UTF8.GetBytes($"/proc/self/fd/{t.Dir}/").Concat(t.Path).ToArray();
        fixed (byte* at = path) return Libc.Check(Libc.inotify_add_watch(fd, at, mask));
    }

    [Syscall(28, "inotify_rm_watch", "dd")]
    private static long RmWatch(LinuxProcess p, in SyscallArgs a)
    {
        int fd = p.Files.Host(a.Int(0));
        return fd < 0 ? -Errno.EBADF : Libc.Check(Libc.inotify_rm_watch(fd, a.Int(1)));
    }
}
