using System.Text;
using Isomorph.Linux.Host;
using Isomorph.Linux.Memory;

namespace Isomorph.Linux.Syscalls;

/// <summary>Helpers handlers use to reach guest memory safely: every buffer is checked before the host touches it.</summary>
internal static unsafe class Guest
{
    /// <summary>The host address of a guest buffer the guest may read, or null (→ EFAULT).</summary>
    /// An empty buffer still has to lie in the address space, as Linux's access_ok asks.
    public static byte* Readable(LinuxProcess p, ulong address, ulong length) =>
        p.Memory.InRange(address, length) && p.Memory.Check(address, length, PageFlags.Read) ? p.Memory.HostAddress(address) : null;

    /// <summary>The host address of a guest buffer the guest may write, or null (→ EFAULT).</summary>
    public static byte* Writable(LinuxProcess p, ulong address, ulong length) =>
        p.Memory.InRange(address, length) && p.Memory.Check(address, length, PageFlags.Write) ? p.Memory.HostAddress(address) : null;

    /// <summary>Linux's PATH_MAX: the longest path a system call takes, its NUL included.</summary>
    public const int PathMax = 4096;

    /// <summary>
    /// Reads the path the guest names at <paramref name="address"/> as Linux's getname does: 0, or
    /// -EFAULT when a byte before its NUL cannot be read, or -ENAMETOOLONG when the first
    /// <see cref="PathMax"/> bytes are readable and hold no NUL. Every path system call reads its
    /// paths through this.
    /// </summary>
    public static long ReadPath(LinuxProcess p, ulong address, out string? path)
    {
        path = p.Memory.ReadCString(address, PathMax);
        if (path is not null) return 0;
        return p.Memory.Check(address, PathMax, PageFlags.Read) ? -Errno.ENAMETOOLONG : -Errno.EFAULT;
    }

    /// <summary>A guest path as NUL-terminated host bytes, resolved through the sysroot; null when unreadable (<paramref name="error"/> says why).</summary>
    public static byte[]? HostPath(LinuxProcess p, ulong address, out string? guestPath, out long error)
    {
        error = ReadPath(p, address, out guestPath);
        if (guestPath is null) return null;
        return Encoding.UTF8.GetBytes(HostPathWithoutRoot(p, guestPath) + "\0");
    }

    /// <summary>
    /// The host path for a path a guest names when it is not confined (no --root): the links a
    /// process has to itself lead to the guest's objects, not the host process's — /proc/self/exe
    /// is the program; /proc/self/fd/N, /proc/PID/fd/N of the run's processes, /dev/fd/N and
    /// /dev/stdin, /dev/stdout, /dev/stderr name guest descriptor N (host descriptor M:
    /// /proc/self/fd/M); /proc/self/cwd the working directory. Any other absolute path goes
    /// through the sysroot; a relative one is unchanged.
    /// </summary>
    public static string HostPathWithoutRoot(LinuxProcess p, string guestPath)
    {
        if (!guestPath.StartsWith('/')) return guestPath;
        if (guestPath == "/proc/self/exe" || guestPath == $"/proc/{p.Pid}/exe") return p.ExecutablePath;
        if (DescriptorPath(p, guestPath) is { } descriptor) return descriptor;
        return p.Paths.Resolve(guestPath);
    }

    /// <summary>/proc/self/fd/M[/rest] for a path that names one of a guest process's descriptors or its working directory; else null.</summary>
    private static string? DescriptorPath(LinuxProcess p, string path)
    {
        LinuxProcess? owner = p;
        string rest;
        int fd;
        switch (path)
        {
            case "/dev/stdin": (fd, rest) = (0, ""); break;
            case "/dev/stdout": (fd, rest) = (1, ""); break;
            case "/dev/stderr": (fd, rest) = (2, ""); break;
            default:
                string[] parts;
                if (path.StartsWith("/dev/fd/", StringComparison.Ordinal)) parts = ["self", "fd", .. path[8..].Split('/', 2)];
                else if (path.StartsWith("/proc/", StringComparison.Ordinal)) parts = path[6..].Split('/', 4);
                else return null;
                if (parts.Length < 2) return null;
                owner = parts[0] is "self" or "thread-self" ? p : int.TryParse(parts[0], out int pid) ? p.Table.Find(pid) : null;
                if (owner is null) return null;
                if (parts[1] == "cwd")
                {
                    rest = parts.Length > 2 ? "/" + string.Join('/', parts[2..]) : "";
                    return $"/proc/self/fd/{owner.Files.WorkingDirectory}{rest}";
                }
                if (parts[1] != "fd" || parts.Length < 3 || !int.TryParse(parts[2], out fd) || fd < 0) return null;
                rest = parts.Length > 3 ? "/" + parts[3] : "";
                break;
        }
        int host = owner.Files.Host(fd);
        // A descriptor the process does not have names nothing, as on Linux (ENOENT).
        return host < 0 ? "/proc/self/fd/-1" : $"/proc/self/fd/{host}{rest}";
    }

    public static byte[]? HostPath(LinuxProcess p, ulong address) => HostPath(p, address, out _, out _);

    /// <summary>
    /// Where a host *at call should look for the path the guest names at <paramref name="pathAddress"/>
    /// relative to guest directory descriptor <paramref name="dirfd"/>. Without --root: AT_FDCWD and
    /// the sysroot-resolved path for absolute paths, the host directory for relative ones. With
    /// --root, resolved inside the root by the kernel: when <paramref name="follow"/>, the object
    /// itself (the last component's symbolic links followed inside the root) as /proc/self/fd/N of an
    /// O_PATH descriptor, which the host reaches without any further lookup; otherwise the parent
    /// directory and the last name, for calls that never follow the last component. A trailing slash
    /// asks for a directory: calls that look at what a name is (<paramref name="slashFollows"/>: the
    /// stat family, access, chown, utimens) then follow a symbolic link as Linux does; the others
    /// (unlink, rmdir, rename, mkdir…) get ENOTDIR for anything but a directory.
    /// </summary>
    public static HostTarget Lookup(LinuxProcess p, ulong dirfd, ulong pathAddress, bool follow, bool slashFollows = false)
    {
        long read = ReadPath(p, pathAddress, out var guestPath);
        if (guestPath is null) return new HostTarget(read);
        if (p.Root is not { } root)
        {
            var host = Encoding.UTF8.GetBytes(HostPathWithoutRoot(p, guestPath) + "\0");
            if (guestPath.StartsWith('/')) return new HostTarget(Libc.AtFdCwd, host, -1);
            int dir = p.Files.HostDirectory((int)dirfd);
            return dir == -1 ? new HostTarget(-Errno.EBADF) : new HostTarget(dir, host, -1);
        }
        if (guestPath.Length == 0) return new HostTarget(-Errno.ENOENT);
        if (slashFollows && guestPath.Length > 1 && guestPath.EndsWith('/')) follow = true;
        long r = AbsoluteInRoot(p, dirfd, guestPath, out var absolute);
        if (r < 0) return new HostTarget(r);
        if (follow)
        {
            long fd = root.Open(absolute!, Libc.OPath, 0);
            return fd < 0 ? new HostTarget(fd) : new HostTarget(Libc.AtFdCwd, Encoding.UTF8.GetBytes($"/proc/self/fd/{fd}\0"), (int)fd, followed: true);
        }
        r = root.OpenParent(absolute!, out int parent, out string name, out bool trailingSlash);
        if (r < 0) return new HostTarget(r);
        var target = new HostTarget(parent, Encoding.UTF8.GetBytes(name + "\0"), parent);
        // "name/" must be a directory. The slash never reaches the host, which would follow a symbolic link there.
        if (trailingSlash && IsNonDirectory(parent, target.Path))
        {
            target.Dispose();
            return new HostTarget(-Errno.ENOTDIR);
        }
        return target;
    }

    private static bool IsNonDirectory(int directory, byte[] name)
    {
        const int AtSymlinkNofollow = 0x100, StatxType = 1;
        byte* statx = stackalloc byte[256];
        fixed (byte* at = name)
            return Libc.statx(directory, at, AtSymlinkNofollow, StatxType, statx) == 0 && (*(ushort*)(statx + 28) & 0xF000) != 0x4000;
    }

    /// <summary>
    /// With --root: the absolute guest path for <paramref name="path"/> relative to guest descriptor
    /// <paramref name="dirfd"/>, with the process's own /proc links replaced by what they name. 0 or -errno.
    /// </summary>
    public static long AbsoluteInRoot(LinuxProcess p, ulong dirfd, string path, out string? absolute, bool rewriteProc = true)
    {
        absolute = null;
        int dir = path.StartsWith('/') ? Libc.AtFdCwd : p.Files.HostDirectory((int)dirfd);
        if (dir == -1) return -Errno.EBADF;
        absolute = p.Root!.Absolute(dir == Libc.AtFdCwd ? p.Files.WorkingDirectory : dir, path);
        if (absolute is null) return -Errno.ENOENT;
        if (rewriteProc) absolute = ProcView.Rewrite(p, absolute);
        return 0;
    }

    /// <summary>
    /// Turns the guest's array of <paramref name="count"/> iovecs at <paramref name="address"/> into
    /// host iovecs in <paramref name="host"/>, checking every buffer: readable when the host reads
    /// from it (writev, sendmsg), writable otherwise. 0 or -EFAULT; <paramref name="guest"/> is the
    /// guest's array, for <see cref="NoteIovecsWritten"/> afterwards.
    /// </summary>
    public static long Iovecs(LinuxProcess p, ulong address, int count, bool hostReads, HostIovec* host, out ulong* guest)
    {
        guest = (ulong*)Readable(p, address, (ulong)count * 16);
        if (guest == null && count > 0) return -Errno.EFAULT;
        for (int i = 0; i < count; i++)
        {
            ulong @base = guest[2 * i], length = guest[2 * i + 1];
            byte* at = hostReads ? Readable(p, @base, length) : Writable(p, @base, length);
            if (at == null) return -Errno.EFAULT;
            host[i] = new HostIovec { Base = (nint)at, Length = (nuint)length };
        }
        return 0;
    }

    /// <summary>Tells the address space that the host wrote the buffers of a guest iovec array (readv, recvmsg).</summary>
    public static void NoteIovecsWritten(LinuxProcess p, ulong* guest, int count)
    {
        for (int i = 0; i < count; i++) p.Memory.NoteWritten(guest[2 * i], guest[2 * i + 1]);
    }

    /// <summary>Copies a value into writable guest memory; false when the guest may not write there.</summary>
    public static bool Put<T>(LinuxProcess p, ulong address, T value) where T : unmanaged
    {
        byte* at = Writable(p, address, (ulong)sizeof(T));
        if (at == null) return false;
        *(T*)at = value;
        p.Memory.NoteWritten(address, (ulong)sizeof(T));
        return true;
    }

    public static bool Get<T>(LinuxProcess p, ulong address, out T value) where T : unmanaged
    {
        value = default;
        byte* at = Readable(p, address, (ulong)sizeof(T));
        if (at == null) return false;
        value = *(T*)at;
        return true;
    }
}

/// <summary>A path for a host *at call (<see cref="Guest.Lookup"/>): a directory descriptor and a NUL-terminated path, or an error.</summary>
internal readonly struct HostTarget : IDisposable
{
    /// <summary>The descriptor to close afterwards, plus one (so that a default value owns nothing).</summary>
    private readonly int _ownedPlusOne;

    public long Error { get; }
    public int Dir { get; }
    public byte[] Path { get; }

    public HostTarget(long error)
    {
        Error = error;
        Path = [];
    }

    public HostTarget(int dir, byte[] path, int owned, bool followed = false)
    {
        Dir = dir;
        Path = path;
        _ownedPlusOne = owned + 1;
        _followed = followed;
    }

    /// <summary>True when the path is the /proc/self/fd link of the object itself, which the host must follow.</summary>
    private readonly bool _followed;

    /// <summary>The caller's AT_* flags for the host call: without AT_SYMLINK_NOFOLLOW when the path is such a link.</summary>
    public int Flags(int flags) => _followed ? flags & ~0x100 : flags;

    public void Dispose()
    {
        if (_ownedPlusOne > 0) Libc.close(_ownedPlusOne - 1);
    }
}
