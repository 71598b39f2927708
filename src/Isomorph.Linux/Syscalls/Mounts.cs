using System.Text;
using Isomorph.Linux.Host;

namespace Isomorph.Linux.Syscalls;

/// <summary>
/// mount and umount2, passed to the host kernel with the paths resolved as every path system call
/// resolves them (through the sysroot, from the process's working directory): the mounts are the
/// host's, as under qemu-user, and need the host user's CAP_SYS_ADMIN. Under --root they are EPERM:
/// a mount would change the host's file system beyond the root.
/// </summary>
internal static unsafe partial class Mounts
{
    [Syscall(40, "mount", "sssxx")]
    private static long Mount(LinuxProcess p, in SyscallArgs a)
    {
        if (p.Root is not null) return -Errno.EPERM;
        long r = HostPathOf(p, a.A1, out var target);
        if (target is null) return r;
        // The source is a path (a device, a bind mount's directory) or a name the file system reads (tmpfs, none).
        string? source = null;
        if (a.A0 != 0)
        {
            r = Guest.ReadPath(p, a.A0, out source);
            if (source is null) return r;
            if (source.Contains('/')) r = HostPathOf(p, a.A0, out source);
            if (source is null) return r;
        }
        string? type = null;
        if (a.A2 != 0 && (r = Guest.ReadPath(p, a.A2, out type)) < 0) return r;
        // The options: a string for every file system the host and the guest share.
        string? data = null;
        if (a.A4 != 0 && (data = p.Memory.ReadCString(a.A4, Guest.PathMax)) is null) return -Errno.EFAULT;
        fixed (byte* s = Bytes(source), t = Bytes(target), f = Bytes(type), d = Bytes(data))
            return Libc.Check(Libc.mount(source is null ? null : s, t, type is null ? null : f, a.A3, data is null ? null : d));
    }

    [Syscall(39, "umount2", "sx")]
    private static long Umount2(LinuxProcess p, in SyscallArgs a)
    {
        if (p.Root is not null) return -Errno.EPERM;
        long r = HostPathOf(p, a.A0, out var target);
        if (target is null) return r;
        fixed (byte* t = Bytes(target)) return Libc.Check(Libc.umount2(t, a.Int(1)));
    }

    /// <summary>A guest path as one host path string: absolute, or relative to the working directory through its descriptor.</summary>
    private static long HostPathOf(LinuxProcess p, ulong address, out string? path)
    {
        path = null;
        using var t = Guest.Lookup(p, unchecked((ulong)Libc.AtFdCwd), address, follow: true);
        if (t.Error < 0) return t.Error;
        string name = Encoding.UTF8.GetString(t.Path).TrimEnd('\0');
        path = t.Dir == Libc.AtFdCwd || name.StartsWith('/') ? name : $"/proc/self/fd/{t.Dir}/{name}";
        return 0;
    }

    private static byte[] Bytes(string? s) => Encoding.UTF8.GetBytes((s ?? "") + "\0");
}
