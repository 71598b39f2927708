using System.Text;
using Isomorph.Linux.Memory;

namespace Isomorph.Linux.Syscalls;

/// <summary>Helpers handlers use to reach guest memory safely: every buffer is checked before the host touches it.</summary>
internal static unsafe class Guest
{
    /// <summary>The host address of a guest buffer the guest may read, or null (→ EFAULT).</summary>
    public static byte* Readable(LinuxProcess p, ulong address, ulong length) =>
        p.Memory.Check(address, length, PageFlags.Read) ? p.Memory.HostAddress(address) : null;

    /// <summary>The host address of a guest buffer the guest may write, or null (→ EFAULT).</summary>
    public static byte* Writable(LinuxProcess p, ulong address, ulong length) =>
        p.Memory.Check(address, length, PageFlags.Write) ? p.Memory.HostAddress(address) : null;

    /// <summary>A guest path as NUL-terminated host bytes, resolved through the sysroot; null when unreadable.</summary>
    public static byte[]? HostPath(LinuxProcess p, ulong address, out string? guestPath)
    {
        guestPath = p.Memory.ReadCString(address);
        if (guestPath is null) return null;
        string host = guestPath == "/proc/self/exe" ? p.ExecutablePath : p.Paths.Resolve(guestPath);
        return Encoding.UTF8.GetBytes(host + "\0");
    }

    public static byte[]? HostPath(LinuxProcess p, ulong address) => HostPath(p, address, out _);

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
