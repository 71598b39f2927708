using Isomorph.Linux.Host;

namespace Isomorph.Linux.Syscalls;

/// <summary>
/// What a guest confined with <c>isomorph run --root DIR</c> may not do beyond naming paths outside
/// DIR (docs/process-vm-jail.md). The VM runs with the host user's rights, so a root user's guest
/// could otherwise make a device node for the host's disk inside DIR and open it, or reach the
/// host's abstract-namespace Unix sockets, which have no path for the root to confine. The rules,
/// all here and all only under --root (the run's root, <see cref="Processes.ProcessTable.Root"/>: a guest's own chroot does not bring them):
/// <list type="bullet">
/// <item>mknod of a character or block device is EPERM (FIFOs, sockets and regular files stay allowed);</item>
/// <item>opening a device node is EPERM unless it is one of <see cref="AllowedDevices"/>, judged by
/// its type and number (what container runtimes' device cgroups allow), never by its name;</item>
/// <item>abstract AF_UNIX addresses: bind (and autobind) is EPERM; connect and sends are
/// ECONNREFUSED, as though no such name existed;</item>
/// <item>sockets of a family other than AF_UNIX, AF_INET and AF_INET6 are EAFNOSUPPORT.</item>
/// </list>
/// </summary>
internal static unsafe class Jail
{
    private const uint SIfmt = 0xF000, SIfchr = 0x2000, SIfblk = 0x6000;
    private const int AfUnix = 1, AfInet = 2, AfInet6 = 10;

    /// <summary>The character devices a confined guest may open: null, zero, full, random, urandom and tty, by (major, minor).</summary>
    public static readonly (uint Major, uint Minor, string Name)[] AllowedDevices =
        [(1, 3, "null"), (1, 5, "zero"), (1, 7, "full"), (1, 8, "random"), (1, 9, "urandom"), (5, 0, "tty")];

    /// <summary>mknodat's mode under --root: -EPERM for a device node, else 0.</summary>
    public static long Mknod(LinuxProcess p, uint mode) =>
        p.Table.Root is not null && (mode & SIfmt) is SIfchr or SIfblk ? -Errno.EPERM : 0;

    /// <summary>
    /// Whether host descriptor <paramref name="hostFd"/> (any kind, O_PATH included) may be used by a
    /// confined guest: -EPERM for a device not in <see cref="AllowedDevices"/>, else 0. Without
    /// --root everything is allowed.
    /// </summary>
    public static long Device(LinuxProcess p, int hostFd)
    {
        if (p.Table.Root is null) return 0;
        const int AtEmptyPath = 0x1000, StatxType = 1;
        byte* statx = stackalloc byte[256];
        byte* empty = stackalloc byte[1] { 0 };
        if (Libc.statx(hostFd, empty, AtEmptyPath, StatxType, statx) != 0) return -Errno.EPERM;
        uint type = *(ushort*)(statx + 28) & SIfmt;
        if (type == SIfblk) return -Errno.EPERM;
        if (type != SIfchr) return 0;
        uint major = *(uint*)(statx + 128), minor = *(uint*)(statx + 132);
        foreach (var d in AllowedDevices)
            if (d.Major == major && d.Minor == minor) return 0;
        return -Errno.EPERM;
    }

    /// <summary>socket and socketpair under --root: -EAFNOSUPPORT for a family other than AF_UNIX, AF_INET and AF_INET6.</summary>
    public static long SocketFamily(LinuxProcess p, int family) =>
        p.Table.Root is not null && family is not (AfUnix or AfInet or AfInet6) ? -Errno.EAFNOSUPPORT : 0;

    /// <summary>
    /// A socket address the guest binds (<paramref name="binding"/>) or sends or connects to, under
    /// --root: an abstract AF_UNIX name (or autobind, a bare family) is -EPERM to bind and
    /// -ECONNREFUSED to reach. 0 otherwise.
    /// </summary>
    public static long UnixAddress(LinuxProcess p, byte* address, uint length, bool binding)
    {
        if (p.Table.Root is null || address == null || length < 2 || *(ushort*)address != AfUnix) return 0;
        bool abstractName = length > 2 && address[2] == 0;
        bool autobind = length == 2;
        if (binding && (abstractName || autobind)) return -Errno.EPERM;
        return !binding && abstractName ? -Errno.ECONNREFUSED : 0;
    }
}
