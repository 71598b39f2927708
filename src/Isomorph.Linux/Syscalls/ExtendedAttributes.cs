using System.Text;
using Isomorph.Linux.Host;

namespace Isomorph.Linux.Syscalls;

/// <summary>
/// Extended attributes (xattr(7)): set, get, list and remove, by path (following the last symbolic
/// link or, for the l* calls, not) or by descriptor. The attributes are the host file system's own.
/// A path is looked up as every other path is (the sysroot, the working directory, --root), opened
/// with O_PATH, and the host is asked through /proc/self/fd/N, which lands on the object itself —
/// a symbolic link when the lookup did not follow it — so the host's own l* variants are not needed.
/// Names are at most 255 bytes (ERANGE), values at most 64 KiB (E2BIG to set; a larger buffer to get
/// or list is cut to that size, as the kernel does).
/// </summary>
internal static unsafe partial class ExtendedAttributes
{
    // x86-64 host numbers.
    private const int HostFsetxattr = 190, HostFgetxattr = 193, HostFlistxattr = 196, HostFremovexattr = 199,
        HostSetxattr = 188, HostGetxattr = 191, HostListxattr = 194, HostRemovexattr = 197;
    private const int NameMax = 255, SizeMax = 65536;
    private const int ERange = 34, E2Big = 7, ONofollow = 0x20000;

    [Syscall(5, "setxattr", "ssxud")]
    private static long SetXattr(LinuxProcess p, in SyscallArgs a) => ByPath(p, a, follow: true, (path, x) => Set(p, x, HostSetxattr, path));

    [Syscall(6, "lsetxattr", "ssxud")]
    private static long LSetXattr(LinuxProcess p, in SyscallArgs a) => ByPath(p, a, follow: false, (path, x) => Set(p, x, HostSetxattr, path));

    [Syscall(7, "fsetxattr", "dsxud")]
    private static long FSetXattr(LinuxProcess p, in SyscallArgs a) => ByDescriptor(p, a, HostFsetxattr, (fd, x) => Set(p, x, HostFsetxattr, fd));

    [Syscall(8, "getxattr", "ssxu")]
    private static long GetXattr(LinuxProcess p, in SyscallArgs a) => ByPath(p, a, follow: true, (path, x) => Get(p, x, HostGetxattr, path));

    [Syscall(9, "lgetxattr", "ssxu")]
    private static long LGetXattr(LinuxProcess p, in SyscallArgs a) => ByPath(p, a, follow: false, (path, x) => Get(p, x, HostGetxattr, path));

    [Syscall(10, "fgetxattr", "dsxu")]
    private static long FGetXattr(LinuxProcess p, in SyscallArgs a) => ByDescriptor(p, a, HostFgetxattr, (fd, x) => Get(p, x, HostFgetxattr, fd));

    [Syscall(11, "listxattr", "sxu")]
    private static long ListXattr(LinuxProcess p, in SyscallArgs a) => ByPath(p, a, follow: true, (path, x) => List(p, x, HostListxattr, path));

    [Syscall(12, "llistxattr", "sxu")]
    private static long LListXattr(LinuxProcess p, in SyscallArgs a) => ByPath(p, a, follow: false, (path, x) => List(p, x, HostListxattr, path));

    [Syscall(13, "flistxattr", "dxu")]
    private static long FListXattr(LinuxProcess p, in SyscallArgs a) => ByDescriptor(p, a, HostFlistxattr, (fd, x) => List(p, x, HostFlistxattr, fd));

    [Syscall(14, "removexattr", "ss")]
    private static long RemoveXattr(LinuxProcess p, in SyscallArgs a) => ByPath(p, a, follow: true, (path, x) => Remove(p, x, HostRemovexattr, path));

    [Syscall(15, "lremovexattr", "ss")]
    private static long LRemoveXattr(LinuxProcess p, in SyscallArgs a) => ByPath(p, a, follow: false, (path, x) => Remove(p, x, HostRemovexattr, path));

    [Syscall(16, "fremovexattr", "ds")]
    private static long FRemoveXattr(LinuxProcess p, in SyscallArgs a) => ByDescriptor(p, a, HostFremovexattr, (fd, x) => Remove(p, x, HostFremovexattr, fd));

    private delegate long Call(nint target, SyscallArgs a);

    /// <summary>A path call: the object opened with O_PATH (its last link followed or not), then named to the host as /proc/self/fd/N.</summary>
    private static long ByPath(LinuxProcess p, in SyscallArgs a, bool follow, Call call)
    {
        long fd;
        using (var t = Guest.Lookup(p, unchecked((ulong)Libc.AtFdCwd), a.A0, follow))
        {
            if (t.Error < 0) return t.Error;
            fixed (byte* at = t.Path) fd = Libc.Check(Libc.openat(t.Dir, at, Libc.OPath | Libc.OCloexec | (follow ? 0 : ONofollow), 0));
        }
        if (fd < 0) return fd;
        try
        {
            var link = Encoding.ASCII.GetBytes($"/proc/self/fd/{fd}\0");
            var shifted = new SyscallArgs(0, a.A1, a.A2, a.A3, a.A4, a.A5);
            fixed (byte* path = link) return call((nint)path, shifted);
        }
        finally
        {
            Libc.close((int)fd);
        }
    }

    /// <summary>A descriptor call: EBADF for a descriptor the guest does not have, or one opened with O_PATH (as Linux answers).</summary>
    private static long ByDescriptor(LinuxProcess p, in SyscallArgs a, int hostCall, Call call)
    {
        int fd = p.Files.Host(a.Int(0));
        if (fd < 0 || (Libc.fcntl(fd, 3 /* F_GETFL */, 0) & Libc.OPath) != 0) return -Errno.EBADF;
        return call(fd, a);
    }

    /// <summary>The attribute's name (a1): 1 to 255 bytes, else ERANGE; EFAULT when unreadable.</summary>
    private static long Name(LinuxProcess p, ulong address, out byte[]? name)
    {
        name = null;
        var text = p.Memory.ReadCString(address, NameMax + 1);
        if (text is null)
        {
            // Longer than the limit, or not readable at all.
            return Guest.Readable(p, address, 1) != null ? -ERange : -Errno.EFAULT;
        }
        var bytes = Encoding.UTF8.GetBytes(text);
        if (bytes.Length is 0 or > NameMax) return -ERange;
        name = [.. bytes, 0];
        return 0;
    }

    private static long Set(LinuxProcess p, in SyscallArgs a, int hostCall, nint target)
    {
        long r = Name(p, a.A1, out var name);
        if (r < 0) return r;
        if (a.A3 > SizeMax) return -E2Big;
        byte* value = a.A3 == 0 ? null : Guest.Readable(p, a.A2, a.A3);
        if (a.A3 != 0 && value == null) return -Errno.EFAULT;
        fixed (byte* n = name) return Libc.Check(Libc.syscall(hostCall, target, (nint)n, (nint)value, (nint)a.A3, a.Int(4)));
    }

    private static long Get(LinuxProcess p, in SyscallArgs a, int hostCall, nint target)
    {
        long r = Name(p, a.A1, out var name);
        if (r < 0) return r;
        ulong size = Math.Min(a.A3, SizeMax);
        byte* value = size == 0 ? null : Guest.Writable(p, a.A2, size);
        if (size != 0 && value == null) return -Errno.EFAULT;
        fixed (byte* n = name) r = Libc.Check(Libc.syscall(hostCall, target, (nint)n, (nint)value, (nint)size, 0));
        if (r > 0 && size != 0) p.Memory.NoteWritten(a.A2, (ulong)r);
        return r;
    }

    private static long List(LinuxProcess p, in SyscallArgs a, int hostCall, nint target)
    {
        ulong size = Math.Min(a.A2, SizeMax);
        byte* list = size == 0 ? null : Guest.Writable(p, a.A1, size);
        if (size != 0 && list == null) return -Errno.EFAULT;
        long r = Libc.Check(Libc.syscall(hostCall, target, (nint)list, (nint)size, 0, 0));
        if (r > 0 && size != 0) p.Memory.NoteWritten(a.A1, (ulong)r);
        return r;
    }

    private static long Remove(LinuxProcess p, in SyscallArgs a, int hostCall, nint target)
    {
        long r = Name(p, a.A1, out var name);
        if (r < 0) return r;
        fixed (byte* n = name) return Libc.Check(Libc.syscall(hostCall, target, (nint)n, 0, 0, 0));
    }
}
