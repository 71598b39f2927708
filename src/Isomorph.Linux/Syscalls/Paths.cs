using System.Buffers.Binary;
using System.Text;
using Isomorph.Linux.Host;

namespace Isomorph.Linux.Syscalls;

/// <summary>The file system by name: status, links, access checks, directories, the working directory.</summary>
internal static unsafe class Paths
{
    private const int AtEmptyPath = 0x1000, AtSymlinkNofollow = 0x100;
    private const uint StatxBasicStats = 0x7FF;
    private const int StatxSize = 256, StatSize = 128;

    /// <summary>A host directory descriptor and path for an *at call (absolute paths go through the sysroot).</summary>
    private static long Resolve(LinuxProcess p, ulong dirfd, ulong pathAddress, out int dir, out byte[]? path)
    {
        dir = Libc.AtFdCwd;
        path = Guest.HostPath(p, pathAddress, out var guestPath);
        if (path is null) return -Errno.EFAULT;
        if (guestPath!.StartsWith('/')) return 0;
        dir = p.Files.HostDirectory((int)dirfd);
        return dir == -1 ? -Errno.EBADF : 0;
    }

    [Syscall(80, "fstat", "dx")]
    private static long Fstat(LinuxProcess p, in SyscallArgs a)
    {
        int fd = p.Files.Host(a.Int(0));
        if (fd < 0) return -Errno.EBADF;
        byte* empty = stackalloc byte[1] { 0 };
        return StatInto(p, fd, empty, AtEmptyPath, a.A1);
    }

    [Syscall(79, "newfstatat", "dsxx")]
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
        long r = Resolve(p, a.A0, a.A1, out int dir, out var path);
        if (r < 0) return r;
        fixed (byte* at = path) return StatInto(p, dir, at, flags, a.A2);
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

    [Syscall(291, "statx", "dsxxx")]
    private static long Statx(LinuxProcess p, in SyscallArgs a)
    {
        // struct statx is the same on every architecture.
        byte* buffer = Guest.Writable(p, a.A4, StatxSize);
        if (buffer == null) return -Errno.EFAULT;
        int dir;
        byte[]? path;
        if (p.Memory.ReadCString(a.A1) == "" && (a.Int(2) & AtEmptyPath) != 0)
        {
            dir = p.Files.HostDirectory(a.Int(0));
            if (dir == -1) return -Errno.EBADF;
            path = [0];
        }
        else
        {
            long resolved = Resolve(p, a.A0, a.A1, out dir, out path);
            if (resolved < 0) return resolved;
        }
        fixed (byte* at = path)
        {
            long r = Libc.Check(Libc.statx(dir, at, a.Int(2), (uint)a.A3, buffer));
            if (r >= 0) p.Memory.NoteWritten(a.A4, StatxSize);
            return r;
        }
    }

    [Syscall(78, "readlinkat", "dsxu")]
    private static long ReadLinkAt(LinuxProcess p, in SyscallArgs a)
    {
        byte* buffer = Guest.Writable(p, a.A2, a.A3);
        if (buffer == null) return -Errno.EFAULT;
        if (p.Memory.ReadCString(a.A1) == "/proc/self/exe")
        {
            var exe = Encoding.UTF8.GetBytes(p.ExecutablePath);
            int n = (int)Math.Min((ulong)exe.Length, a.A3);
            exe.AsSpan(0, n).CopyTo(new Span<byte>(buffer, n));
            p.Memory.NoteWritten(a.A2, (ulong)n);
            return n;
        }
        long r = Resolve(p, a.A0, a.A1, out int dir, out var path);
        if (r < 0) return r;
        fixed (byte* at = path)
        {
            long n = Libc.Check(Libc.readlinkat(dir, at, buffer, (nuint)a.A3));
            if (n > 0) p.Memory.NoteWritten(a.A2, (ulong)n);
            return n;
        }
    }

    [Syscall(48, "faccessat", "dso")]
    private static long FaccessAt(LinuxProcess p, in SyscallArgs a) => Access(p, a, 0);

    [Syscall(439, "faccessat2", "dsox")]
    private static long FaccessAt2(LinuxProcess p, in SyscallArgs a) => Access(p, a, a.Int(3));

    private static long Access(LinuxProcess p, in SyscallArgs a, int flags)
    {
        long r = Resolve(p, a.A0, a.A1, out int dir, out var path);
        if (r < 0) return r;
        fixed (byte* at = path) return Libc.Check(Libc.faccessat(dir, at, a.Int(2), flags));
    }

    [Syscall(34, "mkdirat", "dso")]
    private static long MkdirAt(LinuxProcess p, in SyscallArgs a)
    {
        long r = Resolve(p, a.A0, a.A1, out int dir, out var path);
        if (r < 0) return r;
        fixed (byte* at = path) return Libc.Check(Libc.mkdirat(dir, at, (uint)a.A2 & ~p.Umask));
    }

    [Syscall(35, "unlinkat", "dsx")]
    private static long UnlinkAt(LinuxProcess p, in SyscallArgs a)
    {
        long r = Resolve(p, a.A0, a.A1, out int dir, out var path);
        if (r < 0) return r;
        fixed (byte* at = path) return Libc.Check(Libc.unlinkat(dir, at, a.Int(2)));
    }

    [Syscall(38, "renameat", "dsds")]
    private static long RenameAt(LinuxProcess p, in SyscallArgs a) => Rename(p, a, 0);

    [Syscall(276, "renameat2", "dsdsx")]
    private static long RenameAt2(LinuxProcess p, in SyscallArgs a) => Rename(p, a, (uint)a.A4);

    private static long Rename(LinuxProcess p, in SyscallArgs a, uint flags)
    {
        long r = Resolve(p, a.A0, a.A1, out int fromDir, out var from);
        if (r < 0) return r;
        r = Resolve(p, a.A2, a.A3, out int toDir, out var to);
        if (r < 0) return r;
        fixed (byte* f = from)
        fixed (byte* t = to)
            return Libc.Check(Libc.renameat2(fromDir, f, toDir, t, flags));
    }

    [Syscall(36, "symlinkat", "sds")]
    private static long SymlinkAt(LinuxProcess p, in SyscallArgs a)
    {
        // The link's target is stored as the guest wrote it, not resolved.
        var target = p.Memory.ReadCStringBytes(a.A0);
        if (target is null) return -Errno.EFAULT;
        long r = Resolve(p, a.A1, a.A2, out int dir, out var path);
        if (r < 0) return r;
        byte[] targetZ = [.. target, 0];
        fixed (byte* t = targetZ)
        fixed (byte* at = path)
            return Libc.Check(Libc.symlinkat(t, dir, at));
    }

    [Syscall(37, "linkat", "dsdsx")]
    private static long LinkAt(LinuxProcess p, in SyscallArgs a)
    {
        long r = Resolve(p, a.A0, a.A1, out int fromDir, out var from);
        if (r < 0) return r;
        r = Resolve(p, a.A2, a.A3, out int toDir, out var to);
        if (r < 0) return r;
        fixed (byte* f = from)
        fixed (byte* t = to)
            return Libc.Check(Libc.linkat(fromDir, f, toDir, t, a.Int(4)));
    }

    [Syscall(53, "fchmodat", "dso")]
    private static long FchmodAt(LinuxProcess p, in SyscallArgs a)
    {
        long r = Resolve(p, a.A0, a.A1, out int dir, out var path);
        if (r < 0) return r;
        fixed (byte* at = path) return Libc.Check(Libc.fchmodat(dir, at, (uint)a.A2, 0));
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
        var path = Guest.HostPath(p, a.A0, out var guestPath);
        if (path is null) return -Errno.EFAULT;
        byte* buffer = Guest.Writable(p, a.A1, StatfsSize);
        if (buffer == null) return -Errno.EFAULT;
        long r;
        if (guestPath!.StartsWith('/')) { fixed (byte* at = path) r = Libc.Check(Libc.statfs(at, buffer)); }
        else
        {
            // Relative to the process's own working directory.
            var full = System.Text.Encoding.UTF8.GetBytes(Path.Combine(p.Files.WorkingDirectoryPath(), guestPath) + "\0");
            fixed (byte* at = full) r = Libc.Check(Libc.statfs(at, buffer));
        }
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

    /// <summary>mknodat: FIFOs and sockets (device nodes need privileges the host decides on; dev_t is encoded alike).</summary>
    [Syscall(33, "mknodat", "dsox")]
    private static long MknodAt(LinuxProcess p, in SyscallArgs a)
    {
        long r = Resolve(p, a.A0, a.A1, out int dir, out var path);
        if (r < 0) return r;
        fixed (byte* at = path) return Libc.Check(Libc.mknodat(dir, at, (uint)a.A2 & ~p.Umask, a.A3));
    }

    [Syscall(54, "fchownat", "dsddx")]
    private static long FchownAt(LinuxProcess p, in SyscallArgs a)
    {
        int flags = a.Int(4);
        if (p.Memory.ReadCString(a.A1) == "" && (flags & AtEmptyPath) != 0)
        {
            int fd = p.Files.HostDirectory(a.Int(0));
            return fd == -1 ? -Errno.EBADF : Libc.Check(Libc.fchown(fd, (uint)a.A2, (uint)a.A3));
        }
        long r = Resolve(p, a.A0, a.A1, out int dir, out var path);
        if (r < 0) return r;
        fixed (byte* at = path) return Libc.Check(Libc.fchownat(dir, at, (uint)a.A2, (uint)a.A3, flags & AtSymlinkNofollow));
    }

    [Syscall(55, "fchown", "ddd")]
    private static long Fchown(LinuxProcess p, in SyscallArgs a)
    {
        int fd = p.Files.Host(a.Int(0));
        return fd < 0 ? -Errno.EBADF : Libc.Check(Libc.fchown(fd, (uint)a.A1, (uint)a.A2));
    }

    /// <summary>utimensat; a NULL path means the descriptor itself (futimens). struct timespec is the same on the host.</summary>
    [Syscall(88, "utimensat", "dsxx")]
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
        long r = Resolve(p, a.A0, a.A1, out int dir, out var path);
        if (r < 0) return r;
        fixed (byte* at = path) return Libc.Check(Libc.utimensat(dir, at, times, a.Int(3) & AtSymlinkNofollow));
    }

    [Syscall(17, "getcwd", "xu")]
    private static long GetCwd(LinuxProcess p, in SyscallArgs a)
    {
        var cwd = Encoding.UTF8.GetBytes(p.Files.WorkingDirectoryPath() + "\0");
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
        long r = Resolve(p, unchecked((ulong)Libc.AtFdCwd), a.A0, out int dir, out var path);
        if (r < 0) return r;
        fixed (byte* at = path)
        {
            long fd = Libc.Check(Libc.openat(dir, at, Libc.OPath | Libc.ODirectory | Libc.OCloexec, 0));
            if (fd < 0) return fd;
            p.Files.ChangeDirectory((int)fd);
            return 0;
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
