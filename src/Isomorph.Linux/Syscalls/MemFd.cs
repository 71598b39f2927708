using Isomorph.Linux.Host;

namespace Isomorph.Linux.Syscalls;

/// <summary>
/// memfd_create through the host's: the guest's descriptor is a host memfd, so read, write, seals
/// (fcntl F_ADD_SEALS/F_GET_SEALS) and MAP_SHARED mappings — which are the host's own shared
/// mappings, seen by forked children too — behave as on Linux. MFD_* are the same everywhere.
/// </summary>
internal static unsafe partial class MemFd
{
    private const uint MfdCloexec = 1, MfdAllowSealing = 2, MfdHugetlb = 4, MfdNoexecSeal = 8, MfdExec = 0x10;
    /// <summary>The hugetlb page size bits (MFD_HUGE_*), which Linux takes only with MFD_HUGETLB.</summary>
    private const uint HugeShift = 26, HugeMask = 0x3Fu << (int)HugeShift;
    /// <summary>NAME_MAX minus the "memfd:" prefix Linux puts before the name.</summary>
    private const int MaxName = 249;

    [Syscall(279, "memfd_create", "sx")]
    private static long Create(LinuxProcess p, in SyscallArgs a)
    {
        uint flags = (uint)a.A1;
        uint known = MfdCloexec | MfdAllowSealing | MfdHugetlb | MfdNoexecSeal | MfdExec | ((flags & MfdHugetlb) != 0 ? HugeMask : 0);
        if ((flags & ~known) != 0) return -Errno.EINVAL;
        var name = p.Memory.ReadCStringBytes(a.A0, MaxName + 1);
        if (name is null) return p.Memory.Check(a.A0, 1, Memory.PageFlags.Read) ? -Errno.EINVAL : -Errno.EFAULT; // too long, or unreadable
        long fd;
        fixed (byte* at = (byte[])[.. name, 0]) fd = Libc.Check(Libc.memfd_create(at, flags | MfdCloexec));
        return fd < 0 ? fd : p.Files.Add((int)fd, (flags & MfdCloexec) != 0);
    }
}
