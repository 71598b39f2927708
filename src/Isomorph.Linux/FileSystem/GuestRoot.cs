using System.Runtime.InteropServices;
using System.Text;
using Isomorph.Linux.Host;

namespace Isomorph.Linux.FileSystem;

/// <summary>
/// A directory that is the guest's whole file system (<c>isomorph run --root DIR</c>), as if the
/// runtime had done chroot(DIR). Every lookup goes through the host kernel's openat2 with
/// RESOLVE_IN_ROOT from a descriptor of DIR: ".." at the root stays at the root, absolute symbolic
/// links resolve from DIR, and the kernel checks each component as it walks, so a guest cannot
/// race a rename or a symlink swap to get out (no string prefix checks decide anything).
/// RESOLVE_NO_MAGICLINKS keeps the host's /proc magic links out of reach even if DIR holds a /proc.
/// Relative paths are made absolute from the guest path of their starting directory (the host
/// path of its descriptor, less DIR), so ".." climbs as it does on Linux yet never above DIR.
/// </summary>
public sealed unsafe class GuestRoot : IDisposable
{
    private const ulong ResolveNoMagiclinks = 0x02, ResolveInRoot = 0x10;
    private const int OCreat = 0x40, OTmpfile = 0x400000, ONofollow = 0x20000;

    /// <summary>The root's canonical host path (no trailing slash).</summary>
    public string HostPath { get; }

    /// <summary>An O_PATH descriptor of the root, the starting point of every lookup.</summary>
    public int Descriptor { get; private set; }

    private GuestRoot(string hostPath, int descriptor)
    {
        HostPath = hostPath;
        Descriptor = descriptor;
    }

    /// <summary>Opens <paramref name="directory"/> as a root; throws <see cref="DirectoryNotFoundException"/> when it is not a directory.</summary>
    public static GuestRoot Open(string directory)
    {
        int fd = Libc.OpenDirectory(Libc.AtFdCwd, directory);
        if (fd < 0) throw new DirectoryNotFoundException($"{directory}: not a directory ({Errno.Name(-fd)})");
        string canonical = new FileInfo($"/proc/self/fd/{fd}").LinkTarget ?? Path.GetFullPath(directory);
        return new GuestRoot(canonical.TrimEnd('/') is "" ? "/" : canonical.TrimEnd('/'), fd);
    }

    /// <summary>
    /// The guest path of what host descriptor <paramref name="hostFd"/> refers to: "/" for the root,
    /// "/a/b" for DIR/a/b; null when it lies outside the root (a descriptor a host process passed in,
    /// a directory moved out, a pipe or socket).
    /// </summary>
    public string? GuestPathOf(int hostFd)
    {
        string? target;
        try
        {
            target = new FileInfo($"/proc/self/fd/{hostFd}").LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
        return target is null ? null : GuestPathOfHost(target);
    }

    /// <summary>The guest path of a host path, or null when it is not inside the root.</summary>
    public string? GuestPathOfHost(string hostPath)
    {
        if (HostPath == "/") return hostPath;
        if (hostPath == HostPath) return "/";
        return hostPath.StartsWith(HostPath + "/", StringComparison.Ordinal) ? hostPath[HostPath.Length..] : null;
    }

    /// <summary>
    /// <paramref name="path"/> made absolute: as it is when it starts with '/', else from the guest
    /// path of the directory <paramref name="fromHostFd"/>. Null when that directory is outside the root.
    /// </summary>
    public string? Absolute(int fromHostFd, string path)
    {
        if (path.StartsWith('/')) return path;
        var from = GuestPathOf(fromHostFd);
        if (from is null) return null;
        return path.Length == 0 ? from : from == "/" ? "/" + path : from + "/" + path;
    }

    /// <summary>
    /// openat2(root, <paramref name="guestPath"/>, RESOLVE_IN_ROOT): a host descriptor (opened
    /// close-on-exec on the host) or -errno. <paramref name="guestPath"/> must be absolute.
    /// </summary>
    public long Open(string guestPath, int flags, int mode)
    {
        var bytes = Encoding.UTF8.GetBytes(guestPath + "\0");
        // openat ignores what O_PATH makes meaningless; openat2 refuses it.
        if ((flags & Libc.OPath) != 0) flags &= Libc.OPath | Libc.ODirectory | ONofollow | Libc.OCloexec;
        var how = new OpenHow
        {
            Flags = (ulong)(uint)(flags | Libc.OCloexec),
            Mode = (flags & (OCreat | OTmpfile)) != 0 ? (ulong)(uint)mode & 0xFFF : 0,
            Resolve = ResolveInRoot | ResolveNoMagiclinks,
        };
        fixed (byte* at = bytes)
        {
            // The kernel answers EAGAIN when a rename raced a ".." walk; it is safe to try again.
            for (int attempt = 0; ; attempt++)
            {
                long r = Libc.Check(Libc.syscall(Libc.SysOpenat2, Descriptor, (nint)at, (nint)(&how), sizeof(OpenHow), 0));
                if (r != -Errno.EAGAIN || attempt == 16) return r;
            }
        }
    }

    /// <summary>
    /// For calls that act on a name without following it (unlink, mkdir, rename, link, symlink,
    /// lstat, readlink): the host descriptor of the parent directory, resolved inside the root, and
    /// the last component. A path whose last component is "." or ".." (or the root itself) yields the
    /// directory it names and ".". Trailing slashes are dropped; <paramref name="trailingSlash"/> says there were some.
    /// </summary>
    public long OpenParent(string guestPath, out int parent, out string name, out bool trailingSlash)
    {
        parent = -1;
        string trimmed = guestPath.TrimEnd('/');
        trailingSlash = trimmed.Length != guestPath.Length;
        int slash = trimmed.LastIndexOf('/');
        name = trimmed[(slash + 1)..];
        string directory = slash < 0 ? "/" : slash == 0 ? "/" : trimmed[..slash];
        if (name is "" or "." or "..")
        {
            directory = guestPath.Length == 0 ? "/" : guestPath;
            name = ".";
        }
        long fd = Open(directory, Libc.OPath | Libc.ODirectory, 0);
        if (fd < 0) return fd;
        parent = (int)fd;
        return 0;
    }

    public void Dispose()
    {
        if (Descriptor >= 0) Libc.close(Descriptor);
        Descriptor = -1;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct OpenHow
    {
        public ulong Flags;
        public ulong Mode;
        public ulong Resolve;
    }
}
