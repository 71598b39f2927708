using System.Buffers.Binary;
using System.Text;
using Isomorph.Linux.Host;

namespace Isomorph.Linux.Syscalls;

/// <summary>The file system by name: status, links, access checks, directories, the working directory.</summary>
internal static unsafe partial class Paths
{
    private const int AtEmptyPath = 0x1000, AtSymlinkNofollow = 0x100;
    private const uint StatxBasicStats = 0x7FF;
    private const int StatxSize = 256, StatSize = 128;

    private static bool Follows(int flags) => (flags & AtSymlinkNofollow) == 0;

    [Syscall(80, "fstat", "dx")]
    private static long Fstat(LinuxProcess p, in SyscallArgs a)
    {
        int fd = p.Files.Host(a.Int(0));
        if (fd < 0) return -Errno.EBADF;
        byte* empty = stackalloc byte[1] { 0 };
        return StatInto(p, fd, empty, AtEmptyPath, a.A1);
    }

    [Syscall(79, "newfstatat", "fsxA")]
    private static long NewFstatAt(LinuxProcess p, in SyscallArgs a)
    {
        int flags = a.Int(3);
        if (p.Memory.ReadCString(a.A1) == "" && (flags & AtEmptyPath) != 0)
        {
            int fd = p.Files.HostDirectory(a.Int(0));
            if (fd == -1) return -Errno.EBADF;
            byte* empty = stackalloc byte[1] { 0 };
            return StatInto(p, fd, empty, flags, a.A2);
        }
        using var t = Guest.Lookup(p, a.A0, a.A1, Follows(flags), slashFollows: true);
        if (t.Error < 0) return t.Error;
        fixed (byte* at = t.Path) return StatInto(p, t.Dir, at, t.Flags(flags), a.A2);
    }

    /// <summary>
    /// stat through the host's statx, converted to riscv64's struct stat (asm-generic layout, 128
    /// bytes), which differs from the host's.
    /// </summary>
    private static long StatInto(LinuxProcess p, int dir, byte* path, int flags, ulong statAddress)
    {
        byte* stat = Guest.Writable(p, statAddress, StatSize);
        if (stat == null) return -Errno.EFAULT;
        byte* x = stackalloc byte[StatxSize];
        long r = Libc.Check(Libc.statx(dir, path, flags & (AtEmptyPath | AtSymlinkNofollow), StatxBasicStats, x));
        if (r < 0) return r;
        new Span<byte>(stat, StatSize).Clear();
        uint U32(int at) => *(uint*)(x + at);
        ulong U64(int at) => *(ulong*)(x + at);
        void Put64(int at, ulong v) => *(ulong*)(stat + at) = v;
        void Put32(int at, uint v) => *(uint*)(stat + at) = v;
        Put64(0, EncodeDevice(U32(136), U32(140)));   // st_dev
        Put64(8, U64(32));                             // st_ino
        Put32(16, *(ushort*)(x + 28));                 // st_mode
        Put32(20, U32(16));                            // st_nlink
        Put32(24, U32(20));                            // st_uid
        Put32(28, U32(24));                            // st_gid
        Put64(32, EncodeDevice(U32(128), U32(132)));  // st_rdev
        Put64(48, U64(40));                            // st_size
        Put32(56, U32(4));                             // st_blksize
        Put64(64, U64(48));                            // st_blocks
        Put64(72, U64(64)); Put64(80, U32(72));        // st_atime
        Put64(88, U64(112)); Put64(96, U32(120));      // st_mtime
        Put64(104, U64(96)); Put64(112, U32(104));     // st_ctime
        p.Memory.NoteWritten(statAddress, StatSize);
        return 0;
    }

    /// <summary>The kernel's encoding of a device number in struct stat (new_encode_dev).</summary>
    private static ulong EncodeDevice(uint major, uint minor) => (minor & 0xFF) | ((ulong)major << 8) | ((ulong)(minor & ~0xFFu) << 12);

    [Syscall(291, "statx", "fsAxx")]
    private static long Statx(LinuxProcess p, in SyscallArgs a)
    {
        // struct statx is the same on every architecture.
        byte* buffer = Guest.Writable(p, a.A4, StatxSize);
        if (buffer == null) return -Errno.EFAULT;
        using var t = p.Memory.ReadCString(a.A1) == "" && (a.Int(2) & AtEmptyPath) != 0
            ? (p.Files.HostDirectory(a.Int(0)) is var fd and not -1 ? new HostTarget(fd, [0], -1) : new HostTarget(-Errno.EBADF))
            : Guest.Lookup(p, a.A0, a.A1, Follows(a.Int(2)), slashFollows: true);
        if (t.Error < 0) return t.Error;
        fixed (byte* at = t.Path)
        {
            long r = Libc.Check(Libc.statx(t.Dir, at, t.Flags(a.Int(2)), (uint)a.A3, buffer));
            if (r >= 0) p.Memory.NoteWritten(a.A4, StatxSize);
            return r;
        }
    }

    /// <summary>
    /// readlinkat, in Linux's order: a size below 1 is EINVAL, then the path is looked up (not a
    /// link: EINVAL), and only the text copied out needs a writable buffer.
    /// </summary>
    [Syscall(78, "readlinkat", "fsxu")]
    private static long ReadLinkAt(LinuxProcess p, in SyscallArgs a)
    {
        int size = a.Int(3);
        if (size <= 0) return -Errno.EINVAL;
        long r = Guest.ReadPath(p, a.A1, out var guestPath);
        if (guestPath is null) return r;
        string? link = guestPath == "/proc/self/exe" && p.Root is null ? p.ExecutablePath : null;
        if (p.Root is not null)
        {
            long resolved = Guest.AbsoluteInRoot(p, a.A0, guestPath, out var absolute, rewriteProc: false);
            if (resolved < 0) return resolved;
            link = ProcView.LinkText(p, absolute!);
        }
        byte[] text;
        if (link is not null)
        {
            text = Encoding.UTF8.GetBytes(link);
        }
        else
        {
            using var t = Guest.Lookup(p, a.A0, a.A1, follow: false);
            if (t.Error < 0) return t.Error;
            text = new byte[Math.Min(size, Guest.PathMax)];
            long n;
            fixed (byte* at = t.Path)
            fixed (byte* into = text)
                n = Libc.Check(Libc.readlinkat(t.Dir, at, into, (nuint)text.Length));
            if (n < 0) return n;
            text = text[..(int)n];
        }
        int length = Math.Min(text.Length, size);
        byte* buffer = Guest.Writable(p, a.A2, (ulong)length);
        if (buffer == null) return -Errno.EFAULT;
        text.AsSpan(0, length).CopyTo(new Span<byte>(buffer, length));
        p.Memory.NoteWritten(a.A2, (ulong)length);
        return length;
    }

    [Syscall(48, "faccessat", "fsk")]
    private static long FaccessAt(LinuxProcess p, in SyscallArgs a) => Access(p, a, 0);

    [Syscall(439, "faccessat2", "fskA")]
    private static long FaccessAt2(LinuxProcess p, in SyscallArgs a) => Access(p, a, a.Int(3));

    private static long Access(LinuxProcess p, in SyscallArgs a, int flags)
    {
        using var t = Guest.Lookup(p, a.A0, a.A1, Follows(flags), slashFollows: true);
        if (t.Error < 0) return t.Error;
        fixed (byte* at = t.Path) return Libc.Check(Libc.faccessat(t.Dir, at, a.Int(2), t.Flags(flags)));
    }

    [Syscall(34, "mkdirat", "fso")]
    private static long MkdirAt(LinuxProcess p, in SyscallArgs a)
    {
        using var t = Guest.Lookup(p, a.A0, a.A1, follow: false);
        if (t.Error < 0) return t.Error;
        fixed (byte* at = t.Path) return Libc.Check(Libc.mkdirat(t.Dir, at, (uint)a.A2 & ~p.Umask));
    }

    [Syscall(35, "unlinkat", "fsA")]
    private static long UnlinkAt(LinuxProcess p, in SyscallArgs a)
    {
        using var t = Guest.Lookup(p, a.A0, a.A1, follow: false);
        if (t.Error < 0) return t.Error;
        fixed (byte* at = t.Path) return Libc.Check(Libc.unlinkat(t.Dir, at, a.Int(2)));
    }

    [Syscall(38, "renameat", "fsfs")]
    private static long RenameAt(LinuxProcess p, in SyscallArgs a) => Rename(p, a, 0);

    [Syscall(276, "renameat2", "fsfsx")]
    private static long RenameAt2(LinuxProcess p, in SyscallArgs a) => Rename(p, a, (uint)a.A4);

    private static long Rename(LinuxProcess p, in SyscallArgs a, uint flags)
    {
        using var from = Guest.Lookup(p, a.A0, a.A1, follow: false);
        if (from.Error < 0) return from.Error;
        using var to = Guest.Lookup(p, a.A2, a.A3, follow: false);
        if (to.Error < 0) return to.Error;
        fixed (byte* f = from.Path)
        fixed (byte* t = to.Path)
            return Libc.Check(Libc.renameat2(from.Dir, f, to.Dir, t, flags));
    }

    [Syscall(36, "symlinkat", "sfs")]
    private static long SymlinkAt(LinuxProcess p, in SyscallArgs a)
    {
        // The link's target is stored as the guest wrote it, not resolved.
        long read = Guest.ReadPath(p, a.A0, out var targetText);
        if (targetText is null) return read;
        var target = p.Memory.ReadCStringBytes(a.A0, Guest.PathMax);
        if (target is null) return -Errno.EFAULT;
        using var link = Guest.Lookup(p, a.A1, a.A2, follow: false);
        if (link.Error < 0) return link.Error;
        byte[] targetZ = [.. target, 0];
        fixed (byte* t = targetZ)
        fixed (byte* at = link.Path)
            return Libc.Check(Libc.symlinkat(t, link.Dir, at));
    }

    [Syscall(37, "linkat", "fsfsA")]
    private static long LinkAt(LinuxProcess p, in SyscallArgs a)
    {
        const int AtSymlinkFollow = 0x400;
        using var from = Guest.Lookup(p, a.A0, a.A1, follow: (a.Int(4) & AtSymlinkFollow) != 0);
        if (from.Error < 0) return from.Error;
        using var to = Guest.Lookup(p, a.A2, a.A3, follow: false);
        if (to.Error < 0) return to.Error;
        fixed (byte* f = from.Path)
        fixed (byte* t = to.Path)
            return Libc.Check(Libc.linkat(from.Dir, f, to.Dir, t, a.Int(4)));
    }

    [Syscall(53, "fchmodat", "fso")]
    private static long FchmodAt(LinuxProcess p, in SyscallArgs a)
    {
        using var t = Guest.Lookup(p, a.A0, a.A1, follow: true);
        if (t.Error < 0) return t.Error;
        fixed (byte* at = t.Path) return Libc.Check(Libc.fchmodat(t.Dir, at, (uint)a.A2, 0));
    }

    [Syscall(52, "fchmod", "do")]
    private static long Fchmod(LinuxProcess p, in SyscallArgs a)
    {
        int fd = p.Files.Host(a.Int(0));
        return fd < 0 ? -Errno.EBADF : Libc.Check(Libc.fchmod(fd, (uint)a.A1));
    }

    /// <summary>statfs: struct statfs is the same 120 bytes on riscv64 and the 64-bit hosts (asm-generic and x86-64 agree).</summary>
    [Syscall(43, "statfs", "sx")]
    private static long StatFs(LinuxProcess p, in SyscallArgs a)
    {
        byte* buffer = Guest.Writable(p, a.A1, StatfsSize);
        if (buffer == null) return -Errno.EFAULT;
        // Opened first (relative paths from the process's own working directory), then asked by descriptor.
        using var t = Guest.Lookup(p, unchecked((ulong)Libc.AtFdCwd), a.A0, follow: true);
        if (t.Error < 0) return t.Error;
        long fd;
        fixed (byte* at = t.Path) fd = Libc.Check(Libc.openat(t.Dir, at, Libc.OPath | Libc.OCloexec, 0));
        if (fd < 0) return fd;
        long r = Libc.Check(Libc.fstatfs((int)fd, buffer));
        Libc.close((int)fd);
        if (r == 0) p.Memory.NoteWritten(a.A1, StatfsSize);
        return r;
    }

    [Syscall(44, "fstatfs", "dx")]
    private static long FStatFs(LinuxProcess p, in SyscallArgs a)
    {
        int fd = p.Files.Host(a.Int(0));
        if (fd < 0) return -Errno.EBADF;
        byte* buffer = Guest.Writable(p, a.A1, StatfsSize);
        if (buffer == null) return -Errno.EFAULT;
        long r = Libc.Check(Libc.fstatfs(fd, buffer));
        if (r == 0) p.Memory.NoteWritten(a.A1, StatfsSize);
        return r;
    }

    private const ulong StatfsSize = 120;

    /// <summary>mknodat: FIFOs and sockets (device nodes need privileges the host decides on, and are never made under --root: <see cref="Jail"/>; dev_t is encoded alike).</summary>
    [Syscall(33, "mknodat", "fsox")]
    private static long MknodAt(LinuxProcess p, in SyscallArgs a)
    {
        using var t = Guest.Lookup(p, a.A0, a.A1, follow: false);
        if (t.Error < 0) return t.Error;
        long refused = Jail.Mknod(p, (uint)a.A2);
        if (refused < 0) return refused;
        fixed (byte* at = t.Path) return Libc.Check(Libc.mknodat(t.Dir, at, (uint)a.A2 & ~p.Umask, a.A3));
    }

    [Syscall(54, "fchownat", "fsddA")]
    private static long FchownAt(LinuxProcess p, in SyscallArgs a)
    {
        int flags = a.Int(4);
        if (p.Memory.ReadCString(a.A1) == "" && (flags & AtEmptyPath) != 0)
        {
            int fd = p.Files.HostDirectory(a.Int(0));
            return fd == -1 ? -Errno.EBADF : Libc.Check(Libc.fchown(fd, (uint)a.A2, (uint)a.A3));
        }
        using var t = Guest.Lookup(p, a.A0, a.A1, Follows(flags), slashFollows: true);
        if (t.Error < 0) return t.Error;
        fixed (byte* at = t.Path) return Libc.Check(Libc.fchownat(t.Dir, at, (uint)a.A2, (uint)a.A3, t.Flags(flags) & AtSymlinkNofollow));
    }

    [Syscall(55, "fchown", "ddd")]
    private static long Fchown(LinuxProcess p, in SyscallArgs a)
    {
        int fd = p.Files.Host(a.Int(0));
        return fd < 0 ? -Errno.EBADF : Libc.Check(Libc.fchown(fd, (uint)a.A1, (uint)a.A2));
    }

    /// <summary>utimensat; a NULL path means the descriptor itself (futimens). struct timespec is the same on the host.</summary>
    [Syscall(88, "utimensat", "fsxA")]
    private static long UtimensAt(LinuxProcess p, in SyscallArgs a)
    {
        HostTimespec* times = null;
        if (a.A2 != 0)
        {
            times = (HostTimespec*)Guest.Readable(p, a.A2, 32);
            if (times == null) return -Errno.EFAULT;
        }
        if (a.A1 == 0)
        {
            int fd = p.Files.Host(a.Int(0));
            return fd < 0 ? -Errno.EBADF : Libc.Check(Libc.futimens(fd, times));
        }
        using var t = Guest.Lookup(p, a.A0, a.A1, Follows(a.Int(3)), slashFollows: true);
        if (t.Error < 0) return t.Error;
        fixed (byte* at = t.Path) return Libc.Check(Libc.utimensat(t.Dir, at, times, t.Flags(a.Int(3)) & AtSymlinkNofollow));
    }

    [Syscall(17, "getcwd", "xu")]
    private static long GetCwd(LinuxProcess p, in SyscallArgs a)
    {
        string? path = p.Root is { } root ? root.GuestPathOf(p.Files.WorkingDirectory) : p.Files.WorkingDirectoryPath();
        if (path is null) return -Errno.ENOENT; // outside the root: unreachable, as Linux says
        var cwd = Encoding.UTF8.GetBytes(path + "\0");
        if ((ulong)cwd.Length > a.A1) return -Errno.ERANGE;
        byte* buffer = Guest.Writable(p, a.A0, (ulong)cwd.Length);
        if (buffer == null) return -Errno.EFAULT;
        cwd.CopyTo(new Span<byte>(buffer, cwd.Length));
        p.Memory.NoteWritten(a.A0, (ulong)cwd.Length);
        return cwd.Length;
    }

    /// <summary>chdir: the process's own working directory (a host descriptor in its file table).</summary>
    [Syscall(49, "chdir", "s")]
    private static long Chdir(LinuxProcess p, in SyscallArgs a)
    {
        using var t = Guest.Lookup(p, unchecked((ulong)Libc.AtFdCwd), a.A0, follow: true);
        if (t.Error < 0) return t.Error;
        fixed (byte* at = t.Path)
        {
            long fd = Libc.Check(Libc.openat(t.Dir, at, Libc.OPath | Libc.ODirectory | Libc.OCloexec, 0));
            if (fd < 0) return fd;
            long search = SearchPermission((int)fd);
            if (search < 0)
            {
                Libc.close((int)fd);
                return search;
            }
            p.Files.ChangeDirectory((int)fd);
            return 0;
        }
    }

    /// <summary>
    /// chdir's and fchdir's check: search (execute) permission on the directory for the effective
    /// user, which opening it with O_PATH does not ask for.
    /// </summary>
    private static long SearchPermission(int fd)
    {
        const int AtEaccess = 0x200;
        var self = Encoding.UTF8.GetBytes($"/proc/self/fd/{fd}\0");
        fixed (byte* at = self) return Libc.Check(Libc.faccessat(Libc.AtFdCwd, at, 1 /* X_OK */, AtEaccess));
    }

    /// <summary>
    /// chroot: the process's own root from now on, inherited by its children; the working directory
    /// stays where it is, as on Linux. Allowed as Linux allows it: to a thread with CAP_SYS_CHROOT in
    /// its effective set (the host thread's, so the host user must have it), else EPERM. Under
    /// --root the new root is a directory inside the old one, so it can only narrow the view.
    /// </summary>
    [Syscall(51, "chroot", "s")]
    private static long Chroot(LinuxProcess p, in SyscallArgs a)
    {
        const int CapSysChroot = 18;
        using var t = Guest.Lookup(p, unchecked((ulong)Libc.AtFdCwd), a.A0, follow: true);
        if (t.Error < 0) return t.Error;
        long fd;
        fixed (byte* at = t.Path) fd = Libc.Check(Libc.openat(t.Dir, at, Libc.OPath | Libc.ODirectory | Libc.OCloexec, 0));
        if (fd < 0) return fd;
        try
        {
            var self = Encoding.UTF8.GetBytes($"/proc/self/fd/{fd}\0");
            long access;
            fixed (byte* at = self) access = Libc.Check(Libc.faccessat(Libc.AtFdCwd, at, 1 /* X_OK */, 0));
            if (access < 0) return access;
            if (!Capabilities.Effective(CapSysChroot)) return -Errno.EPERM;
            p.ChangeRoot(FileSystem.GuestRoot.Open($"/proc/self/fd/{fd}"));
            return 0;
        }
        finally
        {
            Libc.close((int)fd);
        }
    }

    [Syscall(50, "fchdir", "d")]
    private static long Fchdir(LinuxProcess p, in SyscallArgs a)
    {
        int fd = p.Files.Host(a.Int(0));
        if (fd < 0) return -Errno.EBADF;
        byte* dot = stackalloc byte[2] { (byte)'.', 0 };
        long copy = Libc.Check(Libc.openat(fd, dot, Libc.OPath | Libc.ODirectory | Libc.OCloexec, 0));
        if (copy < 0) return copy;
        long search = SearchPermission((int)copy);
        if (search < 0)
        {
            Libc.close((int)copy);
            return search;
        }
        p.Files.ChangeDirectory((int)copy);
        return 0;
    }

    [Syscall(166, "umask", "o")]
    private static long Umask(LinuxProcess p, in SyscallArgs a)
    {
        uint old = p.Umask;
        p.Umask = (uint)a.A0 & 0x1FF;
        return old;
    }
}
