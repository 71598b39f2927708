using Isomorph.Linux.Host;

namespace Isomorph.Linux.Syscalls;

/// <summary>
/// capget and capset (capabilities(7)). Every guest thread runs on a host thread of its own, and
/// capability sets are per thread on Linux, so the host thread's sets are the guest thread's: the
/// calls go to the host kernel for the calling thread. Another guest process's sets are the ones
/// its threads were given by the same host process: its pid reads as the caller's; capset of
/// another process is EPERM, as Linux has answered since 2.6.25. Header and data are laid out alike
/// on riscv64 and the 64-bit hosts (struct __user_cap_header_struct: u32 version, i32 pid;
/// struct __user_cap_data_struct: three u32).
/// </summary>
internal static unsafe partial class Capabilities
{
    private const int HostCapget = 125, HostCapset = 126; // x86-64
    private const uint Version1 = 0x19980330, Version2 = 0x20071026, Version3 = 0x20080522;
    private const int DataSize = 12;

    /// <summary>Whether the calling guest thread (its host thread) has capability <paramref name="capability"/> in its effective set.</summary>
    public static bool Effective(int capability)
    {
        uint* header = stackalloc uint[2] { Version3, 0 };
        uint* data = stackalloc uint[6];
        if (Libc.syscall(HostCapget, (nint)header, (nint)data, 0, 0, 0) != 0) return false;
        return (data[capability / 32 * 3] & (1u << (capability % 32))) != 0;
    }

    [Syscall(90, "capget", "xx")]
    private static long Capget(LinuxProcess p, in SyscallArgs a) => Forward(p, a, HostCapget);

    [Syscall(91, "capset", "xx")]
    private static long Capset(LinuxProcess p, in SyscallArgs a) => Forward(p, a, HostCapset);

    private static long Forward(LinuxProcess p, in SyscallArgs a, int call)
    {
        byte* header = Guest.Writable(p, a.A0, 8);
        if (header == null) return -Errno.EFAULT;
        uint version = *(uint*)header;
        int pid = *(int*)(header + 4);
        int structs = version switch { Version1 => 1, Version2 or Version3 => 2, _ => 0 };
        if (structs == 0)
        {
            // The kernel answers an unknown version with the one it prefers, written into the header.
            *(uint*)header = Version3;
            p.Memory.NoteWritten(a.A0, 4);
            return call == HostCapget && a.A1 == 0 ? 0 : -Errno.EINVAL; // capget with no data: a probe
        }
        if (pid < 0) return -Errno.EINVAL;
        if (pid != 0 && pid != p.Pid && p.Table.FindThread(pid) is null) return -Errno.ESRCH;
        if (call == HostCapset && pid != 0 && pid != p.Pid) return -Errno.EPERM;
        if (a.A1 == 0) return call == HostCapget ? 0 : -Errno.EFAULT; // capget with no data only probes the version
        byte* data = call == HostCapget ? Guest.Writable(p, a.A1, (ulong)(structs * DataSize)) : Guest.Readable(p, a.A1, (ulong)(structs * DataSize));
        if (data == null) return -Errno.EFAULT;
        uint* hostHeader = stackalloc uint[2];
        hostHeader[0] = version;
        hostHeader[1] = 0; // the calling host thread: this guest thread
        long r = Libc.Check(Libc.syscall(call, (nint)hostHeader, (nint)data, 0, 0, 0));
        if (r == 0 && call == HostCapget) p.Memory.NoteWritten(a.A1, (ulong)(structs * DataSize));
        return r;
    }
}
