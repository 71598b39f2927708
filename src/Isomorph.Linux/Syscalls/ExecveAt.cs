using System.Text;
using Isomorph.Linux.Host;

namespace Isomorph.Linux.Syscalls;

/// <summary>
/// execveat(dirfd, pathname, argv, envp, flags): execve of a path relative to a directory
/// descriptor, or with AT_EMPTY_PATH and an empty path of the file descriptor itself (fexecve),
/// O_PATH descriptors included. As on Linux the new program's AT_EXECFN is "/dev/fd/N" or
/// "/dev/fd/N/pathname" for those, and AT_SYMLINK_NOFOLLOW refuses a final symbolic link with ELOOP.
/// </summary>
internal static unsafe partial class ExecveAt
{
    private const int AtSymlinkNofollow = 0x100, AtEmptyPath = 0x1000;

    [Syscall(281, "execveat", "fsxxA")]
    private static long Execute(LinuxProcess p, in SyscallArgs a)
    {
        int dirfd = a.Int(0), flags = a.Int(4);
        string? path = p.Memory.ReadCString(a.A1);
        if (path is null) return -Errno.EFAULT;
        if (path.Length == 0 && (flags & AtEmptyPath) == 0) return -Errno.ENOENT; // before the flags, as Linux looks
        if ((flags & ~(AtSymlinkNofollow | AtEmptyPath)) != 0) return -Errno.EINVAL;
        var argv = ProcessLifecycle.ReadStrings(p, a.A2);
        var envp = ProcessLifecycle.ReadStrings(p, a.A3);
        if (argv is null || envp is null) return -Errno.EFAULT;
        if (path.Length == 0)
        {
            int host = p.Files.Host(dirfd);
            if (host < 0) return -Errno.EBADF;
            // A new open file description of the descriptor's object, readable even when it is O_PATH.
            long fd = Reopen(host);
            return fd < 0 ? fd : Run(p, (int)fd, $"/dev/fd/{dirfd}", argv, envp);
        }
        if ((flags & AtSymlinkNofollow) != 0 && IsSymbolicLink(p, a.A0, a.A1)) return -Errno.ELOOP;
        if (path.StartsWith('/') || dirfd == Libc.AtFdCwd) return ProcessLifecycle.Exec(p, path, argv, envp, interpreterDepth: 0);
        int dir = p.Files.Host(dirfd);
        if (dir < 0) return -Errno.EBADF;
        long program = LinuxProcess.OpenProgram(p.Root, p.Paths, dir, path);
        return program < 0 ? program : Run(p, (int)program, $"/dev/fd/{dirfd}/{path}", argv, envp);
    }

    private static long Run(LinuxProcess p, int fd, string name, List<string> argv, List<string> envp)
    {
        try
        {
            return ProcessLifecycle.Exec(p, fd, name, argv, envp, interpreterDepth: 0);
        }
        finally
        {
            Libc.close(fd);
        }
    }

    private static long Reopen(int hostFd)
    {
        var magic = Encoding.UTF8.GetBytes($"/proc/self/fd/{hostFd}\0");
        fixed (byte* at = magic) return Libc.Check(Libc.openat(Libc.AtFdCwd, at, Libc.ORdonly | Libc.OCloexec, 0));
    }

    private static bool IsSymbolicLink(LinuxProcess p, ulong dirfd, ulong path)
    {
        const int StatxType = 1;
        using var t = Guest.Lookup(p, dirfd, path, follow: false);
        if (t.Error < 0) return false;
        byte* statx = stackalloc byte[256];
        fixed (byte* at = t.Path)
            return Libc.statx(t.Dir, at, t.Flags(AtSymlinkNofollow), StatxType, statx) == 0 && (*(ushort*)(statx + 28) & 0xF000) == 0xA000;
    }
}
